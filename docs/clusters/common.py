"""What the cluster scripts of this folder share: the sweep's options, a check of the workers
before the first run, and the sweep itself (docs/sweeps.md, section 7).

The scripts start a Dask cluster their own way (dask-jobqueue on SLURM or PBS, the Dask
Kubernetes operator) and hand its scheduler's address to :func:`run`, which

1. reads and checks the sweep file (as ``sim sweep`` does, before anything is submitted);
2. waits until the requested workers have joined, so that the checks of step 3 cover them all
   (workers that join later still get runs: the sweep counts its workers once a second);
3. checks that every worker can make the same runs as this process: the same Python, the same
   package versions, the same model code (a digest of ``sim/`` and ``agents/``), and a network
   file the runs load, if any, at the same path; and warns when the workers' CPUs differ from
   this machine's (floating-point paths can differ in the last bits: docs/model.md 4);
4. runs the sweep with :func:`sim.sweeps.run_sweep` (``scheduler=ADDRESS``): this process
   writes every result, so the workers need no shared file system for the results;
5. stops the sweep, keeping every finished run, when no worker has been connected for
   ``--idle-minutes`` (the batch jobs ended, say): rerun the same command to resume.

Not a module of the package: the scripts import it from their own folder.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import sys
import threading
import time
from pathlib import Path

try:
    from sim.config import ConfigError, resolve_scenario
    from sim.results import OutputError
    from sim.sweep_file import read_sweep
    from sim.sweeps import run_sweep
except ImportError:
    sys.exit("cannot import the package `sim`: run this script with the Python of the environment where "
             "credit-contagion is installed (pip install -e . in the repository)")


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every cluster script takes, as ``sim sweep`` names them."""
    parser.add_argument("sweep", help="a sweep file (*_sweep.toml: a name in scenarios/ or a path)")
    parser.add_argument("--out", help="results folder, written by this process only (default results/SWEEP)")
    parser.add_argument("--samples", type=int, help="the design's sample size instead of the file's")
    parser.add_argument("--replicates", type=int, help="replicates per point instead of the file's")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="add to the sweep file's set (repeatable)")
    parser.add_argument("--force", action="store_true",
                        help="start again when --out holds runs of another version of the sweep")
    parser.add_argument("--retry-failed", action="store_true", help="run again the runs recorded as failed")
    parser.add_argument("--wait-minutes", type=float, default=30.0,
                        help="how long to wait for the workers to join (default 30; the batch queue may be slow)")
    parser.add_argument("--idle-minutes", type=float, default=10.0,
                        help="stop the sweep (resumable) when no worker has been connected this long (default 10)")
    parser.add_argument("--skip-checks", action="store_true",
                        help="do not refuse workers whose Python, packages or model code differ from this process's")


def add_job_arguments(parser: argparse.ArgumentParser, system: str, directive: str, queue: str,
                      example: str) -> argparse._ArgumentGroup:
    """The options of a dask-jobqueue cluster's batch jobs (SLURM, PBS): ``system`` names the
    cluster class, ``directive`` the job script's (``#SBATCH``), ``queue`` what a queue is
    called there, ``example`` a directive for --job-extra's help."""
    job = parser.add_argument_group(f"{system} jobs (dask-jobqueue {system}Cluster)")
    job.add_argument("--jobs", type=int, default=4, help="batch jobs to submit (default 4)")
    job.add_argument("--cores", type=int, default=8,
                     help="cores per job, one single-threaded worker process each (default 8)")
    job.add_argument("--memory", default="12GB",
                     help="memory per job, shared by its worker processes (default 12GB: 1.5 GB a worker; "
                          "docs/sweeps.md section 8 sizes it)")
    job.add_argument("--walltime", default="02:00:00", help="walltime per job, HH:MM:SS (default 02:00:00)")
    job.add_argument("--queue", help=f"{queue} ({directive} {'-p' if directive == '#SBATCH' else '-q'})")
    job.add_argument("--account", help=f"account to charge ({directive} -A)")
    job.add_argument("--job-extra", action="append", default=[], metavar="DIRECTIVE",
                     help=f"another {directive} directive, e.g. {example} (repeatable)")
    job.add_argument("--interface", help="network interface the workers reach the scheduler on, e.g. ib0")
    job.add_argument("--local-directory", default=None,
                     help="worker scratch folder on the compute node (default: Dask's; e.g. $TMPDIR)")
    job.add_argument("--log-directory", default="dask-logs", help="folder for the jobs' output (default dask-logs)")
    return job


