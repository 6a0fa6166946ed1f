"""Batch parameter sweeps: ``sim sweep SWEEP.toml --out DIR`` (docs/sweeps.md).

A sweep runs a base scenario at every point of a design (:mod:`sim.sweep_file`), each point
``replicates`` times on the seeds ``seed, seed + 1, ...`` (the same at every point: common
random numbers), and keeps for each run the outputs the sweep file names: the headline
measures of ``sim compare`` over the measurement window, and optionally daily series.

Runs go through one ``concurrent.futures`` executor whatever runs them: this process
(``workers=1``), local worker processes (``workers=N``), a Dask cluster (``scheduler=ADDRESS``)
or a local Dask cluster (``dask_local=N``). Each run is deterministic given its seed and
inputs, and every model runs on one BLAS thread, so the results are the same, bit for bit,
whatever the executor and the number of workers.

The folder ``DIR``::

    sweep.json        the manifest: the sweep as checked, its hashes, package and code versions,
                      the last invocation's report
    sweep.toml        the sweep file as it was read
    points.parquet    the design as sampled (one row per point, unrounded)
    runs/run-NNNNNN.parquet   one file per finished run (done or failed), written whole or not
                      at all (a temporary file, then a rename)

Rerunning the same command resumes: only the runs with no file are run. A changed sweep file
(or base scenario) is refused unless ``force=True``, which discards the old runs. A run that
raises is recorded (status ``failed``, with its parameters, seed and error) and the sweep goes
on; ``retry_failed=True`` runs those again.

The Python API::

    from sim import sweeps
    report = sweeps.run_sweep("scenarios/quick_sweep.toml", "results/quick_sweep", workers=2)
    table = sweeps.load("results/quick_sweep")          # one row per run (pandas)
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import gc
import json
import os
import platform
import re
import shutil
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config import ConfigError
from sim.results import IncompleteResults, OutputError, _json_safe, _process_alive, _sync_folder
from sim.sweep_file import SweepSpec, choices, read_sweep, spec_hash

MANIFEST = "sweep.json"
COPY = "sweep.toml"
POINTS = "points.parquet"
RUNS = "runs"
ANALYSIS = "analysis"         # where sim analyze writes by default
FORMAT = 1
_RUN_FILE = re.compile(r"^run-(\d+)\.parquet$")
DAILY_PREFIX = "daily."
IN_FLIGHT_PER_SLOT = 2        # tasks queued per worker slot (enough to keep it busy, few to cancel)
ERROR_CHARS = 2_000
PACKAGES = ("numpy", "pandas", "scipy", "pyarrow", "mesa", "networkx", "SALib", "dask", "distributed")


class SweepChanged(ConfigError):
    """The sweep file or its base scenario changed since the sweep in ``--out`` started."""


class SweepAborted(RuntimeError):
    """The executor broke (a worker process died): what was written stays, a rerun resumes."""


# --------------------------------------------------------------------------- one run (in a worker)


@dataclasses.dataclass(frozen=True)
class Task:
    """One run, as sent to a worker: plain data only (it crosses process and machine borders)."""

    run: int
    point: int
    replicate: int
    seed: int
    values: dict                # parameter name -> the value the model gets
    scenario: str
    strategies: tuple[str, ...]
    overrides: tuple            # "key=value" strings of the sweep's set, then (key, value) pairs
    shocks: tuple[dict, ...]
    window: tuple[str, str] | None
    outputs: tuple[str, ...]
    daily: tuple[str, ...]


def run_task(task: Task, cfg=None) -> dict:
    """Build and run one model and return its outputs, or its error: a run that raises is a
    result too (status ``failed``). ``cfg`` is the run's configuration, loaded by the sweep's
    process (so that workers on other machines need none of the scenario files); without it
    the task's own inputs are loaded. Module-level, so that worker processes import it."""
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    try:
        with threadpool_limits(limits=1):   # one BLAS thread: the same sums in any process
            outputs, daily, dates = _outputs(task, cfg)
        return {"run": task.run, "status": "ok", "error": "", "traceback": "", "outputs": outputs,
                "daily": daily, "dates": dates, "seconds": time.perf_counter() - started}
    except Exception as err:   # (not KeyboardInterrupt: an interrupt stops the sweep)
        return {"run": task.run, "status": "failed", "error": _error_text(err),
                "traceback": traceback.format_exc()[-ERROR_CHARS:], "outputs": {}, "daily": {}, "dates": None,
                "seconds": time.perf_counter() - started}
    finally:
        # a finished model is a web of cycles (Mesa agents and their model): free it now, or a
        # long-lived worker grows by a model's size a run until the collector happens to run
        gc.collect()


