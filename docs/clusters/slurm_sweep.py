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
    common.add_job_arguments(parser, "SLURM", "#SBATCH", "partition", "--job-extra=--constraint=avx512")
    args = parser.parse_args()

    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        sys.exit("dask-jobqueue is not installed: pip install dask-jobqueue (it is not a dependency of the package)")

    common.read_spec(args)   # a malformed sweep file stops here, before any job is submitted
    cluster = SLURMCluster(**common.jobqueue_options(args))
    return common.run_jobs(args, cluster)


if __name__ == "__main__":
    sys.exit(main())
