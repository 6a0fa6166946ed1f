"""Paired counterfactuals: ``sim compare SCENARIO --against BASE`` (docs/model.md 9.3).

Both scenarios run on the same seeds. The model draws every random decision
from a named stream for every agent (:mod:`sim.rng`), so two scenarios on one
seed share their draws wherever they do not differ (common random numbers), and
the seed-by-seed difference *scenario minus base* measures the effect of what
differs with far less noise than two independent samples would.

For each headline measure (:data:`MEASURES`) and each seed the paired difference
is taken; the table gives the mean difference over the seeds and its 95%
t-interval (:func:`paired_interval`; undefined, NaN, with one seed).

The Python API::

    import sim
    table = sim.compare("tightening", "baseline", seeds=5, overrides=["population.consumers=2000"])
    comp = sim.compare.run_comparison("tightening", "baseline", seeds=5)   # table, per seed, daily series
    comp.write("results/compare_tightening_vs_baseline")                 # the files `sim compare` writes

Runs go to worker processes with ``workers=N``; the results are the same, bit
for bit, whatever N (each run is deterministic given its seed, and the runs are
put in (seed, scenario) order before anything is summed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import math
import sys
import time
import types
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import ConfigError, differs_only_in_shocks, load_config, resolve_scenario, with_flags
from sim.shocks import divergence_day, shares_early_days

LEVEL = 0.95            # confidence level of the intervals
ROLLING_DAYS = 30       # smoothing of the daily differences in compare.png
DEFAULT_SEEDS = 5

# --------------------------------------------------------------------------- measures


@dataclasses.dataclass(frozen=True)
class Measure:
    """One headline measure, computed per run over the measurement window.

    ``how`` is a key of :data:`HOW`: ``sum``, ``mean``, ``max`` or ``last`` (the window's
    last day) of the time-series column ``source``; ``failures`` counts rows of ``failures.parquet`` (``source`` =
    ``all`` or ``contagion``); ``accounts_cut`` counts the platform's distinct consumers
    with a fixed-limit cut in ``limit_changes`` (freezes and charge-offs excluded). A
    ``{cause}`` in the name expands to one measure per ``limit_cuts_<cause>`` column of the
    time series.
    """

    name: str
    how: str
    source: str
    unit: str
    label: str
    optional: bool = False      # skipped when its time-series column is not recorded


# name, how, source, unit, meaning [, optional]: add a headline measure with one line
MEASURES: tuple[Measure, ...] = (
    Measure("retail_sales", "sum", "retail_sales", "yuan", "retail sales, total"),
    Measure("merchant_failures", "failures", "all", "count", "merchant failures"),
    Measure("contagion_failures", "failures", "contagion", "count",
            "merchant failures caused by a counterparty or a lender's line cut"),
    Measure("unemployment_rate_mean", "mean", "unemployment_rate", "rate", "unemployment rate, mean"),
    Measure("unemployment_rate_peak", "max", "unemployment_rate", "rate", "unemployment rate, peak"),
    Measure("delinq_30_rate_mean", "mean", "delinq_30_rate", "rate", "platform 30+ DPD rate, mean"),
    Measure("delinq_30_rate_peak", "max", "delinq_30_rate", "rate", "platform 30+ DPD rate, peak"),
    Measure("charge_offs", "sum", "charge_offs", "count", "platform charge-offs"),
    Measure("limit_cuts", "sum", "limit_cuts", "count", "platform limit cuts, all causes (freezes apart)"),
    Measure("limit_cuts_{cause}", "sum", "limit_cuts_{cause}", "count", "platform limit cuts with cause {cause}"),
    Measure("accounts_cut", "accounts_cut", "limit_changes", "count",
            "platform accounts with a fixed-limit cut (distinct consumers)"),
    Measure("freezes", "sum", "freezes", "count", "platform freezes for delinquency", optional=True),
    Measure("layoffs", "sum", "layoffs", "count", "workers laid off (excess staff and failures)", optional=True),
    Measure("hires", "sum", "hires", "count", "hires", optional=True),
    Measure("vacancies", "mean", "vacancies", "count", "vacancies, mean", optional=True),
    # what strategies cost, and whom (docs/scenarios.md)
    Measure("charge_off_amount", "sum", "charge_off_amount", "yuan", "platform balances charged off",
            optional=True),
    Measure("stockout_loss", "sum", "stockout_loss", "yuan", "sales lost to stock-outs", optional=True),
    Measure("merchant_cash_mean", "mean", "merchant_cash", "yuan", "merchants' cash, mean", optional=True),
    Measure("bank_drawn_mean", "mean", "bank_drawn", "yuan", "merchants' bank lines drawn, mean", optional=True),
    Measure("scf_drawn_mean", "mean", "scf_drawn", "yuan", "merchants' SCF loans from the platform, mean",
            optional=True),
    Measure("provisions_end", "last", "provisions", "yuan", "platform's loss allowance at the end", optional=True),
    Measure("scf_losses", "sum", "scf_losses", "yuan", "platform's losses on SCF loans", optional=True),
    Measure("reminder_cost", "sum", "reminder_cost", "yuan", "platform's cost of reminders", optional=True),
    Measure("instalment_subsidy", "sum", "instalment_subsidy", "yuan",
            "retailers' fees for interest-free instalments", optional=True),
)

# the daily series drawn in compare.png: column, title, unit ("yuan" is scaled to thousands or
# millions to fit), scale
KEY_SERIES: tuple[tuple[str, str, str, float], ...] = (
    ("retail_sales", "Retail sales", "yuan a day", 1.0),
    ("limit_cuts", "Platform limit cuts", "accounts a day", 1.0),
    ("fixed_limit_total", "Platform fixed limits", "yuan", 1.0),
    ("delinq_30_rate", "Platform 30+ DPD rate", "percentage points", 100.0),
    ("unemployment_rate", "Unemployment rate", "percentage points", 100.0),
    ("merchants_active", "Active merchants", "merchants", 1.0),
)

# failures.parquet causes (README): liquidity is a merchant's own; the others are contagion
OWN_FAILURE_CAUSE = "liquidity"


@dataclasses.dataclass
class _RunFrames:
    """One run's recorded frames restricted to the measurement window."""

    timeseries: pd.DataFrame
    limit_changes: pd.DataFrame
    failures: pd.DataFrame
    platform: str


