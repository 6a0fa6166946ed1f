"""Outputs (a contract, docs/model.md 9): the daily time series, the limit-change
log, the account panel, ``summary.json`` and ``dashboard.png``.

Column naming: flows are daily amounts or counts (``consumption``,
``limit_cuts``), stocks are end-of-day levels (``credit_outstanding``), rates are
shares (``delinq_30_rate``). Lender figures without a suffix are the platform's
(``run.platform``, default ``baitiao``); other lenders' carry ``_<name>``.
"""

from __future__ import annotations

import dataclasses
import platform as _platform
import subprocess
from functools import partial
from importlib import metadata
from pathlib import Path

import mesa
import numpy as np
import pandas as pd

from agents.lender import CAUSES
from agents.merchant import DISTRESSED, FAILED, RETAILER, TIER_NAMES, daily_outflows
from sim.config import ConfigError

# name -> meaning (the documented contract; docs/model.md lists these)
COLUMNS = {
    "date": "calendar date",
    "day": "day index (0 = start_date)",
    "consumption": "platform purchases served, all payment means (flow, yuan)",
    "consumption_credit": "of which paid with credit, all lenders (flow, yuan)",
    "consumption_cash": "of which paid with cash (flow, yuan)",
    "consumption_offplatform": "consumers' spending at the outside sector: essentials, buffer-stock spending, "
                               "expense shocks (flow, yuan)",
    "expense_credit": "of which expense shocks paid on credit lines, all lenders (flow, yuan)",
    "expense_arrears": "of which expense shocks left unpaid as arrears to the outside sector (flow, yuan)",
    "consumer_arrears": "consumers' unpaid expense bills owed to the outside sector (stock, yuan)",
    "unmet_demand": "desired platform spending that cash plus credit could not pay (flow, yuan)",
    "unmet_demand_cut": "of which by consumers with a limit cut in the last 30 days (flow, yuan)",
    "stockout_loss": "affordable purchases lost to retailers' stock-outs (flow, yuan)",
    "credit_outstanding": "platform consumer receivables (stock, yuan)",
    "fixed_limit_total": "platform fixed limits of open accounts (stock, yuan)",
    "temp_limit_total": "platform live temporary limits (stock, yuan)",
    "limit_cuts": "platform fixed-limit cuts by the lender's choice, all causes but freezes and charge-offs "
                  "(flow, count)",
    "limit_cut_amount": "platform limit removed by those cuts (flow, yuan)",
    "limit_raises": "platform limit raises (flow, count)",
    "freezes": "platform accounts frozen for delinquency at freeze_dpd, limit set to zero (flow, count)",
    "delinq_30_rate": "platform open accounts 30+ days past due (rate)",
    "delinq_90_rate": "platform open accounts 90+ days past due (rate)",
    "charge_offs": "platform accounts charged off (flow, count)",
    "charge_off_amount": "platform balances charged off (flow, yuan)",
    "provisions": "platform expected-loss provisions on consumer receivables, IFRS 9 style (stock, yuan)",
    "score_auc": "out-of-time AUC of the platform's score at its last refit: the scores used at the snapshot "
                 "against 90+ DPD within the score horizon (NaN before the first)",
    "multi_borrower_share": "platform account holders with an open account at another lender (rate)",
    "unemployment_rate": "consumers without a job (rate)",
    "risk_appetite": "platform risk appetite (1 = normal)",
    "retail_sales": "retailers' revenue (flow, yuan)",
    "wholesale_sales": "distributors' and manufacturers' revenue (flow, yuan)",
    "supply_shortfall": "orders waiting at suppliers after today's shipments: back-orders and today's unfilled "
                        "orders (stock, yuan)",
    "merchant_cash": "merchants' cash (stock, yuan)",
    **{f"cash_days_{_tier}": f"{_tier}s' total cash over their total daily outflows at expected sales "
                             f"(cost of goods, fixed costs, wages), active {_tier}s; 0 when none is active (days)"
       for _tier in TIER_NAMES},
    "merchant_inventory": "merchants' inventory at cost (stock, yuan)",
    "merchants_active": "merchants not failed (stock, count)",
    "merchants_distressed": "active merchants with trade arrears beyond the stretch window or drawing over 80% "
                            "of their bank line (stock, count)",
    "merchant_failures": "merchant failures (flow, count)",
    "contagion_failures": "failures labelled counterparty or credit_line (flow, count)",
    **{f"failures_{_tier}": f"{_tier} failures (flow, count; the tiers sum to merchant_failures)"
       for _tier in TIER_NAMES},
    "trade_arrears": "unpaid overdue trade payables, however long overdue: late_payables plus the arrears "
                     "overdue merchants.stretch_days or more (stock, yuan)",
    "late_payables": "of trade_arrears, the payables buyers are stretching: arrears on relations overdue "
                     "fewer than merchants.stretch_days days (stock, yuan)",
    "trade_payables": "merchants' trade payables, arrears included (stock, yuan)",
    "wage_arrears": "wages merchants owe their staff and former staff, paid late or not yet (stock, yuan)",
    "workers_owed_wages": "consumers an employer owes wages (stock, count)",
    "bank_drawn": "merchants' bank lines drawn (stock, yuan)",
    "bank_limit": "merchants' bank line limits (stock, yuan)",
    "bank_appetite": "banks' risk appetite for merchant lines (1 = normal)",
    "scf_drawn": "supply-chain-finance loans drawn (stock, yuan)",
    "layoffs": "workers laid off: excess staff of the outside sector and merchants, and staff of failed "
               "merchants (flow, count)",
    "hires": "job-seekers hired (flow, count)",
    "vacancies": "open positions this morning, outside sector and merchants (stock, count)",
    "lender_equity": "platform equity (stock, yuan)",
    "consumer_cash": "consumers' cash (stock, yuan)",
    "income_index": "income index (1 = normal)",
    "confidence": "consumer confidence multiplier",
    "funding_rate": "wholesale funding rate (annual)",
    "season": "promotion demand multiplier",
    "outside_labour_demand": "outside sector's desired employment, share of the labour force (rate)",
    "accounts_open": "platform open accounts (stock, count)",
    "pd_mean": "mean PD of platform open accounts at their last review",
    "anomaly_flags": "platform anomaly flags (flow, count)",
    "missed_payments": "platform statements not paid in full on the due date (flow, count)",
    "accounts_opened": "platform accounts opened (flow, count)",
    "repayments": "platform repayments received (flow, yuan)",
    "reminder_cost": "platform's cost of repayment reminders (strategy; flow, yuan)",
    "instalment_subsidy": "fees retailers paid the lenders to make instalment plans interest-free (strategy; "
                          "flow, yuan)",
    "scf_losses": "platform's losses on the SCF loans of failed merchants (flow, yuan)",
}
for _cause in CAUSES:
    # raises are counted in limit_raises, freezes in freezes; an expiring temporary limit and a
    # charge-off (the limit is already zero from the freeze at 30 DPD) are not cuts
    if _cause not in ("raise", "promo_expiry", "charge_off", "freeze"):
        COLUMNS[f"limit_cuts_{_cause}"] = f"platform cuts with cause {_cause} (flow, count)"
