"""Speed benchmark of one simulated day (``CreditModel.step``).

For each population size (consumers; merchants = consumers // 50) the baseline
scenario is built with ``run.burn_in_days=0`` and ``run.days = warmup + days + 1``,
the construction is timed on its own, ``warmup`` days are stepped untimed, then
``days`` whole daily steps are timed with ``time.perf_counter``. Reported:
consumer-days per second (consumers * days / seconds), seconds per day, setup
seconds and peak memory (``resource.getrusage().ru_maxrss``).

Each size runs in a fresh Python process so its peak memory is its own. In the
same process a fixed numpy reference workload is timed (50 passes of an
elementwise add, multiply and ``where`` over 1,000,000 float64 values, best of
several repeats), so "seconds per model day / reference seconds" is comparable
across machines. At the largest size, 10 further days are run under cProfile and
the top functions by own time (and the twelve schedule phases by cumulative
time) are printed and stored.

Usage (from the repository root)::

    make bench
    python benchmarks/bench_step.py --sizes 100000,1000000 --days 30 --warmup 10 \
        --out benchmarks/out/bench_step.json

No assertions: this only measures. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import hashlib
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:          # runnable as `python benchmarks/bench_step.py`
    sys.path.insert(0, str(ROOT))

DEFAULT_OUT = ROOT / "benchmarks" / "out" / "bench_step.json"
TARGET_CONSUMER_DAYS_PER_S = 10_000_000   # the issue: >= 1e7 consumer-days/s at 1,000,000 consumers, one core
TARGET_SIZE = 1_000_000
PHASES = ("macro", "labour_and_income", "shop", "monitor", "book_sales", "orders", "pay_costs",
          "repay", "review", "defaults", "entry")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


# --------------------------------------------------------------------------- helpers


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def reference_workload(n: int = 1_000_000, passes: int = 50, repeats: int = 5) -> dict:
    """A fixed numpy loop, timed: the machine's 'reference unit' (best of ``repeats``)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a0 = rng.random(n)
    b = rng.random(n)
    times = []
    for _ in range(repeats):
        a = a0.copy()
        t0 = time.perf_counter()
        for _ in range(passes):
            c = a + b
            c *= b
            a = np.where(c > 0.5, c - 0.5, c)
        times.append(time.perf_counter() - t0)
    return {"n": n, "passes": passes, "repeats": repeats, "seconds": min(times),
            "seconds_all": times, "checksum": float(a.sum())}


def git_info() -> dict:
    """The commit measured, and whether sim/ or agents/ differ from it (the code is being optimised
    concurrently: a dirty tree is identified by the SHA-1 of its diff)."""
    def run(*args):
        try:
            return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                                  timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
    status = run("status", "--porcelain", "--", "sim", "agents")
    diff = run("diff", "HEAD", "--", "sim", "agents")
    return {"commit": run("rev-parse", "--short", "HEAD").strip(),
            "dirty_sim_agents": bool(status.strip()),
            "modified": [line.split(maxsplit=1)[1] for line in status.splitlines() if line.strip()],
            "diff_sha1": hashlib.sha1(diff.encode()).hexdigest()[:12] if diff else ""}