def _accounts_cut(f: _RunFrames, source: str) -> float:
    ch = f.limit_changes
    cuts = ch[(ch["lender"] == f.platform) & (ch["new_limit"] < ch["old_limit"])
              # an expiring temporary limit, a freeze and a charge-off are not cuts
              & ~ch["cause"].isin(["promo_expiry", "freeze", "charge_off"])]
    return float(cuts["consumer_id"].nunique())


def _failures(f: _RunFrames, source: str) -> float:
    if source == "all":
        return float(len(f.failures))
    return float(np.count_nonzero(f.failures["cause"].to_numpy() != OWN_FAILURE_CAUSE))


HOW = {
    "sum": lambda f, col: float(f.timeseries[col].sum()),
    "mean": lambda f, col: float(f.timeseries[col].mean()) if len(f.timeseries) else math.nan,
    "max": lambda f, col: float(f.timeseries[col].max()) if len(f.timeseries) else math.nan,
    "last": lambda f, col: float(f.timeseries[col].iloc[-1]) if len(f.timeseries) else math.nan,
    "failures": _failures,
    "accounts_cut": _accounts_cut,
}
TIMESERIES_HOW = ("sum", "mean", "max", "last")


def cause_columns(columns: Iterable[str]) -> list[str]:
    """The ``limit_cuts_<cause>`` columns among ``columns`` (other lenders' ``limit_cuts_<lender>``
    are not causes): those the output contract documents (:data:`sim.outputs.COLUMNS`)."""
    from sim.outputs import COLUMNS
    return [c for c in columns if c.startswith("limit_cuts_") and c in COLUMNS]


def measures_for(columns: Iterable[str]) -> list[Measure]:
    """The concrete measures for a time series with ``columns``: ``{cause}`` expanded, optional
    measures whose column is missing left out. A missing required column is an error."""
    columns = list(columns)
    out = []
    for m in MEASURES:
        if "{cause}" in m.name:
            for col in cause_columns(columns):
                cause = col.removeprefix("limit_cuts_")
                out.append(dataclasses.replace(m, name=m.name.format(cause=cause),
                                               source=m.source.format(cause=cause),
                                               label=m.label.format(cause=cause)))
            continue
        if m.how in TIMESERIES_HOW and m.source not in columns:
            if m.optional:
                continue
            raise KeyError(f"measure {m.name}: the time series has no column {m.source!r}")
        out.append(m)
    return out


