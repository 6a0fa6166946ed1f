"""Q1, lost sales by cause: ``sim attribute SCENARIO --against BASE`` (docs/scenarios.md).

How much of what merchants lose in a downturn is caused by the lenders' limit cuts, and how
much by lower income and confidence? Four runs per seed on common random numbers answer it:

============  =====================================  ==========================================
role          scenario                                the lenders' cuts
============  =====================================  ==========================================
base          the base (e.g. the baseline)            as usual
scenario      the downturn                            as usual
base_held     the base                                held from the downturn's first day
scenario_held the downturn                            held from the downturn's first day
============  =====================================  ==========================================

"Held" adds a ``limit_hold`` shock (:mod:`sim.shocks`) from the first day the two scenarios
differ to the end of the horizon: no lender cuts a fixed limit for any of the four causes
(reviews, macro tightening, anomaly monitoring, promotion reversion); freezes for
delinquency and charge-offs go on. Writing ``Y`` for a measure, seed by seed:

- ``total = Y(scenario) - Y(base)``: the downturn's effect as it happens, cuts and all;
- ``without_cuts = Y(scenario_held) - Y(base_held)``: its effect with every limit held, the
  part due to lower income, confidence and the rest of the downturn;
- ``due_to_cuts = total - without_cuts``: the interaction of the downturn and the lenders'
  cut mechanisms (a difference in differences): what the cuts that the downturn brings add
  to its effect, over and above the cuts the base makes anyway;
- ``calm_cuts = Y(base) - Y(base_held)``: a memo, the effect of the base's own cuts.

The parts add up (``without_cuts + due_to_cuts = total``) by construction, seed by seed, and
the table gives each part's mean over the seeds with a 95% t-interval
(:func:`sim.compare.paired_interval`). All four runs of a seed share their days before the
downturn (:meth:`sim.model.CreditModel.fork`) when the scenario differs from its base only in
shocks.

The Python API::

    import sim.attribution
    att = sim.attribution.run_attribution("credit_crunch", "baseline", seeds=5, workers=2)
    att.table                 # one row per measure: total, without_cuts, due_to_cuts, share_due_to_cuts
    att.write("results/attribute_credit_crunch")
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.compare import DEFAULT_SEEDS, LEVEL, Job, _execute, _fmt, paired_interval, plan_comparison, text_table
from sim.config import ConfigError

ROLES = ("base", "scenario", "base_held", "scenario_held")
PARTS = ("total", "without_cuts", "due_to_cuts", "calm_cuts")
PART_LABELS = {"total": "the downturn's effect", "without_cuts": "with limits held (income, confidence, ...)",
               "due_to_cuts": "due to the limit cuts it brings", "calm_cuts": "memo: the base's own cuts"}
# the measures drawn in attribution.png
FIGURE_MEASURES = ("retail_sales", "merchant_failures", "unemployment_rate_mean", "delinq_30_rate_mean")


def parts(y: dict[str, float]) -> dict[str, float]:
    """The decomposition of one seed's measure from its four runs ``y`` (role -> value)."""
    total = y["scenario"] - y["base"]
    without = y["scenario_held"] - y["base_held"]
    return {"total": total, "without_cuts": without, "due_to_cuts": total - without,
            "calm_cuts": y["base"] - y["base_held"]}


@dataclasses.dataclass
class Plan:
    """A validated attribution, ready to run."""

    scenario: str
    against: str
    jobs: list[Job]
    seeds: list[int]
    window: tuple[str, str]
    horizon: tuple[str, str]
    hold_from: str
    overrides: list[str]
    fork_day: int | None


