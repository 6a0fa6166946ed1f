"""The Solara app without a browser: its pictures (ECharts options) against the model's state,
its controls against the parameter declaration, and its components rendered with
``solara.render`` (controls change the settings, reset rebuilds with them, a shock button
changes the model, the inspector shows the picked merchant)."""

from __future__ import annotations

import dataclasses

import ipyvuetify as v
import numpy as np
import pytest
import solara
import solara.server.app  # noqa: F401  (reactive state is kept per test, not leaked; see PITFALLS)
import solara.server.starlette  # noqa: F401

from agents.merchant import FAILED, MANUFACTURER, RETAILER
from sim.app import page
from sim.app.compare_view import comparison_table, pair_settings, run_pair
from sim.app.state import DECLARED, SETTINGS, AppModel, Settings, controls, scenario_names
from sim.app.views import (PANELS, STATES, cached_layout, merchant_states, network_option, node_sizes,
                           panel_options, panel_series)
from sim.cli import app_command, main
from sim.config import strategy_names

SMALL = Settings(values=(("population.consumers", 300), ("population.merchants", 12), ("run.burn_in_days", 5),
                         ("run.days", 60)))


@pytest.fixture
def small():
    SETTINGS.set(SMALL)
    page.SELECTED_MERCHANT.set(0)
    yield AppModel(SMALL)
    SETTINGS.set(Settings())


@pytest.fixture
def rendered(small):
    model = solara.reactive(small)
    box, rc = solara.render(solara.AppLayout(children=[page.Main(model)]), handle_error=False)
    yield model, rc
    rc.close()


def _button(rc, text: str):
    return next(b for b in rc.find(v.Btn) if b.widget.children and b.widget.children[0].startswith(text))


def _slider(rc, label: str):
    return next(s for s in rc.find(v.Slider) if s.widget.label.startswith(label))


def _texts(rc) -> str:
    """Every string child of every widget on the page (the grid's items included)."""
    out, todo = [], [rc.container]
    while todo:
        w = todo.pop()
        for child in [*(getattr(w, "children", None) or []), *(getattr(w, "items", None) or [])]:
            (out if isinstance(child, str) else todo).append(child)
    return " ".join(out)


def _html(rc) -> str:
    return " ".join(str(w.widget.unsafe_innerHTML) for w in rc.find(solara.widgets.HTML) if w.widget.unsafe_innerHTML)


# --------------------------------------------------------------------------- the model the app runs


def test_the_app_model_has_done_its_burn_in_when_built():
    seen = []
    model = AppModel(SMALL, progress=lambda done, total: seen.append((done, total)))
    assert model.t == 0 and model.day == -1 and model.recorder.n == 0
    assert seen[-1] == (5, 5)
    assert model.cfg.population.consumers == 300 and model.cfg.run.seed == SMALL.seed


def test_without_settings_the_app_model_uses_the_sessions(small):
    SETTINGS.set(SMALL.with_value("population.merchants", 14))
    assert AppModel().merchants.m == 14


def test_the_merchant_history_is_what_the_merchants_were(small):
    small.run(until=10)
    assert np.array_equal(small.history["cash"][9], small.merchants.cash)
    assert np.array_equal(small.history["status"][9], small.merchants.status)
    assert np.isnan(small.history["cash"][10]).all()


def test_controls_come_from_the_declaration_and_lie_in_its_ranges():
    for c in controls():
        f = DECLARED[c.key]
        lo, hi = f.metadata["lo"], f.metadata["hi"]
        assert (lo is None or c.lo >= lo) and (hi is None or c.hi <= hi), c.key
        assert c.lo <= c.default <= c.hi, c.key
        assert f.metadata["doc"] in c.tooltip and c.key in c.tooltip
        assert c.label.endswith(f"({c.unit})") if c.unit else "(" not in c.label
    assert {c.key: c.default for c in controls()}["population.merchants"] == 100   # fifty consumers a merchant


def test_every_default_lies_on_its_sliders_grid():
    for c in controls():
        steps = (c.default - c.lo) / c.step
        assert abs(steps - round(steps)) < 1e-9, c.key


def test_scenario_names_leave_strategies_out():
    names = scenario_names()
    assert "baseline" in names and not set(names) & set(strategy_names())


# --------------------------------------------------------------------------- pictures


