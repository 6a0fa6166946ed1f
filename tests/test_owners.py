"""Owners: every merchant is a household business whose owner (a consumer) receives its payouts,
tops it up from their own cash while it is worth saving, and loses the business income when it
fails."""

from __future__ import annotations

import numpy as np
import pytest

from agents.labour import OUTSIDE, SELF_EMPLOYED
from agents.merchant import (FAILED, MANUFACTURER, RETAILER, MerchantState, cash_budget_gap, cash_target,
                             owner_available, owner_flows)
from sim.accounting import check_invariants
from tests.conftest import advance_to, make_model


def two_retailers() -> MerchantState:
    ms = MerchantState.create(np.array([RETAILER, RETAILER]), np.ones(2), np.array([1.25, 1.25]), 3, 1)
    ms.expected_sales[:] = 1000.0          # yuan/day: cost of goods 800 a day
    ms.fixed_cost[:] = 100.0
    ms.wage_bill[:] = 3000.0               # 100 a day
    ms.buffer_days[:] = 10.0               # target: 10 x 1000 = 10,000
    ms.inventory[:] = 5000.0
    return ms


def test_cash_target_is_buffer_days_of_outflows():
    ms = two_retailers()
    np.testing.assert_allclose(cash_target(ms), [10_000.0, 10_000.0])


def test_payout_of_cash_above_target_and_top_up_from_the_owner():
    ms = two_retailers()
    ms.cash[:] = [14_000.0, 4_000.0]
    flow = owner_flows(ms, topup_share=0.5, available=np.array([1e9, 1e9]), keep_back=np.array([1_000.0, 0.0]))
    # 14,000 - 10,000 - 1,000 kept back for known invoices; half of the 6,000 shortfall put back
    np.testing.assert_allclose(flow, [3_000.0, -3_000.0])
    # the owner puts in no more than they have to spare
    flow = owner_flows(ms, 0.5, np.array([0.0, 1_200.0]), np.zeros(2))
    np.testing.assert_allclose(flow, [4_000.0, -1_200.0])
    ms.status[0] = FAILED
    assert owner_flows(ms, 0.5, np.array([1e9, 1e9]), np.zeros(2))[0] == 0.0


def test_owner_stops_topping_up_when_equity_is_negative():
    ms = two_retailers()
    ms.cash[:] = 1_000.0
    ms.trade_payables[:] = [0.0, 7_000.0]   # the second is worth 1,000 + 5,000 - 7,000 < 0
    avail = owner_available(ms, owner_cash=np.array([9_000.0, 9_000.0]), owner_reserve=np.array([2_000.0, 2_000.0]))
    np.testing.assert_allclose(avail, [7_000.0, 0.0])


def test_cash_budget_keeps_back_the_deepest_cumulative_shortfall():
    ms = MerchantState.create(np.array([RETAILER, 1, MANUFACTURER]), np.ones(3), np.array([1.25, 1.25, 1.25]), 3, 1)
    ms.expected_sales[:] = 1000.0
    ms.fixed_cost[:] = 10.0
    ms.wage_bill[:] = 300.0                   # 10 a day
    # three days ahead: the retailer owes 500, 3,000, 100 (a promotion's invoices on day 2)
    payables = np.array([[500.0, 3000.0, 100.0], [900.0, 900.0, 900.0], [99.0, 99.0, 99.0]])
    receivables = np.array([[9.0, 9.0, 9.0], [0.0, 2000.0, 2000.0], [0.0, 0.0, 0.0]])
    gap = cash_budget_gap(ms, payables, receivables)
    # retailer: net flows -480, +2,020, -880 -> cumulative -480, 1,540, 660: keeps 1,540;
    # distributor: 920, -1,080, -1,080 -> 920 at its deepest; manufacturer: 119 a day of
    # raw-input invoices and costs, nothing in -> 357
    np.testing.assert_allclose(gap, [1540.0, 920.0, 357.0])


def test_every_merchant_has_an_owner_who_lives_on_its_payouts():
    model = make_model(consumers=600, merchants=8, days=70, check=True)
    cs, ms = model.consumers, model.merchants
    owners = ms.owner.copy()
    assert np.unique(owners).size == ms.m and np.all(owners >= 0)
    assert np.all(cs.employer[owners] == SELF_EMPLOYED) and cs.employed[owners].all()
    np.testing.assert_allclose(cs.base_income[owners], np.maximum(ms.owner_income, 0.0))
    # a pay day pays owners nothing (they live on month-end payouts): their cash never rises
    # before the first month end, while other consumers' does on their pay days
    others = np.flatnonzero(cs.employed & (cs.employer == OUTSIDE))
    rose_owner = rose_other = False
    while model.t < model.calendar.index("2026-01-31"):
        owner_cash, other_cash = cs.cash[owners].copy(), cs.cash[others].copy()
        model.step()
        rose_owner |= bool(np.any(cs.cash[owners] > owner_cash + 1e-9))
        rose_other |= bool(np.any(cs.cash[others] > other_cash + 1e-9))
    assert rose_other and not rose_owner
    check_invariants(model)


