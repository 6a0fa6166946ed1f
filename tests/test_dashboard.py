"""``dashboard.png``: built from synthetic time series (with and without the optional
columns) and once from a tiny real run."""

from __future__ import annotations

import itertools

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from sim.dashboard import (PARTIAL_ALPHA, PARTIAL_HATCH, TIERS, TITLE_CASH_DAYS, TITLE_CUTS, TITLE_FAILURES,
                           TITLE_SUMMARY, TITLE_UNEMPLOYMENT, YLABEL_CUTS, YLABEL_FAILURES, daily_counts,
                           dashboard_figure, month_coverage, monthly_per_day, partial_label, plot_dashboard)

PNG = b"\x89PNG\r\n\x1a\n"
START = "2026-01-01"


def synthetic_ts(days: int = 365, optional: bool = True, seed: int = 1, start: str = START) -> pd.DataFrame:
    """A daily frame shaped like ``timeseries.parquet``, from ``start``. ``optional`` adds the
    columns the model is gaining (hires, vacancies, late payables, failures and cash days by
    tier) and drops the unemployment target it is losing."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    wave = np.sin(2 * np.pi * t / 120)
    ts = pd.DataFrame({
        "date": pd.date_range(start, periods=days, freq="D").astype("datetime64[ms]"),
        "day": t,
        "consumption": 1.3e5 * (1 + 0.1 * wave), "consumption_credit": 1e5 * (1 + 0.1 * wave),
        "unmet_demand": 1e4 + 0 * t, "stockout_loss": 1e3 + 0 * t,
        "credit_outstanding": 5e6 + 2e5 * wave, "fixed_limit_total": 1.3e7 + 0 * t,
        "temp_limit_total": np.where((t % 180) < 30, 6e6, 0.0),
        "delinq_30_rate": 0.015 + 0.003 * wave, "delinq_90_rate": 0.003 + 0 * t,
        "risk_appetite": 1 - 0.03 * wave ** 2, "pd_mean": 0.05 + 0.01 * wave,
        "unemployment_rate": 0.05 + 0.004 * wave,
        "layoffs": rng.poisson(0.5, days), "retail_sales": 1.3e5 + 0 * t, "wholesale_sales": 2e5 + 0 * t,
        "merchant_cash": 1.2e7 + 1e6 * wave, "merchant_inventory": 6e6 + 0 * t,
        "merchants_distressed": rng.integers(0, 4, days),
        "trade_payables": 1e7 + 0 * t, "trade_arrears": 1e5 * (wave > 0.5), "bank_drawn": 3e6 + 0 * t,
        "scf_drawn": 0 * t + 0.0,
    })
    tiers = {tier: rng.poisson(lam, days) for tier, lam in zip(TIERS, (0.06, 0.03, 0.01))}
    ts["merchant_failures"] = sum(tiers.values())
    ts["contagion_failures"] = rng.binomial(ts["merchant_failures"], 0.5)
    if optional:
        for tier, counts in tiers.items():
            ts[f"failures_{tier}"] = counts
            ts[f"cash_days_{tier}"] = 20 + 10 * TIERS.index(tier) + 3 * wave
        ts["cash_days_manufacturer"] = ts["cash_days_manufacturer"].where(t != 5, np.inf)  # no outflows
        ts["hires"] = rng.poisson(0.5, days)
        ts["vacancies"] = rng.integers(10, 20, days)
        ts["late_payables"] = 2e5 * (wave > 0)
    else:
        ts["target_unemployment"] = 0.05
    return ts


def synthetic_changes(days: int = 365) -> pd.DataFrame:
    causes = ["review", "anomaly", "macro", "promo_expiry", "promo_reversion", "freeze", "raise"]
    n = 400
    rng = np.random.default_rng(2)
    old = rng.uniform(1000, 5000, n)
    return pd.DataFrame({
        "date": pd.Timestamp(START) + pd.to_timedelta(rng.integers(0, days, n), unit="D"),
        "consumer_id": rng.integers(0, 2000, n),
        "lender": pd.Categorical(rng.choice(["baitiao", "huabei"], n), categories=["baitiao", "huabei"]),
        "old_limit": old, "new_limit": old * rng.choice([0.5, 1.2], n),
        "cause": pd.Categorical(rng.choice(causes, n), categories=causes),
        "dpd": np.zeros(n, dtype=np.int32), "pd": rng.uniform(0, 0.2, n),
    })


def synthetic_failures(ts: pd.DataFrame) -> pd.DataFrame:
    """The failures frame ``sim.outputs.failures_frame`` writes, one row per failure in ``ts``."""
    rows = []
    for tier in TIERS:
        for date, k in zip(ts["date"], ts[f"failures_{tier}"]):
            rows += [{"date": date, "merchant_id": len(rows), "tier": tier, "cause": "liquidity"}] * int(k)
    return pd.DataFrame(rows, columns=["date", "merchant_id", "tier", "cause"]).astype(
        {"date": "datetime64[ns]"})


INFO = {
    "scenario": "synthetic", "seed": 7, "config": {"run": {"platform": "baitiao"}},
    "headline": {"days": 365, "consumers": 2000, "merchants": 60, "consumption_credit_share": 0.73,
                 "unmet_demand_share": 0.07, "delinq_30_rate_mean": 0.016, "charge_off_rate_annual": 0.04,
                 "accounts_cut_share_annual": 0.37, "unemployment_rate_mean": 0.051, "risk_appetite_min": 0.95,
                 "merchant_failures": 12, "merchant_failure_rate_annual": 0.2,
                 "cascades": {"n_failures": 12, "n_cascades": 9, "contagion_share": 0.25},
                 "cuts_by_cause": {"review": 194, "freeze": 210, "promo_reversion": 253, "anomaly": 97,
                                   "macro": 15}},
}


def panel(fig, title):
    found = [ax for ax in fig.axes if ax.get_title() == title]
    assert len(found) == 1, f"{title!r}: {len(found)} panels"
    return found[0]


def recorded_days(ts: pd.DataFrame) -> list[int]:
    """The days ``ts`` records in each month it touches, in order (counted here, apart from
    ``sim.dashboard``)."""
    return ts["date"].dt.to_period("M").value_counts().sort_index().tolist()


def bar_totals(ax, ts: pd.DataFrame) -> dict[str, float]:
    """Each bar series' total over the run: a bar is its month's mean per recorded day, so its
    height times the days recorded in the month is the month's total."""
    days = recorded_days(ts)
    totals = {}
    for c in ax.containers:
        assert len(c.patches) == len(days), c.get_label()
        totals[c.get_label()] = sum(p.get_height() * d for p, d in zip(c.patches, days))
    return totals