def test_the_network_picture_shows_each_merchants_state_size_and_relations(small):
    small.run(until=5)
    target = int(np.flatnonzero(small.merchants.tier == MANUFACTURER)[0])
    small.supply.force_failure(target)
    option = network_option(small, highlight=2)
    nodes = option["series"][0]["data"]
    assert [n["name"] for n in nodes] == [str(i) for i in range(small.merchants.m)]
    assert [STATES[n["category"]] for n in nodes] == [STATES[s] for s in merchant_states(small)]
    assert nodes[target]["category"] == 2 and nodes[target]["itemStyle"]["borderColor"] == "#7f0000"   # ringed
    assert nodes[2]["itemStyle"]["borderColor"] == "#1565c0"
    sizes = node_sizes(small.merchants.expected_sales)
    assert [n["symbolSize"] for n in nodes] == [round(float(s), 1) for s in sizes]
    supplier, buyer = small.supply.relations()
    assert [(int(l["source"]), int(l["target"])) for l in option["series"][0]["links"]] == list(zip(supplier, buyer))
    assert f"{small.date:%Y-%m-%d}" in option["title"]["text"]


def test_node_sizes_follow_the_square_root_of_sales():
    assert node_sizes(np.array([0.0, 25.0, 100.0])).tolist() == [4.0, 16.0, 28.0]
    assert node_sizes(np.array([0.125, 0.5])).tolist() == [16.0, 28.0]   # small sales are scaled too
    assert node_sizes(np.zeros(3)).tolist() == [4.0, 4.0, 4.0]
    assert node_sizes(np.zeros(0)).shape == (0,)


def _toy(tier, sales, supplier, buyer):
    """A stand-in model for :func:`layout`: merchants' tiers and sales, and live relations."""
    from types import SimpleNamespace

    ms = SimpleNamespace(m=len(tier), tier=np.array(tier), expected_sales=np.array(sales, dtype=float))
    supply = SimpleNamespace(relations=lambda: (np.array(supplier, dtype=np.int64), np.array(buyer, dtype=np.int64)))
    return SimpleNamespace(merchants=ms, supply=supply)


def test_the_layout_orders_each_row_by_its_suppliers_mean_place():
    from sim.app.views import layout

    M, D, R = MANUFACTURER, 1, RETAILER
    # manufacturers by size (1 first); distributor 2 buys from 0, 3 from 1; retailer 4 from 2 and 3,
    # 5 from 3 (and straight from manufacturer 1, which is not in the row above: ignored), 6 from none
    model = _toy([M, M, D, D, R, R, R], [5, 10, 1, 1, 1, 1, 1],
                 supplier=[0, 1, 2, 3, 3, 1], buyer=[2, 3, 4, 4, 5, 5])
    pos = layout(model)
    assert pos.shape == (7, 2)
    assert pos[:, 1].tolist() == [2, 2, 1, 1, 0, 0, 0]
    assert pos[:, 0].tolist() == [0.75, 0.25, 0.75, 0.25, 0.5, 1 / 6, 5 / 6]


def test_the_layout_keeps_ties_in_id_order_in_long_rows():
    from sim.app.views import layout

    # 40 manufacturers of three sizes, 40 retailers each buying from one of the first three
    # manufacturers: long rows full of ties, which an unstable sort would shuffle
    k = 40
    sizes = [(3 * i) % 7 % 3 + 1 for i in range(k)]
    picks = [(5 * i) % 3 for i in range(k)]
    pos = layout(_toy([MANUFACTURER] * k + [RETAILER] * k, sizes + [1.0] * k, supplier=picks,
                      buyer=[k + i for i in range(k)]))
    top = sorted(range(k), key=lambda i: -sizes[i])                    # by size, ties by id
    assert [i for i in sorted(range(k), key=lambda i: pos[i, 0])] == top
    below = sorted(range(k), key=lambda i: pos[picks[i], 0])           # under their supplier, ties by id
    assert [i for i in sorted(range(k), key=lambda i: pos[k + i, 0])] == below


def test_the_layout_skips_an_empty_tier():
    from sim.app.views import layout

    pos = layout(_toy([MANUFACTURER, RETAILER, RETAILER], [1, 1, 1], supplier=[0], buyer=[2]))
    assert pos[:, 1].tolist() == [2, 0, 0]
    assert pos[:, 0].tolist() == [0.5, 0.25, 0.75]   # retailer 2 under its supplier (key 0.5), 1 has none (0.5)


def test_numbers_for_the_browser_have_four_digits_and_gaps_for_nan():
    from sim.app.views import _rounded

    assert _rounded(np.array([1.23456, np.nan, 123456.0, -np.inf])) == [1.235, None, 123500.0, None]