LENDER_COLUMNS = ("credit_outstanding", "fixed_limit_total", "temp_limit_total", "limit_cuts",
                  "limit_cut_amount", "limit_raises", "freezes", "delinq_30_rate", "delinq_90_rate", "charge_offs",
                  "charge_off_amount", "provisions", "score_auc", "multi_borrower_share", "risk_appetite",
                  "lender_equity", "accounts_open", "consumption_credit")


# time-series columns that count things (integers in the frames)
COUNT_PREFIXES = ("limit_cuts", "limit_raises", "freezes", "charge_offs", "merchants_", "merchant_failures",
                  "layoffs", "contagion_failures", "anomaly_flags", "missed_payments", "accounts_", "failures_")


class Recorder:
    """Preallocated daily columns, the limit-change log and the monthly panel."""

    def __init__(self, model, panel: str | None = None, panel_sample: float = 1.0):
        if panel not in (None, "monthly"):
            raise ConfigError(f"--panel: {panel!r} is not supported (use 'monthly')")
        if not 0 < panel_sample <= 1:   # (NaN fails it too)
            raise ConfigError(f"--panel-sample: {panel_sample} must be in (0, 1]")
        self.model = model
        days = model.calendar.days
        names = list(COLUMNS)[2:]
        for name in model.lender_names:
            if name != model.cfg.run.platform:
                names += [f"{c}_{name}" for c in LENDER_COLUMNS]
        self.columns = {c: np.zeros(days) for c in names}
        self.n = 0
        self.failure_rows_seen = 0   # model.failure_rows already counted in failures_<tier>
        self.panel = panel
        self.panel_rows: list[dict] = []
        if panel:
            ids = np.arange(model.consumers.n)
            self.panel_ids = ids[model.streams.uniform_at("panel.sample", 0, ids) < panel_sample]

    def record_day(self) -> None:
        m = self.model
        i = m.t
        d, acc, ms, log = m.today, m.accounts, m.merchants, m.log
        c = self.columns
        c["consumption"][i] = d.consumption
        c["consumption_credit"][i] = d.consumption_credit_by_lender.sum()
        c["consumption_cash"][i] = d.consumption_cash
        c["consumption_offplatform"][i] = d.consumption_offplatform
        c["expense_credit"][i] = d.expense_credit
        c["expense_arrears"][i] = d.expense_arrears
        c["consumer_arrears"][i] = m.outside.consumer_receivables
        c["unmet_demand"][i] = d.unmet_demand
        c["unmet_demand_cut"][i] = d.unmet_demand_cut
        c["stockout_loss"][i] = d.stockout_loss
        c["unemployment_rate"][i] = 1.0 - np.count_nonzero(m.consumers.employed) / m.consumers.n
        retail = ms.tier == RETAILER
        c["retail_sales"][i] = ms.sales_today[retail].sum()
        c["wholesale_sales"][i] = ms.sales_today[~retail].sum()
        c["supply_shortfall"][i] = d.shortfall_upstream
        c["merchant_cash"][i] = ms.cash.sum()
        c["merchant_inventory"][i] = ms.inventory.sum()
        c["merchants_active"][i] = np.count_nonzero(ms.status != FAILED)
        c["merchants_distressed"][i] = np.count_nonzero(ms.status == DISTRESSED)
        c["merchant_failures"][i] = d.merchant_failures
        c["contagion_failures"][i] = d.contagion_failures
        self._record_tiers(i)
        book = m.supply.book
        arrears = book.arrears[:book.n]
        c["trade_arrears"][i] = arrears.sum()
        stretched = (m.t - book.arrears_day[:book.n]) < m.cfg.merchants.stretch_days
        c["late_payables"][i] = arrears[stretched].sum()
        c["trade_payables"][i] = ms.trade_payables.sum()
        c["wage_arrears"][i] = ms.wage_arrears.sum()
        c["workers_owed_wages"][i] = sum(ids.size for ids in m.supply.wage_claimants.values())
        c["bank_drawn"][i] = ms.bank_drawn.sum()
        c["bank_limit"][i] = ms.bank_limit.sum()
        c["bank_appetite"][i] = m.supply.bank_appetite
        c["scf_drawn"][i] = ms.scf_drawn.sum()
        c["layoffs"][i] = d.layoffs
        c["hires"][i] = d.hires
        c["vacancies"][i] = d.vacancies
        c["consumer_cash"][i] = m.consumers.cash.sum()
        c["income_index"][i] = m.income_index[m.pos]
        c["confidence"][i] = m.confidence[m.pos]
        c["funding_rate"][i] = m.funding_rate[m.pos]
        c["season"][i] = m.calendar.season[m.pos]
        c["outside_labour_demand"][i] = m.outside.labour_target / m.consumers.n
        p = m.platform
        c["anomaly_flags"][i] = d.anomaly_flags[p]
        c["missed_payments"][i] = d.missed_payments[p]
        c["accounts_opened"][i] = d.accounts_opened[p]
        c["repayments"][i] = d.repayments[p]
        c["reminder_cost"][i] = d.reminder_cost[p]
        c["instalment_subsidy"][i] = d.instalment_subsidy
        c["scf_losses"][i] = d.scf_losses
        n_open = max(np.count_nonzero(acc.open[p]), 1)
        c["pd_mean"][i] = acc.pd[p].sum() / n_open  # closed accounts carry pd 0
        for k, cause in enumerate(CAUSES):
            if f"limit_cuts_{cause}" in c:
                c[f"limit_cuts_{cause}"][i] = log.cuts_by_cause[p, k]
        for l, name in enumerate(m.lender_names):
            sfx = "" if l == p else f"_{name}"
            open_l = acc.open[l]
            count = np.count_nonzero(open_l)
            n_l = max(count, 1)
            # closed accounts carry no limit, and temporary limits are zeroed when they expire
            c[f"credit_outstanding{sfx}"][i] = m.lenders.receivables[l]
            c[f"fixed_limit_total{sfx}"][i] = acc.fixed_limit[l].sum()
            c[f"temp_limit_total{sfx}"][i] = acc.temp_limit[l].sum()
            c[f"limit_cuts{sfx}"][i] = log.cuts[l]
            c[f"limit_cut_amount{sfx}"][i] = log.cut_amount[l]
            c[f"limit_raises{sfx}"][i] = log.raises[l]
            c[f"freezes{sfx}"][i] = log.freezes[l]
            c[f"delinq_30_rate{sfx}"][i] = d.dpd30_count[l] / n_l
            c[f"delinq_90_rate{sfx}"][i] = d.dpd90_count[l] / n_l
            c[f"charge_offs{sfx}"][i] = d.charge_offs[l]
            c[f"charge_off_amount{sfx}"][i] = d.charge_off_amount[l]
            c[f"provisions{sfx}"][i] = m.lenders.provisions[l]
            c[f"score_auc{sfx}"][i] = m.lenders.score_auc[l]
            if acc.open.shape[0] == 2:
                multi = np.count_nonzero(acc.open[0] & acc.open[1])
            else:
                multi = np.count_nonzero(open_l & ((acc.open.sum(axis=0) - open_l) > 0))
            c[f"multi_borrower_share{sfx}"][i] = multi / n_l
            c[f"risk_appetite{sfx}"][i] = m.lenders.appetite[l]
            c[f"lender_equity{sfx}"][i] = m.lenders.equity[l]
            c[f"accounts_open{sfx}"][i] = count
            if sfx:
                c[f"consumption_credit{sfx}"][i] = d.consumption_credit_by_lender[l]
        self.n = i + 1
        if self.panel and m.calendar.month_end[m.pos]:
            self._panel_rows()

    def _record_tiers(self, i: int) -> None:
        """``failures_<tier>``: the failure rows the supply chain appended since the last recorded
        day (one per recorded failure, so the tiers sum to ``merchant_failures``); and
        ``cash_days_<tier>`` over the tier's active merchants."""
        m, c, ms = self.model, self.columns, self.model.merchants
        rows = m.failure_rows
        new = rows[self.failure_rows_seen:]
        self.failure_rows_seen = len(rows)
        for name in TIER_NAMES:
            c[f"failures_{name}"][i] = sum(1 for r in new if r["tier"] == name)
        outflows = daily_outflows(ms)
        active = ms.status != FAILED
        for k, name in enumerate(TIER_NAMES):
            mine = active & (ms.tier == k)
            total = outflows[mine].sum()
            c[f"cash_days_{name}"][i] = ms.cash[mine].sum() / total if total > 0 else 0.0

    def _panel_rows(self) -> None:
        m, acc, cs = self.model, self.model.accounts, self.model.consumers
        ids = self.panel_ids
        month = str(m.calendar.dates[m.pos].astype("datetime64[M]"))
        for l, name in enumerate(m.lender_names):
            idx = ids[acc.open[l, ids]]
            treated = acc.treated[l, idx]
            self.panel_rows.append({
                "month": np.full(idx.size, month), "consumer_id": idx, "lender": np.full(idx.size, name),
                "fixed_limit": acc.fixed_limit[l, idx], "temp_limit": acc.temp_limit[l, idx],
                "balance": acc.balance[l, idx], "spending": cs.month_spending[idx],
                "credit_spending": acc.month_credit[l, idx], "dpd": acc.dpd[l, idx],
                "pd": acc.pd[l, idx], "income": cs.income[idx], "employed": cs.employed[idx],
                "treated": pd.array(np.where(treated >= 0, treated == 1, False), dtype="boolean"),
                "_in_experiment": treated >= 0,
            })

    # ------------------------------------------------------------------ frames

    def timeseries(self) -> pd.DataFrame:
        m = self.model
        n = self.n
        df = pd.DataFrame({k: v[:n] for k, v in self.columns.items()})
        count_like = [c for c in df.columns if c.startswith(COUNT_PREFIXES)]
        df[count_like] = df[count_like].astype(np.int64)
        df.insert(0, "day", np.arange(n))
        df.insert(0, "date", pd.to_datetime(m.calendar.dates[m.calendar.pos(0):m.calendar.pos(0) + n]))
        return df

    def limit_changes(self) -> pd.DataFrame:
        m = self.model
        chunks = m.log.chunks
        if chunks:
            cols = [np.concatenate(parts) for parts in zip(*chunks)]
        else:
            cols = [np.zeros(0, dtype=d) for d in (np.int32, np.int64, np.int8, float, float, np.int8,
                                                   np.int32, float)]
        day, cid, lender, old, new, cause, dpd, pd_ = cols
        base = np.datetime64(m.calendar.start.isoformat(), "D")
        return pd.DataFrame({
            "date": pd.to_datetime(base + day.astype("timedelta64[D]")),
            "consumer_id": cid,
            "lender": pd.Categorical.from_codes(lender, categories=m.lender_names),
            "old_limit": old, "new_limit": new,
            "cause": pd.Categorical.from_codes(cause, categories=list(CAUSES)),
            "dpd": dpd, "pd": pd_,
        })

    def panel_frame(self) -> pd.DataFrame | None:
        if not self.panel:
            return None
        if not self.panel_rows:
            return pd.DataFrame(columns=["month", "consumer_id", "lender", "fixed_limit", "temp_limit",
                                         "balance", "spending", "credit_spending", "dpd", "pd", "income",
                                         "employed", "treated"])
        frames = []
        for rows in self.panel_rows:
            in_exp = rows["_in_experiment"]
            f = pd.DataFrame({k: v for k, v in rows.items() if k != "_in_experiment"})
            f.loc[~in_exp, "treated"] = pd.NA
            frames.append(f)
        return pd.concat(frames, ignore_index=True)

    def results(self) -> dict[str, pd.DataFrame]:
        out = {"timeseries": self.timeseries(), "limit_changes": self.limit_changes()}
        panel = self.panel_frame()
        if panel is not None:
            out["panel"] = panel
        return out