def _outputs(task: Task, cfg) -> tuple[dict[str, float], dict[str, np.ndarray], np.ndarray]:
    from sim.compare import Job, _result
    from sim.model import CreditModel

    job = Job("sweep", task.scenario, task.overrides, task.seed, task.window, task.daily, task.strategies,
              task.shocks)
    model = CreditModel(job.config() if cfg is None else cfg).run()
    result = _result(job, model)
    merchants = max(int(model.cfg.population.merchants), 1)
    measures = {**result.measures,
                "merchant_failure_share": result.measures["merchant_failures"] / merchants,
                "contagion_failure_share": result.measures["contagion_failures"] / merchants}
    outputs = {name: float(measures.get(name, np.nan)) for name in task.outputs}
    dates = result.dates
    if task.window is not None:
        keep = (dates >= np.datetime64(task.window[0])) & (dates <= np.datetime64(task.window[1]))
        dates = dates[keep]
        daily = {c: v[keep] for c, v in result.series.items()}
    else:
        daily = dict(result.series)
    return outputs, daily, dates


def _error_text(err: BaseException) -> str:
    text = " ".join(f"{type(err).__name__}: {err}".split())
    return text if len(text) <= ERROR_CHARS else text[:ERROR_CHARS] + "..."


# --------------------------------------------------------------------------- executors


class InlineExecutor(Executor):
    """Runs each task in this process when it is submitted (``workers=1``)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        fut: Future = Future()
        fut.set_result(fn(*args, **kwargs))   # an interrupt propagates: nothing to clean up
        return fut


@dataclasses.dataclass
class Pool:
    """An open executor: what runs the tasks, how many at once, and what it is (for reports)."""

    executor: Executor
    slots: int
    label: str
    stop: Any = None           # how to stop it at once on an interrupt
    count_slots: Any = None    # how many slots there are now (a cluster's workers come and go)
    _counted: float = 0.0

    def capacity(self) -> int:
        """The worker slots now: a Dask cluster is asked at most once a second, so that workers
        that join late (a batch queue, an adaptive cluster) get work too."""
        if self.count_slots is not None and time.monotonic() - self._counted >= 1.0:
            self._counted = time.monotonic()
            with contextlib.suppress(Exception):   # (a scheduler that does not answer: keep the last count)
                self.slots = max(int(self.count_slots()), 1)
        return self.slots


def _check_choice(workers, scheduler, dask_local) -> None:
    for name, value in (("workers", workers), ("dask_local", dask_local)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise ConfigError(f"--{name.replace('_', '-')}: {value!r} must be a whole number of at least 1")
    chosen = [n for n, on in (("--workers", workers not in (None, 1)), ("--scheduler", scheduler is not None),
                              ("--dask-local", dask_local is not None)) if on]
    if len(chosen) > 1:
        raise ConfigError(f"{' and '.join(chosen)}: choose one way to run the runs")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise ConfigError(f"--scheduler: {scheduler!r} is not an address (e.g. tcp://10.0.0.5:8786)")


def _leave_signals_to_parent() -> None:
    """Worker processes ignore SIGINT and SIGTERM, which reach the whole process group from a
    terminal or a batch system: the parent stops them (so it never sees a broken pool first)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