def jobqueue_options(args: argparse.Namespace) -> dict:
    """The keywords of a dask-jobqueue cluster made from :func:`add_job_arguments`' options."""
    return dict(
        cores=args.cores,
        processes=args.cores,               # one thread per worker process: one run at a time each
        memory=args.memory,
        walltime=args.walltime,
        queue=args.queue,
        account=args.account,
        job_extra_directives=args.job_extra,
        interface=args.interface,
        local_directory=args.local_directory,
        log_directory=args.log_directory,
        job_name="sim-sweep",
        python=sys.executable,              # the workers run this script's Python (and so its packages)
        # one BLAS/OpenMP thread per process (the runs limit BLAS themselves; this covers the rest);
        # no statistical profiler in the workers (it samples the running run every 10 ms: ~5% of its time)
        job_script_prologue=["export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1",
                             "export DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False"],
    )


def run_jobs(args: argparse.Namespace, cluster) -> int:
    """Show the job script, submit ``--jobs`` jobs, run the sweep on them, and close the cluster."""
    try:
        print(cluster.job_script())
        cluster.scale(jobs=args.jobs)
        return run(args, cluster, expected_workers=args.jobs * args.cores)
    finally:
        cluster.close()


def read_spec(args: argparse.Namespace):
    """The checked sweep (``sim sweep``'s checks: every run's configuration before the first run)."""
    try:
        return read_sweep(resolve_scenario(args.sweep), samples=args.samples, replicates=args.replicates,
                          overrides=args.overrides)
    except ConfigError as err:
        sys.exit(f"configuration error: {err}")


# --------------------------------------------------------------------------- what the workers must have


def files_runs_read(spec) -> list[str]:
    """The files a worker opens to build a run. The sweep sends each run's whole configuration
    with the task, so no scenario file is read there; only a supply network loaded from a file
    (``network.path``, and for an edge list its ``nodes_path``) is, by the path it has here."""
    network = spec.base_config().network
    out = []
    if network.path:
        path = Path(network.path).resolve()
        out.append(path)
        if path.suffix.lower() == ".csv":
            out.append(Path(network.nodes_path).resolve() if network.nodes_path
                       else path.with_name(f"{path.stem}.nodes.csv"))
    return [str(p) for p in out]