def test_the_network_is_an_echarts_graph_on_tier_rows(small):
    from sim.app.views import STATE_COLOURS

    option = network_option(small)
    graph = option["series"][0]
    assert (graph["type"], graph["coordinateSystem"], graph["layout"]) == ("graph", "cartesian2d", "none")
    assert [c["name"] for c in graph["categories"]] == list(STATES) == option["legend"]["data"]
    assert [c["itemStyle"]["color"] for c in graph["categories"]] == list(STATE_COLOURS.values())
    assert option["yAxis"]["data"] == ["retailers", "distributors", "manufacturers"]   # rows 0, 1, 2
    assert option["animation"] is False   # a redraw a step: no tweening
    assert "(0 in the last 30 days)" in option["title"]["subtext"]


def test_the_layout_puts_tiers_in_rows_and_each_merchant_on_its_own_place(small):
    pos = cached_layout(small)
    tier = small.merchants.tier
    assert (pos[tier == MANUFACTURER, 1] == 2).all() and (pos[tier == RETAILER, 1] == 0).all()
    for row in range(3):
        xs = pos[pos[:, 1] == row, 0]
        assert len(set(xs)) == xs.size and ((0 < xs) & (xs < 1)).all()
    assert cached_layout(small) is pos


def test_merchant_states_name_each_status(small):
    from agents.merchant import DISTRESSED

    small.merchants.status[:4] = [FAILED, DISTRESSED, 0, DISTRESSED]
    assert merchant_states(small)[:4].tolist() == [2, 1, 0, 1]


def test_the_cuts_panel_leaves_out_causes_that_never_fired(small):
    small.run(until=5)
    cols = small.recorder.columns
    for name in cols:
        if name.startswith("limit_cuts_"):
            cols[name][:5] = 0.0
    cols["limit_cuts_macro"][:5] = [0, 2, 0, 1, 0]
    series = panel_series(small)["Limit cuts by cause"]
    assert list(series) == ["macro"] and series["macro"].tolist() == [0, 2, 0, 1, 0]


def test_panels_draw_the_recorders_columns(small):
    small.run(until=20)
    options = panel_options(small)
    assert [o["title"]["text"] for o in options] == [f"{title} ({unit})" for title, _, unit in PANELS]
    cols = small.recorder.columns
    spending = {s["name"]: s["data"] for s in options[0]["series"]}
    assert spending["cash"] == [float(f"{v:.4g}") for v in (cols["consumption_cash"][:20] / 1e3).tolist()]
    series = panel_series(small)
    assert np.array_equal(series["Merchant failures so far"]["retailers"], np.cumsum(cols["failures_retailer"][:20]))
    assert np.allclose(series["Labour and appetite"]["layoffs per 1,000 consumers"], cols["layoffs"][:20] * 1000 / 300)
    assert len(options[0]["xAxis"]["data"]) == 20 and options[0]["xAxis"]["data"][0] == "2026-01-01"
    for option in options:
        assert option["animation"] is False and option["xAxis"]["type"] == "category"
        assert all(line["type"] == "line" and line["showSymbol"] is False for line in option["series"])
    failures = {line["name"]: line["lineStyle"]["type"] for line in options[4]["series"]}
    assert failures["retailers"] == "solid" and failures["retailers (contagion)"] == "dashed"


