"""Q4, the strategy table: each coping strategy laid over a crisis, against the crisis
without it, on common random numbers (docs/scenarios.md).

A strategy is a scenario file with ``strategy = true`` (``sim scenarios`` lists them); laid
over a crisis (:func:`sim.config.load_config` with ``strategies``) it changes parameters that
hold from the first simulated day, burn-in included: a merchant that keeps more cash kept it
before the crisis too. So every strategy's run is paired with the crisis's own run on the same
seed, and the crisis runs are shared by all strategies.

For each strategy and headline measure the table gives the paired difference *crisis with the
strategy minus crisis without it* (mean over seeds, 95% t-interval), and the strategy's cost
with who bears it (:data:`COSTS`).

The Python API::

    from sim.research import run_strategies
    q4 = run_strategies("credit_crunch", seeds=5, workers=2, consumers=20000, merchants=400)
    q4.table          # one row per strategy and measure
    q4.costs          # one row per strategy: its cost, who pays, with an interval
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.compare import DEFAULT_SEEDS, LEVEL, Job, _execute, _seed_list, execute_plan as _compare_plan, paired_interval, \
    plan_comparison
from sim.config import ConfigError, load_config, resolve_scenario, strategy_names, with_flags

# the measures of the strategy table (Q4): what a strategy should contain, and the figures
# its costs are computed from
TABLE_MEASURES = ("retail_sales", "merchant_failures", "contagion_failures", "unemployment_rate_mean",
                  "charge_offs", "charge_off_amount", "delinq_30_rate_mean")


@dataclasses.dataclass(frozen=True)
class Cost:
    """A strategy's cost: a label, who bears it, and how it is computed from one seed's
    paired measures (``d``: strategy minus crisis; ``s``: the run with the strategy) and the
    configuration of the crisis (``cfg``), in yuan over the measurement window."""

    label: str
    payer: str
    of: Callable[[dict, dict, object, float], float]


def _years(days: float) -> float:
    return days / 365.0


COSTS: dict[str, Cost] = {
    "reminders": Cost("reminders sent", "platform", lambda d, s, cfg, days: s["reminder_cost"]),
    "differentiated_limits": Cost("extra expected losses: charge-offs and the rise in the loss allowance",
                                  "platform", lambda d, s, cfg, days: d["charge_off_amount"] + d["provisions_end"]),
    "supply_chain_finance": Cost("SCF interest paid (the platform's SCF losses apart)", "merchants",
                                 lambda d, s, cfg, days: s["scf_drawn_mean"] * cfg.merchants.scf_rate * _years(days)),
    "diversified_financing": Cost("extra bank interest", "merchants",
                                  lambda d, s, cfg, days: d["bank_drawn_mean"] * cfg.merchants.bank_rate
                                  * _years(days)),
    "cash_reserves": Cost("return forgone on the extra cash, at the bank rate", "merchants",
                          lambda d, s, cfg, days: d["merchant_cash_mean"] * cfg.merchants.bank_rate * _years(days)),
    "inventory_discipline": Cost("extra sales lost to stock-outs", "merchants",
                                 lambda d, s, cfg, days: d["stockout_loss"]),
    "instalment_offers": Cost("instalment fees paid", "retailers", lambda d, s, cfg, days: s["instalment_subsidy"]),
    "promo_aware_monitoring": Cost("extra charge-offs", "platform", lambda d, s, cfg, days: d["charge_off_amount"]),
}
# what a strategy exposes the lender to, beside its cost: (label, measure of the run with it)
EXPOSURES: dict[str, tuple[str, str]] = {
    "supply_chain_finance": ("the platform's SCF loans, mean; its SCF losses", "scf_drawn_mean"),
}


@dataclasses.dataclass
class Plan:
    crisis: str
    strategies: list[str]
    jobs: list[Job]
    seeds: list[int]
    window: tuple[str, str]
    overrides: list[str]
    config: object


def plan_strategies(crisis: str | Path = "credit_crunch", strategies: Sequence[str] | None = None,
                    seeds=DEFAULT_SEEDS, overrides: Iterable[str] = (), *, seed: int | None = None,
                    consumers: int | None = None, merchants: int | None = None) -> Plan:
    """Validate the crisis, every strategy (default: all of ``scenarios/``) and the seeds."""
    names = list(strategy_names() if strategies is None else strategies)
    unknown = [n for n in names if n not in COSTS]
    overrides = with_flags(overrides, {"population.consumers": consumers, "population.merchants": merchants})
    path = str(resolve_scenario(crisis).resolve())
    cfg = load_config(path, overrides)
    for name in names:
        load_config(path, overrides, strategies=[name])
    if unknown:
        raise ConfigError(f"strategies {unknown}: no cost is defined for them (sim.research.COSTS)")
    seed_list = _seed_list(seeds, seed, cfg.run.seed)
    start = cfg.start
    window = (start.isoformat(), (start + dt.timedelta(days=cfg.run.days - 1)).isoformat())
    jobs = []
    for s in seed_list:
        over = (*overrides, f"run.seed={s}")
        jobs.append(Job("crisis", path, over, s, window, ()))
        jobs.extend(Job(name, path, over, s, window, (), (name,)) for name in names)
    return Plan(cfg.name, names, jobs, seed_list, window, list(overrides), cfg)


@dataclasses.dataclass
class StrategyTable:
    crisis: str
    seeds: list[int]
    window: tuple[str, str]
    table: pd.DataFrame       # strategy, measure, label, unit, crisis_mean, diff_mean, ci_low, ci_high, rel_diff
    costs: pd.DataFrame       # strategy, cost, payer, cost_mean, ci_low, ci_high
    per_seed: pd.DataFrame    # strategy, measure, seed, crisis, strategy_value, diff
    seconds: float = 0.0


def execute_plan(plan: Plan, workers: int = 1, progress: bool = False) -> StrategyTable:
    started = time.perf_counter()
    results = _execute(plan.jobs, int(workers), progress, f"strategies in {plan.crisis}")
    runs = {(r.role, r.seed): r for r in results}
    days = plan.config.run.days
    rows, cost_rows = [], []
    for name in plan.strategies:
        costs = []
        for s in plan.seeds:
            base, run = runs[("crisis", s)].measures, runs[(name, s)].measures
            diff = {k: run[k] - base[k] for k in base if k in run}
            for m in TABLE_MEASURES:
                if m in diff:
                    rows.append({"strategy": name, "measure": m, "seed": s, "crisis": base[m],
                                 "strategy_value": run[m], "diff": diff[m]})
            costs.append(COSTS[name].of(diff, run, plan.config, days))
        mean, low, high = paired_interval(costs)
        row = {"strategy": name, "cost": COSTS[name].label, "payer": COSTS[name].payer,
               "cost_mean": mean, "ci_low": low, "ci_high": high}
        if name in EXPOSURES:
            label, measure = EXPOSURES[name]
            row["exposure"] = label
            row["exposure_mean"] = float(np.mean([runs[(name, s)].measures[measure] for s in plan.seeds]))
            row["exposure_losses"] = float(np.mean([runs[(name, s)].measures["scf_losses"] for s in plan.seeds]))
        cost_rows.append(row)
    per_seed = pd.DataFrame(rows)
    units = runs[("crisis", plan.seeds[0])].units
    table = []
    for (name, m), g in per_seed.groupby(["strategy", "measure"], sort=False):
        mean, low, high = paired_interval(g["diff"].to_numpy(float))
        base = float(g["crisis"].mean())
        table.append({"strategy": name, "measure": m, "label": units[m][1], "unit": units[m][0],
                      "crisis_mean": base, "diff_mean": mean, "ci_low": low, "ci_high": high,
                      "rel_diff": mean / base if base else np.nan})
    return StrategyTable(plan.crisis, list(plan.seeds), plan.window, pd.DataFrame(table), pd.DataFrame(cost_rows),
                         per_seed, time.perf_counter() - started)


def run_strategies(crisis: str | Path = "credit_crunch", strategies: Sequence[str] | None = None,
                   seeds=DEFAULT_SEEDS, overrides: Iterable[str] = (), workers: int = 1, *,
                   seed: int | None = None, consumers: int | None = None, merchants: int | None = None,
                   progress: bool = False) -> StrategyTable:
    """The strategy table of ``crisis`` (module docstring)."""
    plan = plan_strategies(crisis, strategies, seeds, overrides, seed=seed, consumers=consumers, merchants=merchants)
    return execute_plan(plan, workers, progress)




# --------------------------------------------------------------------------- Q2: the four causes

CAUSE_LABELS = {"review": "1 scoring (reviews)", "anomaly": "2 anomaly monitor", "macro": "3 macro tightening",
                "promo_reversion": "4 promotion reversion"}
PD_BANDS = (0.0, 0.02, 0.05, 0.10, 1.0)      # PD of 90+ DPD within 12 months, at the cut
INCOME_BANDS = 5                               # quintiles of consumers' usual (in-work) income


def cause_profile(model, frames: dict, window: tuple[str, str]) -> dict:
    """Whom each cause cut at the platform over ``window``: for each of the four causes, the
    cuts, the distinct accounts, the share of them by PD band at the cut (:data:`PD_BANDS`), by
    usual-income quintile (of all consumers) and past due at the cut. (A :class:`Job` profile.)"""
    ch = frames["limit_changes"]
    lo, hi = pd.Timestamp(window[0]), pd.Timestamp(window[1])
    ch = ch[(ch["lender"] == model.cfg.run.platform) & (ch["date"] >= lo) & (ch["date"] <= hi)
            & (ch["new_limit"] < ch["old_limit"])]
    income = model.consumers.base_income
    edges = np.quantile(income, np.linspace(0, 1, INCOME_BANDS + 1)[1:-1])
    quintile = np.searchsorted(edges, income, side="right")
    out = {"accounts_open": int(np.count_nonzero(model.accounts.open[model.platform]))}
    for cause in CAUSE_LABELS:
        c = ch[ch["cause"] == cause]
        first = c.drop_duplicates("consumer_id")
        n = len(first)
        row = {"cuts": len(c), "accounts": n,     # (means of no accounts are NaN)
               "pd_mean": float(first["pd"].mean()), "past_due": float((first["dpd"] > 0).mean())}
        bands = np.histogram(first["pd"], bins=PD_BANDS)[0]
        for k, count in enumerate(bands):
            row[f"pd_band_{k}"] = count / n if n else np.nan
        q = np.bincount(quintile[first["consumer_id"].to_numpy()], minlength=INCOME_BANDS)
        for k, count in enumerate(q):
            row[f"income_q{k + 1}"] = count / n if n else np.nan
        out[cause] = row
    return out


@dataclasses.dataclass
class CauseTable:
    scenario: str
    seeds: list[int]
    window: tuple[str, str]
    table: pd.DataFrame        # one row per cause: who is cut, and what the cause costs merchants
    per_seed: pd.DataFrame
    seconds: float = 0.0


def run_causes(scenario: str | Path = "baseline", seeds=DEFAULT_SEEDS, overrides: Iterable[str] = (),
               workers: int = 1, *, seed: int | None = None, consumers: int | None = None,
               merchants: int | None = None, progress: bool = False) -> CauseTable:
    """Q2 in ``scenario``: for each cause of cuts, how many platform accounts it cuts over the
    recorded window and whom (:func:`cause_profile`, from the run as it is), and what it costs
    merchants: the run as it is minus the same run with that cause held from the first
    recorded day (a ``limit_hold`` of that cause at every lender), paired by seed. The five
    runs of a seed share their burn-in."""
    overrides = with_flags(overrides, {"population.consumers": consumers, "population.merchants": merchants})
    path = str(resolve_scenario(scenario).resolve())
    cfg = load_config(path, overrides)
    seed_list = _seed_list(seeds, seed, cfg.run.seed)
    start, end = cfg.start, cfg.start + dt.timedelta(days=cfg.run.days)
    window = (start.isoformat(), (end - dt.timedelta(days=1)).isoformat())
    holds = {c: {"kind": "limit_hold", "start": start.isoformat(), "end": end.isoformat(), "cause": c}
             for c in CAUSE_LABELS}
    for c in CAUSE_LABELS:
        load_config(path, overrides, add_shocks=[holds[c]])
    jobs = []
    for s in seed_list:
        over = (*overrides, f"run.seed={s}")
        jobs.append(Job("as_is", path, over, s, window, (), profile="sim.research:cause_profile"))
        jobs.extend(Job(f"held_{c}", path, over, s, window, (), (), (holds[c],)) for c in CAUSE_LABELS)
    started = time.perf_counter()
    results = _execute(jobs, int(workers), progress, f"causes in {cfg.name}", fork_day=0)
    runs = {(r.role, r.seed): r for r in results}
    rows = []
    for s in seed_list:
        as_is = runs[("as_is", s)]
        for c in CAUSE_LABELS:
            held = runs[(f"held_{c}", s)].measures
            rows.append({"cause": c, "seed": s, **as_is.extra[c],
                         "account_share": as_is.extra[c]["accounts"] / max(as_is.extra["accounts_open"], 1),
                         "sales_cost": held["retail_sales"] - as_is.measures["retail_sales"],
                         "failures_cost": as_is.measures["merchant_failures"] - held["merchant_failures"],
                         "unemployment_cost": as_is.measures["unemployment_rate_mean"]
                         - held["unemployment_rate_mean"]})
    per_seed = pd.DataFrame(rows)
    table = []
    for c, g in per_seed.groupby("cause", sort=False):
        row = {"cause": c, "label": CAUSE_LABELS[c]}
        for col in g.columns:
            if col in ("cause", "seed"):
                continue
            row[col] = float(g[col].mean())
        for col in ("sales_cost", "failures_cost", "unemployment_cost"):
            _, row[f"{col}_low"], row[f"{col}_high"] = paired_interval(g[col].to_numpy(float))
        table.append(row)
    return CauseTable(cfg.name, seed_list, window, pd.DataFrame(table), per_seed, time.perf_counter() - started)


# --------------------------------------------------------------------------- remedies (the 618 case)

COSTS["remedies_618"] = Cost("instalment fees and SCF interest", "merchants",
                             lambda d, s, cfg, days: s["instalment_subsidy"]
                             + s["scf_drawn_mean"] * cfg.merchants.scf_rate * _years(days))


@dataclasses.dataclass
class Remedies:
    """What remedies save: the crisis's effect against its base without them and with them
    (laid over both), seed by seed, and the difference."""

    crisis: str
    against: str
    remedies: list[str]
    seeds: list[int]
    window: tuple[str, str]
    table: pd.DataFrame       # measure, without, with, saved (with intervals)
    per_seed: pd.DataFrame
    comparisons: tuple        # (without, with): the two sim.compare.Comparison objects


def run_remedies(crisis: str | Path = "case_618", against: str | Path = "baseline",
                 remedies: Sequence[str] = ("remedies_618",), seeds=DEFAULT_SEEDS, overrides: Iterable[str] = (),
                 workers: int = 1, *, seed: int | None = None, consumers: int | None = None,
                 merchants: int | None = None, date_from=None, date_to=None, progress: bool = False) -> Remedies:
    """The crisis's effect (crisis minus base, paired by seed) in two worlds: as they are, and
    with the ``remedies`` (strategy files) laid over both crisis and base. ``saved`` is the
    effect with the remedies minus the effect without them: for retail sales, positive when the
    remedies reduce the merchants' lost sales."""
    kw = dict(seed=seed, consumers=consumers, merchants=merchants, date_from=date_from, date_to=date_to)
    plain = plan_comparison(crisis, against, seeds, overrides, **kw)
    helped = plan_comparison(crisis, against, seeds, overrides, strategies=remedies, base_strategies=remedies, **kw)
    without = _compare_plan(plain, workers, progress)
    with_ = _compare_plan(helped, workers, progress)
    a, b = without.per_seed, with_.per_seed
    merged = a.merge(b, on=["measure", "seed"], suffixes=("_without", "_with"))
    merged["saved"] = merged["diff_with"] - merged["diff_without"]
    rows = []
    for name, g in merged.groupby("measure", sort=False):
        row = {"measure": name, "label": g["label_without"].iloc[0], "unit": g["unit_without"].iloc[0]}
        for col, key in (("diff_without", "without"), ("diff_with", "with"), ("saved", "saved")):
            row[key], row[f"{key}_low"], row[f"{key}_high"] = paired_interval(g[col].to_numpy(float))
        rows.append(row)
    per_seed = merged[["measure", "seed", "base_without", "scenario_without", "base_with", "scenario_with",
                       "diff_without", "diff_with", "saved"]]
    return Remedies(plain.scenario, plain.against, list(remedies), list(plain.seeds), plain.window,
                    pd.DataFrame(rows), per_seed, (without, with_))

__all__ = ["COSTS", "LEVEL", "TABLE_MEASURES", "CauseTable", "StrategyTable", "cause_profile", "execute_plan",
           "plan_strategies", "run_causes", "run_remedies", "run_strategies"]
