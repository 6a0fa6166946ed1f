"""``dashboard.png``: built from synthetic time series (with and without the optional
columns) and once from a tiny real run."""

from __future__ import annotations

import itertools

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from sim.dashboard import (TIERS, TITLE_CASH_DAYS, TITLE_FAILURES, TITLE_SUMMARY, TITLE_UNEMPLOYMENT,
                           dashboard_figure, plot_dashboard)

PNG = b"\x89PNG\r\n\x1a\n"
START = "2026-01-01"


def synthetic_ts(days: int = 365, optional: bool = True, seed: int = 1) -> pd.DataFrame:
    """A daily frame shaped like ``timeseries.parquet``. ``optional`` adds the columns the
    model is gaining (hires, vacancies, late payables, failures and cash days by tier) and
    drops the unemployment target it is losing."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    wave = np.sin(2 * np.pi * t / 120)
    ts = pd.DataFrame({
        "date": pd.date_range(START, periods=days, freq="D").astype("datetime64[ms]"),
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


def bar_sums(ax) -> dict[str, float]:
    return {c.get_label(): sum(p.get_height() for p in c.patches) for c in ax.containers}


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
    assert bar_sums(ax) == pytest.approx(expected)
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
    assert bar_sums(panel(fig, TITLE_FAILURES)) == pytest.approx(expected)


def test_failures_without_tier_fall_back_to_the_total():
    ts = synthetic_ts(optional=False)
    fig = dashboard_figure(ts, synthetic_changes(), INFO)
    total = float(ts["merchant_failures"].sum())
    assert bar_sums(panel(fig, TITLE_FAILURES)) == pytest.approx({"all tiers": total})
    # an empty failures frame still has tiers: all zero
    empty = pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "tier": pd.Series(dtype=object)})
    fig = dashboard_figure(ts, synthetic_changes(), INFO, failures=empty)
    assert bar_sums(panel(fig, TITLE_FAILURES)) == {t: 0.0 for t in TIERS}


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
    assert bar_sums(panel(fig, TITLE_FAILURES)) == {}  # nothing to count: a note, no bars
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
    sums = bar_sums(panel(fig, TITLE_FAILURES))
    assert sum(sums.values()) == frames["timeseries"]["merchant_failures"].sum() == len(failures)
