"""Benchmark of the sweep machinery (``sim sweep``): its overhead and how it scales.

One sweep file (an LHS design over two merchant parameters on the baseline at a chosen size)
is run three ways, each into a fresh folder, one after the other:

1. one worker (this process): **overhead** = wall time / sum of the runs' own times - 1, where a
   run's own time is what ``run_task`` measures around building, running and measuring the
   model; the rest is the sweep's: checking the file and every point's configuration, drawing
   the design, writing each run's Parquet file atomically, the manifest, progress;
2. two local worker processes: **speed-up** = wall(1) / wall(2);
3. a local Dask cluster of two workers: speed-up = wall(1) / wall(Dask).

The three tables are checked to be equal bit for bit (times apart). Nothing is asserted on
the times: this only measures (docs/performance.md records the numbers).

Usage (from the repository root)::

    python benchmarks/bench_sweep.py                    # 16 runs of 5,000 consumers
    python benchmarks/bench_sweep.py --runs 8 --consumers 1000 --out benchmarks/out/bench_sweep.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SWEEP = """
description = "benchmark"
scenario = "baseline"
set = ["population.consumers={consumers}", "population.merchants={merchants}", "run.days={days}"]
design = "lhs"
samples = {runs}
seed = 20260101
outputs = ["merchant_failures", "retail_sales", "unemployment_rate_peak"]

[parameters."merchants.cash_buffer_days"]
range = [7, 60]

[parameters."merchants.trade_terms_days"]
range = [30, 90]
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=16, help="runs in the sweep (default 16)")
    ap.add_argument("--consumers", type=int, default=5000, help="consumers a run (default 5000; merchants = /50)")
    ap.add_argument("--days", type=int, default=365, help="recorded days a run (default 365, after the burn-in)")
    ap.add_argument("--out", help="also write the numbers to this JSON file")
    args = ap.parse_args()

    import pandas as pd

    from sim import sweeps
    from sim.outputs import code_version

    work = Path(tempfile.mkdtemp(prefix="bench_sweep-"))
    path = work / "bench_sweep.toml"
    path.write_text(SWEEP.format(consumers=args.consumers, merchants=max(args.consumers // 50, 2),
                                 days=args.days, runs=args.runs))
    ways = {"one process": {}, "2 local processes": {"workers": 2}, "Dask LocalCluster, 2 workers": {"dask_local": 2}}
    rows, tables = [], {}
    for label, how in ways.items():
        started = time.perf_counter()
        report = sweeps.run_sweep(path, work / label.replace(" ", "_"), **how)
        wall = time.perf_counter() - started
        tables[label] = sweeps.load(work / label.replace(" ", "_")).drop(columns=["seconds", "code_version"])
        rows.append({"executor": label, "wall_s": wall, "run_s_sum": report.run_seconds,
                     "runs": report.done, "failed": report.failed})
        print(f"{label:30s} wall {wall:7.1f} s   sum of run times {report.run_seconds:7.1f} s", flush=True)
    first = next(iter(tables.values()))
    for label, table in tables.items():
        pd.testing.assert_frame_equal(first, table, check_exact=True)
    one = rows[0]
    overhead = one["wall_s"] / one["run_s_sum"] - 1
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "code_version": code_version(), "runs": args.runs, "consumers": args.consumers, "days": args.days,
        "rows": rows, "overhead_one_worker": overhead,
        "speedup_2_processes": one["wall_s"] / rows[1]["wall_s"],
        "speedup_dask_2_workers": one["wall_s"] / rows[2]["wall_s"],
        "identical": True,
    }
    print(f"overhead (one worker): {100 * overhead:.1f}% of the runs' own time")
    print(f"speed-up of 2 local processes over 1: {result['speedup_2_processes']:.2f}")
    print(f"speed-up of a 2-worker Dask LocalCluster over 1 process: {result['speedup_dask_2_workers']:.2f}")
    print("tables identical bit for bit across the three executors")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