def time_axes(fig):
    return [ax for ax in fig.axes if ax.get_title() != TITLE_SUMMARY]


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """A year with every optional column: the frame, the figure, and its PNG (saving it
    draws the figure, so tick labels have their final places)."""
    ts = synthetic_ts()
    fig = dashboard_figure(ts, synthetic_changes(), INFO)
    path = tmp_path_factory.mktemp("dash") / "dashboard.png"
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=90)
    return ts, fig, path


def test_png_is_written(full):
    data = full[2].read_bytes()
    assert data[:8] == PNG and len(data) > 50_000


def test_png_without_the_optional_columns_two_months(tmp_path):
    """The time series as it was (no optional columns, an unemployment target), 60 days."""
    fig = dashboard_figure(synthetic_ts(days=60, optional=False), synthetic_changes(days=60), INFO)
    FigureCanvasAgg(fig)
    fig.savefig(tmp_path / "dashboard.png", dpi=90)
    data = (tmp_path / "dashboard.png").read_bytes()
    assert data[:8] == PNG and len(data) > 50_000
    check_date_axes(fig, 60)


def test_loop_panel_bars_are_the_failures_per_tier(full):
    ts, fig, _ = full
    ax = panel(fig, TITLE_FAILURES)
    expected = {tier: float(ts[f"failures_{tier}"].sum()) for tier in TIERS}
    assert min(expected.values()) > 0
    assert bar_totals(ax, ts) == pytest.approx(expected)
    assert sum(expected.values()) == ts["merchant_failures"].sum()
    # one bar a month, each inside the recorded horizon
    for c in ax.containers:
        assert len(c.patches) == 12
        assert min(p.get_x() for p in c.patches) >= mdates.date2num(ts["date"].iloc[0])
        assert max(p.get_x() + p.get_width() for p in c.patches) <= mdates.date2num(ts["date"].iloc[-1]) + 1
    assert "of which contagion" in {line.get_label() for line in ax.get_lines()}
    loop = panel(fig, TITLE_UNEMPLOYMENT)
    labels = {line.get_label() for a in fig.axes if a.bbox.bounds == loop.bbox.bounds for line in a.get_lines()}
    assert {"unemployment (%)", "layoffs (30-day sum)", "hires (30-day sum)"} <= labels


