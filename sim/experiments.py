"""Credit-line experiments: ``sim experiment SCENARIO`` (the estimator and its command).

A ``credit_limit_experiment`` shock (:mod:`sim.shocks`) changes the fixed limit of a
random share of a lender's open accounts by ``size`` (+0.5 = +50%) and keeps treated
and control limits until it ends. :func:`estimate` reads the monthly account panel
(``panel.parquet``) and measures, by score band and months after assignment, how much
of a yuan of extra (or removed) limit becomes debt and platform spending, as in
Gross & Souleles (2002) and Agarwal, Chomsisengphet, Mahoney & Stroebel (2018).

Definitions (docs/model.md, 9.4):

- *Assignment* is the last month-end before the shock's start: month ``a``. The
  experiment's accounts are those of ``lender`` whose ``treated`` is true or false at
  the first month-end after the start (``a + 1``) and that have a row at ``a``.
- *Score bands*: quantiles of the account's ``pd`` at ``a`` over the experiment's
  accounts, both arms pooled, band 1 the safest (lowest PD). Equal-sized bands: accounts
  are ranked by PD (ties by account key) and cut into ``bands`` groups.
- *Limit change* of a treated account: ``size x fixed_limit`` at ``a``; 0 for controls.
- For a horizon ``h`` (months after ``a``), outcomes are first differences:
  ``balance[a + h] - balance[a]`` (borrowing) and ``spending[a + 1] + ... +
  spending[a + h]``, the cumulative platform spending from the assignment month to
  ``a + h`` less the assignment month's own (spending).
- MPB and MPC: the treated-minus-control difference of the mean first difference,
  divided by the treated accounts' mean limit change ``D``: the Wald (instrumental
  variable) estimate with assignment as the instrument for the limit change. For a
  cut both numerator and ``D`` are negative; the ratio keeps its meaning (change in
  outcome per yuan of limit change).
- Standard errors: independent two-sample delta method, ``se = sqrt(var(y_T - b d_T) /
  n_T + var(y_C) / n_C) / |D|`` with sample variances (ddof 1); it counts the noise of
  ``D`` as well as of the outcomes and equals the heteroskedasticity-robust standard error
  of the IV regression up to the n / (n - 1) factors. Accounts are independent: seeds
  are independent samples, and random assignment makes the arms independent.
- Attrition: an account counts at ``h`` only if it is open with a row and in its arm at
  every month-end from ``a`` to ``a + h`` (survivors; a charge-off or closure removes an
  account from the panel, and a closed and reopened account leaves the experiment). The
  table reports, per arm, the accounts enrolled and the share lost by ``h``, so that a
  researcher sees any selection. Accounts that leave before the first month-end after the
  start never appear in the panel as enrolled and cannot be counted.
- Only horizons whose month-end falls before the shock's end are estimated; later ones
  are NaN with a note; none estimable is an error.

The Python API::

    import pandas as pd
    from sim.experiments import estimate, run_experiment
    table = estimate(pd.read_parquet("results/x/panel.parquet"), cfg)   # cfg: the run's Config
    table = run_experiment("limit_experiment_12m", seeds=3, consumers=5000, workers=2)

Runs go to worker processes with ``workers=N``; the results are the same, bit for bit,
whatever N (panels are pooled in seed order, and the estimate sorts by account).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import Config, ConfigError, load_config, resolve_scenario, with_flags

DEFAULT_HORIZONS = (3, 6, 12)
DEFAULT_BANDS = 5
DEFAULT_SEEDS = 5
Z95 = 1.959963984540054      # two-sided 95% normal quantile, for the figure's error bars
KIND = "credit_limit_experiment"
PANEL_COLUMNS = ("month", "consumer_id", "lender", "fixed_limit", "balance", "spending", "pd", "treated")

# the estimate table (experiment.csv): column -> meaning
TABLE_COLUMNS = {
    "horizon": "months after the assignment month-end",
    "month": "the horizon's month (YYYY-MM)",
    "band": "score band, 1 = safest (lowest PD at assignment) ... bands; 'all' = every band",
    "pd_low": "lowest PD at assignment in the band",
    "pd_high": "highest PD at assignment in the band",
    "mpb": "marginal propensity to borrow: change in balance per yuan of limit change",
    "mpb_se": "its standard error (delta method)",
    "mpc": "marginal propensity to spend: change in cumulative platform spending per yuan of limit change",
    "mpc_se": "its standard error (delta method)",
    "first_stage": "change in fixed limit, treated minus control, per yuan of intended limit change "
                   "(1 when the limits held)",
    "limit_change": "treated survivors' mean limit change, size x fixed limit at assignment (yuan)",
    "d_balance_treated": "treated survivors' mean change in balance (yuan)",
    "d_balance_control": "control survivors' mean change in balance (yuan)",
    "d_spending_treated": "treated survivors' mean cumulative spending after assignment (yuan)",
    "d_spending_control": "control survivors' mean cumulative spending after assignment (yuan)",
    "n_treated": "treated accounts used (survivors at the horizon)",
    "n_control": "control accounts used (survivors at the horizon)",
    "enrolled_treated": "treated accounts at assignment",
    "enrolled_control": "control accounts at assignment",
    "attrition_treated": "share of enrolled treated accounts lost by the horizon (closed, charged off, "
                         "left the experiment)",
    "attrition_control": "share of enrolled control accounts lost by the horizon",
    "note": "why a row is not estimated, or empty",
}


# --------------------------------------------------------------------------- the experiment


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A credit-line experiment in calendar dates: ``start`` (inclusive), ``end`` (exclusive;
    ``None`` = unknown, taken to outlast every horizon), ``size`` (fraction), ``lender``."""

    start: dt.date
    size: float
    end: dt.date | None = None
    lender: str | None = None
    share: float | None = None

    @property
    def assignment(self) -> pd.Period:
        """The assignment month: the last month-end before ``start`` is that of the month before."""
        return pd.Period(self.start, freq="M") - 1

    def to_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat() if self.end else None,
                "size": self.size, "lender": self.lender, "share": self.share,
                "assignment_month": str(self.assignment)}