def measure_run(frames: dict[str, pd.DataFrame], failures: pd.DataFrame, platform: str,
                window: tuple[str, str] | None = None) -> dict[str, float]:
    """Every headline measure of one run (name -> value), over ``window`` (inclusive ISO dates;
    default the whole recorded horizon)."""
    ts, changes = frames["timeseries"], frames["limit_changes"]
    if window is not None:
        lo, hi = pd.Timestamp(window[0]), pd.Timestamp(window[1])
        ts = ts[(ts["date"] >= lo) & (ts["date"] <= hi)]
        changes = changes[(changes["date"] >= lo) & (changes["date"] <= hi)]
        failures = failures[(failures["date"] >= lo) & (failures["date"] <= hi)]
    f = _RunFrames(ts, changes, failures, platform)
    return {m.name: HOW[m.how](f, m.source) for m in measures_for(frames["timeseries"].columns)}


# --------------------------------------------------------------------------- statistics


def paired_interval(diffs: Sequence[float], level: float = LEVEL) -> tuple[float, float, float]:
    """Mean of paired differences and its t-interval: ``mean -/+ t(1 - (1 - level)/2, n - 1) *
    sd / sqrt(n)`` with the sample sd (ddof 1). With one difference the interval is undefined:
    ``(mean, nan, nan)``."""
    d = np.asarray(diffs, dtype=float)
    if d.ndim != 1 or d.size == 0:
        raise ValueError("paired_interval: expected a non-empty list of differences")
    if not 0 < level < 1:
        raise ValueError(f"paired_interval: level {level} must be in (0, 1)")
    mean = float(d.mean())
    if d.size == 1:
        return mean, math.nan, math.nan
    from scipy.stats import t
    half = float(t.ppf(0.5 + level / 2, d.size - 1)) * float(d.std(ddof=1)) / math.sqrt(d.size)
    return mean, mean - half, mean + half