def test_failures_by_tier_from_the_failures_frame():
    """Without ``failures_<tier>`` columns the bars count the failures frame; one failure
    before the recorded horizon is left out."""
    full_ts = synthetic_ts()
    failures = synthetic_failures(full_ts)
    early = pd.DataFrame([{"date": pd.Timestamp("2025-12-20"), "merchant_id": 999, "tier": "distributor",
                           "cause": "liquidity"}]).astype({"date": "datetime64[ns]"})
    failures = pd.concat([early, failures], ignore_index=True)
    ts = full_ts.drop(columns=[f"failures_{t}" for t in TIERS])
    fig = dashboard_figure(ts, synthetic_changes(), INFO, failures=failures)
    expected = {t: float(full_ts[f"failures_{t}"].sum()) for t in TIERS}
    assert bar_totals(panel(fig, TITLE_FAILURES), ts) == pytest.approx(expected)


def test_failures_without_tier_fall_back_to_the_total():
    ts = synthetic_ts(optional=False)
    fig = dashboard_figure(ts, synthetic_changes(), INFO)
    total = float(ts["merchant_failures"].sum())
    assert bar_totals(panel(fig, TITLE_FAILURES), ts) == pytest.approx({"all tiers": total})
    # an empty failures frame still has tiers: all zero
    empty = pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "tier": pd.Series(dtype=object)})
    fig = dashboard_figure(ts, synthetic_changes(), INFO, failures=empty)
    assert bar_totals(panel(fig, TITLE_FAILURES), ts) == {t: 0.0 for t in TIERS}


def test_cash_days_by_tier(full):
    assert [line.get_label() for line in panel(full[1], TITLE_CASH_DAYS).get_lines()] == list(TIERS)
    fig = dashboard_figure(synthetic_ts(optional=False), synthetic_changes(), INFO)
    assert panel(fig, TITLE_CASH_DAYS).get_lines() == []


def _labels(fig) -> list[str]:
    labels = [line.get_label() for ax in fig.axes for line in ax.get_lines()]
    return labels + [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


def test_no_target_line(full):
    old = dashboard_figure(synthetic_ts(optional=False), synthetic_changes(), INFO)  # has target_unemployment
    for fig in (full[1], old):
        labels = _labels(fig)
        assert "unemployment (%)" in labels and not [lab for lab in labels if "target" in lab.lower()]


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def check_date_axes(fig, days: int) -> None:
    renderer = fig.canvas.get_renderer()
    axes = time_axes(fig)
    assert len(axes) >= 11  # eleven time panels and their twins
    for ax in axes:
        assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter), ax.get_title()
        assert isinstance(ax.xaxis.get_major_locator(), mdates.AutoDateLocator), ax.get_title()
        left, right = ax.get_xlim()
        assert right - left == pytest.approx(days)
        if not ax.xaxis.get_visible() or not ax.get_xticklabels():
            continue  # a twin: its dates are its host's
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
        assert len(boxes) >= 3, ax.get_title()
        for a, b in itertools.combinations(boxes, 2):
            assert not _overlap(a, b), ax.get_title()


def test_date_axes_one_year(full):
    check_date_axes(full[1], 365)


def test_date_axes_three_years():
    fig = dashboard_figure(synthetic_ts(days=3 * 365), synthetic_changes(days=3 * 365), INFO)
    FigureCanvasAgg(fig).draw()
    check_date_axes(fig, 3 * 365)


def test_missing_columns_never_raise(tmp_path):
    ts = synthetic_ts(days=90)[["date", "day", "unemployment_rate", "consumption"]]
    changes = synthetic_changes().iloc[:0]
    plot_dashboard(ts, changes, {"scenario": "bare"}, tmp_path / "d.png")
    assert (tmp_path / "d.png").read_bytes()[:8] == PNG
    fig = dashboard_figure(ts, changes, {"scenario": "bare"})
    assert bar_totals(panel(fig, TITLE_FAILURES), ts) == {}  # nothing to count: a note, no bars
    assert [line.get_label() for ax in fig.axes for line in ax.get_lines()] == ["consumption", "unemployment (%)"]


