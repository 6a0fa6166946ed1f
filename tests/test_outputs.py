"""The merchant-side columns of ``timeseries.parquet`` and the summary headline, pinned on a
tiny model (300 consumers, 8 merchants: six retailers, one distributor, one manufacturer).

Events are scripted inside the day, where the model's own shocks act: forced failures at the
start of phase 10 (as a ``supplier_failure`` shock does), hand-made trade arrears after
phase 11 (before the day's invariant check and record). Operating-loss shocks are off, so
that only the script fails merchants. Every model runs with ``check=True``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from agents.merchant import FAILED, TIER_NAMES
from sim import CreditModel, load_config
from sim.outputs import COLUMNS, failures_frame, summary, write_outputs

CALM = ["merchants.loss_shock_rate=0"]   # no random operating losses
DAYS, BURN_IN = 60, 30
FAIL_FIRST, FAIL_SECOND = 5, 12          # days of the scripted failures
SNAPSHOT_DAYS = (3, 20)                  # days whose merchant arrays are kept for hand computations


class Scripted(CreditModel):
    """The model with events at chosen days: ``scripted_failures[day]`` merchants fail at the
    start of phase 10; ``scripted_after_entry[day]`` callables run after phase 11."""

    def defaults(self) -> None:
        for merchant in getattr(self, "scripted_failures", {}).get(self.t, ()):
            self.supply.force_failure(int(merchant))
        super().defaults()

    def entry(self) -> None:
        super().entry()
        for action in getattr(self, "scripted_after_entry", {}).get(self.t, ()):
            action()


def scripted_model(days: int = DAYS) -> Scripted:
    overrides = ["population.consumers=300", "population.merchants=8", f"run.days={days}",
                 f"run.burn_in_days={BURN_IN}", *CALM]
    return Scripted(load_config("baseline", overrides), check=True)


def step_through(model: CreditModel, day: int) -> None:
    """Step until day ``day`` has been simulated and recorded (``model.t == day + 1``)."""
    while model.t <= day:
        model.step()


def tier_ids(model) -> dict[str, np.ndarray]:
    return {name: np.flatnonzero(model.merchants.tier == k) for k, name in enumerate(TIER_NAMES)}


def cash_days_by_hand(model) -> dict[str, float]:
    """Each tier's cash over its daily outflows (cost of goods at expected sales, fixed costs,
    a thirtieth of the monthly wage bill), active merchants only; 0 without one."""
    ms = model.merchants
    outflows = ms.expected_sales / ms.markup + ms.fixed_cost + ms.wage_bill / 30.0
    out = {}
    for k, name in enumerate(TIER_NAMES):
        mine = (ms.tier == k) & (ms.status != FAILED)
        out[name] = float(ms.cash[mine].sum() / outflows[mine].sum()) if mine.any() else 0.0
    return out


@pytest.fixture(scope="module")
def scripted():
    """Day 5: a retailer and the distributor fail; day 12: the manufacturer and a second
    retailer. The merchant arrays of days 3 and 20 are kept as recorded."""
    model = scripted_model()
    ids = tier_ids(model)
    assert [ids[t].size for t in TIER_NAMES] == [6, 1, 1]
    plan = {FAIL_FIRST: [int(ids["retailer"][0]), int(ids["distributor"][0])],
            FAIL_SECOND: [int(ids["manufacturer"][0]), int(ids["retailer"][1])]}
    model.scripted_failures = plan
    snapshots = {}
    for day in SNAPSHOT_DAYS:
        step_through(model, day)
        snapshots[day] = {"cash_days": cash_days_by_hand(model),
                          "bank_limit": float(model.merchants.bank_limit.sum()),
                          "bank_appetite": float(model.supply.bank_appetite)}
    model.run()
    frames = model.results()
    return {"model": model, "plan": plan, "snapshots": snapshots, "frames": frames,
            "ts": frames["timeseries"], "failures": failures_frame(model)}


# --------------------------------------------------------------------------- failures by tier


def test_failures_by_tier_are_integer_counts_that_add_up(scripted):
    ts = scripted["ts"]
    cols = [f"failures_{t}" for t in TIER_NAMES]
    assert all(ts[c].dtype == np.int64 for c in cols)
    assert (ts[cols].sum(axis=1) == ts["merchant_failures"]).all()
    assert int(ts["merchant_failures"].sum()) == len(scripted["failures"]) >= 4


def test_failures_by_tier_match_the_failures_frame(scripted):
    ts, failures, plan = scripted["ts"], scripted["failures"], scripted["plan"]
    # the scripted failures are in the frame on their days with their tiers
    tiers = {int(r.merchant_id): (r.tier, r.date) for r in failures.itertuples()}
    model = scripted["model"]
    for day, merchants in plan.items():
        for f in merchants:
            assert tiers[f] == (TIER_NAMES[model.merchants.tier[f]], ts["date"].iloc[day])
    # and every day's count by tier is the frame's, exactly
    counted = failures.groupby(["date", "tier"]).size().unstack(fill_value=0)
    expected = counted.reindex(index=ts["date"], columns=list(TIER_NAMES), fill_value=0)
    for tier in TIER_NAMES:
        assert ts[f"failures_{tier}"].tolist() == expected[tier].tolist()
    on_first = ts.iloc[FAIL_FIRST]
    assert on_first["failures_retailer"] >= 1 and on_first["failures_distributor"] == 1
    assert ts.iloc[FAIL_SECOND]["failures_manufacturer"] == 1
    assert ts["failures_distributor"].sum() == 1 and ts["failures_manufacturer"].sum() == 1


# --------------------------------------------------------------------------- cash days, bank columns


@pytest.mark.parametrize("day", SNAPSHOT_DAYS)
def test_cash_days_by_tier_from_the_merchant_arrays(scripted, day):
    row = scripted["ts"].iloc[day]
    hand = scripted["snapshots"][day]["cash_days"]
    for tier in TIER_NAMES:
        assert row[f"cash_days_{tier}"] == pytest.approx(hand[tier], rel=1e-12)
    assert hand["retailer"] > 0


def test_cash_days_are_zero_for_a_tier_without_active_merchants(scripted):
    ts = scripted["ts"]
    cols = [f"cash_days_{t}" for t in TIER_NAMES]
    assert np.isfinite(ts[cols].to_numpy()).all()
    # the only distributor fails on day 5, the only manufacturer on day 12 (entry takes 90 days)
    assert (ts["cash_days_distributor"].iloc[:FAIL_FIRST] > 0).all()
    assert (ts["cash_days_distributor"].iloc[FAIL_FIRST:] == 0).all()
    assert (ts["cash_days_manufacturer"].iloc[:FAIL_SECOND] > 0).all()
    assert (ts["cash_days_manufacturer"].iloc[FAIL_SECOND:] == 0).all()
    assert scripted["snapshots"][20]["cash_days"]["manufacturer"] == 0.0


@pytest.mark.parametrize("day", SNAPSHOT_DAYS)
def test_bank_limit_and_bank_appetite(scripted, day):
    row, snap = scripted["ts"].iloc[day], scripted["snapshots"][day]
    assert row["bank_limit"] == pytest.approx(snap["bank_limit"], rel=1e-12)
    assert row["bank_appetite"] == pytest.approx(snap["bank_appetite"], rel=1e-12)
    assert snap["bank_limit"] > 0 and 0.3 <= snap["bank_appetite"] <= 1.5


# --------------------------------------------------------------------------- late payables


def move_into_arrears(model, edge: int, amount: float, overdue_days: int) -> None:
    """``amount`` of the invoices not yet due on ``edge`` becomes arrears overdue
    ``overdue_days`` days: what the buyer owes on the edge (its payable, the supplier's
    receivable) is unchanged, so the books stay balanced."""
    book = model.supply.book
    frac = amount / book.outstanding[edge]
    book.due[:, edge] *= 1.0 - frac
    book.outstanding[edge] -= amount
    book.arrears[edge] += amount
    book.arrears_day[edge] = model.t - overdue_days


def test_late_payables_count_only_arrears_overdue_less_than_stretch_days():
    day = 10
    model = scripted_model(days=15)
    stretch = model.cfg.merchants.stretch_days
    book = model.supply.book
    seen = {}

    def inject():
        n = book.n
        free = np.flatnonzero(book.live[:n] & ~book.outside_owned[:n] & (book.outstanding[:n] > 0)
                              & (book.arrears[:n] == 0))
        assert free.size >= 3
        a, b, c = (int(e) for e in free[:3])
        # before: the arrears there are (none in a calm economy, but count them if any)
        age = model.t - book.arrears_day[:n]
        seen["late_before"] = float(book.arrears[:n][age < stretch].sum())
        seen["all_before"] = float(book.arrears[:n].sum())
        seen["a"], seen["b"], seen["c"] = 0.5 * book.outstanding[a], 0.3 * book.outstanding[b], \
            0.25 * book.outstanding[c]
        move_into_arrears(model, a, seen["a"], stretch - 5)   # stretched: counted
        move_into_arrears(model, b, seen["b"], stretch)       # exactly stretch_days: pressing, not counted
        move_into_arrears(model, c, seen["c"], stretch + 10)  # long overdue: not counted

    model.scripted_after_entry = {day: [inject]}
    step_through(model, day)   # the day's invariant check passes with the moved invoices
    row = model.results()["timeseries"].iloc[day]
    assert seen["a"] > 0 and seen["b"] > 0 and seen["c"] > 0
    assert row["late_payables"] == pytest.approx(seen["late_before"] + seen["a"], rel=1e-12)
    assert row["trade_arrears"] == pytest.approx(seen["all_before"] + seen["a"] + seen["b"] + seen["c"],
                                                 rel=1e-12)
    assert row["late_payables"] < row["trade_arrears"]


# --------------------------------------------------------------------------- summary, files, docs


def test_summary_headline_by_tier(scripted):
    model, ts, failures = scripted["model"], scripted["ts"], scripted["failures"]
    h = summary(model, scripted["frames"])["headline"]
    counts = failures["tier"].value_counts()
    assert h["failures_by_tier"] == {t: int(counts.get(t, 0)) for t in TIER_NAMES}
    assert h["failures_by_tier"]["distributor"] == 1 and h["failures_by_tier"]["manufacturer"] == 1
    years = DAYS / 365.0
    for tier, slots in zip(TIER_NAMES, (6, 1, 1)):
        assert h["failure_rate_annual_by_tier"][tier] == pytest.approx(counts.get(tier, 0) / slots / years)
    contagion = (failures["cause"] != "liquidity").sum()
    assert h["contagion_share"] == pytest.approx(contagion / len(failures))
    assert h["contagion_share"] == pytest.approx(ts["contagion_failures"].sum() / ts["merchant_failures"].sum())
    for tier in TIER_NAMES:
        assert h["cash_days_mean_by_tier"][tier] == pytest.approx(ts[f"cash_days_{tier}"].mean())


def test_contagion_share_is_zero_without_failures():
    model = scripted_model(days=5)
    model.run()
    h = summary(model, model.results())["headline"]
    assert h["merchant_failures"] == 0 and h["contagion_share"] == 0.0
    assert h["failures_by_tier"] == {t: 0 for t in TIER_NAMES}
    assert h["failure_rate_annual_by_tier"] == {t: 0.0 for t in TIER_NAMES}


def test_write_outputs_gives_the_dashboard_the_failures_frame(scripted, tmp_path, monkeypatch):
    import sim.dashboard

    calls = []
    monkeypatch.setattr(sim.dashboard, "plot_dashboard", lambda *a, **kw: calls.append((a, kw)))
    info = write_outputs(scripted["model"], tmp_path)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(calls[0][1]["failures"], scripted["failures"])
    written = json.loads((tmp_path / "summary.json").read_text())["headline"]
    assert written["failures_by_tier"] == info["headline"]["failures_by_tier"]
    ts = pd.read_parquet(tmp_path / "timeseries.parquet")
    assert ts["failures_retailer"].dtype == np.int64


def test_new_columns_are_documented_with_their_kind():
    kinds = {"late_payables": "(stock, yuan)", "bank_limit": "(stock, yuan)", "bank_appetite": "(1 = normal)"}
    for tier in TIER_NAMES:
        kinds[f"failures_{tier}"] = "(flow, count"
        kinds[f"cash_days_{tier}"] = "(days)"
    for name, kind in kinds.items():
        assert kind in COLUMNS[name], name
    assert "stretch_days" in COLUMNS["late_payables"] and "stretch_days" in COLUMNS["trade_arrears"]
