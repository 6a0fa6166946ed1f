"""Batch sweeps (sim/sweep_file.py, sim/sweeps.py): the design and its seeds, executors that
agree bit for bit (a real Dask LocalCluster on loopback), resumable storage that survives a
SIGKILL, failures recorded, and malformed sweep files refused before any run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import sweeps
from sim.cli import main
from sim.config import ConfigError
from sim.results import IncompleteResults, OutputError
from sim.sweep_file import read_sweep

ROOT = Path(__file__).resolve().parent.parent
# a toy size: about a tenth of a second a run
SMALL = 'set = ["population.consumers=200", "population.merchants=8", "run.days=40", "run.burn_in_days=10"]'
OUTPUTS = 'outputs = ["merchant_failures", "retail_sales", "merchant_failure_share", "unemployment_rate_peak"]'


def sweep_file(tmp_path: Path, body: str, name: str = "t_sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


GRID = f"""
scenario = "baseline"
{SMALL}
design = "grid"
replicates = 2
seed = 41
{OUTPUTS}
daily = ["retail_sales"]

[parameters."merchants.cash_buffer_days"]
values = [5.0, 40.0]

[parameters."merchants.trade_terms_days"]
range = [20, 90]
steps = 2
"""


def frame(folder) -> pd.DataFrame:
    """A sweep's table without what may differ between two runs of the same sweep (times)."""
    return sweeps.load(folder).drop(columns=["seconds"])


# --------------------------------------------------------------------------- the design


def test_grid_points_seeds_and_run_numbers(tmp_path):
    spec = read_sweep(sweep_file(tmp_path, GRID))
    assert spec.n_points() == 4 and spec.n_runs() == 8
    # the grid in declared order, the last parameter fastest; an integer parameter's range as integers
    assert spec.points().tolist() == [[5.0, 20.0], [5.0, 90.0], [40.0, 20.0], [40.0, 90.0]]
    tasks = sweeps.plan_tasks(spec, spec.points())
    assert [(t.run, t.point, t.replicate, t.seed) for t in tasks] == [
        (0, 0, 0, 41), (1, 0, 1, 42), (2, 1, 0, 41), (3, 1, 1, 42),
        (4, 2, 0, 41), (5, 2, 1, 42), (6, 3, 0, 41), (7, 3, 1, 42)]
    # common random numbers: a replicate has one seed at every point
    assert {t.seed for t in tasks if t.replicate == 1} == {42}
    assert tasks[3].values == {"merchants.cash_buffer_days": 5.0, "merchants.trade_terms_days": 90}
    assert isinstance(tasks[3].values["merchants.trade_terms_days"], int)
    cfg = spec.run_config(tasks[3].values, tasks[3].seed)
    assert (cfg.merchants.cash_buffer_days, cfg.merchants.trade_terms_days, cfg.run.seed) == (5.0, 90, 42)
    assert cfg.population.consumers == 200


def test_sampled_designs_are_seeded_and_sized(tmp_path):
    body = f"""
scenario = "baseline"
{SMALL}
design = "{{design}}"
samples = {{samples}}
seed = 5
{OUTPUTS}
[parameters."merchants.cash_buffer_days"]
range = [5, 60]
[parameters."merchants.trade_terms_days"]
range = [15, 120]
[parameters."consumers.buffer_months"]
range = [0.2, 3.0]
"""
    sizes = {"lhs": (10, 10), "sobol": (8, 8 * (3 + 2)), "morris": (4, 4 * (3 + 1))}
    for design, (samples, points) in sizes.items():
        spec = read_sweep(sweep_file(tmp_path, body.format(design=design, samples=samples)), check_runs=False)
        a, b = spec.points(), spec.points()
        assert a.shape == (points, 3) == (spec.n_points(), 3), design
        np.testing.assert_array_equal(a, b)   # the same root seed, the same design
        assert (a[:, 0] >= 5).all() and (a[:, 0] <= 60).all() and (a[:, 2] <= 3.0).all()
        # an integer parameter is rounded where the model takes it, not in the design
        values = spec.assignments(a[0])
        assert values["merchants.trade_terms_days"] == round(a[0, 1])
    # an integer range holding one integer is a range (every sampled value rounds to it)
    narrow = read_sweep(sweep_file(tmp_path, body.format(design="lhs", samples=4).replace("range = [15, 120]",
                                                                                           "range = [30, 30.4]"),
                                   "n_sweep.toml"), check_runs=False)
    assert {narrow.assignments(row)["merchants.trade_terms_days"] for row in narrow.points()} == {30}
    second = read_sweep(sweep_file(tmp_path, body.format(design="sobol", samples=8).replace(
        "seed = 5", "seed = 5\nsecond_order = true"), "c_sweep.toml"), check_runs=False)
    assert second.n_points() == 8 * (2 * 3 + 2) == len(second.points())
    lhs5 = read_sweep(sweep_file(tmp_path, body.format(design="lhs", samples=10), "a_sweep.toml"), check_runs=False)
    lhs6 = read_sweep(sweep_file(tmp_path, body.format(design="lhs", samples=10).replace("seed = 5", "seed = 6"),
                                 "b_sweep.toml"), check_runs=False)
    assert not np.array_equal(lhs5.points(), lhs6.points())