@contextlib.contextmanager
def open_pool(workers: int | None = 1, scheduler: str | None = None, dask_local: int | None = None) -> Iterator[Pool]:
    """The executor for a sweep: this process, ``workers`` local processes, the Dask cluster at
    ``scheduler``, or a local Dask cluster of ``dask_local`` single-threaded worker processes."""
    _check_choice(workers, scheduler, dask_local)
    if scheduler is not None or dask_local is not None:
        with _dask_pool(scheduler, dask_local) as pool:
            yield pool
        return
    if not workers or workers == 1:
        yield Pool(InlineExecutor(), 1, "this process")
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")   # what `import mesa` sets anyway
    executor = ProcessPoolExecutor(max_workers=int(workers), mp_context=ctx, initializer=_leave_signals_to_parent)

    def stop():   # the workers write nothing: killing them loses only the runs in progress
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=True, cancel_futures=True)
    try:
        yield Pool(executor, int(workers), f"{workers} local worker processes", stop)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _dask_pool(scheduler: str | None, dask_local: int | None) -> Iterator[Pool]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:   # pragma: no cover - a dependency of the package
        raise ConfigError("Dask is not installed: pip install 'dask[distributed]'") from None
    cluster = None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as err:
            raise ConfigError(f"--scheduler {scheduler}: cannot connect ({_error_text(err)})") from None
        label = f"the Dask cluster at {scheduler}"
    else:
        import dask

        # the workers' statistical profiler samples the running task every 10 ms, taking the
        # GIL from the model: about 5% of a run's time (docs/performance.md); not wanted here
        with dask.config.set({"distributed.worker.profile.enabled": False}):
            cluster = LocalCluster(n_workers=int(dask_local), threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None, silence_logs=40)
        client = Client(cluster)
        label = f"a local Dask cluster of {dask_local} workers"
    try:
        def count() -> int:
            return sum(client.nthreads().values())
        link = getattr(client, "dashboard_link", None) if scheduler is not None else None
        yield Pool(client.get_executor(pure=False), max(count(), 1), label + (f" (dashboard {link})" if link else ""),
                   count_slots=count)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------- the folder


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in (*PACKAGES, "credit-contagion"):
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out


def _write_atomic(path: Path, data: bytes) -> None:
    """``path`` with ``data``, whole or not at all: a temporary file beside it, flushed, renamed."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _sync_folder(path.parent)


def _clean_temporaries(folder: Path) -> None:
    """Remove the temporary files that killed sweeps left (their process is gone)."""
    for place in (folder, folder / RUNS):
        if not place.is_dir():
            continue
        for left in place.iterdir():
            m = re.match(r"^\..*\.tmp-(\d+)$", left.name)
            if m and int(m.group(1)) != os.getpid() and not _process_alive(int(m.group(1))):
                with contextlib.suppress(OSError):
                    left.unlink()


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold ``folder/.lock`` (one sweep writes a folder at a time)."""
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(f"--out {folder}: another sweep is writing there now") from None
        yield
    finally:
        os.close(fd)


def _run_files(folder: Path) -> dict[int, Path]:
    runs = folder / RUNS
    out = {}
    if runs.is_dir():
        for path in runs.iterdir():
            m = _RUN_FILE.match(path.name)
            if m:
                out[int(m.group(1))] = path
    return out


def run_path(folder: Path, run: int) -> Path:
    return folder / RUNS / f"run-{run:06d}.parquet"


