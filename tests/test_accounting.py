"""Stock-flow accounting (docs/model.md 8) holds every day, and a breach is loud."""

from __future__ import annotations

import pytest
from conftest import make_model

from sim.accounting import InvariantError, balance_sheets, check_invariants, invariants


@pytest.mark.parametrize("scenario", ["baseline", "tightening"])
def test_invariants_hold_every_day(scenario):
    model = make_model(consumers=600, merchants=10, days=260, burn_in=30, scenario=scenario, check=True)
    model.run()  # check=True raises on the first day an invariant breaks
    assert invariants(model) == []
    ts = model.results()["timeseries"]
    assert ts["charge_offs"].sum() > 0 and ts["limit_cuts"].sum() > 0  # the books saw real flows


def test_total_net_worth_equals_real_assets():
    model = make_model(consumers=300, days=40)
    model.run()
    sheets = balance_sheets(model)
    ms = model.merchants
    assert ms.fixed_assets.sum() > 0
    provisions = model.lenders.provisions.sum()
    assert provisions > 0   # the lenders' net worth is net of their loss allowance ...
    # ... so total net worth equals real assets on the gross basis (provisions added back)
    assert sum(sheets.values()) + provisions == pytest.approx(ms.inventory.sum() + ms.fixed_assets.sum(),
                                                              rel=1e-9)
    # total cash is zero: the outside sector holds minus everyone else's
    total = (model.consumers.cash.sum() + model.merchants.cash.sum() + model.lenders.cash.sum()
             + model.outside.cash)
    assert abs(total) < 1e-6 * abs(model.outside.cash)


def test_breach_is_reported_with_day_and_figures():
    model = make_model(consumers=200, days=20, check=True)
    for _ in range(5):
        model.step()
    model.consumers.cash[3] += 100.0  # money from nowhere
    with pytest.raises(InvariantError) as err:
        model.step()
    msg = str(err.value)
    assert "day 5" in msg and "2026-01-06" in msg and "total cash" in msg and "100.0" in msg


def test_receivables_must_match_balances():
    model = make_model(consumers=200, days=20)
    for _ in range(3):
        model.step()
    model.accounts.balance[0, 5] += 50.0
    model.accounts.unbilled[0, 5] += 50.0
    names = [b.name for b in check_invariants(model, raise_on_breach=False)]
    assert any("receivables vs consumer balances" in n for n in names)
    assert any("net worth" in n for n in names)
