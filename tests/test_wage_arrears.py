"""Wage arrears (欠薪): a merchant that cannot raise its wage bill from cash, credit lines or its
owner pays its staff late; the staff hold claims on it, paid first when cash comes back and
first in the estate if it fails (PRC Enterprise Bankruptcy Law art. 113)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.merchant import DISTRESSED, FAILED, NEVER, RETAILER, wage_waterfall
from sim.accounting import check_invariants, invariants
from tests.conftest import advance_to, make_model


def test_wage_waterfall_pays_from_cash_then_lines_then_the_owner():
    due = np.array([1000.0, 1000.0, 1000.0, 0.0, 500.0])
    cash = np.array([1500.0, 300.0, 0.0, 50.0, -20.0])
    credit = np.array([0.0, 400.0, 200.0, 0.0, 100.0])
    owner = np.array([0.0, 100.0, 300.0, 9.0, 0.0])
    from_cash, from_credit, from_owner, unpaid = wage_waterfall(due, cash, credit, owner)
    np.testing.assert_array_equal(from_cash, [1000.0, 300.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(from_credit, [0.0, 400.0, 200.0, 0.0, 100.0])
    np.testing.assert_array_equal(from_owner, [0.0, 100.0, 300.0, 0.0, 0.0])
    np.testing.assert_array_equal(unpaid, [0.0, 200.0, 500.0, 0.0, 400.0])


def _broke_retailer(model) -> tuple[int, np.ndarray]:
    """A retailer with staff, no cash, no credit line and an owner with nothing to spare; the
    money leaves for the outside sector, so the books still balance."""
    cs, ms, out = model.consumers, model.merchants, model.outside
    retailers = np.flatnonzero((ms.tier == RETAILER) & (ms.staff >= 2) & (ms.bank_drawn == 0) & (ms.scf_drawn == 0))
    f = int(retailers[0])
    out.cash += ms.cash[f] + cs.cash[ms.owner[f]]
    ms.cash[f] = cs.cash[ms.owner[f]] = 0.0
    ms.bank_limit[f] = ms.scf_limit[f] = 0.0
    staff = np.flatnonzero(cs.employed & (cs.employer == f))
    return f, staff


def test_a_merchant_that_cannot_pay_owes_its_staff_and_pays_them_first_when_cash_returns():
    model = make_model(consumers=800, merchants=10, days=60, check=True)
    advance_to(model, 3)
    cs, ms, out = model.consumers, model.merchants, model.outside
    f, staff = _broke_retailer(model)
    wages = cs.income[staff].copy()
    cash_before = cs.cash[staff].copy()
    received = model.supply.pay_wages(staff, wages)
    cs.cash[staff] += received
    # nothing to pay with: every yuan of the wage bill is owed
    np.testing.assert_array_equal(received, 0.0)
    np.testing.assert_allclose(cs.wage_claim[staff], wages)
    assert np.all(cs.wage_claim_on[staff] == f)
    assert ms.wage_arrears[f] == pytest.approx(wages.sum())
    assert ms.wage_arrears_day[f] == model.t
    assert model.supply.owner_funds()[f] == 0.0
    assert check_invariants(model) == []
    # cash comes back (an outside payment): the arrears are paid before anything else, pro rata
    half = 0.5 * wages.sum()
    ms.cash[f] += half
    out.cash -= half
    model.supply._pay_wage_arrears()
    np.testing.assert_allclose(cs.wage_claim[staff], 0.5 * wages)
    np.testing.assert_allclose(cs.cash[staff], cash_before + 0.5 * wages)
    assert ms.cash[f] == pytest.approx(0.0, abs=1e-9)
    assert ms.wage_arrears[f] == pytest.approx(0.5 * wages.sum())
    assert check_invariants(model) == []
    ms.cash[f] += 10 * wages.sum()
    out.cash -= 10 * wages.sum()
    model.supply._pay_wage_arrears()
    np.testing.assert_allclose(cs.cash[staff], cash_before + wages)
    assert ms.wage_arrears[f] == 0.0 and ms.wage_arrears_day[f] == NEVER
    assert np.all(cs.wage_claim[staff] == 0.0) and np.all(cs.wage_claim_on[staff] == -1)
    assert f not in model.supply.wage_claimants
    assert check_invariants(model) == []


def test_unpaid_wages_make_a_merchant_distressed_and_count_toward_failure():
    model = make_model(consumers=800, merchants=10, days=200, check=True)
    advance_to(model, 3)
    model.pos = model.calendar.pos(model.t)
    cs, ms = model.consumers, model.merchants
    f, staff = _broke_retailer(model)
    wages = cs.income[staff].copy()
    model.supply.pay_wages(staff, wages)
    model.supply.payments()                  # nothing to pay the arrears with
    assert ms.status[f] == DISTRESSED
    assert ms.wage_arrears[f] == pytest.approx(wages.sum())
    model.supply.defaults()                  # fresh arrears: not yet a failure
    assert ms.status[f] == DISTRESSED
    # arrears as old as failure_arrears_days, and an owner with nothing left: it fails, and the
    # estate (inventory at a fire-sale price, settlements, receivables) pays the staff first
    ms.wage_arrears_day[f] = model.t - model.cfg.merchants.failure_arrears_days
    before = cs.cash[staff].copy()
    model.supply.defaults()
    assert ms.status[f] == FAILED
    got = cs.cash[staff] - before
    assert got.sum() > 0
    np.testing.assert_allclose(got / wages, got.sum() / wages.sum())   # pro rata
    assert got.sum() <= wages.sum() + 1e-6
    assert ms.wage_arrears[f] == 0.0 and f not in model.supply.wage_claimants
    assert np.all(cs.wage_claim[staff] == 0.0)
    row = model.supply.failure_rows[-1]
    assert row["merchant_id"] == f
    assert row["creditor_losses"] >= wages.sum() - got.sum() - 1e-6
    assert check_invariants(model) == []


def _unpaid_staff(days: int = 60):
    """A small model on day 3 with a broke retailer that has just failed to pay its staff:
    ``(model, retailer, staff, their wages)``."""
    model = make_model(consumers=800, merchants=10, days=days, check=True)
    advance_to(model, 3)
    f, staff = _broke_retailer(model)
    wages = model.consumers.income[staff].copy()
    model.supply.pay_wages(staff, wages)
    return model, f, staff, wages


def test_the_estate_pays_the_staff_before_the_other_creditors():
    model, f, staff, wages = _unpaid_staff()
    cs, ms, out = model.consumers, model.merchants, model.outside
    owed = wages.sum()
    # an estate worth a quarter of the wage arrears: all of it goes to the staff, pro rata
    pool = 0.25 * owed
    ms.cash[f] = pool
    out.cash -= pool
    ms.inventory[f] = ms.fixed_assets[f] = 0.0
    ms.settlement_due[:, :, f] = 0.0
    before = cs.cash[staff].copy()
    lost = model.supply._pay_staff_from_estate(f)
    np.testing.assert_allclose(cs.cash[staff] - before, 0.25 * wages)
    assert lost == pytest.approx(0.75 * owed)
    assert ms.cash[f] == pytest.approx(0.0, abs=1e-9)
    assert np.all(cs.wage_claim[staff] == 0.0) and ms.wage_arrears[f] == 0.0


def test_an_estate_larger_than_the_wage_arrears_pays_them_in_full_and_keeps_the_rest():
    model, f, staff, wages = _unpaid_staff()
    cs, ms, out = model.consumers, model.merchants, model.outside
    ms.cash[f] = 3 * wages.sum()
    out.cash -= 3 * wages.sum()
    before = cs.cash[staff].copy()
    assert model.supply._pay_staff_from_estate(f) == 0.0
    np.testing.assert_allclose(cs.cash[staff] - before, wages)
    assert ms.cash[f] == pytest.approx(2 * wages.sum())
    assert check_invariants(model) == []


def test_claims_that_do_not_match_the_wage_arrears_break_the_books():
    model, f, staff, _ = _unpaid_staff()
    cs = model.consumers
    assert invariants(model) == []
    cs.wage_claim[staff[0]] += 1.0          # a claim with no debt behind it
    names = [b.name for b in invariants(model)]
    assert any("wage claims" in name for name in names)
    cs.wage_claim[staff[0]] -= 1.0
    cs.wage_claim_on[staff[0]] = -1          # a claim on nobody
    names = [b.name for b in invariants(model)]
    assert any("wage claims" in name for name in names)


def test_net_worth_counts_every_asset_and_every_liability_wage_arrears_included():
    from agents.merchant import MerchantState

    ms = MerchantState.create(np.array([RETAILER]), np.ones(1), np.array([1.25]), 3, 2)
    ms.cash[:], ms.inventory[:], ms.fixed_assets[:], ms.trade_receivables[:] = 1000.0, 500.0, 300.0, 200.0
    ms.settlement_due[0, 1, 0], ms.settlement_due[1, 2, 0] = 40.0, 60.0
    ms.trade_payables[:], ms.bank_drawn[:], ms.scf_drawn[:], ms.wage_arrears[:] = 700.0, 150.0, 90.0, 35.0
    # 1000 + 500 + 300 + 100 + 200 - 700 - 150 - 90 - 35
    np.testing.assert_array_equal(ms.net_worth(), [1125.0])