# --------------------------------------------------------------------------- files


class RecorderCollector(mesa.DataCollector):
    """Mesa's ``DataCollector`` over the :class:`Recorder`: one model reporter per time-series
    column (``date``, ``day`` and every column of :meth:`Recorder.timeseries`), each reading the
    value the recorder wrote for the day just recorded, so Mesa's tools (``batch_run``, the
    plot components of ``SolaraViz``) see the recorded outputs: the recorder computes each
    figure once and the collector copies it. It collects on recorded days only (``day >= 0``);
    its steps are ``model.steps``.
    Agent reporters are opt-in (``CreditModel(agent_reporters=...)``)."""

    def __init__(self, recorder: Recorder, agent_reporters: dict | None = None):
        self.recorder = recorder
        reporters = {"date": partial(_recorded_date, recorder), "day": partial(_recorded_day, recorder)}
        for name in recorder.columns:
            read = _recorded_count if name.startswith(COUNT_PREFIXES) else _recorded_value
            reporters[name] = partial(read, recorder.columns[name], recorder)
        super().__init__(model_reporters=reporters,
                         agent_reporters={k: _lenient(v) for k, v in (agent_reporters or {}).items()})
        self._validated = True   # the reporters read the recorder; nothing to try before the first day


def _recorded_value(column: np.ndarray, recorder: Recorder, model) -> float:
    return float(column[recorder.n - 1])