def _as_date(value, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{what} = {value!r} is not a date (YYYY-MM-DD)") from None


def experiment_shocks(cfg: Config) -> list:
    """The ``credit_limit_experiment`` shocks of a configuration."""
    return [s for s in cfg.shocks if s.kind == KIND]


def experiment_of(cfg: Config, *, where: str | None = None) -> Experiment:
    """The one credit-line experiment of ``cfg`` in calendar dates; a :class:`ConfigError`
    naming ``where`` (default the scenario) when it has none or several."""
    shocks = experiment_shocks(cfg)
    where = where or cfg.name
    if not shocks:
        raise ConfigError(f"{where}: no [[shocks]] table with kind = {KIND!r}; `sim experiment` needs a "
                          f"scenario with one (e.g. scenarios/limit_experiment_12m.toml)")
    if len(shocks) > 1:
        raise ConfigError(f"{where}: {len(shocks)} {KIND} shocks; the estimator measures one experiment at "
                          f"a time (keep one)")
    s = shocks[0]
    return Experiment(cfg.start + dt.timedelta(days=s.start), float(s.size),
                      cfg.start + dt.timedelta(days=s.end), s.lender or cfg.run.platform, s.share)


def as_experiment(shock, *, start_date=None) -> Experiment:
    """Normalise what :func:`estimate` accepts: an :class:`Experiment`; a :class:`Config`
    (its one experiment); a :class:`sim.shocks.Shock` (day indices: give ``start_date``,
    the configuration's ``run.start_date``); or a mapping with ``start`` (a date), ``size``
    and optionally ``end`` (exclusive) or ``days``, ``lender``, ``share``."""
    from sim.shocks import Shock
    if isinstance(shock, Experiment):
        exp = shock
    elif isinstance(shock, Config):
        exp = experiment_of(shock)
    elif isinstance(shock, Shock):
        if shock.kind != KIND:
            raise ValueError(f"shock kind {shock.kind!r} is not {KIND!r}")
        if start_date is None:
            raise ValueError("a Shock holds day indices: pass start_date= (the run's run.start_date), or the "
                             "Config itself")
        first = _as_date(start_date, "start_date")
        exp = Experiment(first + dt.timedelta(days=shock.start), float(shock.size),
                         first + dt.timedelta(days=shock.end), shock.lender, shock.share)
    elif isinstance(shock, Mapping):
        if shock.get("kind", KIND) != KIND:
            raise ValueError(f"shock kind {shock.get('kind')!r} is not {KIND!r}")
        if "start" not in shock or "size" not in shock:
            raise ValueError("an experiment needs at least start (a date) and size (a fraction)")
        start = _as_date(shock["start"], "start")
        end = None
        if shock.get("end") is not None:
            end = _as_date(shock["end"], "end")
        elif shock.get("days") is not None:
            end = start + dt.timedelta(days=int(shock["days"]))
        exp = Experiment(start, float(shock["size"]), end, shock.get("lender"), shock.get("share"))
    else:
        raise TypeError(f"expected an Experiment, a Config, a Shock or a mapping, not {type(shock).__name__}")
    if not math.isfinite(exp.size) or exp.size == 0 or exp.size <= -1:
        raise ValueError(f"size = {exp.size}: a limit change must be non-zero and above -1 (-100%)")
    if exp.end is not None and exp.end <= exp.start:
        raise ValueError(f"end {exp.end} must be after start {exp.start}")
    return exp


def _horizons(horizons) -> tuple[int, ...]:
    if isinstance(horizons, str):
        try:
            horizons = [int(h) for h in horizons.split(",") if h.strip()]
        except ValueError:
            raise ValueError(f"horizons {horizons!r}: expected whole months separated by commas, "
                             f"e.g. 3,6,12") from None
    out = []
    for h in horizons:
        if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1:
            raise ValueError(f"horizons: {h!r} is not a whole number of months >= 1")
        out.append(int(h))
    if not out:
        raise ValueError("horizons: the list is empty")
    if len(set(out)) != len(out):
        raise ValueError(f"horizons: {out} repeats a horizon")
    return tuple(sorted(out))


def _month_end(period: pd.Period) -> dt.date:
    return period.end_time.date()


# --------------------------------------------------------------------------- the estimator


def ratio_estimate(y_treated, d_treated, y_control) -> tuple[float, float]:
    """``b = (mean y_T - mean y_C) / mean d_T`` and its delta-method standard error
    ``sqrt(var(y_T - b d_T) / n_T + var(y_C) / n_C) / |mean d_T|`` (sample variances, ddof
    1). NaN when an arm is empty or ``mean d_T`` is 0; the SE is NaN with fewer than two
    accounts in an arm."""
    y_t, d_t, y_c = (np.asarray(v, dtype=float) for v in (y_treated, d_treated, y_control))
    if y_t.size == 0 or y_c.size == 0:
        return math.nan, math.nan
    d_bar = float(d_t.mean())
    if d_bar == 0:
        return math.nan, math.nan
    b = (float(y_t.mean()) - float(y_c.mean())) / d_bar
    if y_t.size < 2 or y_c.size < 2:
        return b, math.nan
    u = y_t - b * d_t
    var = float(u.var(ddof=1)) / y_t.size + float(y_c.var(ddof=1)) / y_c.size
    return b, math.sqrt(var) / abs(d_bar)


def _month_codes(months: pd.Series) -> np.ndarray:
    """Month index (year x 12 + month - 1) of each panel ``month`` (``YYYY-MM`` strings, dates
    or periods)."""
    uniq = pd.unique(months)
    try:
        stamps = pd.to_datetime(pd.Series(uniq).astype(str))
    except (ValueError, TypeError):
        raise ValueError("panel month: expected YYYY-MM months") from None
    codes = (stamps.dt.year * 12 + stamps.dt.month - 1).to_numpy()
    return pd.Series(codes, index=uniq).reindex(months.to_numpy()).to_numpy()


def _code(period: pd.Period) -> int:
    return period.year * 12 + period.month - 1


def _period(code: int) -> pd.Period:
    return pd.Period(year=code // 12, month=code % 12 + 1, freq="M")


def _lender(panel: pd.DataFrame, lender: str | None) -> str:
    if lender is not None:
        return str(lender)
    known = panel.loc[panel["treated"].notna(), "lender"].astype(str).unique()
    if len(known) == 1:
        return str(known[0])
    if len(known) == 0:
        raise ValueError("the panel has no experiment accounts: treated is empty on every row (run a "
                         f"scenario with a {KIND} shock and --panel monthly)")
    raise ValueError(f"experiment accounts at several lenders ({', '.join(sorted(known))}): pass lender=")


def estimate(panel: pd.DataFrame, shock, *, lender: str | None = None, horizons=DEFAULT_HORIZONS,
             bands: int = DEFAULT_BANDS, start_date=None) -> pd.DataFrame:
    """MPB and MPC by score band and horizon from a monthly ``panel`` and an experiment.

    ``shock`` is what :func:`as_experiment` accepts (the run's :class:`Config` is simplest);
    ``lender`` overrides the experiment's lender (default: the shock's, else the one lender
    with experiment accounts). ``horizons`` are months after the assignment month-end;
    ``bands`` the number of PD quantile bands. A panel pooled over runs must carry a
    ``seed`` column: an account is then (``seed``, ``consumer_id``).

    Returns one row per horizon and band (1 .. ``bands``, then ``all``) with the columns of
    :data:`TABLE_COLUMNS`; ``attrs`` hold the experiment and the method. Raises
    :class:`ValueError` when the panel lacks a column, the assignment month or a month an
    estimable horizon needs, or has no experiment accounts, or when no horizon falls
    before the experiment's end.
    """
    exp = as_experiment(shock, start_date=start_date)
    hs = _horizons(horizons)
    if isinstance(bands, bool) or not isinstance(bands, (int, np.integer)) or bands < 1:
        raise ValueError(f"bands: {bands!r} is not a whole number >= 1")
    bands = int(bands)
    missing = [c for c in PANEL_COLUMNS if c not in panel.columns]
    if missing:
        raise ValueError(f"the panel lacks column(s) {missing} (a monthly panel from `sim run --panel monthly` "
                         f"has {list(PANEL_COLUMNS)})")
    lender = _lender(panel, lender if lender is not None else exp.lender)
    keys = ["seed", "consumer_id"] if "seed" in panel.columns else ["consumer_id"]
    p = panel.loc[panel["lender"].astype(str).to_numpy() == lender,
                  [*keys, "month", "fixed_limit", "balance", "spending", "pd", "treated"]]
    if p.empty:
        raise ValueError(f"the panel has no rows for lender {lender!r}")
    code = _month_codes(p["month"])
    a = _code(exp.assignment)
    have = set(np.unique(code).tolist())
    span = f"its months are {_period(min(have))} to {_period(max(have))}"
    if a not in have:
        raise ValueError(f"the panel lacks the assignment month {_period(a)} (the last month-end before the "
                         f"experiment's start, {exp.start}); {span}")
    if a + 1 not in have:
        raise ValueError(f"the panel lacks {_period(a + 1)}, the first month-end after the experiment's start "
                         f"({exp.start}), where its accounts are marked; {span}")

    # horizons: inside the experiment and recorded, or NaN with a note
    notes: dict[int, str] = {}
    for h in hs:
        end_of_h = _month_end(_period(a + h))
        if exp.end is not None and end_of_h >= exp.end:
            notes[h] = f"after the experiment's end ({exp.end}, exclusive): not estimated"
    live = [h for h in hs if h not in notes]
    if not live:
        raise ValueError(f"no horizon in {list(hs)} ends before the experiment's end ({exp.end}, exclusive): "
                         f"from assignment at the end of {_period(a)} the last possible horizon is "
                         f"{_last_horizon(exp)} months")
    gaps = sorted({m for h in live for m in range(a, a + h + 1) if m not in have})
    if gaps:   # the spending sum needs every month-end from assignment to the horizon
        lacking = [h for h in live if a + h >= gaps[0]]
        raise ValueError(f"the panel lacks month(s) {', '.join(str(_period(m)) for m in gaps)} for "
                         f"horizon(s) {lacking} (inside the experiment); {span}: record longer (run.days) or "
                         f"drop those horizons")
    top = a + max(live)
    p = p[(code >= a) & (code <= top)].assign(_code=code[(code >= a) & (code <= top)])
    index = pd.MultiIndex.from_frame(p[[*keys, "_code"]])
    if index.duplicated().any():
        raise ValueError(f"the panel has {int(index.duplicated().sum())} duplicate rows for one account and "
                         f"month at lender {lender!r}; a panel pooled over runs needs a 'seed' column")

    # the experiment's accounts: marked at a + 1, with a row at a
    post = p[(p["_code"] == a + 1) & p["treated"].notna().to_numpy()]
    if post.empty:
        raise ValueError(f"the panel has no experiment accounts at lender {lender!r}: treated is empty for "
                         f"every account at {_period(a + 1)}, the first month-end after the start ({exp.start})")
    def accounts(df: pd.DataFrame) -> pd.Index:
        return pd.MultiIndex.from_frame(df[keys]) if len(keys) > 1 else pd.Index(df[keys[0]])

    arm = pd.Series(post["treated"].astype(bool).to_numpy(), index=accounts(post))
    pre = p[p["_code"] == a]
    pre = pre.set_index(accounts(pre))
    enrolled = arm.index[arm.index.isin(pre.index)]
    no_pre_row = int(len(arm) - len(enrolled))
    frame = pd.DataFrame({"treated": arm.loc[enrolled].to_numpy(),
                          "pd0": pre.loc[enrolled, "pd"].to_numpy(dtype=float),
                          "limit0": pre.loc[enrolled, "fixed_limit"].to_numpy(dtype=float)},
                         index=enrolled)
    if not np.isfinite(frame["pd0"]).all():
        raise ValueError("the panel has experiment accounts without a finite pd at assignment")
    frame = frame.sort_index()
    order = np.lexsort([*(frame.index.get_level_values(k).to_numpy() for k in reversed(keys)),
                        frame["pd0"].to_numpy()])      # by PD, ties by account
    band = np.empty(len(frame), dtype=np.int64)
    band[order] = 1 + (bands * np.arange(len(frame))) // len(frame)
    frame["band"] = band
    frame["change"] = np.where(frame["treated"], exp.size * frame["limit0"], 0.0)

    # account x month wide arrays over a .. top
    sub = p[accounts(p).isin(enrolled)]
    wide = sub.set_index([*keys, "_code"])[["balance", "spending", "fixed_limit", "treated"]].unstack("_code")
    wide = wide.reindex(frame.index)
    months = list(range(a, top + 1))

    def values(col: str) -> np.ndarray:
        return wide[col].reindex(columns=months).to_numpy(dtype=float)

    balance, spending, limit = values("balance"), values("spending"), values("fixed_limit")
    marked = wide["treated"].reindex(columns=months)
    in_arm = np.column_stack([(marked[m].notna() & (marked[m].astype("boolean") == frame["treated"]))
                             .to_numpy(dtype=bool) for m in months])
    in_arm[:, 0] = True                      # not yet marked at assignment
    present = np.isfinite(balance) & np.isfinite(spending) & np.isfinite(limit) & in_arm
    alive = np.logical_and.accumulate(present, axis=1)      # open and in the arm at every month so far

    treated = frame["treated"].to_numpy()
    change = frame["change"].to_numpy()
    edges = frame.groupby("band")["pd0"].agg(["min", "max"]).reindex(range(1, bands + 1))
    rows = []
    for h in hs:
        groups = [*((b, band == b) for b in range(1, bands + 1)), ("all", np.ones(len(frame), bool))]
        if h in notes:
            for b, _ in groups:
                rows.append({"horizon": h, "month": str(_period(a + h)), "band": b, "note": notes[h],
                             **_band_edges(edges, b, frame)})
            continue
        keep = alive[:, h]
        d_balance = balance[:, h] - balance[:, 0]
        d_spending = np.nansum(spending[:, 1:h + 1], axis=1)
        d_limit = limit[:, h] - limit[:, 0]
        for b, mask in groups:
            t = mask & treated & keep
            c = mask & ~treated & keep
            n_t0, n_c0 = int(np.count_nonzero(mask & treated)), int(np.count_nonzero(mask & ~treated))
            mpb, mpb_se = ratio_estimate(d_balance[t], change[t], d_balance[c])
            mpc, mpc_se = ratio_estimate(d_spending[t], change[t], d_spending[c])
            first, _ = ratio_estimate(d_limit[t], change[t], d_limit[c])
            n_t, n_c = int(np.count_nonzero(t)), int(np.count_nonzero(c))
            note = ""
            if n_t == 0 or n_c == 0:
                note = "no surviving account in an arm"
            elif n_t < 2 or n_c < 2:
                note = "fewer than two surviving accounts in an arm: no standard error"
            rows.append({
                "horizon": h, "month": str(_period(a + h)), "band": b, **_band_edges(edges, b, frame),
                "mpb": mpb, "mpb_se": mpb_se, "mpc": mpc, "mpc_se": mpc_se, "first_stage": first,
                "limit_change": float(change[t].mean()) if n_t else math.nan,
                "d_balance_treated": _mean(d_balance[t]), "d_balance_control": _mean(d_balance[c]),
                "d_spending_treated": _mean(d_spending[t]), "d_spending_control": _mean(d_spending[c]),
                "n_treated": n_t, "n_control": n_c, "enrolled_treated": n_t0, "enrolled_control": n_c0,
                "attrition_treated": 1 - n_t / n_t0 if n_t0 else math.nan,
                "attrition_control": 1 - n_c / n_c0 if n_c0 else math.nan,
                "note": note,
            })
    table = pd.DataFrame(rows).reindex(columns=list(TABLE_COLUMNS))
    for col in ("n_treated", "n_control", "enrolled_treated", "enrolled_control"):
        table[col] = table[col].fillna(0).astype(np.int64)
    table["note"] = table["note"].fillna("")
    table["band"] = table["band"].astype(object)
    table.attrs = {"experiment": exp.to_dict() | {"lender": lender}, "horizons": list(hs), "bands": bands,
                   "accounts": int(len(frame)), "enrolled_without_assignment_row": no_pre_row,
                   "keys": keys, "method": METHOD}
    return table


METHOD = ("Wald estimate (assignment instruments the limit change): treated-minus-control difference of the "
          "mean first difference over the treated survivors' mean limit change (size x fixed limit at "
          "assignment); delta-method SE sqrt(var(y_T - b d_T)/n_T + var(y_C)/n_C)/|D| with ddof-1 variances; "
          "survivors: accounts open and in their arm at every month-end from assignment to the horizon")


def _mean(v: np.ndarray) -> float:
    return float(v.mean()) if v.size else math.nan


def _band_edges(edges: pd.DataFrame, b, frame: pd.DataFrame) -> dict:
    if b == "all":
        return {"pd_low": float(frame["pd0"].min()), "pd_high": float(frame["pd0"].max())}
    return {"pd_low": float(edges.loc[b, "min"]), "pd_high": float(edges.loc[b, "max"])}


def _last_horizon(exp: Experiment) -> int:
    a = exp.assignment
    h = 0
    while exp.end is not None and _month_end(a + h + 1) < exp.end:
        h += 1
    return h


# --------------------------------------------------------------------------- runs


@dataclasses.dataclass(frozen=True)
class Job:
    """One run, as sent to a worker process."""

    seed: int
    config: Config               # the resolved configuration with run.seed = seed
    panel_sample: float
    lender: str
    months: tuple[str, str]      # first and last panel month kept (YYYY-MM)


def _run_job(job: Job) -> tuple[int, pd.DataFrame]:
    """Build and run one model; return its panel rows at the experiment's lender and months.
    Module-level so that spawned worker processes can import it."""
    from sim.model import CreditModel

    try:
        model = CreditModel(job.config, panel="monthly", panel_sample=job.panel_sample)
    except ValueError as err:
        from sim.compare import RunError
        raise RunError(f"{job.config.name}, seed {job.seed}: {err}") from None
    model.run()
    panel = model.results()["panel"]
    keep = (panel["lender"] == job.lender) & panel["month"].between(*job.months)
    panel = panel.loc[keep, list(PANEL_COLUMNS)].reset_index(drop=True)
    panel.insert(0, "seed", job.seed)
    return job.seed, panel


def _execute(jobs: list[Job], workers: int, progress: bool, desc: str) -> list[pd.DataFrame]:
    from sim.compare import run_jobs

    results: list[tuple[int, pd.DataFrame]] = run_jobs(_run_job, jobs, workers, progress, desc)
    return [panel for _, panel in sorted(results, key=lambda r: r[0])]


@dataclasses.dataclass
class Plan:
    """A validated experiment study, ready to run: every configuration was loaded."""

    scenario: str
    source: str                  # the scenario file (or "<Config>")
    experiment: Experiment
    horizons: tuple[int, ...]
    bands: int
    seeds: list[int]
    overrides: list[str]
    panel_sample: float
    jobs: list[Job]
    config: dict


@dataclasses.dataclass
class ExperimentResult:
    """The estimate table with the study that produced it."""

    plan: Plan
    table: pd.DataFrame
    accounts: int
    seconds: float = 0.0

    def info(self) -> dict:
        from sim.outputs import code_version
        p = self.plan
        return {"scenario": p.scenario, "source": p.source, "experiment": self.table.attrs.get("experiment",
                                                                                             p.experiment.to_dict()),
                "seeds": p.seeds, "horizons": list(p.horizons), "bands": p.bands,
                "panel_sample": p.panel_sample, "overrides": p.overrides, "accounts": self.accounts,
                "enrolled_without_assignment_row": self.table.attrs.get("enrolled_without_assignment_row"),
                "method": METHOD, "level": 0.95, "columns": TABLE_COLUMNS, "code_version": code_version(),
                "config": p.config}

    def write(self, out_dir: str | Path) -> Path:
        """Write ``experiment.csv``, ``experiment.json`` (table, settings, configuration) and
        ``experiment.png``."""
        from sim.results import publish

        def fill(out: Path) -> dict:
            self.table.to_csv(out / "experiment.csv", index=False)
            plot_experiment(self.table, out / "experiment.png",
                            title=f"{self.plan.scenario}: {self.plan.experiment.size:+.0%} fixed limit at "
                                  f"{self.table.attrs['experiment']['lender']} from {self.plan.experiment.start} "
                                  f"({len(self.plan.seeds)} seeds, {self.accounts:,} accounts)")
            records = [{k: _plain(v) for k, v in row.items()} for row in self.table.to_dict(orient="records")]
            # a round trip through JSON with default=str: publish writes it with allow_nan=False
            return json.loads(json.dumps(self.info() | {"table": records}, default=str, allow_nan=False))

        publish(out_dir, fill, "experiment.json")
        return Path(out_dir)


def _plain(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    return v


def _seed_list(seeds, seed: int | None, default_first: int) -> list[int]:
    from sim.compare import _seed_list as seed_list
    return seed_list(seeds, seed, default_first)


def _with_seed(cfg: Config, seed: int) -> Config:
    return dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, seed=int(seed)))


def plan_experiment(config_or_scenario, *, seeds=DEFAULT_SEEDS, seed: int | None = None,
                    overrides: Iterable[str] = (), days: int | None = None, consumers: int | None = None,
                    merchants: int | None = None, horizons=DEFAULT_HORIZONS, bands: int = DEFAULT_BANDS,
                    panel_sample: float = 1.0) -> Plan:
    """Validate the scenario (it must hold one ``credit_limit_experiment``), the overrides,
    seeds, horizons and panel share, and that the recorded window covers every horizon
    inside the experiment; raise :class:`ConfigError` before anything runs."""
    overrides = with_flags(overrides, {"run.days": days, "population.consumers": consumers,
                                       "population.merchants": merchants})
    if isinstance(config_or_scenario, Config):
        if overrides:
            raise ConfigError("overrides and run flags apply to a scenario name or path; a Config is used "
                              "as it is (build it with load_config(scenario, overrides))")
        cfg, source = config_or_scenario, "<Config>"
    else:
        path = resolve_scenario(config_or_scenario).resolve()
        cfg, source = load_config(path, overrides), str(path)
    try:
        hs = _horizons(horizons)
    except ValueError as err:
        raise ConfigError(f"--horizons: {err}") from None
    if isinstance(bands, bool) or not isinstance(bands, (int, np.integer)) or bands < 1:
        raise ConfigError(f"bands: {bands!r} is not a whole number >= 1")
    if isinstance(panel_sample, bool) or not isinstance(panel_sample, (int, float)) or \
            not 0 < panel_sample <= 1:
        raise ConfigError(f"--panel-sample: {panel_sample!r} must be in (0, 1]")
    exp = experiment_of(cfg, where=source if source != "<Config>" else f"configuration {cfg.name!r}")
    first, last = cfg.start, cfg.start + dt.timedelta(days=cfg.run.days - 1)
    a = exp.assignment
    if _month_end(a) < first:
        raise ConfigError(f"{source}: the experiment starts {exp.start}, before the first recorded month-end "
                          f"({_month_end(pd.Period(first, freq='M'))}); assignment is read at the last "
                          f"month-end before the start, so start it after that")
    live = [h for h in hs if _month_end(a + h) < exp.end]
    if not live:
        raise ConfigError(f"--horizons {','.join(map(str, hs))}: none ends before the experiment's end "
                          f"({exp.end}); from assignment at the end of {a} the last possible horizon is "
                          f"{_last_horizon(exp)} months")
    need = _month_end(a + max(live))
    if need > last:
        raise ConfigError(f"{source}: horizon {max(live)} needs the month-end {need}, after the last recorded "
                          f"day {last} (run.days = {cfg.run.days}); raise run.days to at least "
                          f"{(need - first).days + 1} or drop the horizon")
    seed_list = _seed_list(seeds, seed, cfg.run.seed)
    configs = []
    for s in seed_list:    # every run's configuration, before any run starts
        configs.append(load_config(source, [*overrides, f"run.seed={s}"]) if source != "<Config>"
                       else _with_seed(cfg, s))
    months = (str(a), str(a + max(live)))
    jobs = [Job(s, c, float(panel_sample), exp.lender, months) for s, c in zip(seed_list, configs)]
    config = cfg.to_dict() | {"shocks": [dataclasses.asdict(s) for s in cfg.shocks]}
    return Plan(cfg.name, source, exp, hs, int(bands), seed_list, overrides, float(panel_sample), jobs, config)


def execute_plan(plan: Plan, workers: int = 1, progress: bool = False) -> ExperimentResult:
    """Run a plan's jobs (in ``workers`` processes), pool the panels in seed order and estimate."""
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ConfigError(f"--workers: {workers!r} must be a whole number of at least 1")
    started = time.perf_counter()
    panels = _execute(plan.jobs, int(workers), progress, f"{plan.scenario} experiment")
    panel = pd.concat(panels, ignore_index=True)
    table = estimate(panel, plan.experiment, horizons=plan.horizons, bands=plan.bands)
    return ExperimentResult(plan, table, table.attrs["accounts"], time.perf_counter() - started)


def run_experiment(config_or_scenario, *, seeds=DEFAULT_SEEDS, workers: int = 1, panel_sample: float = 1.0,
                   progress: bool = True, seed: int | None = None, overrides: Iterable[str] = (),
                   days: int | None = None, consumers: int | None = None, merchants: int | None = None,
                   horizons=DEFAULT_HORIZONS, bands: int = DEFAULT_BANDS,
                   out: str | Path | None = None) -> pd.DataFrame:
    """Run a scenario with a credit-line experiment on several seeds and estimate MPB and MPC.

    ``config_or_scenario`` is a scenario name or path (with ``overrides``, ``--set``-style
    strings, and the run flags ``days``, ``consumers``, ``merchants``) or a loaded
    :class:`Config`. ``seeds`` is a number of seeds (``seed``, ``seed + 1``, ...; ``seed``
    defaults to ``run.seed``) or a list. Each run records the monthly panel of a
    ``panel_sample`` share of consumers; the runs are independent samples, so their
    experiment accounts are pooled (an account is a seed and a consumer id) before
    :func:`estimate`. ``workers`` > 1 runs them in that many processes, with the same
    table. With ``out`` the files of ``sim experiment`` are written there too.
    """
    plan = plan_experiment(config_or_scenario, seeds=seeds, seed=seed, overrides=overrides, days=days,
                           consumers=consumers, merchants=merchants, horizons=horizons, bands=bands,
                           panel_sample=panel_sample)
    result = execute_plan(plan, workers, progress)
    if out is not None:
        result.write(out)
    return result.table


# --------------------------------------------------------------------------- presentation


def _fmt(x: float, digits: int = 3) -> str:
    return "NaN" if not math.isfinite(x) else f"{x:.{digits}f}"


def format_table(table: pd.DataFrame) -> str:
    """The estimate table as text (what ``sim experiment`` prints)."""
    head = ["h", "month", "band", "PD range", "MPB", "(se)", "MPC", "(se)", "1st st.", "n T/C",
            "attr. T/C", "note"]
    rows = [head]
    for r in table.itertuples(index=False):
        pd_range = f"{r.pd_low:.3f}-{r.pd_high:.3f}" if math.isfinite(r.pd_low) else ""
        attr = "" if not math.isfinite(r.attrition_treated) else \
            f"{100 * r.attrition_treated:.1f}/{100 * r.attrition_control:.1f}%"
        rows.append([str(r.horizon), r.month, str(r.band), pd_range, _fmt(r.mpb), _fmt(r.mpb_se), _fmt(r.mpc),
                     _fmt(r.mpc_se), _fmt(r.first_stage, 2), f"{r.n_treated}/{r.n_control}", attr, r.note])
    widths = [max(len(row[k]) for row in rows) for k in range(len(head))]
    lines = []
    for i, row in enumerate(rows):
        cells = [c.rjust(w) if 0 < k < len(head) - 1 and k not in (1, 3) else c.ljust(w)
                 for k, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def plot_experiment(table: pd.DataFrame, path: str | Path, title: str = "") -> None:
    """``experiment.png``: MPB and MPC by score band with 95% error bars (estimate -/+ 1.96 SE),
    one panel per estimated horizon."""
    from matplotlib.figure import Figure

    est = table[table["mpb"].notna() | table["mpc"].notna()]
    horizons = list(dict.fromkeys(est["horizon"])) or list(dict.fromkeys(table["horizon"]))
    fig = Figure(figsize=(4.6 * len(horizons) + 1.0, 4.6), layout="constrained")
    axes = fig.subplots(1, len(horizons), squeeze=False, sharey=True)[0]
    bands = [b for b in dict.fromkeys(table["band"]) if b != "all"]
    labels = [f"{b}\nsafest" if k == 0 else f"{b}\nriskiest" if k == len(bands) - 1 and len(bands) > 1
              else str(b) for k, b in enumerate(bands)] + ["all"]
    x = np.arange(len(labels), dtype=float)
    for ax, h in zip(axes, horizons):
        rows = table[table["horizon"] == h].set_index("band").reindex([*bands, "all"])
        for offset, col, label, color in ((-0.12, "mpb", "MPB (balance)", "tab:blue"),
                                          (0.12, "mpc", "MPC (cumulative spending)", "tab:orange")):
            y = rows[col].to_numpy(dtype=float)
            err = Z95 * rows[f"{col}_se"].to_numpy(dtype=float)
            ax.errorbar(x + offset, y, yerr=np.where(np.isfinite(err), err, 0.0), fmt="o", color=color,
                        capsize=3, lw=1.4, label=label)
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.axvline(len(bands) - 0.5, color="grey", lw=0.6, ls=":")
        month = rows["month"].dropna().iloc[0] if rows["month"].notna().any() else ""
        ax.set_title(f"{h} month{'s' if h != 1 else ''} after assignment ({month})")
        ax.set_xticks(x, labels)
        ax.set_xlabel("score band (quintiles of PD at assignment)" if len(bands) == 5 else
                      "score band (quantiles of PD at assignment)")
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel("response per yuan of limit change")
    handles, labels_ = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels_, loc="outside lower center", ncol=2, fontsize=9, frameon=False)
    fig.suptitle((title + "\n" if title else "") + "treated minus control, first differences; bars: 95% "
                 "(1.96 SE, delta method)", fontsize=10)
    fig.savefig(path, dpi=110)