def machine_info() -> dict:
    import numpy as np
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    try:
        import mesa
        mesa_version = mesa.__version__
    except Exception:  # noqa: BLE001
        mesa_version = ""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return {"nproc": affinity, "cpu_count": os.cpu_count(), "cpu_model": cpu,
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "mesa": mesa_version,
            "threads_env": {k: os.environ.get(k) for k in THREAD_VARS if os.environ.get(k)},
            "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


# --------------------------------------------------------------------------- one size (worker)


def profile_days(model, n_days: int, top: int = 15) -> dict:
    """Run ``n_days`` steps under cProfile; top functions by own time and the phases' cumulative time."""
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for _ in range(n_days):
        model.step()
    prof.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    total_tt = stats.total_tt
    rows = []
    for (file, line, func), (cc, nc, tt, ct, _callers) in stats.stats.items():
        rows.append({"function": func, "file": _short_path(file), "line": line, "ncalls": nc,
                     "tottime": tt, "cumtime": ct, "tottime_share": tt / total_tt if total_tt else 0.0})
    rows.sort(key=lambda r: r["tottime"], reverse=True)
    phases = {}
    for r in rows:
        if r["file"].endswith("sim/model.py") and (r["function"] in PHASES or r["function"] == "step"):
            phases[r["function"]] = {"cumtime": r["cumtime"], "ncalls": r["ncalls"]}
    step_ct = phases.get("step", {}).get("cumtime", 0.0)
    for name, v in phases.items():
        v["share_of_step"] = v["cumtime"] / step_ct if step_ct else 0.0
    ordered = {name: phases[name] for name in (*PHASES, "step") if name in phases}
    return {"days": n_days, "wall_seconds_profiled": wall, "total_tottime": total_tt,
            "top_by_tottime": rows[:top], "phases_cumtime": ordered}


def _short_path(file: str) -> str:
    p = str(file)
    root = str(ROOT) + os.sep
    if p.startswith(root):
        return p[len(root):]
    for marker in ("site-packages" + os.sep, "lib" + os.sep + "python"):
        if marker in p:
            return p.split(marker, 1)[1]
    return p


def bench_size(consumers: int, days: int, warmup: int, profile: int) -> dict:
    """Build, warm up, time ``days`` steps (and optionally profile ``profile`` more) at one size."""
    import gc

    import numpy as np  # noqa: F401  (imported before timing)

    from sim import CreditModel, load_config

    merchants = max(2, consumers // 50)
    horizon = warmup + days + 1 + profile       # profiled days follow the timed ones on the same model
    overrides = [f"population.consumers={consumers}", f"population.merchants={merchants}",
                 "run.burn_in_days=0", f"run.days={horizon}"]
    ref_before = reference_workload()
    rss_start = peak_rss_mb()

    t0 = time.perf_counter()
    cfg = load_config("baseline", overrides)
    t_cfg = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = CreditModel(cfg)
    t_build = time.perf_counter() - t0
    rss_setup = peak_rss_mb()

    for _ in range(warmup):
        model.step()
    gc.collect()
    per_day = []
    t_all = time.perf_counter()
    for _ in range(days):
        t0 = time.perf_counter()
        model.step()
        per_day.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - t_all
    rss_run = peak_rss_mb()
    ref_after = reference_workload()
    ref = min(ref_before["seconds"], ref_after["seconds"])

    per_day_sorted = sorted(per_day)
    import sim
    result = {
        "sim_package": str(Path(sim.__file__).resolve().parent),
        "consumers": consumers, "merchants": merchants, "lenders": len(model.lender_names),
        "agents": len(model.agents), "warmup_days": warmup, "days": days,
        "first_timed_day": warmup, "first_timed_date": str(model.calendar.date(warmup)),
        "config_seconds": t_cfg, "setup_seconds": t_build,
        "timed_seconds": seconds, "seconds_per_day": seconds / days,
        "seconds_per_day_median": per_day_sorted[len(per_day) // 2],
        "seconds_per_day_min": per_day_sorted[0], "seconds_per_day_max": per_day_sorted[-1],
        "per_day_seconds": per_day,
        "consumer_days_per_second": consumers * days / seconds,
        "peak_rss_mb_start": rss_start, "peak_rss_mb_after_setup": rss_setup, "peak_rss_mb": rss_run,
        "reference_seconds": ref, "reference_seconds_before": ref_before["seconds"],
        "reference_seconds_after": ref_after["seconds"],
        "day_in_reference_units": (seconds / days) / ref,
        "setup_in_reference_units": t_build / ref,
    }
    if profile:
        result["profile"] = profile_days(model, profile)
        result["peak_rss_mb_after_profile"] = peak_rss_mb()
    return result


# --------------------------------------------------------------------------- driver


def run_isolated(consumers: int, args, profile: int) -> dict:
    """Run one size in a fresh interpreter (own peak memory), single-threaded BLAS by default."""
    env = dict(os.environ)
    if args.threads > 0:
        for var in THREAD_VARS:
            env[var] = str(args.threads)
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        tmp = Path(fh.name)
    try:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(consumers),
               "--days", str(args.days), "--warmup", str(args.warmup), "--profile-days", str(profile),
               "--worker-out", str(tmp)]
        proc = subprocess.run(cmd, env=env)
        if proc.returncode != 0:
            raise SystemExit(f"benchmark at {consumers} consumers failed (exit {proc.returncode})")
        return json.loads(tmp.read_text())
    finally:
        tmp.unlink(missing_ok=True)


def print_table(results: list[dict]) -> None:
    head = (f"{'consumers':>10} {'merchants':>9} {'setup s':>8} {'s/day':>8} {'med s/day':>9} "
            f"{'consumer-days/s':>16} {'peak MB':>8} {'ref s':>7} {'day/ref':>8}")
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r['consumers']:>10,} {r['merchants']:>9,} {r['setup_seconds']:>8.2f} "
              f"{r['seconds_per_day']:>8.4f} {r['seconds_per_day_median']:>9.4f} "
              f"{r['consumer_days_per_second']:>16,.0f} {r['peak_rss_mb']:>8,.0f} "
              f"{r['reference_seconds']:>7.4f} {r['day_in_reference_units']:>8.2f}")