def test_a_shock_of_the_scenario_is_swept_by_its_index(tmp_path):
    body = f"""
scenario = "platform_tightening"
set = ["population.consumers=200", "population.merchants=8", "run.days=250", "run.burn_in_days=10"]
design = "grid"
{OUTPUTS}
[parameters.tightening]
keys = ["shocks[0].size", "shocks[1].size"]
values = [0.0, -0.5]
"""
    spec = read_sweep(sweep_file(tmp_path, body))
    cfg = spec.run_config({"tightening": -0.5}, 1)
    assert [(s.kind, s.lender, s.size) for s in cfg.shocks] == [("credit_tightening", "baitiao", -0.5),
                                                                ("credit_tightening", "huabei", -0.5)]
    assert [s.size for s in spec.run_config({"tightening": 0.0}, 1).shocks] == [0.0, 0.0]
    # the sweep file's own shocks come after the scenario's
    own = body + '[[shocks]]\nkind = "demand"\nstart = "2026-02-01"\ndays = 30\nsize = -0.1\n'
    own = own.replace('keys = ["shocks[0].size", "shocks[1].size"]', 'key = "shocks[2].size"').replace(
        "values = [0.0, -0.5]", "values = [-0.1, -0.2]")
    spec = read_sweep(sweep_file(tmp_path, own))
    shocks = spec.run_config({"tightening": -0.2}, 1).shocks
    assert [(s.kind, s.size) for s in shocks] == [("credit_tightening", -0.4), ("credit_tightening", -0.4),
                                                   ("demand", -0.2)]
    # without a swept shock, the sweep's shocks are added as they are
    assert len(spec.base_config().shocks) == 3
    plain = read_sweep(sweep_file(tmp_path, own.replace('key = "shocks[2].size"', 'key = "merchants.cash_buffer_days"')
                                  .replace("values = [-0.1, -0.2]", "values = [10.0, 20.0]")))
    overrides, added = plain.run_inputs({"tightening": 20.0}, 7)
    assert overrides[-2:] == (("merchants.cash_buffer_days", 20.0), ("run.seed", 7))
    assert added == ({"kind": "demand", "start": "2026-02-01", "days": 30, "size": -0.1},)
    shocks = plain.run_config({"tightening": 20.0}, 7).shocks
    assert [(s.kind, s.size) for s in shocks] == [("credit_tightening", -0.4), ("credit_tightening", -0.4),
                                                   ("demand", -0.1)]


# --------------------------------------------------------------------------- running and storing


def test_a_sweep_runs_stores_and_loads(tmp_path):
    out = tmp_path / "out"
    report = sweeps.run_sweep(sweep_file(tmp_path, GRID), out)
    assert (report.runs, report.done, report.failed, report.skipped) == (8, 8, 0, 0)
    assert report.run_seconds > 0 and report.seconds >= report.run_seconds
    assert sorted(p.name for p in (out / "runs").iterdir()) == [f"run-{i:06d}.parquet" for i in range(8)]
    table = sweeps.load(out)
    assert table["run"].tolist() == list(range(8)) and (table["status"] == "ok").all()
    assert table["seed"].tolist() == [41, 42] * 4
    assert table["merchants.trade_terms_days"].dtype == np.int64
    assert table["merchant_failure_share"].tolist() == (table["merchant_failures"] / 8).tolist()
    assert table.attrs["sweep"]["design"] == "grid" and table.attrs["missing"] == 0
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["sweep_sha256"] == read_sweep(tmp_path / "t_sweep.toml").sha256
    assert {"python", "numpy", "pandas", "mesa", "SALib", "distributed"} <= set(manifest["versions"])
    assert manifest["last_invocation"]["done"] == 8
    assert (out / "sweep.toml").read_text() == GRID
    assert sweeps.load_design(out).shape == (4, 2)
    # one run's outputs are those of the same configuration run on its own (sim compare's measures)
    from sim.compare import Job, _build, _result
    task = sweeps.plan_tasks(read_sweep(tmp_path / "t_sweep.toml"), sweeps.load_design(out).to_numpy())[5]
    job = Job("x", task.scenario, task.overrides, task.seed, None, ("retail_sales",))
    alone = _result(job, _build(job).run())
    assert table.loc[5, "retail_sales"] == alone.measures["retail_sales"]
    daily = sweeps.load_daily(out)
    assert len(daily) == 8 * 40
    np.testing.assert_allclose(daily.groupby("run")["retail_sales"].sum(), table["retail_sales"], rtol=1e-12)
    np.testing.assert_array_equal(daily.loc[daily["run"] == 5, "retail_sales"], alone.series["retail_sales"])