def test_real_run_writes_the_dashboard(tmp_path):
    from sim import CreditModel, load_config
    from sim.outputs import failures_frame, write_outputs

    model = CreditModel(load_config("baseline", ["population.consumers=300", "population.merchants=6",
                                                 "run.days=60", "run.burn_in_days=30"]))
    model.run()
    info = write_outputs(model, tmp_path)
    assert (tmp_path / "dashboard.png").read_bytes()[:8] == PNG
    # the failures frame as sim.outputs would pass it
    frames = model.results()
    failures = failures_frame(model)
    fig = dashboard_figure(frames["timeseries"], frames["limit_changes"], info, failures=failures)
    totals = bar_totals(panel(fig, TITLE_FAILURES), frames["timeseries"])
    assert frames["timeseries"]["merchant_failures"].sum() == len(failures)
    assert sum(totals.values()) == pytest.approx(len(failures))


# --- partial months: a month the recorded horizon cuts short is not drawn as a whole one ---

# 33 days: 3 of January's 31 (29-31), the whole of February (28), 2 of March's 31 (1-2)
HAND_DATES = pd.Series(pd.date_range("2026-01-29", "2026-03-02", freq="D").astype("datetime64[ms]"))
HAND_DAILY = pd.DataFrame({
    "failures": [3, 0, 6] + [1, 0] * 14 + [10, 0],               # count/day
    "sales": [100.0, 200.0, 300.0] + [50.0] * 28 + [40.0, 20.0],  # yuan/day
})


def test_month_coverage_partial_first_and_last_month():
    cover = month_coverage(HAND_DATES)
    assert [str(m) for m in cover.index] == ["2026-01", "2026-02", "2026-03"]
    assert cover["days"].tolist() == [3, 28, 2]
    assert cover["days_in_month"].tolist() == [31, 28, 31]
    assert cover["partial"].tolist() == [True, False, True]
    assert list(cover["start"]) == [pd.Timestamp(d) for d in ("2026-01-29", "2026-02-01", "2026-03-01")]
    assert list(cover["end"]) == [pd.Timestamp(d) for d in ("2026-02-01", "2026-03-01", "2026-03-03")]
    assert partial_label(cover) == "partial months (3 of 31, 2 of 31 days)"
    assert partial_label(cover.iloc[:2]) == "partial month (3 of 31 days)"
    whole = month_coverage(pd.Series(pd.date_range("2026-02-01", "2026-03-31", freq="D")))
    assert whole["partial"].tolist() == [False, False] and partial_label(whole) is None


def test_monthly_per_day_is_the_total_over_the_recorded_days():
    """January: 9 failures in 3 days, 3/day (its total, 9, would be a third of February's 14
    though its rate is six times higher); February 14 in 28 days; March 10 in 2 days."""
    per_day = monthly_per_day(HAND_DATES, HAND_DAILY)
    assert per_day["failures"].tolist() == [3.0, 0.5, 5.0]
    assert per_day["sales"].tolist() == [200.0, 50.0, 30.0]
    # a Series gives a Series, the same numbers
    assert monthly_per_day(HAND_DATES, HAND_DAILY["failures"]).tolist() == [3.0, 0.5, 5.0]
    # times the days recorded: the monthly totals
    assert (per_day["failures"] * month_coverage(HAND_DATES)["days"]).tolist() == [9.0, 14.0, 10.0]


def test_daily_counts_counts_events_a_recorded_day():
    when = pd.Series(pd.to_datetime(["2026-01-28", "2026-01-29", "2026-01-29 15:00", "2026-02-10",
                                     "2026-03-02", "2026-03-03"], format="ISO8601"))
    cause = pd.Series(["review", "review", "macro", "review", "macro", "review"])
    counts = daily_counts(when, HAND_DATES, cause)  # the first and last are outside the horizon
    assert len(counts) == 33 and sorted(counts.columns) == ["macro", "review"]
    assert counts.to_numpy().sum() == 4
    assert counts.loc["2026-01-29"].to_dict() == {"macro": 1, "review": 1}
    assert counts.loc["2026-02-10", "review"] == 1 and counts.loc["2026-03-02", "macro"] == 1
    assert daily_counts(when, HAND_DATES)["count"].sum() == 4