def _manifest(spec: SweepSpec, inputs_hash: str) -> dict:
    from sim.outputs import code_version

    return {"kind": "sweep", "format": FORMAT, "sweep_file": str(spec.path.resolve()), "sweep_sha256": spec.sha256,
            "inputs_sha256": inputs_hash, "spec": spec.describe(), "seeds": spec.seeds(),
            "versions": package_versions(), "code_version": code_version(),
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def read_manifest(folder: str | Path) -> dict:
    """The manifest of the sweep folder ``folder``; :class:`IncompleteResults` if there is none."""
    path = Path(folder) / MANIFEST
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        raise IncompleteResults(f"{folder}: no {MANIFEST}; not a sweep folder") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IncompleteResults(f"{path}: unreadable ({type(err).__name__})") from None
    if not isinstance(info, dict) or info.get("kind") != "sweep" or info.get("format") != FORMAT:
        raise IncompleteResults(f"{path}: not a sweep manifest of format {FORMAT}")
    return info


def _prepare(folder: Path, spec: SweepSpec, points: np.ndarray, force: bool) -> tuple[dict, str | None]:
    """Create the folder, or check that it holds this sweep (``force``: start it again). Returns
    the manifest and, when resuming, the code version the earlier runs were made with."""
    inputs_hash = spec_hash(spec)
    earlier = None
    if (folder / MANIFEST).exists():
        old = read_manifest(folder)
        if old.get("inputs_sha256") != inputs_hash:
            if not force:
                what = ("the sweep file" if old.get("sweep_sha256") != spec.sha256
                        else "the choices given beside it (samples, replicates or --set)"
                        if json.dumps(_json_safe(choices(spec.describe())), sort_keys=True)
                        != json.dumps(choices(old.get("spec", {})), sort_keys=True)
                        else "the base scenario (or a file it extends or a strategy)")
                raise SweepChanged(f"--out {folder} holds a sweep whose inputs differ: {what} changed since it "
                                   f"started ({len(_run_files(folder))} runs there). Give a new --out, or --force "
                                   f"to discard those runs and start again")
            for old_results in (RUNS, ANALYSIS):   # the old sweep's runs, and its analysis
                shutil.rmtree(folder / old_results, ignore_errors=True)
        else:
            earlier = old.get("code_version")
            return old, earlier
    (folder / RUNS).mkdir(parents=True, exist_ok=True)
    manifest = _manifest(spec, inputs_hash)
    design = pd.DataFrame(points, columns=[p.name for p in spec.parameters])
    design.index.name = "point"
    import io
    buf = io.BytesIO()
    design.reset_index().to_parquet(buf, index=False)
    _write_atomic(folder / POINTS, buf.getvalue())
    _write_atomic(folder / COPY, spec.text.encode())
    _write_atomic(folder / MANIFEST, json.dumps(_json_safe(manifest), indent=2).encode())
    return manifest, earlier


def _check_out(folder: Path) -> Path:
    folder = Path(os.path.abspath(folder))
    if folder.is_symlink():
        raise OutputError(f"--out {folder}: is a symbolic link; give the folder itself")
    if folder.exists():
        if not folder.is_dir():
            raise OutputError(f"--out {folder}: exists and is not a folder")
        # what a sweep writes before its manifest (a sweep killed then left these alone)
        ours = lambda p: p.name in (".lock", RUNS, POINTS, COPY) or re.match(r"^\..*\.tmp-\d+$", p.name)  # noqa: E731
        if any(not ours(p) for p in folder.iterdir()) and not (folder / MANIFEST).is_file():
            raise OutputError(f"--out {folder}: holds files that are not a sweep's (no {MANIFEST}); give a new "
                              f"or empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --------------------------------------------------------------------------- running


@dataclasses.dataclass
class SweepReport:
    """What one invocation of a sweep did."""

    folder: Path
    name: str
    runs: int                  # in the sweep
    done: int                  # run now, successfully
    failed: int                # run now, and raised
    skipped: int               # already in the folder
    seconds: float             # wall time of this invocation
    run_seconds: float         # sum of the runs' own times
    pool: str
    failures: list[dict]       # run, point, replicate, seed, parameters, error (of the runs now failed)
    code_note: str = ""

    def text(self, limit: int = 10) -> str:
        if self.done + self.failed == 0:
            lines = [f"sweep {self.name}: nothing left to run: all {self.runs} runs are in the folder (a run "
                     f"recorded as failed runs again with --retry-failed)"]
        else:
            lines = [f"sweep {self.name}: {self.done} runs done, {self.failed} failed, {self.skipped} skipped "
                     f"(already there) of {self.runs}, in {self.seconds:.1f}s on {self.pool}"]
        for f in self.failures[:limit]:
            values = ", ".join(f"{k}={v!r}" for k, v in f["parameters"].items())
            lines.append(f"  failed: run {f['run']} (point {f['point']}, seed {f['seed']}; {values}): {f['error']}")
        if len(self.failures) > limit:
            lines.append(f"  ... and {len(self.failures) - limit} more (status == 'failed' in sim.sweeps.load)")
        if self.code_note:
            lines.append(f"  note: {self.code_note}")
        lines.append(f"results in {self.folder}/ (sim.sweeps.load({str(self.folder)!r}); sim analyze {self.folder})")
        return "\n".join(lines)


def plan_tasks(spec: SweepSpec, points: np.ndarray) -> list[Task]:
    """Every run of the sweep, numbered ``point x replicates + replicate``."""
    tasks = []
    scenario, strategies = str(spec.scenario), tuple(str(s) for s in spec.strategies)
    for i, row in enumerate(points):
        values = spec.assignments(row)
        for r, seed in enumerate(spec.seeds()):
            overrides, shocks = spec.run_inputs(values, seed)
            tasks.append(Task(i * spec.replicates + r, i, r, seed, values, scenario, strategies, overrides, shocks,
                              spec.window, spec.outputs, spec.daily))
    return tasks


def _arrow_type(kind: type):
    import pyarrow as pa
    return {bool: pa.bool_(), int: pa.int64(), float: pa.float64()}.get(kind, pa.string())


def _run_table(spec: SweepSpec, task: Task, result: dict, code: str):
    """One run's row as an Arrow table (the same schema for done and failed runs)."""
    import pyarrow as pa

    values = task.values
    cols: dict[str, pa.Array] = {
        "run": pa.array([task.run], pa.int64()), "point": pa.array([task.point], pa.int64()),
        "replicate": pa.array([task.replicate], pa.int64()), "seed": pa.array([task.seed], pa.int64())}
    for p in spec.parameters:
        kind = type(values[p.name]) if p.values is not None and p.kind not in (int, float) else p.kind
        cols[p.name] = pa.array([values[p.name]], _arrow_type(kind))
    for name in spec.outputs:
        cols[name] = pa.array([result["outputs"].get(name, np.nan)], pa.float64())
    cols["status"] = pa.array([result["status"]], pa.string())
    cols["error"] = pa.array([result["error"]], pa.string())
    cols["traceback"] = pa.array([result["traceback"]], pa.string())
    cols["seconds"] = pa.array([result["seconds"]], pa.float64())
    cols["code_version"] = pa.array([code], pa.string())
    if spec.daily:
        dates = result["dates"]
        cols[DAILY_PREFIX + "date"] = _one_list(None if dates is None else dates.astype("datetime64[D]"), pa.date32())
        for c in spec.daily:
            v = result["daily"].get(c)
            cols[DAILY_PREFIX + c] = _one_list(None if v is None else v.astype(float), pa.float64())
    return pa.table(cols)


def _one_list(values: np.ndarray | None, kind):
    """A one-row list column holding ``values`` (a null list for None)."""
    import pyarrow as pa
    if values is None:
        return pa.array([None], pa.list_(kind))
    return pa.ListArray.from_arrays(pa.array([0, len(values)], pa.int32()), pa.array(values, kind))


def _write_run(folder: Path, spec: SweepSpec, task: Task, result: dict, code: str) -> None:
    import io

    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(_run_table(spec, task, result, code), buf)
    _write_atomic(run_path(folder, task.run), buf.getvalue())


def _failed_runs(folder: Path, files: dict[int, Path]) -> set[int]:
    import pyarrow.parquet as pq
    return {run for run, path in files.items()
            if pq.read_table(path, columns=["status"]).column(0)[0].as_py() == "failed"}


def run_sweep(sweep: str | Path | SweepSpec, out: str | Path, *, workers: int | None = 1,
              scheduler: str | None = None, dask_local: int | None = None, force: bool = False,
              retry_failed: bool = False, progress: bool = False) -> SweepReport:
    """Run (or resume) the sweep ``sweep`` (a sweep file or a checked :class:`SweepSpec`) into the
    folder ``out`` and return what this invocation did. Everything is checked before the first
    run (:class:`~sim.config.ConfigError`, :class:`~sim.results.OutputError`)."""
    started = time.perf_counter()
    spec = sweep if isinstance(sweep, SweepSpec) else read_sweep(sweep)
    _check_choice(workers, scheduler, dask_local)
    folder = _check_out(Path(out))
    from sim.outputs import code_version

    code = code_version()
    with _locked(folder):
        _clean_temporaries(folder)
        points = spec.points()
        manifest, earlier = _prepare(folder, spec, points, force)
        files = _run_files(folder)
        redo = _failed_runs(folder, files) if retry_failed else set()
        tasks = [t for t in plan_tasks(spec, points) if t.run not in files or t.run in redo]
        skipped = spec.n_runs() - len(tasks)
        note = (f"resumed with code version {code}; the earlier runs were made with {earlier}"
                if earlier is not None and earlier != code and skipped else "")
        report = SweepReport(folder, spec.name, spec.n_runs(), 0, 0, skipped, 0.0, 0.0, "nothing to run", [], note)
        if tasks:
            with open_pool(workers, scheduler, dask_local) as pool:
                report.pool = pool.label
                _drive(pool, tasks, spec, folder, code, report, progress)
        report.seconds = time.perf_counter() - started
        manifest = {**manifest, "last_invocation": {
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "done": report.done,
            "failed": report.failed, "skipped": report.skipped, "seconds": report.seconds, "pool": report.pool,
            "code_version": code}}
        _write_atomic(folder / MANIFEST, json.dumps(_json_safe(manifest), indent=2).encode())
    return report


def _drive(pool: Pool, tasks: list[Task], spec: SweepSpec, folder: Path, code: str, report: SweepReport,
           progress: bool) -> None:
    """Submit the tasks a few per slot at a time and write each result as it comes."""
    from tqdm import tqdm

    queue = iter(tasks)
    pending: dict[Future, Task] = {}

    def top_up() -> None:
        window = pool.capacity() * IN_FLIGHT_PER_SLOT
        while len(pending) < window:
            task = next(queue, None)
            if task is None:
                return
            cfg = spec.run_config(task.values, task.seed)
            pending[pool.executor.submit(run_task, task, cfg)] = task

    with tqdm(total=len(tasks), unit="run", desc=spec.name, disable=not progress, dynamic_ncols=True) as bar:
        try:
            top_up()
            while pending:
                finished, _ = wait(pending, timeout=5.0 if pool.count_slots else None,
                                   return_when=FIRST_COMPLETED)
                for fut in sorted(finished, key=lambda f: pending[f].run):
                    task = pending.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        raise SweepAborted(f"a worker process died (out of memory?) while run {task.run} or "
                                           f"another ran; the {report.done + report.failed} runs finished are "
                                           f"kept: rerun the same command to resume") from None
                    except Exception as err:   # the executor's own failure for this task (a lost Dask worker)
                        result = {"run": task.run, "status": "failed", "error": _error_text(err),
                                  "traceback": "", "outputs": {}, "daily": {}, "dates": None, "seconds": 0.0}
                    _write_run(folder, spec, task, result, code)
                    report.run_seconds += result["seconds"]
                    if result["status"] == "ok":
                        report.done += 1
                    else:
                        report.failed += 1
                        report.failures.append({"run": task.run, "point": task.point, "replicate": task.replicate,
                                                "seed": task.seed, "error": result["error"],
                                                "parameters": dict(task.values)})
                    bar.update(1)
                    if report.failed:
                        bar.set_postfix(failed=report.failed, refresh=False)
                top_up()
        except BaseException:
            for fut in pending:
                fut.cancel()
            if pool.stop is not None:
                pool.stop()
            raise


# --------------------------------------------------------------------------- reading


def load(folder: str | Path, *, partial: bool = False) -> pd.DataFrame:
    """The sweep in ``folder`` as one table: one row per run (ordered by ``run``) with ``point``,
    ``replicate``, ``seed``, a column per parameter (the value the model got), a column per
    output, ``status`` (``ok`` or ``failed``), ``error``, ``traceback``, ``seconds`` and
    ``code_version``. ``table.attrs["sweep"]`` is the checked sweep (:meth:`SweepSpec.describe`)
    and ``table.attrs["manifest"]`` the whole manifest. A sweep with runs missing (not finished)
    raises :class:`~sim.results.IncompleteResults` unless ``partial=True``."""
    table = _read_runs(folder, partial, daily=False)
    return table


def load_design(folder: str | Path) -> pd.DataFrame:
    """The design of the sweep in ``folder`` as sampled: indexed by ``point``, a column per
    parameter, unrounded (what SALib's analyses take)."""
    read_manifest(folder)
    return pd.read_parquet(Path(folder) / POINTS).set_index("point")


def load_daily(folder: str | Path, *, partial: bool = False) -> pd.DataFrame:
    """The daily series the sweep kept (its ``daily`` list), long: one row per run and day with
    ``run``, ``point``, ``replicate``, ``date`` and a column per series (failed runs have none)."""
    manifest = read_manifest(folder)
    daily = manifest["spec"]["daily"]
    if not daily:
        raise ValueError(f"{folder}: the sweep kept no daily series (daily = [...] in the sweep file)")
    wide = _read_runs(folder, partial, daily=True)
    wide = wide[wide["status"] == "ok"]
    cols = [DAILY_PREFIX + "date", *(DAILY_PREFIX + c for c in daily)]
    long = wide[["run", "point", "replicate", *cols]].explode(cols, ignore_index=True)
    long = long.rename(columns={c: c.removeprefix(DAILY_PREFIX) for c in cols})
    long["date"] = pd.to_datetime(long["date"])
    return long.astype({c: float for c in daily})


def _read_runs(folder: str | Path, partial: bool, daily: bool) -> pd.DataFrame:
    import pyarrow.dataset as ds

    folder = Path(folder)
    manifest = read_manifest(folder)
    spec = manifest["spec"]
    files = _run_files(folder)
    n = int(spec["runs"])
    stray = sorted(r for r in files if r >= n)
    if stray:
        raise IncompleteResults(f"{folder}: run files beyond the sweep's {n} runs (e.g. {files[stray[0]].name}); "
                                f"the folder was altered")
    missing = n - len(files)
    if missing and not partial:
        raise IncompleteResults(f"{folder}: {missing} of {n} runs missing (the sweep has not finished); rerun "
                                f"sim sweep on {manifest['sweep_file']} with --out {folder} to finish it, or read the "
                                f"runs there with partial=True (sim analyze --partial)")
    if not files:
        table = pd.DataFrame(columns=["run", "point", "replicate", "seed"])
    else:
        dataset = ds.dataset([str(files[r]) for r in sorted(files)], format="parquet")
        columns = [c for c in dataset.schema.names if daily or not c.startswith(DAILY_PREFIX)]
        table = dataset.to_table(columns=columns).to_pandas()
        table = table.sort_values("run", kind="stable").reset_index(drop=True)
    table.attrs = {"sweep": spec, "manifest": manifest, "missing": missing}
    return table


__all__ = ["SweepAborted", "SweepChanged", "SweepReport", "Task", "load", "load_daily", "load_design",
           "open_pool", "read_manifest", "read_sweep", "run_sweep", "run_task"]