def summarise(per_seed: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """The comparison table from the per-seed frame (``compare_seeds.csv``): one row per
    measure, in the order of first appearance."""
    rows = []
    for name, g in per_seed.groupby("measure", sort=False):
        g = g.sort_values("seed")
        base, scen = g["base"].to_numpy(float), g["scenario"].to_numpy(float)
        diff_mean, low, high = paired_interval(scen - base, level)
        base_mean = float(base.mean())
        rows.append({
            "measure": name, "label": g["label"].iloc[0], "unit": g["unit"].iloc[0],
            "base_mean": base_mean, "scenario_mean": float(scen.mean()), "diff_mean": diff_mean,
            "ci_low": low, "ci_high": high,
            "rel_diff": diff_mean / base_mean if base_mean != 0 else math.nan,
            "seeds": int(len(g)),
        })
    return pd.DataFrame(rows, columns=["measure", "label", "unit", "base_mean", "scenario_mean", "diff_mean",
                                       "ci_low", "ci_high", "rel_diff", "seeds"])


# --------------------------------------------------------------------------- jobs


@dataclasses.dataclass(frozen=True)
class Job:
    """One run, as sent to a worker process: only names, override strings, shock tables and dates."""

    role: str                   # "base" or "scenario" (sim attribute: also "base_held", "scenario_held")
    scenario: str               # resolved path of the scenario file
    overrides: tuple[str, ...]  # --set overrides, the run flags and run.seed
    seed: int
    window: tuple[str, str]     # inclusive ISO dates
    series: tuple[str, ...]     # daily columns to send back for the figure
    strategies: tuple[str, ...] = ()   # strategy scenarios laid over the scenario (--strategy)
    shocks: tuple[dict, ...] = ()      # shock tables added to the scenario's (a limit_hold)
    profile: str = ""                  # "module:function" of (model, window) -> dict, kept in RunResult.extra

    def config(self):
        return load_config(self.scenario, list(self.overrides), strategies=self.strategies,
                           add_shocks=self.shocks)


@dataclasses.dataclass
class RunResult:
    role: str
    seed: int
    measures: dict[str, float]
    units: dict[str, tuple[str, str]]      # name -> (unit, label)
    series: dict[str, np.ndarray]
    dates: np.ndarray
    extra: dict = dataclasses.field(default_factory=dict)


class RunError(ValueError):
    """A model that could not be built from a valid configuration (e.g. a bad network file)."""


def _build(job: Job):
    from sim.model import CreditModel

    cfg = job.config()
    try:
        return CreditModel(cfg)
    except ValueError as err:
        raise RunError(f"{cfg.name}, seed {job.seed}: {err}") from None


def _result(job: Job, model) -> RunResult:
    """A finished run's measures and the few daily series of the figure."""
    from sim.outputs import failures_frame

    frames = model.results()
    ts = frames["timeseries"]
    measures = measure_run(frames, failures_frame(model), model.cfg.run.platform, job.window)
    units = {m.name: (m.unit, m.label) for m in measures_for(ts.columns)}
    series = {c: ts[c].to_numpy(dtype=float) for c in job.series if c in ts.columns}
    extra = {}
    if job.profile:
        import importlib
        module, name = job.profile.split(":")
        extra = getattr(importlib.import_module(module), name)(model, frames, job.window)
    return RunResult(job.role, job.seed, measures, units, series, ts["date"].to_numpy(), extra)


def _run_job(job: Job) -> list[RunResult]:
    """Build and run one model. Module-level so that spawned worker processes can import it."""
    return [_result(job, _build(job).run())]


def _run_group(group: tuple[tuple[Job, ...], int]) -> list[RunResult]:
    """Runs of one seed that share their days before ``fork_day``: the first runs up to it,
    each of the others goes on from a copy of it (:meth:`sim.model.CreditModel.fork`; the same
    results as separate runs, at less cost), one at a time."""
    jobs, fork_day = group
    first = _build(jobs[0]).run(until=fork_day)
    out = []
    for job in jobs[1:]:
        twin = first.fork(job.config())
        out.append(_result(job, twin.run()))
        del twin
    return [_result(jobs[0], first.run()), *out]


def run_jobs(run, jobs: list, workers: int, progress: bool, desc: str) -> list:
    """``run(job)`` for every job, in this process or in ``workers`` spawned processes (``run``
    must be a module-level function), with a progress bar; results in completion order (the
    caller sorts them: results never depend on the number of workers)."""
    from tqdm import tqdm

    results: list = []
    with tqdm(total=len(jobs), unit="run", desc=desc, disable=not progress, leave=False) as bar:
        if workers == 1:
            for job in jobs:
                results.append(run(job))
                bar.update(1)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            ctx = multiprocessing.get_context("spawn")  # what `import mesa` sets anyway
            # workers ignore Ctrl-C (it reaches the whole process group): this process stops them
            with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx,
                                     initializer=_ignore_interrupts) as pool:
                futures = [pool.submit(run, job) for job in jobs]
                try:
                    for fut in as_completed(futures):
                        results.append(fut.result())
                        bar.update(1)
                except KeyboardInterrupt:   # (and SIGTERM, as sim.cli raises it): stop now, not after the runs
                    for process in list(getattr(pool, "_processes", {}).values()):
                        process.terminate()
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
    return results


