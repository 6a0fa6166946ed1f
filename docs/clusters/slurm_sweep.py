"""Run a sweep on a SLURM cluster with dask-jobqueue (docs/sweeps.md, section 7).

This process is the sweep's client and the Dask scheduler: it submits ``--jobs`` batch jobs,
each one a node share of ``--cores`` single-threaded Dask worker processes with ``--memory``
between them, waits for them to join, checks them, runs the sweep and writes every result into
``--out`` itself. Run it where it may run for the whole sweep and where the compute nodes can
reach it over the network: on the login node if the site allows long processes there (in
``tmux`` or ``screen``), else inside a small batch job of its own (one core, 2 GB, the sweep's
walltime). Rerun the same command to resume: only the runs with no file in ``--out`` are run.

Setup, once, on the login node, in a clone of the repository on a file system the compute
nodes mount (the worker jobs start the Python of the repository's ``.venv`` by its path)::

    make run                                   # or: python3.12 -m venv .venv && .venv/bin/pip install -e .
    .venv/bin/pip install dask-jobqueue        # not a dependency of the package

Then, for example (20 jobs of 16 workers: 320 runs at once)::

    .venv/bin/python docs/clusters/slurm_sweep.py tipping_point_sweep --jobs 20 --cores 16 \\
        --memory 24GB --walltime 02:00:00 --queue standard --account my-project

The workers start with the Python that runs this script (the repository's ``.venv``), so they
have the same package, Python and libraries; the script checks it before the first run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))   # common.py beside this file

import common  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_sweep_arguments(parser)
    job = parser.add_argument_group("SLURM jobs (dask-jobqueue SLURMCluster)")
    job.add_argument("--jobs", type=int, default=4, help="batch jobs to submit (default 4)")
    job.add_argument("--cores", type=int, default=8,
                     help="cores per job, one single-threaded worker process each (default 8)")
    job.add_argument("--memory", default="12GB",
                     help="memory per job, shared by its worker processes (default 12GB: 1.5 GB a worker; "
                          "docs/sweeps.md section 8 sizes it)")
    job.add_argument("--walltime", default="02:00:00", help="walltime per job, HH:MM:SS (default 02:00:00)")
    job.add_argument("--queue", help="partition (#SBATCH -p)")
    job.add_argument("--account", help="account to charge (#SBATCH -A)")
    job.add_argument("--job-extra", action="append", default=[], metavar="DIRECTIVE",
                     help="another #SBATCH directive, e.g. --job-extra=--constraint=avx512 (repeatable)")
    job.add_argument("--interface", help="network interface the workers reach the scheduler on, e.g. ib0")
    job.add_argument("--local-directory", default=None,
                     help="worker scratch folder on the compute node (default: Dask's; e.g. $TMPDIR)")
    job.add_argument("--log-directory", default="dask-logs", help="folder for the jobs' output (default dask-logs)")
    args = parser.parse_args()

    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        sys.exit("dask-jobqueue is not installed: pip install dask-jobqueue (it is not a dependency of the package)")

    common.read_spec(args)   # a malformed sweep file stops here, before any job is submitted
    cluster = SLURMCluster(
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
    try:
        print(cluster.job_script())
        cluster.scale(jobs=args.jobs)
        return common.run(args, cluster, expected_workers=args.jobs * args.cores)
    finally:
        cluster.close()


if __name__ == "__main__":
    sys.exit(main())