def test_a_window_restricts_the_outputs_and_the_daily_series(tmp_path):
    """window = [first, last]: the outputs are measured over those days (inclusive), as sim compare's
    --from/--to measure them, and the daily series keep those days only."""
    body = GRID.replace("replicates = 2", 'replicates = 1\nwindow = ["2026-01-10", "2026-01-20"]')
    out = tmp_path / "out"
    sweeps.run_sweep(sweep_file(tmp_path, body), out)
    table, daily = sweeps.load(out), sweeps.load_daily(out)
    assert daily.groupby("run")["date"].agg(["min", "max", "count"]).values.tolist() == \
        [[pd.Timestamp("2026-01-10"), pd.Timestamp("2026-01-20"), 11]] * 4
    np.testing.assert_allclose(daily.groupby("run")["retail_sales"].sum(), table["retail_sales"], rtol=1e-12)
    whole = sweeps.load_daily(sweeps.run_sweep(sweep_file(tmp_path, GRID.replace("replicates = 2", "replicates = 1"),
                                                          "w_sweep.toml"), tmp_path / "whole").folder)
    inside = whole[(whole["date"] >= "2026-01-10") & (whole["date"] <= "2026-01-20")].reset_index(drop=True)
    pd.testing.assert_frame_equal(daily, inside, check_exact=True)
    bad = sweep_file(tmp_path, body.replace('"2026-01-20"', '"2027-01-20"'), "bad_sweep.toml")
    with pytest.raises(ConfigError, match=r"window\[1\] 2027-01-20: outside the recorded window"):
        read_sweep(bad)


def test_executors_agree_bit_for_bit(tmp_path):
    """One process, two local processes and a real Dask LocalCluster (loopback, two workers)
    give the same table, bit for bit."""
    path = sweep_file(tmp_path, GRID)
    sweeps.run_sweep(path, tmp_path / "one")
    sweeps.run_sweep(path, tmp_path / "two", workers=2)
    report = sweeps.run_sweep(path, tmp_path / "dask", dask_local=2)
    assert report.pool == "a local Dask cluster of 2 workers" and report.done == 8
    one = frame(tmp_path / "one")
    for other in ("two", "dask"):
        pd.testing.assert_frame_equal(one, frame(tmp_path / other), check_exact=True)
        pd.testing.assert_frame_equal(sweeps.load_daily(tmp_path / "one"), sweeps.load_daily(tmp_path / other),
                                      check_exact=True)


def test_a_dask_scheduler_address_is_used_as_given(tmp_path):
    """--scheduler: a cluster started apart (here a LocalCluster on loopback) runs the sweep."""
    from distributed import LocalCluster

    path = sweep_file(tmp_path, GRID.replace("replicates = 2", "replicates = 1"))
    sweeps.run_sweep(path, tmp_path / "one")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=40) as cluster:
        report = sweeps.run_sweep(path, tmp_path / "remote", scheduler=cluster.scheduler_address)
    assert report.pool.startswith(f"the Dask cluster at {cluster.scheduler_address}")
    pd.testing.assert_frame_equal(frame(tmp_path / "one"), frame(tmp_path / "remote"), check_exact=True)
    with pytest.raises(ConfigError, match="--scheduler tcp://127.0.0.1:1: cannot connect"):
        sweeps.run_sweep(path, tmp_path / "none", scheduler="tcp://127.0.0.1:1")


def test_rerun_resumes_and_a_changed_file_is_refused(tmp_path):
    path = sweep_file(tmp_path, GRID)
    out = tmp_path / "out"
    sweeps.run_sweep(path, out)
    for run in (2, 5):
        (out / "runs" / f"run-{run:06d}.parquet").unlink()
    before = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    with pytest.raises(IncompleteResults, match="2 of 8 runs missing"):
        sweeps.load(out)
    assert len(sweeps.load(out, partial=True)) == 6
    report = sweeps.run_sweep(path, out)
    assert (report.done, report.skipped) == (2, 6)
    assert all((out / "runs" / n).stat().st_mtime_ns == t for n, t in before.items())   # nothing rerun
    assert sweeps.run_sweep(path, out).skipped == 8
    # a changed sweep file: refused, nothing touched; --force starts again
    sweep_file(tmp_path, GRID.replace("values = [5.0, 40.0]", "values = [5.0, 50.0]"))
    with pytest.raises(sweeps.SweepChanged, match="the sweep file changed"):
        sweeps.run_sweep(path, out)
    assert all((out / "runs" / n).stat().st_mtime_ns == t for n, t in before.items())
    # so is a changed size given beside the file
    sweep_file(tmp_path, GRID)
    with pytest.raises(sweeps.SweepChanged, match="the choices given beside it"):
        sweeps.run_sweep(read_sweep(path, replicates=1), out)
    (out / "analysis").mkdir()   # an analysis of the old runs goes with them
    report = sweeps.run_sweep(read_sweep(path, replicates=1), out, force=True)
    assert not (out / "analysis").exists()
    assert (report.done, report.skipped, report.runs) == (4, 0, 4)
    assert len(sweeps.load(out)) == 4