def _ignore_interrupts() -> None:
    """Worker processes leave SIGINT to their parent, which stops them (no traceback each)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _execute(jobs: list[Job], workers: int, progress: bool, desc: str,
             fork_day: int | None = None) -> list[RunResult]:
    """Run the jobs; with a ``fork_day``, each seed's runs as one group that shares the days
    before it (:func:`_run_group`). Results in (seed, role) order, roles in the order of ``jobs``."""
    order = {}
    for job in jobs:
        order.setdefault(job.role, len(order))
    if fork_day is None:
        batches = run_jobs(_run_job, jobs, workers, progress, desc)
    else:
        by_seed: dict[int, list[Job]] = {}
        for job in jobs:
            by_seed.setdefault(job.seed, []).append(job)
        groups = [(tuple(group), fork_day) for group in by_seed.values()]
        batches = run_jobs(_run_group, groups, workers, progress, desc)
    results = [r for batch in batches for r in batch]
    return sorted(results, key=lambda r: (r.seed, order[r.role]))


# --------------------------------------------------------------------------- plan and run


@dataclasses.dataclass
class Comparison:
    """Everything a comparison produced: the table, the per-seed measures, the daily series."""

    scenario: str
    against: str
    seeds: list[int]
    window: tuple[str, str]
    horizon: tuple[str, str]
    overrides: list[str]
    table: pd.DataFrame
    per_seed: pd.DataFrame
    dates: np.ndarray
    daily: dict[str, dict[str, np.ndarray]]      # column -> role -> (seeds, days)
    shocks: list[tuple[str, str, str]]           # (kind, start, end exclusive) of the scenario only
    seconds: float = 0.0

    def write(self, out_dir: str | Path) -> Path:
        """Write ``compare.csv``, ``compare_seeds.csv``, ``compare.png`` and ``compare.json``."""
        from sim.outputs import code_version
        from sim.results import publish

        def fill(out: Path) -> dict:
            self.table.to_csv(out / "compare.csv", index=False)
            self.per_seed.to_csv(out / "compare_seeds.csv", index=False)
            plot_comparison(self, out / "compare.png")
            return {"scenario": self.scenario, "against": self.against, "seeds": self.seeds,
                    "window": list(self.window), "horizon": list(self.horizon), "overrides": self.overrides,
                    "level": LEVEL, "code_version": code_version()}

        publish(out_dir, fill, "compare.json")
        return Path(out_dir)


def _seed_list(seeds, seed: int | None, default_first: int) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ConfigError(f"--seeds: {seeds} must be at least 1")
        first = default_first if seed is None else int(seed)
        return [first + k for k in range(int(seeds))]
    if seed is not None:
        raise ConfigError("seed: give either a number of seeds and the first seed, or a list of seeds")
    out = [int(s) for s in seeds]
    if not out:
        raise ConfigError("seeds: the list of seeds is empty")
    if len(set(out)) != len(out):
        raise ConfigError(f"seeds: {out} repeats a seed")
    return out


def _window(cfg, date_from, date_to, names: tuple[str, str]) -> tuple[tuple[str, str], tuple[str, str]]:
    first = cfg.start
    last = first + dt.timedelta(days=cfg.run.days - 1)
    allowed = f"the recorded window is {first} to {last} (run.start_date, run.days)"
    bounds = []
    for value, name, default in ((date_from, names[0], first), (date_to, names[1], last)):
        if value is None:
            bounds.append(default)
            continue
        try:
            d = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(f"{name} {value!r}: not an ISO date (YYYY-MM-DD); {allowed}") from None
        if isinstance(d, dt.datetime):
            d = d.date()
        if not first <= d <= last:
            raise ConfigError(f"{name} {d}: outside the recorded window; {allowed}")
        bounds.append(d)
    if bounds[0] > bounds[1]:
        raise ConfigError(f"{names[0]} {bounds[0]} is after {names[1]} {bounds[1]}; {allowed}")
    return (bounds[0].isoformat(), bounds[1].isoformat()), (first.isoformat(), last.isoformat())


def _shock_key(s):
    return (s.kind, s.start, s.end, s.size, s.lender, s.target, s.share, s.feature, s.weight, s.cause)


@dataclasses.dataclass
class Plan:
    """A validated comparison, ready to run: every configuration was loaded."""

    scenario: str
    against: str
    jobs: list[Job]
    seeds: list[int]
    window: tuple[str, str]
    horizon: tuple[str, str]
    overrides: list[str]
    shocks: list[tuple[str, str, str]]
    fork_day: int | None = None   # the runs of a seed share the days before it (None: run apart)


def plan_comparison(scenario: str | Path, against: str | Path = "baseline", seeds=DEFAULT_SEEDS,
                    overrides: Iterable[str] = (), *, seed: int | None = None, days: int | None = None,
                    consumers: int | None = None, merchants: int | None = None,
                    date_from=None, date_to=None, strategies: Sequence[str] = (),
                    base_strategies: Sequence[str] = (), add_shocks: Sequence[dict] = (),
                    window_names: tuple[str, str] = ("date_from", "date_to")) -> Plan:
    """Validate both scenarios, the overrides, the seeds and the window; raise
    :class:`~sim.config.ConfigError` before anything runs. ``strategies`` are laid over the
    scenario (``--strategy``: the scenario with a strategy against the base without it),
    ``base_strategies`` over the base; ``add_shocks`` are added to both."""
    overrides = with_flags(overrides, {"run.days": days, "population.consumers": consumers,
                                       "population.merchants": merchants})
    paths = {"scenario": str(resolve_scenario(scenario).resolve()),
             "base": str(resolve_scenario(against).resolve())}
    layers = {"scenario": tuple(str(resolve_scenario(n).resolve()) for n in strategies),
              "base": tuple(str(resolve_scenario(n).resolve()) for n in base_strategies)}
    add_shocks = tuple(dict(t) for t in add_shocks)

    def config(role, extra=()):
        return load_config(paths[role], [*overrides, *extra], strategies=layers[role], add_shocks=add_shocks)

    cfgs = {role: config(role) for role in paths}
    for key in ("run.start_date", "run.days"):
        a, b = cfgs["scenario"].get(key), cfgs["base"].get(key)
        if a != b:
            raise ConfigError(f"{key}: the scenario has {a!r} and the base {b!r}; paired runs need the "
                              f"same recorded window (set it for both with --set {key}=...)")
    seed_list = _seed_list(seeds, seed, cfgs["base"].run.seed)
    for role in paths:   # every run's configuration, before any run starts
        for s in seed_list:
            config(role, [f"run.seed={s}"])
    window, horizon = _window(cfgs["base"], date_from, date_to, window_names)
    series = tuple(c for c, *_ in KEY_SERIES)
    jobs = [Job(role, paths[role], (*overrides, f"run.seed={s}"), s, window, series, layers[role], add_shocks)
            for s in seed_list for role in ("base", "scenario")]
    base_shocks = {_shock_key(s) for s in cfgs["base"].shocks}
    start = cfgs["base"].start
    shocks = [(s.kind, (start + dt.timedelta(days=s.start)).isoformat(),
               (start + dt.timedelta(days=s.end)).isoformat())
              for s in cfgs["scenario"].shocks if _shock_key(s) not in base_shocks]
    return Plan(cfgs["scenario"].name, cfgs["base"].name, jobs, seed_list, window, horizon, overrides, shocks,
                _fork_day(cfgs["base"], cfgs["scenario"]))


def _fork_day(base, scenario) -> int | None:
    """The day up to which a seed's base and scenario runs are the same, when they can share
    those days: configurations that differ only in shocks that act from their start days on
    (:mod:`sim.shocks`). ``None`` when they cannot."""
    if not (differs_only_in_shocks(base, scenario) and shares_early_days(base.shocks, scenario.shocks)):
        return None
    day = divergence_day(base.shocks, scenario.shocks)
    last = base.run.days
    return last if day is None else max(min(day, last), -base.run.burn_in_days)


def execute_plan(plan: Plan, workers: int = 1, progress: bool = False) -> Comparison:
    """Run a plan's jobs (in ``workers`` processes) and put the comparison together."""
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ConfigError(f"--workers: {workers!r} must be a whole number of at least 1")
    started = time.perf_counter()
    results = _execute(plan.jobs, int(workers), progress, f"{plan.scenario} vs {plan.against}", plan.fork_day)
    by_role = {role: [r for r in results if r.role == role] for role in ("base", "scenario")}
    names = [n for n in by_role["base"][0].measures
             if all(n in r.measures for r in results)]
    units = by_role["base"][0].units
    rows = []
    for name in names:
        for b, s in zip(by_role["base"], by_role["scenario"]):
            rows.append({"measure": name, "label": units[name][1], "unit": units[name][0], "seed": b.seed,
                         "base": b.measures[name], "scenario": s.measures[name],
                         "diff": s.measures[name] - b.measures[name]})
    per_seed = pd.DataFrame(rows, columns=["measure", "label", "unit", "seed", "base", "scenario", "diff"])
    table = summarise(per_seed)
    table.attrs = {"scenario": plan.scenario, "against": plan.against, "seeds": list(plan.seeds),
                   "window": list(plan.window), "level": LEVEL}
    daily = {}
    for col in by_role["base"][0].series:
        if all(col in r.series for r in results):
            daily[col] = {role: np.vstack([r.series[col] for r in rs]) for role, rs in by_role.items()}
    return Comparison(plan.scenario, plan.against, list(plan.seeds), plan.window, plan.horizon,
                      list(plan.overrides), table, per_seed, by_role["base"][0].dates, daily, plan.shocks,
                      time.perf_counter() - started)


