"""Run a sweep on a PBS (PBS Pro, OpenPBS, Torque) cluster with dask-jobqueue (docs/sweeps.md,
section 7).

This process is the sweep's client and the Dask scheduler: it submits ``--jobs`` batch jobs,
each one of ``--cores`` single-threaded Dask worker processes with ``--memory`` between them,
waits for them to join, checks them, runs the sweep and writes every result into ``--out``
itself. Run it where it may run for the whole sweep and where the compute nodes can reach it
over the network: on the login node if the site allows long processes there (in ``tmux`` or
``screen``), else inside a small batch job of its own. Rerun the same command to resume: only
the runs with no file in ``--out`` are run.

Setup, once, on the login node, in a clone of the repository on a file system the compute
nodes mount (the worker jobs start the Python of the repository's ``.venv`` by its path)::

    make run                                   # or: python3.12 -m venv .venv && .venv/bin/pip install -e .
    .venv/bin/pip install dask-jobqueue        # not a dependency of the package

Then, for example (10 jobs of 24 workers: 240 runs at once)::

    .venv/bin/python docs/clusters/pbs_sweep.py sobol_sweep --jobs 10 --cores 24 --memory 36GB \\
        --walltime 03:00:00 --queue workq --account my-project

PBS Pro sites that want the resources as a select statement get one by default
(``select=1:ncpus=CORES:mem=MEMORY``); give ``--resource-spec`` to write your own.
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
    job = parser.add_argument_group("PBS jobs (dask-jobqueue PBSCluster)")
    job.add_argument("--jobs", type=int, default=4, help="batch jobs to submit (default 4)")
    job.add_argument("--cores", type=int, default=8,
                     help="cores per job, one single-threaded worker process each (default 8)")
    job.add_argument("--memory", default="12GB",
                     help="memory per job, shared by its worker processes (default 12GB: 1.5 GB a worker; "
                          "docs/sweeps.md section 8 sizes it)")
    job.add_argument("--walltime", default="02:00:00", help="walltime per job, HH:MM:SS (default 02:00:00)")
    job.add_argument("--queue", help="queue (#PBS -q)")
    job.add_argument("--account", help="account to charge (#PBS -A)")
    job.add_argument("--resource-spec", help="#PBS -l resources (default select=1:ncpus=CORES:mem=MEMORY)")
    job.add_argument("--job-extra", action="append", default=[], metavar="DIRECTIVE",
                     help="another #PBS directive, e.g. --job-extra='-l place=scatter' (repeatable)")
    job.add_argument("--interface", help="network interface the workers reach the scheduler on, e.g. ib0")
    job.add_argument("--local-directory", default=None,
                     help="worker scratch folder on the compute node (default: Dask's; e.g. $TMPDIR)")
    job.add_argument("--log-directory", default="dask-logs", help="folder for the jobs' output (default dask-logs)")
    args = parser.parse_args()

    try:
        from dask_jobqueue import PBSCluster
    except ImportError:
        sys.exit("dask-jobqueue is not installed: pip install dask-jobqueue (it is not a dependency of the package)")

    common.read_spec(args)   # a malformed sweep file stops here, before any job is submitted
    cluster = PBSCluster(
        cores=args.cores,
        processes=args.cores,               # one thread per worker process: one run at a time each
        memory=args.memory,
        walltime=args.walltime,
        queue=args.queue,
        account=args.account,
        resource_spec=args.resource_spec,
        job_extra_directives=args.job_extra,
        interface=args.interface,
        local_directory=args.local_directory,
        log_directory=args.log_directory,
        job_name="sim-sweep",
        python=sys.executable,              # the workers run this script's Python (and so its packages)
        job_script_prologue=["export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1",
                             "export DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False"],   # no profiler: ~5% a run
    )
    try:
        print(cluster.job_script())
        cluster.scale(jobs=args.jobs)
        return common.run(args, cluster, expected_workers=args.jobs * args.cores)
    finally:
        cluster.close()


if __name__ == "__main__":
    sys.exit(main())
