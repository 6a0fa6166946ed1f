"""``dashboard.png``: one page that tells what happened in a run.

:func:`dashboard_figure` builds the page as a matplotlib ``Figure`` (tests look inside it);
:func:`plot_dashboard` saves it. Every series is optional: a column missing from the time
series (an older run, or one written before a column was added) leaves its line out, never
raises.

Monthly bars (failures, limit cuts) show a month's mean per recorded day, not its total: the
recorded horizon may start or end inside a month, and that month's total would look like a
collapse. Such a partial month is drawn lighter and hatched, and the legend says how many of
its days were recorded (:func:`month_coverage`, :func:`monthly_per_day`).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

CAUSE_COLOURS = {"review": "#1f77b4", "macro": "#d62728", "anomaly": "#ff7f0e", "promo_reversion": "#9467bd",
                 "freeze": "#8c564b", "charge_off": "#7f7f7f", "experiment": "#2ca02c",
                 "promo_expiry": "#e377c2", "raise": "#17becf"}
TIERS = ("retailer", "distributor", "manufacturer")
TIER_COLOURS = {"retailer": "#1f77b4", "distributor": "#ff7f0e", "manufacturer": "#2ca02c"}

# titles of the panels (tests find the panels by these)
TITLE_UNEMPLOYMENT = "Contagion loop: unemployment and job flows"
TITLE_FAILURES = "Contagion loop: merchant failures by tier (per day, monthly mean)"
TITLE_CASH_DAYS = "Merchant liquidity by tier (days of cash)"
TITLE_CUTS = "Platform limit cuts by cause (per day, monthly mean)"
TITLE_SUMMARY = "Summary"

# monthly bars are a month's mean per recorded day (see monthly_per_day), so a month the
# horizon cuts short is comparable with a whole one; it is drawn lighter and hatched
YLABEL_FAILURES = "failures per day (monthly mean)"
YLABEL_CUTS = "cuts per day (monthly mean)"
PARTIAL_HATCH = "////"
PARTIAL_ALPHA = 0.35
BAR_SHARE = 0.85  # of its month's recorded span a bar covers (a gap between months)

# line panels: title -> [(series, label, scale, 7-day mean)]
LINE_PANELS = {
    "spending": ("Platform spending (million yuan/day, 7-day mean)",
                 [("consumption", "consumption", 1e-6, True),
                  ("consumption_credit", "of which credit", 1e-6, True),
                  ("unmet_demand", "unmet demand", 1e-6, True)]),
    "credit": ("Platform credit (million yuan)",
               [("credit_outstanding", "credit outstanding", 1e-6, False),
                ("fixed_limit_total", "fixed limits", 1e-6, False),
                ("temp_limit_total", "temporary limits", 1e-6, False)]),
    "delinquency": ("Platform delinquency (% of open accounts)",
                    [("delinq_30_rate", "30+ DPD", 100, False), ("delinq_90_rate", "90+ DPD", 100, False)]),
    "appetite": ("Lender: risk appetite", [("risk_appetite", "risk appetite", 1, False)]),
    "retail": ("Merchant sales (million yuan/day, 7-day mean)",
               [("retail_sales", "retail sales", 1e-6, True), ("stockout_loss", "stock-out loss", 1e-6, True),
                ("wholesale_sales", "wholesale sales", 1e-6, True)]),
    "merchants": ("Merchant stocks (million yuan) and distress",
                  [("merchant_cash", "merchant cash", 1e-6, False),
                   ("merchant_inventory", "inventory", 1e-6, False)]),
    "trade": ("Merchant finance (million yuan)",
              [("trade_payables", "trade payables", 1e-6, False), ("trade_arrears", "trade arrears", 1e-6, False),
               ("bank_drawn", "bank lines drawn", 1e-6, False), ("scf_drawn", "SCF drawn", 1e-6, False)]),
}

# the page: 3 rows x 4 columns
GRID = [["spending", "credit", "delinquency", "cuts"],
        ["appetite", "unemployment", "failures", "retail"],
        ["merchants", "cash_days", "trade", "summary"]]

LEGEND = {"fontsize": 7, "framealpha": 0.8}


def _has(ts: pd.DataFrame, name: str) -> bool:
    return name in ts.columns


def _plot_lines(ax, ts: pd.DataFrame, series) -> None:
    for name, label, scale, smooth in series:
        if _has(ts, name):
            values = ts[name].astype(float)
            if smooth:
                values = values.rolling(7, min_periods=1).mean()
            ax.plot(ts["date"], values * scale, label=label)


def _headroom(ax, share: float = 0.3) -> None:
    """Empty space above the data for the legend."""
    bottom, top = ax.get_ylim()
    ax.set_ylim(bottom, top + share * (top - bottom))


def _legend(ax, *twins) -> None:
    """One legend for an axes and its twins, top left in room made above the data (call it
    once an axes); with twins it goes on the topmost twin, drawn last, so no line crosses it."""
    handles, labels = ax.get_legend_handles_labels()
    for t in twins:
        h, lab = t.get_legend_handles_labels()
        handles += h
        labels += lab
    for a in (ax, *twins):
        if a.get_legend() is not None:
            a.get_legend().remove()
    if not handles:
        return
    for a in (ax, *twins):
        _headroom(a)
    (twins[-1] if twins else ax).legend(handles, labels, loc="upper left", ncol=2, **LEGEND)


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=8, color="grey",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8})


def month_coverage(dates: pd.Series) -> pd.DataFrame:
    """The calendar months the recorded days touch, one row a month (index: monthly periods,
    named ``month``), with

    - ``days``: the days recorded in the month;
    - ``days_in_month``: the days the month has;
    - ``partial``: fewer days recorded than the month has (the horizon starts or ends inside it);
    - ``start``, ``end``: the first recorded day and the day after the last, the span its bar
      covers, so bars line up with the daily lines.
    """
    days = pd.DatetimeIndex(pd.to_datetime(dates)).normalize()
    by_month = pd.Series(days, index=days.to_period("M")).groupby(level=0)
    cover = pd.DataFrame({"days": by_month.nunique(), "start": by_month.min(),
                          "end": by_month.max() + pd.Timedelta(days=1)})
    cover.index.name = "month"
    cover.insert(1, "days_in_month", np.asarray(cover.index.days_in_month, dtype=np.int64))
    cover.insert(2, "partial", cover["days"] < cover["days_in_month"])
    return cover


def monthly_per_day(dates: pd.Series, daily: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Monthly bars' heights: each month's total of a daily flow divided by the days recorded
    in that month. The unit stays the daily one: yuan/day for money, count/day for events
    (failures, cuts). So a month recorded for 10 days is comparable with a whole one, where
    its total would look like a collapse.

    ``daily`` has one row a recorded day, in the order of ``dates``; the result has one row a
    month (the index of :func:`month_coverage`)."""
    months = pd.DatetimeIndex(pd.to_datetime(dates)).to_period("M")
    totals = daily.groupby(np.asarray(months)).sum()
    totals.index = pd.PeriodIndex(totals.index, freq="M", name="month")
    return totals.div(month_coverage(dates)["days"], axis=0)