def run_comparison(scenario: str | Path, against: str | Path = "baseline", seeds=DEFAULT_SEEDS,
                   overrides: Iterable[str] = (), workers: int = 1, *, seed: int | None = None,
                   days: int | None = None, consumers: int | None = None, merchants: int | None = None,
                   date_from=None, date_to=None, strategies: Sequence[str] = (),
                   progress: bool = False) -> Comparison:
    """:func:`compare` with everything it computed (table, per-seed measures, daily series)."""
    plan = plan_comparison(scenario, against, seeds, overrides, seed=seed, days=days, consumers=consumers,
                           merchants=merchants, date_from=date_from, date_to=date_to, strategies=strategies)
    return execute_plan(plan, workers, progress)


def compare(scenario: str | Path, against: str | Path = "baseline", seeds=DEFAULT_SEEDS,
            overrides: Iterable[str] = (), workers: int = 1, *, seed: int | None = None,
            days: int | None = None, consumers: int | None = None, merchants: int | None = None,
            date_from=None, date_to=None, strategies: Sequence[str] = (), out: str | Path | None = None,
            progress: bool = False) -> pd.DataFrame:
    """Paired effect of ``scenario`` against ``against`` on the headline measures.

    Both run on the same seeds: ``seeds`` is a number of seeds (``seed``, ``seed + 1``, ...;
    ``seed`` defaults to the base scenario's ``run.seed``) or a list of seeds. ``overrides``
    are ``--set``-style ``key.path=value`` strings applied to both; ``days``, ``consumers``
    and ``merchants`` are the run flags. ``date_from`` and ``date_to`` (ISO dates, inclusive,
    inside the recorded window) restrict the measurement window. ``strategies`` (names of
    strategy scenarios) are laid over the scenario, not the base. ``workers`` > 1 runs the
    jobs in that many processes (same results). With ``out`` the files of ``sim compare``
    are written there too.

    Returns one row per measure: ``measure``, ``label``, ``unit``, ``base_mean``,
    ``scenario_mean``, ``diff_mean`` (scenario minus base, paired by seed), ``ci_low`` and
    ``ci_high`` (95% t-interval; NaN with one seed), ``rel_diff`` (``diff_mean / base_mean``)
    and ``seeds``.
    """
    comp = run_comparison(scenario, against, seeds, overrides, workers, seed=seed, days=days,
                          consumers=consumers, merchants=merchants, date_from=date_from, date_to=date_to,
                          strategies=strategies, progress=progress)
    if out is not None:
        comp.write(out)
    return comp.table