def test_contagion_failures_by_tier_count_the_failure_logs_non_liquidity_rows(small):
    small.run(until=10)
    small.failure_rows.extend([   # a hand-made log: two contagion failures, one liquidity failure
        {"date": np.datetime64("2026-01-03"), "tier": "retailer", "cause": "counterparty"},
        {"date": np.datetime64("2026-01-06"), "tier": "retailer", "cause": "credit_line"},
        {"date": np.datetime64("2026-01-04"), "tier": "retailer", "cause": "liquidity"},
        {"date": np.datetime64("2026-01-05"), "tier": "distributor", "cause": "counterparty"}])
    small.failure_rows[:] = [r for r in small.failure_rows if "merchant_id" not in r]
    series = panel_series(small)["Merchant failures so far"]
    assert series["retailers (contagion)"].tolist() == [0, 0, 1, 1, 1, 2, 2, 2, 2, 2]
    assert series["distributors (contagion)"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    assert not series["manufacturers (contagion)"].any()


# --------------------------------------------------------------------------- components


def test_a_slider_changes_the_settings_and_reset_rebuilds_the_model_with_them(rendered):
    model, rc = rendered
    before = model.value
    _slider(rc, "merchants").widget.v_model = 16
    _slider(rc, "trade terms days").widget.v_model = 30
    assert SETTINGS.value.value("population.merchants") == 16
    assert model.value is before   # nothing rebuilt yet
    _button(rc, "Reset").widget.click()
    assert model.value is not before and isinstance(model.value, AppModel)
    assert model.value.merchants.m == 16 and model.value.cfg.merchants.trade_terms_days == 30
    assert model.value.t == 0   # the burn-in was run: the first frame is the first recorded day


def test_the_scenario_picker_and_seed_reach_the_rebuilt_model(rendered):
    model, rc = rendered
    SETTINGS.set(dataclasses.replace(SETTINGS.value, scenario="tightening", seed=77))
    SETTINGS.set(SETTINGS.value.with_value("run.days", 250))
    _button(rc, "Reset").widget.click()
    assert model.value.cfg.name == "tightening" and model.value.cfg.run.seed == 77


def test_step_advances_the_date_shown(rendered):
    model, rc = rendered
    assert "2025-12-31 (day -1" in _html(rc)
    _button(rc, "Step").widget.click()
    assert model.value.day == 0 and "2026-01-01 (day 0" in _html(rc)


def test_a_shock_button_changes_the_running_model(rendered):
    model, rc = rendered
    _button(rc, "Step").widget.click()
    m = model.value
    pos = m.calendar.pos(m.t)
    assert m.tightening[m.platform, pos] == 0.0
    _button(rc, "Credit tightening").widget.click()
    assert m.tightening[m.platform, pos] == -0.3 and m.cfg.shocks[-1].kind == "credit_tightening"
    largest = int(np.flatnonzero(m.merchants.tier == MANUFACTURER)[np.argmax(
        m.merchants.expected_sales[m.merchants.tier == MANUFACTURER])])
    _button(rc, "Supplier failure").widget.click()
    _button(rc, "Step").widget.click()
    assert m.merchants.status[largest] == FAILED
    assert "supplier_failure from 2026-01-02 to 2026-01-02" in _texts(rc)


def test_a_live_shock_lasts_at_most_to_the_end_of_the_run(rendered):
    model, rc = rendered
    model.value.run(until=50)
    _button(rc, "Macro shock").widget.click()
    shock = model.value.cfg.shocks[-1]
    assert (shock.kind, shock.start, shock.end, shock.size) == ("unemployment", 50, 60, 0.04)
    assert "unemployment from 2026-02-20 to 2026-03-01" in _texts(rc)


def test_the_inspector_shows_the_picked_merchant(small):
    small.run(until=12)
    page.SELECTED_MERCHANT.set(3)
    @solara.component
    def Shown():
        return page.Inspector(small)

    box, rc = solara.render(Shown(), handle_error=False)
    try:
        assert "<b>Merchant 3</b>" in _html(rc)
        sheet = {r["item"]: r["yuan"] for r in page.merchant_balance_sheet(small, 3)}
        assert sheet["cash"] == round(float(small.merchants.cash[3]), 2)
        page.SELECTED_MERCHANT.set(5)
        assert "<b>Merchant 5</b>" in _html(rc)
    finally:
        rc.close()


def test_a_balance_sheet_adds_up_to_the_net_worth(small):
    small.run(until=30)
    for i in range(small.merchants.m):
        rows = page.merchant_balance_sheet(small, i)
        assets = sum(r["yuan"] for r in rows if r["side"] == "asset")
        liabilities = sum(r["yuan"] for r in rows if r["side"] == "liability")
        assert assets - liabilities == pytest.approx(rows[-1]["yuan"], abs=0.05)


def test_a_click_on_the_network_picks_the_merchant(small):
    element = page.Network(small)
    element.kwargs["on_click"]({"data": {"name": "7"}})
    assert page.SELECTED_MERCHANT.value == 7
    element.kwargs["on_click"]({"data": {}})
    assert page.SELECTED_MERCHANT.value == 7


def test_the_consumer_inspector_lists_limit_changes(small):
    small.run(until=40)
    changes = small.recorder.limit_changes()
    if changes.empty:
        pytest.fail("the small run made no limit change to inspect")
    cid = int(changes["consumer_id"].iloc[0])
    mine = page.consumer_limit_changes(small, cid)
    assert len(mine) == int((changes["consumer_id"] == cid).sum()) and "consumer_id" not in mine
    rows = page.consumer_rows(small, cid)
    assert [r["lender"] for r in rows] == small.lender_names
    assert rows[0]["fixed limit"] == round(float(small.accounts.fixed_limit[0, cid]), 2)


# --------------------------------------------------------------------------- comparison


def test_the_comparison_runs_the_pair_on_one_seed_and_differs_only_in_the_strategy():
    strategy = strategy_names()[0]
    base, treated = pair_settings(dataclasses.replace(SMALL, strategies=(strategy,)), strategy)
    assert base.strategies == () and treated.strategies == (strategy,) and base.seed == treated.seed
    seen = []
    a, b = run_pair(SMALL, strategy, days=20, progress=seen.append)
    assert a.recorder.n == b.recorder.n == 20 and seen[-1] == 1.0
    assert a.cfg.run.seed == b.cfg.run.seed and b.cfg.name.endswith(strategy)
    table = comparison_table(a, b).set_index("outcome")
    failures = float(b.recorder.columns["merchant_failures"][:20].sum() - a.recorder.columns["merchant_failures"][:20].sum())
    assert table.loc["merchant failures", "difference"] == failures
    assert (table["difference"] == table["with"] - table["without"]).all()


# --------------------------------------------------------------------------- command line


def test_sim_app_serves_in_production_mode_on_loopback_by_default(capsys):
    cmd = app_command("127.0.0.1", 8765)
    assert cmd[1:5] == ["-m", "solara", "run", "sim.app.page"] and "--production" in cmd
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert main(["app", "--port", "0"]) == 2
    assert "--port: 0 is not a port" in capsys.readouterr().err


def test_sim_app_hands_its_settings_to_the_sessions(monkeypatch):
    import argparse

    from sim.app.state import ENV, initial_settings
    from sim.cli import app_settings

    args = argparse.Namespace(scenario="tightening", strategies=["cash_reserves"], seed=9,
                              overrides=["population.merchants=200", "run.days=250"])
    settings = app_settings(args)
    monkeypatch.setenv(ENV, settings.to_json())
    started = initial_settings()
    assert started == settings
    assert started.value("population.merchants") == 200 and started.value("population.consumers") == 5000
    cfg = started.config()
    assert cfg.name == "tightening+cash_reserves" and cfg.run.seed == 9 and cfg.run.days == 250


def test_sim_app_refuses_a_bad_setting_before_serving(capsys):
    assert main(["app", "--set", "population.merchantz=3"]) == 2
    assert "population.merchantz: unknown key" in capsys.readouterr().err


def test_the_network_rings_failures_of_the_last_30_days_and_counts_states(small):
    from agents.merchant import DISTRESSED

    small.run(until=40)   # the day just simulated: 39
    ms = small.merchants
    ms.status[:] = 0
    ms.status[:6] = [FAILED, FAILED, FAILED, 0, DISTRESSED, DISTRESSED]
    ms.failed_day[:6] = [10, 9, 39, 39, -10**9, -10**9]   # merchant 3 failed on day 39 and re-entered
    option = network_option(small)
    ringed = [n["name"] for n in option["series"][0]["data"] if "itemStyle" in n]
    assert ringed == ["0", "2"]   # days 10..39 are the last 30; day 9 is not; a re-entrant is healthy
    assert option["title"]["subtext"] == (f"{small.merchants.m - 5} healthy, 2 distressed, 3 failed (2 in the last "
                                          "30 days); size = expected sales")
    pos = cached_layout(small)
    assert [n["value"] for n in option["series"][0]["data"]] == [[round(float(x), 4), int(y)] for x, y in pos]


def test_rebuild_builds_in_a_thread_with_the_settings_and_clears_its_progress(rendered):
    import time

    model, rc = rendered
    before = model.value
    _slider(rc, "merchants").widget.v_model = 14
    _button(rc, "Rebuild").widget.click()
    deadline = time.monotonic() + 60
    while (model.value is before or page.BUILD_PROGRESS.value is not None) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert model.value is not before and model.value.merchants.m == 14 and model.value.t == 0
    assert page.BUILD_PROGRESS.value is None and page.BUILD_ERROR.value == ""


def test_a_bad_setting_is_shown_and_the_model_kept(small):
    SETTINGS.set(dataclasses.replace(SMALL, scenario="tightening"))   # its shocks lie past a 60-day run
    model = solara.reactive(small)
    page.build_into(model)
    assert model.value is small
    assert "tightening.toml: shocks[0]" in page.BUILD_ERROR.value and page.BUILD_PROGRESS.value is None
    page.BUILD_ERROR.set("")