def environment(paths: list[str]) -> dict:
    """What decides whether a process makes the same runs as another one. Runs on this machine
    and on every worker (sent by value: the workers need not have this file)."""
    import importlib.metadata
    import platform as _platform
    from pathlib import Path as _Path

    import sim
    from sim.sweeps import package_versions

    root = _Path(sim.__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for folder in ("sim", "agents"):
        for source in sorted((root / folder).rglob("*.py")):
            digest.update(source.relative_to(root).as_posix().encode())
            digest.update(source.read_bytes())
    cpu = _platform.processor() or _platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        package = importlib.metadata.version("credit-contagion")
    except importlib.metadata.PackageNotFoundError:
        package = "not installed"
    return {"python": _platform.python_version(), "versions": package_versions(), "package": package,
            "code": digest.hexdigest()[:16], "missing": [p for p in paths if not os.path.isfile(p)],
            "cpu": cpu, "host": _platform.node()}


def wait_for_workers(client, expected: int, minutes: float) -> int:
    """Wait until ``expected`` worker processes have joined, or ``minutes`` have passed; the
    number that joined. The sweep sizes its queue by the workers it finds at the start."""
    deadline = time.monotonic() + minutes * 60
    joined = 0
    while time.monotonic() < deadline:
        joined = len(client.nthreads())
        if joined >= expected:
            return joined
        print(f"\r{joined} of {expected} workers joined ...", end="", file=sys.stderr, flush=True)
        time.sleep(5)
    print(file=sys.stderr)
    return joined


def check_workers(client, spec, skip: bool) -> None:
    """Refuse workers that would make other runs than this process (see the module's docstring)."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])   # workers need not have this file
    paths = files_runs_read(spec)
    here = environment(paths)
    there = client.run(environment, paths)
    problems, cpus = [], {}
    for address, facts in sorted(there.items()):
        for key in ("python", "package", "code"):
            if facts[key] != here[key]:
                problems.append(f"{address} ({facts['host']}): {key} {facts[key]}, here {here[key]}")
        for name, version in here["versions"].items():
            if facts["versions"].get(name) != version:
                problems.append(f"{address} ({facts['host']}): {name} {facts['versions'].get(name)}, here {version}")
        for path in facts["missing"]:
            problems.append(f"{address} ({facts['host']}): no file {path} (runs read it)")
        cpus.setdefault(facts["cpu"], []).append(address)
    if problems:
        shown = "\n  ".join(problems[:20]) + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else "")
        if skip and not any("no file" in p for p in problems):
            print(f"warning: the workers differ from this process (--skip-checks):\n  {shown}", file=sys.stderr)
        else:
            sys.exit(f"the workers cannot make the same runs as this process:\n  {shown}\n"
                     f"install the same version of the package with the same Python on every worker "
                     f"(see docs/sweeps.md, section 7)")
    if set(cpus) - {here["cpu"]}:
        listed = "; ".join(f"{cpu}: {len(addresses)} workers" for cpu, addresses in cpus.items())
        print(f"note: the workers' CPUs ({listed}) differ from this machine's ({here['cpu']}): each run is "
              f"still deterministic, but a run on another CPU can differ from the same run here in the last "
              f"bits and then follow another path (docs/model.md, section 4)", file=sys.stderr)


def _watch(cluster, minutes: float, stop: threading.Event) -> None:
    """Interrupt the sweep (as Ctrl-C does) when no worker has been connected for ``minutes``."""
    idle_since = None
    while not stop.wait(30):
        try:
            workers = len(cluster.scheduler_info.get("workers", {}))
        except Exception:   # the cluster object is closing
            return
        if workers:
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > minutes * 60:
            print(f"\nno worker connected for {minutes:g} minutes: stopping the sweep", file=sys.stderr)
            os.kill(os.getpid(), signal.SIGINT)
            return


def run(args: argparse.Namespace, cluster, expected_workers: int) -> int:
    """Run the sweep ``args`` describes on ``cluster`` (a started Dask cluster object); the exit
    status (0 when every run is done, 1 when some failed, 130 when stopped)."""
    from distributed import Client

    spec = read_spec(args)
    out = Path(args.out) if args.out else Path("results") / spec.name
    print(f"sweep {spec.name}: {spec.design} design, {spec.n_points():,} points x {spec.replicates} replicates "
          f"= {spec.n_runs():,} runs (checked)")
    print(f"scheduler {cluster.scheduler_address}; dashboard {getattr(cluster, 'dashboard_link', '')}")
    with Client(cluster) as client:
        joined = wait_for_workers(client, expected_workers, args.wait_minutes)
        if not joined:
            sys.exit(f"no worker joined in {args.wait_minutes:g} minutes: check the batch queue "
                     f"(squeue / qstat / kubectl get pods) and the job logs")
        if joined < expected_workers:
            print(f"warning: {joined} of {expected_workers} workers joined; the sweep runs on those "
                  f"(workers that join later stay idle)", file=sys.stderr)
        check_workers(client, spec, args.skip_checks)
    stop = threading.Event()
    threading.Thread(target=_watch, args=(cluster, args.idle_minutes, stop), daemon=True).start()
    try:
        report = run_sweep(spec, out, scheduler=cluster.scheduler_address, force=args.force,
                           retry_failed=args.retry_failed, progress=True)
    except KeyboardInterrupt:
        print(f"stopped; the runs finished so far are kept in {out}/: rerun the same command to resume",
              file=sys.stderr)
        return 130
    except (ConfigError, OutputError) as err:   # a changed sweep in --out, another sweep writing there
        sys.exit(f"{err}")
    finally:
        stop.set()
    print(report.text())
    return 1 if report.failed else 0