def monthly_ratio(comp: Comparison, column: str) -> pd.DataFrame:
    """The scenario's monthly mean of the daily ``column`` over the base's, seed by seed (a
    row per calendar month, a column per seed): how a crisis moves a rate month by month,
    each seed against its own paired base. ``column`` must be one of the daily series kept
    for the figure (:data:`KEY_SERIES`)."""
    if column not in comp.daily:
        raise KeyError(f"monthly_ratio: no daily series {column!r} (kept: {', '.join(comp.daily)})")
    months = pd.DatetimeIndex(comp.dates).to_period("M")
    out = {}
    for i, seed in enumerate(comp.seeds):
        base = pd.Series(comp.daily[column]["base"][i], index=months).groupby(level=0).mean()
        scen = pd.Series(comp.daily[column]["scenario"][i], index=months).groupby(level=0).mean()
        out[seed] = scen / base
    return pd.DataFrame(out)


def peak_ratio(comp: Comparison, column: str, level: float = LEVEL) -> dict:
    """The peak of :func:`monthly_ratio` seed by seed, its mean over the seeds with a
    t-interval (:func:`paired_interval`), and the month of the peak of the mean ratio."""
    ratios = monthly_ratio(comp, column)
    peaks = ratios.max(axis=0).to_numpy()
    mean, low, high = paired_interval(peaks, level)
    return {"peak_ratio": mean, "ci_low": low, "ci_high": high, "per_seed": peaks.tolist(),
            "month": str(ratios.mean(axis=1).idxmax()), "ratios": ratios}


# --------------------------------------------------------------------------- presentation


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "NaN"
    if x == 0:
        return "0"
    if abs(x) >= 1e5:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def format_table(table: pd.DataFrame) -> str:
    """The comparison table as text (what ``sim compare`` prints)."""
    head = ["measure", "unit", "base", "scenario", "diff", "95% CI", "rel. diff"]
    rows = [head]
    for r in table.itertuples(index=False):
        ci = "NaN" if not (math.isfinite(r.ci_low) and math.isfinite(r.ci_high)) else \
            f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]"
        rel = "NaN" if not math.isfinite(r.rel_diff) else f"{100 * r.rel_diff:+.2f}%"
        rows.append([r.measure, r.unit, _fmt(r.base_mean), _fmt(r.scenario_mean), _fmt(r.diff_mean), ci, rel])
    return text_table(rows)