def plan_attribution(scenario: str | Path, against: str | Path = "baseline", seeds=DEFAULT_SEEDS,
                     overrides: Iterable[str] = (), *, seed: int | None = None, days: int | None = None,
                     consumers: int | None = None, merchants: int | None = None, date_from=None, date_to=None,
                     strategies: Sequence[str] = (),
                     window_names: tuple[str, str] = ("date_from", "date_to")) -> Plan:
    """Validate everything (as :func:`sim.compare.plan_comparison`) and lay out the four runs of
    each seed; raise :class:`~sim.config.ConfigError` before anything runs."""
    kw = dict(seed=seed, days=days, consumers=consumers, merchants=merchants, date_from=date_from,
              date_to=date_to, strategies=strategies, window_names=window_names)
    plain = plan_comparison(scenario, against, seeds, overrides, **kw)
    start = dt.date.fromisoformat(plain.horizon[0])
    end = dt.date.fromisoformat(plain.horizon[1]) + dt.timedelta(days=1)
    first = start + dt.timedelta(days=max(plain.fork_day or 0, 0))
    if first >= end:   # the two scenarios act alike to the end: hold from the first day
        first = start
    hold = {"kind": "limit_hold", "start": first.isoformat(), "end": end.isoformat()}
    held = plan_comparison(scenario, against, seeds, overrides, add_shocks=[hold], **kw)
    jobs = []
    for s in plain.seeds:
        for plan, suffix in ((plain, ""), (held, "_held")):
            for job in plan.jobs:
                if job.seed == s:
                    jobs.append(dataclasses.replace(job, role=job.role + suffix, series=()))
    # a seed's four runs share the days before the first on which any two of them differ
    fork_day = None if plain.fork_day is None or held.fork_day is None else \
        min(plain.fork_day, held.fork_day, (first - start).days)
    return Plan(plain.scenario, plain.against, jobs, plain.seeds, plain.window, plain.horizon,
                first.isoformat(), plain.overrides, fork_day)


@dataclasses.dataclass
class Attribution:
    """The decomposition table, the per-seed parts and what was run."""

    scenario: str
    against: str
    seeds: list[int]
    window: tuple[str, str]
    hold_from: str
    overrides: list[str]
    table: pd.DataFrame
    per_seed: pd.DataFrame
    seconds: float = 0.0

    def write(self, out_dir: str | Path) -> Path:
        """Write ``attribution.csv``, ``attribution_seeds.csv``, ``attribution.png`` and
        ``attribution.json``."""
        from sim.outputs import code_version
        from sim.results import publish

        def fill(out: Path) -> dict:
            self.table.to_csv(out / "attribution.csv", index=False)
            self.per_seed.to_csv(out / "attribution_seeds.csv", index=False)
            plot_attribution(self.table, out / "attribution.png", f"{self.scenario} against {self.against}")
            return {"scenario": self.scenario, "against": self.against, "seeds": self.seeds,
                    "window": list(self.window), "hold_from": self.hold_from, "overrides": self.overrides,
                    "level": LEVEL, "code_version": code_version()}

        publish(out_dir, fill, "attribution.json")
        return Path(out_dir)