def test_an_edited_base_scenario_is_noticed(tmp_path):
    (tmp_path / "mine.toml").write_text('extends = "baseline"\n[merchants]\nowner_topup_share = 0.2\n')
    path = sweep_file(tmp_path, GRID.replace('scenario = "baseline"', 'scenario = "mine.toml"')
                      .replace("replicates = 2", "replicates = 1"))
    out = tmp_path / "out"
    sweeps.run_sweep(path, out)
    (tmp_path / "mine.toml").write_text('extends = "baseline"\n[merchants]\nowner_topup_share = 0.3\n')
    with pytest.raises(sweeps.SweepChanged, match="the base scenario"):
        sweeps.run_sweep(path, out)


def test_workers_need_no_scenario_file():
    """The sweep's process loads each run's configuration and sends it: a worker on another
    machine reads no file (a task's scenario path may not exist there)."""
    from sim.config import load_config
    cfg = load_config("baseline", ["population.consumers=200", "population.merchants=8", "run.days=20",
                                   "run.burn_in_days=5", "run.seed=3"])
    task = sweeps.Task(0, 0, 0, 3, {}, "/nowhere/baseline.toml", (), (), (), None, ("retail_sales",), ())
    result = sweeps.run_task(task, cfg)
    assert result["status"] == "ok" and result["outputs"]["retail_sales"] > 0
    failed = sweeps.run_task(task)   # without it, the task's own inputs are read
    assert failed["status"] == "failed" and "scenario file not found: /nowhere/baseline.toml" in failed["error"]


def test_a_run_leaves_no_model_behind():
    """A long-lived worker must not grow a model's size a run: the model's cycles are freed when
    the run ends, not when the collector happens to run (here it never runs by itself)."""
    import gc

    from sim.config import load_config
    from sim.model import CreditModel
    cfg = load_config("baseline", ["population.consumers=200", "population.merchants=8", "run.days=20",
                                   "run.burn_in_days=5"])
    task = sweeps.Task(0, 0, 0, 3, {}, "", (), (), (), None, ("retail_sales",), ())
    gc.collect()
    gc.disable()
    try:
        assert sweeps.run_task(task, cfg)["status"] == "ok"
        alive = [o for o in gc.get_objects() if isinstance(o, CreditModel)]
    finally:
        gc.enable()
    assert alive == []


def test_a_cluster_that_grows_gets_more_runs_in_flight(monkeypatch):
    """Workers that join after the start (a batch queue, an adaptive cluster) are counted: the
    scheduler is asked at most once a second; a scheduler that does not answer keeps the count."""
    clock = [100.0]
    monkeypatch.setattr(sweeps.time, "monotonic", lambda: clock[0])
    workers = [2]

    def count():
        if workers[0] is None:
            raise OSError("no answer")
        return workers[0]

    pool = sweeps.Pool(sweeps.InlineExecutor(), 2, "cluster", count_slots=count)
    assert pool.capacity() == 2
    workers[0] = 6
    assert pool.capacity() == 2          # asked less than a second ago
    clock[0] += 1.0
    assert pool.capacity() == 6
    workers[0] = None
    clock[0] += 1.0
    assert pool.capacity() == 6
    assert sweeps.Pool(sweeps.InlineExecutor(), 3, "local").capacity() == 3