def daily_counts(when: pd.Series, dates: pd.Series, by: pd.Series | None = None) -> pd.DataFrame:
    """Events (``when``: their dates) counted a recorded day (count/day): one row a date of
    ``dates``, one column a value of ``by`` (one column, ``count``, without). Events outside
    the recorded days are left out."""
    day = pd.to_datetime(when).dt.normalize().reset_index(drop=True)
    key = (pd.Series("count", index=day.index) if by is None
           else by.astype(str).reset_index(drop=True))
    counts = pd.DataFrame({"day": day, "key": key}).groupby(["day", "key"]).size().unstack(fill_value=0)
    counts.columns.name = None
    return counts.reindex(pd.DatetimeIndex(pd.to_datetime(dates)), fill_value=0)


def partial_label(cover: pd.DataFrame) -> str | None:
    """The legend's note on the partial months, left to right: ``partial months (17 of 31,
    14 of 31 days)``; ``None`` when every month is whole."""
    parts = cover[cover["partial"]]
    if not len(parts):
        return None
    spans = ", ".join(f"{k} of {n}" for k, n in zip(parts["days"], parts["days_in_month"]))
    return f"partial month{'s' if len(parts) > 1 else ''} ({spans} days)"


def _month_bars(ax, per_day: pd.DataFrame, cover: pd.DataFrame, colours: dict) -> list:
    """Stacked monthly bars of per-day values (one column a key, see :func:`monthly_per_day`),
    each over the recorded part of its month; a partial month's bars are lighter and hatched.
    Returns the legend handles: a plain swatch a key, and a hatched one naming the partial
    months."""
    left = pd.DatetimeIndex(cover["start"])
    width = BAR_SHARE * ((cover["end"] - cover["start"]) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    partial = cover["partial"].to_numpy()
    bottom = np.zeros(len(cover))
    handles = []
    for key in per_day.columns:
        heights = per_day[key].to_numpy(dtype=float)
        bars = ax.bar(left, heights, width=width, bottom=bottom, align="edge", label=str(key),
                      color=colours.get(str(key)))
        colour = bars.patches[0].get_facecolor()
        for patch in np.asarray(bars.patches, dtype=object)[partial]:
            patch.set_facecolor(to_rgba(colour, PARTIAL_ALPHA))
            patch.set_hatch(PARTIAL_HATCH)
            patch.set_hatchcolor(colour)
        handles.append(Patch(facecolor=colour, label=str(key)))
        bottom = bottom + heights
    label = partial_label(cover)
    if label and len(per_day.columns):
        handles.append(Patch(facecolor="white", hatch=PARTIAL_HATCH, edgecolor="grey", label=label))
    return handles


def _bar_centres(cover: pd.DataFrame) -> pd.DatetimeIndex:
    """Where a monthly marker goes: the middle of its month's bar."""
    return pd.DatetimeIndex(cover["start"]) + (cover["end"] - cover["start"]).to_numpy() * (BAR_SHARE / 2)


def _month_legend(ax, bar_handles: list) -> None:
    """The lines' entries, then the bars'; room above the bars for them."""
    handles = [line for line in ax.get_lines() if not line.get_label().startswith("_")] + bar_handles
    rows = -(-len(handles) // 2)
    ax.set_ylim(0, ax.get_ylim()[1] * (1.15 + 0.07 * rows))
    ax.legend(handles=handles, ncol=2, loc="upper left", **LEGEND)


def daily_failures_by_tier(ts: pd.DataFrame, failures: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """Merchant failures a recorded day (count/day), one column a tier (``None`` when no tier
    is recorded), one row a row of ``ts``.

    The time-series columns ``failures_<tier>`` are used when present; otherwise the failures
    frame (``date``, ``tier``, ...) is counted (failures outside the recorded days left out)."""
    cols = [t for t in TIERS if _has(ts, f"failures_{t}")]
    if cols:
        daily = ts[[f"failures_{t}" for t in cols]].copy()
        daily.columns = cols
        daily.index = pd.DatetimeIndex(ts["date"])
        return daily
    if failures is None or not {"date", "tier"} <= set(failures.columns):
        return None
    daily = daily_counts(failures["date"], ts["date"], failures["tier"])
    return daily.reindex(columns=list(TIERS) + sorted(set(daily.columns) - set(TIERS)), fill_value=0)


def _unemployment_panel(ax, ts: pd.DataFrame) -> None:
    if _has(ts, "unemployment_rate"):
        ax.plot(ts["date"], 100 * ts["unemployment_rate"].astype(float), color="black", label="unemployment (%)")
    ax.set_ylabel("unemployment (%)", fontsize=8)
    window = 7 if len(ts) <= 120 else 30  # a month's sum needs a horizon of several months
    twin = ax.twinx()
    for c, colour in (("layoffs", "tab:red"), ("hires", "tab:green")):
        if _has(ts, c):
            twin.plot(ts["date"], ts[c].astype(float).rolling(window, min_periods=1).sum(), color=colour,
                      alpha=0.8, label=f"{c} ({window}-day sum)")
    if _has(ts, "vacancies"):
        twin.plot(ts["date"], ts["vacancies"].astype(float), ":", color="tab:purple",
                  label="vacancies (open positions)")
    if twin.lines:
        twin.set_ylabel("workers / positions", fontsize=8)
        twin.set_ylim(bottom=0)
    else:
        twin.set_yticks([])
    ax.set_title(TITLE_UNEMPLOYMENT)
    _legend(ax, twin)


def _failures_panel(ax, ts: pd.DataFrame, failures: pd.DataFrame | None) -> None:
    ax.set_title(TITLE_FAILURES)
    if len(ts) == 0:
        return
    daily = daily_failures_by_tier(ts, failures)
    if daily is None and _has(ts, "merchant_failures"):  # tier not recorded: all tiers together
        daily = ts[["merchant_failures"]].set_axis(["all tiers"], axis=1)
    if daily is None:
        _note(ax, "merchant failures not recorded")
        return
    cover = month_coverage(ts["date"])
    per_day = monthly_per_day(ts["date"], daily)
    handles = _month_bars(ax, per_day, cover, TIER_COLOURS | {"all tiers": "grey"})
    top = float(per_day.sum(axis=1).max())
    total = int(daily.to_numpy().sum())
    if _has(ts, "contagion_failures") and total:
        contagion = monthly_per_day(ts["date"], ts["contagion_failures"].astype(float))
        contagion = contagion.where(contagion > 0)  # no marker for a month without contagion failures
        ax.plot(_bar_centres(cover), contagion.to_numpy(dtype=float), "kx", markersize=6,
                label="of which contagion")
    ax.set_ylabel(YLABEL_FAILURES, fontsize=8)
    ax.set_ylim(0, top if top > 0 else 1.0)
    if not total:
        _note(ax, "no merchant failures")
    _month_legend(ax, handles)


def _cash_days_panel(ax, ts: pd.DataFrame) -> None:
    ax.set_title(TITLE_CASH_DAYS)
    drawn = False
    for t in TIERS:
        c = f"cash_days_{t}"
        if _has(ts, c):
            v = ts[c].astype(float).replace([np.inf, -np.inf], np.nan)
            ax.plot(ts["date"], v, color=TIER_COLOURS[t], label=t)
            drawn = True
    if drawn:
        ax.set_ylabel("cash / daily outflows (days)", fontsize=8)
        ax.set_ylim(bottom=0)
        _legend(ax)
    else:
        _note(ax, "cash days by tier not recorded in this run")


def _distressed(ax, ts: pd.DataFrame) -> list:
    if not _has(ts, "merchants_distressed"):
        return []
    twin = ax.twinx()
    twin.plot(ts["date"], ts["merchants_distressed"], color="red", alpha=0.5, drawstyle="steps-post",
              label="distressed merchants")
    twin.set_ylabel("distressed merchants", color="red", fontsize=8)
    twin.set_ylim(bottom=0, top=max(1.0, twin.get_ylim()[1]))
    twin.yaxis.get_major_locator().set_params(integer=True)
    return [twin]


def _cuts_panel(ax, ts: pd.DataFrame, changes: pd.DataFrame, info: dict) -> None:
    ax.set_title(TITLE_CUTS)
    if len(ts) == 0 or changes is None or not {"date", "old_limit", "new_limit", "cause"} <= set(changes.columns):
        return
    platform = info.get("config", {}).get("run", {}).get("platform")
    if platform is not None and "lender" in changes.columns:
        changes = changes[changes["lender"] == platform]
    # freezes (delinquency actions) are reported apart from cuts: a line, not a bar (docs/model.md 9.2)
    freezes = changes[changes["cause"] == "freeze"]
    cuts = changes[(changes["new_limit"] < changes["old_limit"])
                   & ~changes["cause"].isin(["promo_expiry", "freeze", "charge_off"])]
    cover = month_coverage(ts["date"])
    top = 0.0
    if len(freezes):
        per_day = monthly_per_day(ts["date"], daily_counts(freezes["date"], ts["date"])["count"])
        ax.plot(_bar_centres(cover), per_day.to_numpy(dtype=float), color="black", marker=".", lw=1,
                label="freezes (apart)")
        top = max(top, float(per_day.max()))
    handles = []
    daily = daily_counts(cuts["date"], ts["date"], cuts["cause"])
    daily = daily.loc[:, daily.sum() > 0]
    if daily.shape[1]:
        per_day = monthly_per_day(ts["date"], daily)
        handles = _month_bars(ax, per_day, cover, CAUSE_COLOURS)
        top = max(top, float(per_day.sum(axis=1).max()))
    if handles or ax.get_lines():
        ax.set_ylabel(YLABEL_CUTS, fontsize=8)
        ax.set_ylim(0, top if top > 0 else 1.0)
        _month_legend(ax, handles)
    if not handles:
        _note(ax, "no limit cuts")


def _summary_panel(ax, info: dict) -> None:
    ax.axis("off")
    ax.set_title(TITLE_SUMMARY)
    h = info.get("headline", {})
    lines = [f"scenario: {info.get('scenario', '?')}   seed: {info.get('seed', '?')}"]

    def add(fmt: str, *keys: str) -> None:
        if all(k in h for k in keys):
            lines.append(fmt.format(*(h[k] for k in keys)))

    if all(k in h for k in ("consumers", "merchants", "days")):
        lines.append(f"{h['consumers']:,} consumers, {h['merchants']:,} merchants, {h['days']} days")
    add("credit share of spending: {:.1%}", "consumption_credit_share")
    add("unmet demand share: {:.2%}", "unmet_demand_share")
    add("30+ DPD mean: {:.2%}", "delinq_30_rate_mean")
    add("charge-offs: {:.2%} of accounts a year", "charge_off_rate_annual")
    add("accounts cut: {:.1%} a year", "accounts_cut_share_annual")
    add("unemployment mean: {:.2%}", "unemployment_rate_mean")
    add("lowest risk appetite: {:.2f}", "risk_appetite_min")
    if "merchant_failures" in h:
        rate = h.get("merchant_failure_rate_annual")
        lines.append(f"merchant failures: {h['merchant_failures']}"
                     + (f" ({rate:.1%} of merchants a year)" if rate is not None else ""))
    cascades = h.get("cascades")
    if isinstance(cascades, dict) and cascades:
        shown = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                          for k, v in list(cascades.items())[:4] if isinstance(v, (int, float)))
        if shown:
            lines.append(f"cascades: {shown}")
    if h.get("cuts_by_cause"):
        lines.append("cuts by cause: " + ", ".join(f"{k} {v}" for k, v in h["cuts_by_cause"].items()))
    wrapped = []
    for line in lines:
        wrapped += textwrap.wrap(line, width=52, subsequent_indent="  ") or [""]
    ax.text(0, 1, "\n".join(wrapped), va="top", ha="left", family="monospace", fontsize=8.5,
            transform=ax.transAxes)


def _date_axis(ax, ts: pd.DataFrame) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if len(ts):
        ax.set_xlim(ts["date"].iloc[0], ts["date"].iloc[-1] + pd.Timedelta(days=1))
    ax.tick_params(axis="x", labelsize=8)
    ax.tick_params(axis="y", labelsize=8)


def dashboard_figure(ts: pd.DataFrame, changes: pd.DataFrame, info: dict,
                     failures: pd.DataFrame | None = None) -> Figure:
    """The dashboard page. ``failures`` (the failures frame: ``date``, ``tier``, ...) gives the
    failures by tier when the time series has no ``failures_<tier>`` columns."""
    ts = ts.copy()
    if "date" in ts.columns:
        ts["date"] = pd.to_datetime(ts["date"])
    elif len(ts):
        raise ValueError("the time series needs a 'date' column")
    else:
        ts["date"] = pd.Series(dtype="datetime64[ns]")
    fig = Figure(figsize=(20, 12), layout="constrained")
    axd = fig.subplot_mosaic(GRID)

    twins: dict[str, list] = {}
    for key, (title, series) in LINE_PANELS.items():
        axd[key].set_title(title)
        _plot_lines(axd[key], ts, series)
    axd["delinquency"].axhspan(1.1, 1.6, color="grey", alpha=0.15, label="Huabei 30+ 2017-19")
    if _has(ts, "pd_mean"):
        twin = axd["appetite"].twinx()
        twin.plot(ts["date"], ts["pd_mean"], color="tab:orange", alpha=0.7, label="mean PD of open accounts")
        twin.set_ylabel("mean PD of open accounts", color="tab:orange", fontsize=8)
        twins["appetite"] = [twin]
    if _has(ts, "late_payables"):
        twin = axd["trade"].twinx()
        twin.plot(ts["date"], ts["late_payables"].astype(float), ":", color="black", label="late payables")
        twin.set_ylabel("late payables", fontsize=8)
        twins["trade"] = [twin]
    twins["merchants"] = _distressed(axd["merchants"], ts)
    for key in LINE_PANELS:
        _legend(axd[key], *twins.get(key, []))

    _unemployment_panel(axd["unemployment"], ts)
    _failures_panel(axd["failures"], ts, failures)
    _cash_days_panel(axd["cash_days"], ts)
    _cuts_panel(axd["cuts"], ts, changes, info)
    _summary_panel(axd["summary"], info)

    for key, ax in axd.items():
        if key != "summary":
            _date_axis(ax, ts)
        ax.title.set_fontsize(10)
    fig.suptitle(f"Credit-limit contagion: {info.get('scenario', '?')}", fontsize=14)
    return fig


def plot_dashboard(ts: pd.DataFrame, changes: pd.DataFrame, info: dict, path: str | Path,
                   failures: pd.DataFrame | None = None) -> None:
    dashboard_figure(ts, changes, info, failures=failures).savefig(path, dpi=90)