def summarise(per_seed: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """One row per measure: each part's mean over the seeds and its t-interval, and the
    share of the total due to the cuts (ratio of the means)."""
    rows = []
    for name, g in per_seed.groupby("measure", sort=False):
        g = g.sort_values("seed")
        row = {"measure": name, "label": g["label"].iloc[0], "unit": g["unit"].iloc[0],
               "base_mean": float(g["base"].mean())}
        for part in PARTS:
            mean, low, high = paired_interval(g[part].to_numpy(float), level)
            row.update({part: mean, f"{part}_low": low, f"{part}_high": high})
        row["share_due_to_cuts"] = row["due_to_cuts"] / row["total"] if row["total"] != 0 else math.nan
        row["seeds"] = int(len(g))
        rows.append(row)
    return pd.DataFrame(rows)


def execute_plan(plan: Plan, workers: int = 1, progress: bool = False) -> Attribution:
    """Run the four runs of every seed and decompose."""
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ConfigError(f"--workers: {workers!r} must be a whole number of at least 1")
    started = time.perf_counter()
    results = _execute(plan.jobs, int(workers), progress, f"attribute {plan.scenario}", plan.fork_day)
    by_seed: dict[int, dict] = {}
    for r in results:
        by_seed.setdefault(r.seed, {})[r.role] = r
    first = results[0]
    names = [n for n in first.measures if all(n in r.measures for r in results)]
    rows = []
    for name in names:
        unit, label = first.units[name]
        for s in plan.seeds:
            y = {role: by_seed[s][role].measures[name] for role in ROLES}
            rows.append({"measure": name, "label": label, "unit": unit, "seed": s, **y, **parts(y)})
    per_seed = pd.DataFrame(rows, columns=["measure", "label", "unit", "seed", *ROLES, *PARTS])
    return Attribution(plan.scenario, plan.against, list(plan.seeds), plan.window, plan.hold_from,
                       list(plan.overrides), summarise(per_seed), per_seed, time.perf_counter() - started)


def run_attribution(scenario: str | Path, against: str | Path = "baseline", seeds=DEFAULT_SEEDS,
                    overrides: Iterable[str] = (), workers: int = 1, *, seed: int | None = None,
                    days: int | None = None, consumers: int | None = None, merchants: int | None = None,
                    date_from=None, date_to=None, strategies: Sequence[str] = (),
                    progress: bool = False) -> Attribution:
    """Decompose the effect of ``scenario`` against ``against`` into the part due to the
    lenders' limit cuts and the rest (module docstring). Arguments as :func:`sim.compare.compare`."""
    plan = plan_attribution(scenario, against, seeds, overrides, seed=seed, days=days, consumers=consumers,
                            merchants=merchants, date_from=date_from, date_to=date_to, strategies=strategies)
    return execute_plan(plan, workers, progress)


# --------------------------------------------------------------------------- presentation


def format_table(table: pd.DataFrame) -> str:
    """The decomposition as text (what ``sim attribute`` prints)."""
    head = ["measure", "unit", "base", "total", "without cuts", "due to cuts", "95% CI (due to cuts)", "share"]
    rows = [head]
    for r in table.itertuples(index=False):
        ci = "NaN" if not math.isfinite(r.due_to_cuts_low) else \
            f"[{_fmt(r.due_to_cuts_low)}, {_fmt(r.due_to_cuts_high)}]"
        share = "NaN" if not math.isfinite(r.share_due_to_cuts) else f"{100 * r.share_due_to_cuts:.0f}%"
        rows.append([r.measure, r.unit, _fmt(r.base_mean), _fmt(r.total), _fmt(r.without_cuts),
                     _fmt(r.due_to_cuts), ci, share])
    return text_table(rows)


def plot_attribution(table: pd.DataFrame, path: str | Path, title: str) -> None:
    """``attribution.png``: for each of a few headline measures, the downturn's effect and its
    two parts as bars with their 95% intervals."""
    from matplotlib.figure import Figure

    shown = [m for m in FIGURE_MEASURES if m in set(table["measure"])]
    fig = Figure(figsize=(3.4 * max(len(shown), 1), 3.6), layout="constrained")
    axes = fig.subplots(1, max(len(shown), 1), squeeze=False)[0]
    colours = {"total": "tab:grey", "without_cuts": "tab:blue", "due_to_cuts": "tab:red"}
    for ax, name in zip(axes, shown):
        r = table[table["measure"] == name].iloc[0]
        scale, unit = (100.0, "percentage points") if r["unit"] == "rate" else (1.0, r["unit"])
        if unit == "yuan" and max(abs(r["total"]), abs(r["without_cuts"])) >= 1e6:
            scale, unit = 1e-6, "million yuan"
        x = np.arange(3)
        keys = ("total", "without_cuts", "due_to_cuts")
        vals = np.array([r[k] for k in keys]) * scale
        lo = np.array([r[f"{k}_low"] for k in keys]) * scale
        hi = np.array([r[f"{k}_high"] for k in keys]) * scale
        err = np.vstack([vals - lo, hi - vals]) if np.isfinite(lo).all() else None
        ax.bar(x, vals, color=[colours[k] for k in keys], yerr=err, capsize=4)
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_xticks(x, ["total", "limits held", "due to cuts"])
        ax.set_title(str(r["label"]), fontsize=10)
        ax.set_ylabel(unit)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{title}: the effect and its parts (95% intervals across seeds)", fontsize=11)
    fig.savefig(path, dpi=110)