def test_a_folder_of_other_files_or_in_use_is_refused(tmp_path):
    path = sweep_file(tmp_path, GRID)
    # a sweep killed before its manifest was written left only its own files: they are taken again
    early = tmp_path / "early"
    (early / "runs").mkdir(parents=True)
    (early / "points.parquet").write_bytes(b"half")
    assert sweeps.run_sweep(path, early).done == 8
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not a sweep's"):
        sweeps.run_sweep(path, other)
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
    import fcntl
    out = tmp_path / "busy"
    out.mkdir()
    with open(out / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        with pytest.raises(OutputError, match="another sweep is writing there"):
            sweeps.run_sweep(path, out)
    assert not (out / "runs").exists()


def test_failing_runs_are_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch, capsys):
    """A model that raises at some points: the sweep finishes, each failure is a row with its
    parameters, seed and error, the report lists them; a rerun keeps them unless asked."""
    from sim.model import CreditModel

    real = CreditModel.run

    def run(self, *a, **kw):
        if self.cfg.merchants.cash_buffer_days == 5.0 and self.cfg.run.seed == 42:
            raise FloatingPointError("ledger diverged at day 3")
        return real(self, *a, **kw)

    monkeypatch.setattr(CreditModel, "run", run)
    path = sweep_file(tmp_path, GRID)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "6 runs done, 2 failed, 0 skipped" in text
    assert "failed: run 1 (point 0, seed 42; merchants.cash_buffer_days=5.0, merchants.trade_terms_days=20): " \
           "FloatingPointError: ledger diverged at day 3" in text
    table = sweeps.load(out)
    failed = table[table["status"] == "failed"]
    assert failed["run"].tolist() == [1, 3]
    assert failed["error"].tolist() == ["FloatingPointError: ledger diverged at day 3"] * 2
    assert failed["traceback"].str.contains("ledger diverged").all()
    assert failed[["merchant_failures", "retail_sales"]].isna().all().all()
    assert table.loc[table["status"] == "ok", "retail_sales"].notna().all()
    assert sweeps.run_sweep(path, out).skipped == 8   # failures are results: not rerun
    monkeypatch.setattr(CreditModel, "run", real)
    report = sweeps.run_sweep(path, out, retry_failed=True)
    assert (report.done, report.failed, report.skipped) == (2, 0, 6)
    assert (sweeps.load(out)["status"] == "ok").all()


KILLABLE = """
import sys
from sim import sweeps
if __name__ == "__main__":
    sweeps.run_sweep(sys.argv[1], sys.argv[2], workers=2)
"""


def test_a_sweep_killed_mid_way_resumes_without_rerunning(tmp_path):
    """SIGKILL of the whole process group (parent and workers) in the middle; the rerun runs
    only what is missing, every run is there once, and the results equal an unbroken sweep."""
    body = GRID.replace('"run.days=40"', '"run.days=120"').replace("replicates = 2", "replicates = 4")
    path = sweep_file(tmp_path, body)
    out = tmp_path / "out"
    script = tmp_path / "go.py"
    script.write_text(KILLABLE)
    proc = subprocess.Popen([sys.executable, str(script), str(path), str(out)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    runs = out / "runs"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not runs.is_dir() or len(list(runs.glob("run-*.parquet"))) < 3):
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    done = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in runs.glob("run-*.parquet")}
    assert 3 <= len(done) < 16, "the kill should land in the middle"
    report = sweeps.run_sweep(path, out)
    assert (report.skipped, report.done) == (len(done), 16 - len(done))
    assert all((runs / n).stat().st_ino == ino and (runs / n).stat().st_mtime_ns == t for n, (ino, t) in done.items())
    names = sorted(p.name for p in runs.iterdir())
    assert names == [f"run-{i:06d}.parquet" for i in range(16)]   # each once, no temporary file left
    sweeps.run_sweep(path, tmp_path / "whole")
    pd.testing.assert_frame_equal(frame(out), frame(tmp_path / "whole"), check_exact=True)