def _recorded_count(column: np.ndarray, recorder: Recorder, model) -> int:
    return int(column[recorder.n - 1])


def _recorded_day(recorder: Recorder, model) -> int:
    return recorder.n - 1


def _recorded_date(recorder: Recorder, model) -> pd.Timestamp:
    return pd.Timestamp(recorder.model.calendar.date(recorder.n - 1))


def _lenient(reporter):
    """An agent reporter given as an attribute name reads ``None`` on agent types that lack the
    attribute (a lender has no ``employed``), as one table over every agent type needs."""
    if isinstance(reporter, str):
        return partial(_attribute_or_none, reporter)
    return reporter


def _attribute_or_none(name: str, agent):
    return getattr(agent, name, None)


def code_version() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=root, capture_output=True,
                              text=True, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def summary(model, frames: dict[str, pd.DataFrame]) -> dict:
    ts, changes = frames["timeseries"], frames["limit_changes"]
    platform = model.cfg.run.platform
    # an expiring temporary limit, a freeze and a charge-off are not cuts (docs/model.md 9.2)
    cuts = changes[(changes["lender"] == platform) & (changes["new_limit"] < changes["old_limit"])
                   & ~changes["cause"].isin(["promo_expiry", "freeze", "charge_off"])]
    opened = max(float(ts["accounts_open"].mean()), 1.0)
    years = max(len(ts), 1) / 365.0
    versions = {}
    for pkg in ("mesa", "numpy", "pandas", "pyarrow", "scipy", "networkx"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    versions["python"] = _platform.python_version()
    headline = {
        "days": int(len(ts)),
        "consumers": int(model.consumers.n),
        "merchants": int(model.merchants.m),
        "consumption_total": float(ts["consumption"].sum()),
        "consumption_credit_share": float(ts["consumption_credit"].sum() / max(ts["consumption"].sum(), 1e-9)),
        "unmet_demand_share": float(ts["unmet_demand"].sum() /
                                    max(ts["consumption"].sum() + ts["unmet_demand"].sum(), 1e-9)),
        "delinq_30_rate_mean": float(ts["delinq_30_rate"].mean()),
        "delinq_30_rate_end": float(ts["delinq_30_rate"].iloc[-1]) if len(ts) else 0.0,
        "unemployment_rate_mean": float(ts["unemployment_rate"].mean()),
        "charge_off_rate_annual": float(ts["charge_offs"].sum() / opened / years),
        "accounts_cut_share_annual": float(cuts["consumer_id"].nunique() / opened / years),
        "cuts_by_cause": {str(k): int(v) for k, v in cuts["cause"].value_counts().items() if v},
        "limit_raises": int(ts["limit_raises"].sum()),
        "freezes": int(ts["freezes"].sum()),
        "risk_appetite_min": float(ts["risk_appetite"].min()) if len(ts) else 1.0,
        "lender_equity_end": float(ts["lender_equity"].iloc[-1]) if len(ts) else 0.0,
        "retail_sales_total": float(ts["retail_sales"].sum()),
        "merchant_failures": int(ts["merchant_failures"].sum()),
    }
    from sim.contagion import cascade_statistics, failure_by_customer_losses
    failure_table = failures_frame(model)
    headline["cascades"] = cascade_statistics(failure_table)
    # Arata (2018)'s view of chain failures, on the network of the eve of the recorded window
    by_losses = failure_by_customer_losses(failure_table, *model.supply.start_relations)
    headline["failure_by_customer_losses"] = [
        {k: (None if isinstance(v, float) and not np.isfinite(v) else v.item() if isinstance(v, np.generic) else v)
         for k, v in row.items()}
        for row in by_losses.to_dict(orient="records")]
    headline["merchant_failure_rate_annual"] = float(ts["merchant_failures"].sum() / max(model.merchants.m, 1)
                                                     / years)
    by_tier = {name: int(ts[f"failures_{name}"].sum()) for name in TIER_NAMES}
    slots = {name: int(np.count_nonzero(model.merchants.tier == k)) for k, name in enumerate(TIER_NAMES)}
    headline["failures_by_tier"] = by_tier
    headline["failure_rate_annual_by_tier"] = {name: float(by_tier[name] / max(slots[name], 1) / years)
                                               for name in TIER_NAMES}
    failures = int(ts["merchant_failures"].sum())
    headline["contagion_share"] = float(ts["contagion_failures"].sum() / failures) if failures else 0.0
    headline["cash_days_mean_by_tier"] = {name: float(ts[f"cash_days_{name}"].mean()) if len(ts) else 0.0
                                          for name in TIER_NAMES}
    return {
        "scenario": model.cfg.name,
        "description": model.cfg.description,
        "seed": model.cfg.run.seed,
        "headline": headline,
        "config": model.cfg.to_dict() | {"shocks": [dataclasses.asdict(s) for s in model.cfg.shocks]},
        "versions": versions,
        "code_version": code_version(),
    }


def write_outputs(model, out_dir: str | Path, dashboard: bool = True, stopped: str | None = None) -> dict:
    """Write every output file of a finished run into ``out_dir``, atomically
    (:func:`sim.results.publish`): the folder then holds this run's files and no other, listed
    in ``summary.json``. ``stopped`` (why a run stopped early) writes a partial folder instead
    (``complete: false``; the caller puts it at :func:`sim.results.partial_path`). Returns the
    summary."""
    from sim.results import publish

    def fill(out: Path) -> dict:
        frames = model.results()
        frames["timeseries"].to_parquet(out / "timeseries.parquet", index=False)
        frames["limit_changes"].to_parquet(out / "limit_changes.parquet", index=False)
        failures = failures_frame(model)
        failures.to_parquet(out / "failures.parquet", index=False)
        if "panel" in frames:
            frames["panel"].to_parquet(out / "panel.parquet", index=False)
        info = summary(model, frames)
        if dashboard:
            from sim.dashboard import plot_dashboard
            plot_dashboard(frames["timeseries"], frames["limit_changes"], info, out / "dashboard.png",
                           failures=failures)
        return info

    return publish(out_dir, fill, "summary.json", stopped=stopped)


def load_run(folder: str | Path, *, partial: bool = False) -> dict:
    """The outputs of a ``sim run`` folder as written by :func:`write_outputs`: ``summary`` (the
    dict of ``summary.json``) and a DataFrame per Parquet file (``timeseries``,
    ``limit_changes``, ``failures``, ``panel`` if written). Refuses a folder that is not a
    complete set (:class:`sim.results.IncompleteResults`), or, with ``partial=True``, accepts
    the partial folder of a run that stopped early."""
    from sim.results import read_index

    folder = Path(folder)
    info = read_index(folder, partial=partial)
    out = {"summary": info}
    for name in info["outputs"]["files"]:
        if name.endswith(".parquet"):
            out[name.removesuffix(".parquet")] = pd.read_parquet(folder / name)
    return out


def failures_frame(model) -> pd.DataFrame:
    """Merchant failures (filled by the supply-chain stage; empty until then)."""
    rows = getattr(model, "failure_rows", [])
    cols = ["date", "merchant_id", "tier", "cause", "parents", "generation", "cascade_id", "arrears",
            "creditor_losses"]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            cols, ["datetime64[ns]", "int64", "object", "object", "object", "int64", "int64", "float64",
                   "float64"])})
    return pd.DataFrame(rows, columns=cols)