def print_profile(prof: dict, consumers: int) -> None:
    print(f"\ncProfile, {prof['days']} days at {consumers:,} consumers "
          f"(wall {prof['wall_seconds_profiled']:.2f} s, own time {prof['total_tottime']:.2f} s); "
          f"top {len(prof['top_by_tottime'])} by own time:")
    print(f"{'tottime s':>9} {'share':>6} {'cumtime s':>9} {'ncalls':>8}  function")
    for r in prof["top_by_tottime"]:
        print(f"{r['tottime']:>9.3f} {r['tottime_share']:>6.1%} {r['cumtime']:>9.3f} {r['ncalls']:>8}  "
              f"{r['file']}:{r['line']}({r['function']})")
    if prof["phases_cumtime"]:
        print("\nschedule phases, cumulative time (share of step):")
        for name, v in prof["phases_cumtime"].items():
            print(f"  {name:<18} {v['cumtime']:>8.3f} s  {v['share_of_step']:>6.1%}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000",
                    help="comma-separated consumer counts (default: 100000,1000000)")
    ap.add_argument("--days", type=int, default=30, help="measured days per size (default 30)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed days before measuring (default 10)")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="JSON output (default benchmarks/out/bench_step.json)")
    ap.add_argument("--profile-days", type=int, default=10,
                    help="days under cProfile at the largest size, after the timed days (0: no profile)")
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS/OpenMP threads in the measuring process (default 1, the 'one core' target; "
                         "0 leaves the environment alone)")
    ap.add_argument("--in-process", action="store_true",
                    help="measure every size in this process (peak memory then accumulates)")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker is not None:       # child process: one size, result to a file
        res = bench_size(args.worker, args.days, args.warmup, args.profile_days)
        res["machine_in_worker"] = machine_info()
        Path(args.worker_out).write_text(json.dumps(res))
        return 0

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if not sizes or any(s < 100 for s in sizes):
        ap.error("--sizes: give consumer counts >= 100, e.g. 100000,1000000")
    if args.days < 1 or args.warmup < 0:
        ap.error("--days must be >= 1 and --warmup >= 0")
    largest = max(sizes)
    info = {"git": git_info(), "machine": machine_info(),
            "started": dt.datetime.now().isoformat(timespec="seconds"),
            "settings": {"sizes": sizes, "days": args.days, "warmup": args.warmup,
                         "profile_days": args.profile_days, "threads": args.threads,
                         "isolated": not args.in_process, "scenario": "baseline",
                         "merchants": "consumers // 50", "burn_in_days": 0,
                         "run_days": "warmup + days + 1 (+ profile days at the largest size)"}}
    g = info["git"]
    dirty = f" + uncommitted changes to {', '.join(g['modified'])} (diff {g['diff_sha1']})" if g["dirty_sim_agents"] else ""
    print(f"commit {g['commit']}{dirty}; "
          f"python {info['machine']['python']}, numpy {info['machine']['numpy']}; "
          f"{info['machine']['cpu_model']} x{info['machine']['nproc']}")

    results = []
    for size in sorted(sizes):
        prof = args.profile_days if size == largest else 0
        print(f"\n{size:,} consumers: building, {args.warmup} warm-up days, {args.days} timed days"
              + (f", {prof} profiled days" if prof else "") + " ...", flush=True)
        if args.in_process:
            res = bench_size(size, args.days, args.warmup, prof)
        else:
            res = run_isolated(size, args, prof)
        print(f"  setup {res['setup_seconds']:.2f} s, {res['seconds_per_day']:.4f} s/day, "
              f"{res['consumer_days_per_second']:,.0f} consumer-days/s, peak {res['peak_rss_mb']:,.0f} MB",
              flush=True)
        results.append(res)

    print()
    print_table(results)
    at_target = [r for r in results if r["consumers"] == TARGET_SIZE]
    target = {"consumer_days_per_second": TARGET_CONSUMER_DAYS_PER_S, "consumers": TARGET_SIZE}
    if at_target:
        r = at_target[0]
        target["measured"] = r["consumer_days_per_second"]
        target["reached"] = r["consumer_days_per_second"] >= TARGET_CONSUMER_DAYS_PER_S
        target["speed_up_needed"] = TARGET_CONSUMER_DAYS_PER_S / r["consumer_days_per_second"]
        target["target_seconds_per_day"] = TARGET_SIZE / TARGET_CONSUMER_DAYS_PER_S
        print(f"\ntarget {TARGET_CONSUMER_DAYS_PER_S:,} consumer-days/s at {TARGET_SIZE:,} consumers "
              f"({target['target_seconds_per_day']:.2f} s/day): "
              + ("REACHED" if target["reached"] else
                 f"NOT reached (measured {r['consumer_days_per_second']:,.0f}; "
                 f"{target['speed_up_needed']:.1f}x faster needed)"))
    for r in results:
        if "profile" in r:
            print_profile(r["profile"], r["consumers"])

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    info.update(results=results, target=target, finished=dt.datetime.now().isoformat(timespec="seconds"))
    out.write_text(json.dumps(info, indent=2))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