def _hatched(container) -> list[bool]:
    return [p.get_hatch() == PARTIAL_HATCH for p in container.patches]


def _legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_partial_months_are_drawn_as_daily_means_and_hatched():
    """A year from 15 January: January 2026 has 17 of 31 days recorded, January 2027 14 of 31.
    Failures and cuts happen at constant daily rates, so every month's bar has the same height;
    drawn as totals the partial months would be 17 and 14 high against 28 to 31."""
    ts = synthetic_ts(days=365, start="2026-01-15")
    ts["failures_retailer"], ts["failures_distributor"], ts["failures_manufacturer"] = 1, 2, 0
    ts["merchant_failures"], ts["contagion_failures"] = 3, 1
    days = len(ts)
    changes = pd.DataFrame({
        "date": pd.concat([ts["date"], ts["date"]], ignore_index=True),
        "lender": "baitiao", "old_limit": 1000.0, "new_limit": 500.0,
        "cause": ["review"] * days + ["freeze"] * days,  # one cut and one freeze a day
    })
    fig = dashboard_figure(ts, changes, INFO)
    FigureCanvasAgg(fig).draw()
    assert recorded_days(ts) == [17] + [28 if m == 2 else 30 if m in (4, 6, 9, 11) else 31
                                        for m in range(2, 13)] + [14]
    partial = [True] + [False] * 11 + [True]
    note = "partial months (17 of 31, 14 of 31 days)"

    failures = panel(fig, TITLE_FAILURES)
    bars = {c.get_label(): c for c in failures.containers}
    assert list(bars) == list(TIERS)
    assert [p.get_height() for p in bars["retailer"].patches] == [1.0] * 13
    assert [p.get_height() for p in bars["distributor"].patches] == [2.0] * 13
    assert [p.get_y() for p in bars["distributor"].patches] == [1.0] * 13  # stacked on the retailers
    assert [p.get_height() for p in bars["manufacturer"].patches] == [0.0] * 13
    for c in bars.values():
        assert _hatched(c) == partial
        assert [p.get_facecolor()[3] for p in c.patches] == [PARTIAL_ALPHA if k else 1.0 for k in partial]
    contagion = [line for line in failures.get_lines() if line.get_label() == "of which contagion"]
    assert len(contagion) == 1 and contagion[0].get_ydata().tolist() == [1.0] * 13
    assert failures.get_ylabel() == YLABEL_FAILURES == "failures per day (monthly mean)"
    assert _legend_texts(failures) == ["of which contagion", *TIERS, note]
    # the legend's swatches: plain colours for the tiers, hatched for the note
    swatches = failures.get_legend().get_patches()
    assert [p.get_hatch() for p in swatches] == [None, None, None, PARTIAL_HATCH]

    cuts = panel(fig, TITLE_CUTS)
    assert [c.get_label() for c in cuts.containers] == ["review"]
    assert [p.get_height() for p in cuts.containers[0].patches] == [1.0] * 13
    assert _hatched(cuts.containers[0]) == partial
    freezes = [line for line in cuts.get_lines() if line.get_label() == "freezes (apart)"]
    assert len(freezes) == 1 and freezes[0].get_ydata().tolist() == [1.0] * 13
    assert cuts.get_ylabel() == YLABEL_CUTS
    assert _legend_texts(cuts) == ["freezes (apart)", "review", note]

    # each bar over the recorded part of its month: the first starts on 15 January
    first = bars["retailer"].patches[0]
    assert first.get_x() == mdates.date2num(pd.Timestamp("2026-01-15"))
    assert first.get_width() == pytest.approx(0.85 * 17)
    check_date_axes(fig, 365)  # concise date labels kept


def test_whole_months_have_no_partial_note(full):
    for title in (TITLE_FAILURES, TITLE_CUTS):
        ax = panel(full[1], title)
        assert ax.containers and not any(any(_hatched(c)) for c in ax.containers)
        assert not [t for t in _legend_texts(ax) if "partial" in t]