def text_table(rows: list[list[str]], left: int = 2) -> str:
    """Rows of cells (the first the header) as aligned text: the first ``left`` columns
    left-aligned, the rest right-aligned, a rule under the header."""
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    lines = []
    for i, row in enumerate(rows):
        cells = [c.ljust(w) for c, w in zip(row[:left], widths)] + \
                [c.rjust(w) for c, w in zip(row[left:], widths[left:])]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _yuan_scale(values: np.ndarray, unit: str) -> tuple[float, str]:
    if not unit.startswith("yuan"):
        return 1.0, unit
    top = float(np.nanmax(np.abs(values))) if values.size else 0.0
    for scale, prefix in ((1e6, "million "), (1e3, "thousand ")):
        if top >= scale:
            return 1.0 / scale, prefix + unit
    return 1.0, unit


def plot_comparison(comp: Comparison, path: str | Path) -> None:
    """``compare.png``: the paired daily difference of :data:`KEY_SERIES`, scenario minus base
    per seed, as a trailing 30-day rolling mean (it never shows an effect before its cause),
    with its mean over the seeds and the 95% t-band across seeds."""
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    panels = [s for s in KEY_SERIES if s[0] in comp.daily]
    n = len(comp.seeds)
    rows = max(1, math.ceil(len(panels) / 2))
    fig = Figure(figsize=(13, 3.2 * rows + 1.0), layout="constrained")
    axes = fig.subplots(rows, 2, squeeze=False, sharex=True)
    dates = pd.to_datetime(comp.dates)
    t_q = math.nan
    if n > 1:
        from scipy.stats import t
        t_q = float(t.ppf(0.5 + LEVEL / 2, n - 1))
    spans: dict[tuple[str, str], list[str]] = {}
    for kind, start, end in comp.shocks:
        spans.setdefault((start, end), []).append(kind)
    for k, (col, title, unit, scale) in enumerate(panels):
        ax = axes.flat[k]
        diff = (comp.daily[col]["scenario"] - comp.daily[col]["base"]) * scale      # (seeds, days)
        rolled = pd.DataFrame(diff.T).rolling(ROLLING_DAYS, min_periods=1).mean().to_numpy().T
        mean = rolled.mean(axis=0)
        half = t_q * rolled.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.zeros_like(mean)
        factor, unit = _yuan_scale(np.concatenate([mean - half, mean + half]), unit)
        for (start, end), kinds in spans.items():
            ax.axvspan(pd.Timestamp(start), pd.Timestamp(end), color="tab:orange", alpha=0.12, lw=0,
                       label="scenario shock: " + ", ".join(kinds))
        if comp.window != comp.horizon:
            ax.axvspan(pd.Timestamp(comp.window[0]), pd.Timestamp(comp.window[1]) + pd.Timedelta(days=1),
                       fill=False, hatch="//", edgecolor="grey", alpha=0.35, lw=0, label="measurement window")
        ax.axhline(0.0, color="grey", lw=0.8)
        if n > 1:
            ax.fill_between(dates, (mean - half) * factor, (mean + half) * factor, color="tab:blue",
                            alpha=0.25, lw=0, label=f"{int(100 * LEVEL)}% band across seeds")
        ax.plot(dates, mean * factor, color="tab:blue", lw=1.6, label="mean paired difference")
        ax.set_title(title)
        ax.set_ylabel(unit)
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.tick_params(axis="x", labelbottom=True)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    if panels:
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=9, frameon=False)
    band = f"{n} seeds" if n > 1 else "1 seed: no band, the interval is undefined"
    fig.suptitle(f"{comp.scenario} minus {comp.against}: paired daily difference, trailing "
                 f"{ROLLING_DAYS}-day mean ({band})")
    fig.savefig(path, dpi=110)


# ``sim.compare`` is both this module and its main function: the import system sets the
# package attribute ``sim.compare`` to the module whenever the module is imported, so the
# module itself is made callable, and ``sim.compare(...)`` calls :func:`compare` either way.
class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return compare(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
__signature__ = inspect.signature(compare)