def test_an_interrupted_sweep_keeps_its_runs_and_says_how_to_resume(tmp_path):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it): exit 130, workers stopped, the
    finished runs kept, and the message says to rerun; SIGTERM likewise with 143."""
    body = GRID.replace('"run.days=40"', '"run.days=120"').replace("replicates = 2", "replicates = 4")
    path = sweep_file(tmp_path, body)
    for sig, status in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        out = tmp_path / f"out{status}"
        proc = subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(path), "--out", str(out), "--workers", "2",
                                 "--quiet"], start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=ROOT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(out.glob("runs/run-*.parquet"))) < 2:
            assert proc.poll() is None
            time.sleep(0.05)
        os.killpg(proc.pid, sig)
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == status, stderr.decode()
        message = stderr.decode()
        assert "the runs finished so far are kept in" in message and "rerun the same command to resume" in message
        assert "Traceback" not in message
        kept = len(list(out.glob("runs/run-*.parquet")))
        assert 2 <= kept < 16 and not list(out.glob("runs/.*"))
        assert sweeps.run_sweep(path, out).skipped == kept


# --------------------------------------------------------------------------- malformed sweep files


BASE = f"""
scenario = "baseline"
{SMALL}
design = "lhs"
samples = 4
{OUTPUTS}
[parameters."merchants.cash_buffer_days"]
range = [5, 60]
"""

GRID_BASE = BASE.replace('design = "lhs"', 'design = "grid"').replace("samples = 4\n", "")

MALFORMED = {
    "unknown key path": (BASE.replace('"merchants.cash_buffer_days"', '"merchants.cash_bufer_days"'),
                         r"parameters\.merchants\.cash_bufer_days: merchants\.cash_bufer_days is not a "
                         r"parameter; did you mean 'cash_buffer_days'\?$"),
    "unknown section": (BASE.replace('"merchants.cash_buffer_days"', '"merchant.cash_buffer_days"'),
                        r"merchant is not a parameter; did you mean 'merchants'\?"),
    "empty range": (BASE.replace("range = [5, 60]", "range = [5, 5.0]"),
                    r"parameters\.merchants\.cash_buffer_days\.range: \[5, 5\.0\] is empty \(lo = hi\)"),
    "reversed range": (BASE.replace("range = [5, 60]", "range = [60, 5]"),
                       r"parameters\.merchants\.cash_buffer_days\.range: \[60, 5\] is reversed \(lo > hi\)"),
    "range outside the parameter's": (BASE.replace("range = [5, 60]", "range = [5, 5000]"),
                                      r"parameters\.merchants\.cash_buffer_days = 5000\.0: merchants\.cash_buffer_days: "
                                      r"5000\.0 is out of range \[0, 3650\] \(days\)"),
    "bad design name": (BASE.replace('design = "lhs"', 'design = "factorial"'),
                        r"design: 'factorial' is not a design; designs: grid, lhs, sobol, morris"),
    "sobol sample size": (BASE.replace('design = "lhs"', 'design = "sobol"').replace("samples = 4", "samples = 100")
                          + '[parameters."merchants.trade_terms_days"]\nrange = [15, 120]\n',
                          r"samples: 100 is not a power of 2; .* \(e\.g\. 64 or 128\)"),
    "sobol with one parameter": (BASE.replace('design = "lhs"', 'design = "sobol"'),
                                 r"parameters: the sobol design needs at least two parameters"),
    "morris odd levels": (BASE.replace('design = "lhs"', 'design = "morris"').replace("samples = 4",
                                                                                      "samples = 4\nlevels = 3")
                          + '[parameters."merchants.trade_terms_days"]\nrange = [15, 120]\n',
                          r"levels: 3 is odd"),
    "unknown output": (BASE.replace('"retail_sales"', '"retail_sale"'),
                       r"outputs: 'retail_sale' is not an output; outputs: retail_sales, "),
    "unknown top-level key": ("replicate = 3\n" + BASE, r"replicate: unknown key; did you mean 'replicates'\?"),
    "run.seed in set": (BASE.replace('"run.burn_in_days=10"', '"run.burn_in_days=10", "run.seed=4"'),
                        r"set: run.seed is the sweep's to set: replicate r runs on seed \+ r"),
    "values with a sampled design": (BASE.replace("range = [5, 60]", "values = [5, 60]"),
                                     r"parameters\.merchants\.cash_buffer_days\.values: the lhs design samples "
                                     r"ranges; give range = \[lo, hi\]"),
    "an unknown key in a parameter table": (BASE + "step = 3\n", r"parameters\.merchants\.cash_buffer_days\.step: "
                                                                  r"unknown key \(known: key, keys, range, values"),
    "an unknown key path among keys": (BASE.replace('"merchants.cash_buffer_days"', "x").replace(
        "range", 'keys = ["merchants.nope"]\nrange'),
        r"parameters\.x\.keys: merchants\.nope is not a parameter \(known: start_sales_share, "),
    "grid range without steps": (BASE.replace('design = "lhs"', 'design = "grid"').replace("samples = 4\n", ""),
                                 r"parameters\.merchants\.cash_buffer_days\.steps: missing"),
    "shock index beyond the run's": (BASE.replace('"merchants.cash_buffer_days"', "x").replace(
        "range = [5, 60]", 'key = "shocks[0].size"\nrange = [-0.5, 0]'),
        r"parameters\.x: shocks\[0\]\.size: the run has 0 shocks"),
    "systemic on an output not kept": (BASE + '[analysis]\nsystemic = "contagion_failures > 2"\n',
                                       r"analysis\.systemic: 'contagion_failures' is not among the outputs kept"),
    "a scenario that is not there": (BASE.replace('scenario = "baseline"', 'scenario = "baseline_x"'),
                                     r"unknown scenario 'baseline_x'"),
    "no parameters": (BASE.split("[parameters")[0], r"parameters: missing or empty"),
    "not TOML": (BASE + "\ndesign = \n", r"invalid TOML"),
    # each refusal of a parameter table, by name
    "key and keys": (BASE + 'key = "merchants.cash_buffer_days"\nkeys = ["merchants.cash_buffer_days"]\n',
                     r"parameters\.merchants\.cash_buffer_days: give key or keys, not both"),
    "neither range nor values": (BASE.replace("range = [5, 60]", 'key = "merchants.cash_buffer_days"'),
                                 r"parameters\.merchants\.cash_buffer_days: give either range = \[lo, hi\] or "
                                 r"values = \[\.\.\.\]"),
    "range and values": (BASE + "values = [5, 60]\n", r"give either range = \[lo, hi\] or values"),
    "a parameter that is not a table": (BASE.split("[parameters")[0] + '[parameters]\n"merchants.cash_buffer_days" = 5\n',
                                        r"parameters\.merchants\.cash_buffer_days: expected a table with range or "
                                        r"values, got 5"),
    "empty keys": (BASE.replace('"merchants.cash_buffer_days"', "x").replace("range", "keys = []\nrange"),
                   r"parameters\.x\.keys: expected a non-empty list of key paths, got \[\]"),
    "a key that is not a string": (BASE.replace('"merchants.cash_buffer_days"', "x").replace("range", "key = 5\nrange"),
                                   r"parameters\.x\.key: expected a key path, got 5"),
    "keys of two types": (BASE.replace('"merchants.cash_buffer_days"', "x").replace(
        "range", 'keys = ["merchants.trade_terms_days", "merchants.cash_buffer_days"]\nrange'),
        r"parameters\.x: its key paths take different types"),
    "empty values": (GRID_BASE.replace("range = [5, 60]", "values = []"),
                     r"parameters\.merchants\.cash_buffer_days\.values: expected a non-empty list, got \[\]"),
    "a value twice": (GRID_BASE.replace("range = [5, 60]", "values = [5.0, 5.0]"), r"\.values: a value is given twice"),
    "a value that is not finite": (GRID_BASE.replace("range = [5, 60]", "values = [5.0, nan]"),
                                   r"\.values: nan is not a number, boolean or string"),
    "a value that is a table": (GRID_BASE.replace("range = [5, 60]", "values = [{a = 1}]"),
                                r"\.values: a table is not a number, boolean or string"),
    "steps with values": (GRID_BASE.replace("range = [5, 60]", "values = [5.0]\nsteps = 3"),
                          r"\.steps: goes with a range, not with values"),
    "steps in a sampled design": (BASE + "steps = 3\n", r"\.steps: used by the grid design only, not lhs"),
    "steps that repeat an integer": (GRID_BASE.replace('"merchants.cash_buffer_days"', '"merchants.trade_terms_days"')
                                     .replace("range = [5, 60]", "range = [30, 32]\nsteps = 5"),
                                     r"\.steps: 5 steps over \[30, 32\] repeat an integer"),
    "a malformed range": (BASE.replace("range = [5, 60]", "range = [5]"),
                          r"\.range: expected \[lo, hi\] \(two finite numbers\), got \[5\]"),
    "a range of words": (BASE.replace("range = [5, 60]", 'range = ["a", "b"]'), r"\.range: expected \[lo, hi\]"),
    "a range on a word parameter": (BASE.replace('"merchants.cash_buffer_days"', '"run.start_date"'),
                                    r"parameters\.run\.start_date\.range: a range needs a numeric parameter; "
                                    r"run\.start_date is str"),
    "an integer range with no integer": (BASE.replace('"merchants.cash_buffer_days"', '"merchants.trade_terms_days"')
                                         .replace("range = [5, 60]", "range = [30.2, 30.7]"),
                                         r"\.range: \[30\.2, 30\.7\] holds no integer"),
    # the design's own keys
    "lhs without samples": (BASE.replace("samples = 4\n", ""), r"samples: missing: the number of points of the Latin "
                                                               r"hypercube"),
    "sobol without samples": (BASE.replace('design = "lhs"', 'design = "sobol"').replace("samples = 4\n", ""),
                              r"samples: missing: N, the base sample of Saltelli's design"),
    "morris without samples": (BASE.replace('design = "lhs"', 'design = "morris"').replace("samples = 4\n", ""),
                               r"samples: missing: the number of Morris trajectories"),
    "one sample": (BASE.replace("samples = 4", "samples = 1"), r"samples: 1 is out of range \[2, 1000000\]"),
    "samples in a grid": ("samples = 4\n" + GRID_BASE.replace("range = [5, 60]", "values = [5.0]"),
                          r"samples: not used by the grid design"),
    "levels outside morris": (BASE.replace("samples = 4", "samples = 4\nlevels = 4"),
                              r"levels: used by the morris design only, not lhs"),
    "second_order outside sobol": (BASE.replace("samples = 4", "samples = 4\nsecond_order = true"),
                                   r"second_order: used by the sobol design only, not lhs"),
    "too many runs": (BASE.replace("samples = 4", "samples = 600000\nreplicates = 2"),
                      r"replicates: 600,000 points x 2 replicates = 1,200,000 runs, over the limit of 1,000,000"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_sweep_file_fails_before_any_run(case, tmp_path, capsys):
    body, message = MALFORMED[case]
    path = sweep_file(tmp_path, body)
    with pytest.raises(ConfigError, match=message) as err:
        read_sweep(path)
    assert str(err.value).startswith(f"{path}: ")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--quiet"]) == 2
    assert "sim: configuration error: " in capsys.readouterr().err
    assert not out.exists()   # nothing run, nothing written


def test_command_line_options_are_checked(tmp_path, capsys):
    path = sweep_file(tmp_path, GRID)
    assert main(["sweep", str(path), "--out", str(tmp_path / "o"), "--workers", "0", "--quiet"]) == 2
    assert "--workers: 0 must be a whole number of at least 1" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit):   # argparse: one way to run at a time
        main(["sweep", str(path), "--workers", "2", "--dask-local", "2"])
    assert main(["sweep", str(path), "--out", str(tmp_path / "o"), "--samples", "8", "--quiet"]) == 2
    assert "samples: not used by the grid design" in capsys.readouterr().err


def test_example_sweeps_are_valid():
    """Every shipped *_sweep.toml reads and checks; the quick one is small."""
    files = sorted((ROOT / "scenarios").glob("*_sweep.toml"))
    assert {"quick_sweep.toml", "tipping_point_sweep.toml", "sobol_sweep.toml"} <= {p.name for p in files}
    for path in files:
        spec = read_sweep(path, check_runs=path.name == "quick_sweep.toml")
        assert spec.description
    quick = read_sweep(ROOT / "scenarios" / "quick_sweep.toml")
    assert quick.n_runs() <= 30
    assert quick.base_config().population.consumers <= 1000


# --------------------------------------------------------------------------- the shipped examples, end to end


def test_the_quick_sweep_runs_and_is_analysed_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "quick"
    assert main(["sweep", "quick_sweep", "--out", str(out), "--workers", "2"]) == 0
    printed = capsys.readouterr().out
    assert "sweep quick_sweep: grid design, 9 points x 3 replicates = 27 runs of platform_tightening" in printed
    assert "27 runs done, 0 failed, 0 skipped (already there) of 27" in printed
    table = sweeps.load(out)
    assert len(table) == 27 and (table["status"] == "ok").all()
    # the tightening bites: more platform limit cuts at every cash buffer, replicate by replicate
    cuts = table.pivot_table(index=["merchants.cash_buffer_days", "seed"], columns="platform_tightening",
                             values="limit_cuts")
    assert (cuts[-0.6] > cuts[0.0]).all()
    assert main(["analyze", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Heat maps over platform_tightening and merchants.cash_buffer_days" in printed
    files = {p.name for p in (out / "analysis").iterdir()}
    assert {"analysis.json", "replicates.csv", "prim_boxes.csv", "heatmap_merchant_failure_share.png"} <= files
    cells = pd.read_csv(out / "analysis" / "heatmap_limit_cuts.csv")
    assert len(cells) == 9 and cells["runs"].eq(3).all()


def test_the_sobol_example_gives_indices_with_intervals(tmp_path, capsys):
    """The shipped Sobol design at a toy size (N = 8: 8 x (9 + 2) = 88 points, one replicate)."""
    small = ["population.consumers=200", "population.merchants=8", "run.days=245", "run.burn_in_days=10"]
    out = tmp_path / "sobol"
    args = ["sweep", "sobol_sweep", "--out", str(out), "--samples", "8", "--replicates", "1", "--workers", "2",
            "--quiet"]
    assert main([*args, *(x for s in small for x in ("--set", s))]) == 0
    assert sweeps.load(out).attrs["manifest"]["spec"]["points"] == 88
    assert main(["analyze", str(out), "--outputs", "retail_sales",
                 "--quiet"]) == 0
    indices = pd.read_csv(out / "analysis" / "sobol.csv")
    spec = read_sweep(ROOT / "scenarios" / "sobol_sweep.toml", check_runs=False)
    assert indices["parameter"].tolist() == [p.name for p in spec.parameters]
    for index in ("S1", "ST"):
        values, low, high = (indices[c].to_numpy() for c in (index, f"{index}_low", f"{index}_high"))
        assert np.isfinite(values).all() and (low <= values).all() and (values <= high).all()
    assert (indices["ST_low"] > 0).any()   # some parameter matters, beyond the bootstrap's doubt
    assert (out / "analysis" / "indices_retail_sales.png").stat().st_size > 0