def test_month_end_settlement_moves_the_flow_from_business_to_owner():
    model = make_model(consumers=600, merchants=8, days=70, check=True)
    cs, ms = model.consumers, model.merchants
    advance_to(model, model.calendar.index("2026-01-31"))
    model.pos = model.calendar.pos(model.t)
    owners = ms.owner.copy()
    owner_cash, business_cash, paid_before = cs.cash[owners].copy(), ms.cash.copy(), ms.payouts.copy()
    expected = owner_flows(ms, model.cfg.merchants.owner_topup_share, model.supply.owner_funds(),
                           model.supply._cash_budget_gap())
    model.supply._settle_with_owners()
    np.testing.assert_allclose(ms.payouts - paid_before, expected)
    np.testing.assert_allclose(business_cash - ms.cash, expected)
    np.testing.assert_allclose(cs.cash[owners] - owner_cash, expected)
    assert (expected > 0).any()
    # the owner's business income follows the payouts
    np.testing.assert_allclose(cs.base_income[owners], np.maximum(ms.owner_income, 0.0))
    assert check_invariants(model) == []


def test_a_failure_costs_the_owner_the_business_income():
    model = make_model(consumers=600, merchants=8, days=40, check=True)
    cs, ms = model.consumers, model.merchants
    advance_to(model, 5)
    f = int(np.flatnonzero(ms.tier == RETAILER)[0])
    owner = int(ms.owner[f])
    model.supply.force_failure(f)
    assert ms.status[f] == FAILED and ms.owner[f] == -1
    assert not cs.employed[owner] and cs.employer[owner] == OUTSIDE
    assert cs.base_income[owner] == cs.outside_wage[owner]
    assert cs.income[owner] == pytest.approx(model.cfg.labour.benefit_replacement * cs.outside_wage[owner]
                                             * model.income_index[model.pos])
    model.run()
    check_invariants(model)


def test_top_ups_come_out_of_the_owners_cash():
    model = make_model(consumers=600, merchants=8, days=40, check=True)
    cs, ms = model.consumers, model.merchants
    advance_to(model, model.calendar.index("2026-01-31"))
    f = int(np.flatnonzero(ms.tier == RETAILER)[0])
    owner = int(ms.owner[f])
    cs.cash[owner] += 50_000.0                # a saver, with a business short of cash:
    model.outside.cash -= 50_000.0
    ms.fixed_assets[f] += 10 * cash_target(ms)[f]   # a solvent business (real assets: the books balance)
    drain = ms.cash[f] - 0.2 * cash_target(ms)[f]
    ms.cash[f] -= drain
    model.outside.cash += drain
    owner_cash = cs.cash[owner]
    business_cash = ms.cash[f]
    model.step()                              # month end
    topup = -ms.payouts[f]
    assert topup > 0
    assert ms.cash[f] > business_cash          # the business got cash ...
    assert cs.cash[owner] < owner_cash - topup + 1e-6   # ... out of the owner's own
    check_invariants(model)


def test_without_owner_households_payouts_go_to_the_outside_sector():
    """The counterfactual switch: businesses owned by outside investors. No consumer owns one,
    payouts leave the economy, and top-ups come from the outside sector."""
    model = make_model(consumers=600, merchants=8, days=40, sets=["merchants.owner_households=false"], check=True)
    cs, ms = model.consumers, model.merchants
    assert np.all(ms.owner == -1) and not np.any(cs.employer == SELF_EMPLOYED)
    assert np.all(np.isinf(model.supply.owner_funds()[ms.net_worth() >= 0]))
    advance_to(model, model.calendar.index("2026-01-31"))
    model.pos = model.calendar.pos(model.t)
    consumer_cash, outside_cash = cs.cash.copy(), model.outside.cash
    expected = owner_flows(ms, model.cfg.merchants.owner_topup_share, model.supply.owner_funds(),
                           model.supply._cash_budget_gap())
    model.supply._settle_with_owners()
    np.testing.assert_array_equal(cs.cash, consumer_cash)
    assert model.outside.cash - outside_cash == pytest.approx(expected.sum())
    assert check_invariants(model) == []
