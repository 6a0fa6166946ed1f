"""Agents are Mesa agents whose attributes are live views of the model's arrays."""

from __future__ import annotations

import mesa
import numpy as np
from conftest import make_model

from agents import Consumer, Lender, Merchant


def test_agents_by_type_the_mesa_way():
    model = make_model(consumers=150, merchants=6, days=10)
    assert isinstance(model, mesa.Model)
    consumers = model.agents_by_type[Consumer]
    assert len(consumers) == 150
    assert len(model.agents_by_type[Merchant]) == 6
    assert sorted(a.name for a in model.agents_by_type[Lender]) == ["baitiao", "huabei"]
    assert sorted(a.index for a in consumers) == list(range(150))


def test_views_read_and_write_live_state():
    model = make_model(consumers=100, merchants=4, days=30)
    by_index = {a.index: a for a in model.agents_by_type[Consumer]}
    agent = by_index[7]
    for _ in range(20):
        model.step()
    assert agent.cash == model.consumers.cash[7]          # reads today's value, not a copy
    agent.cash = 1234.5                                   # writes through to the array
    assert model.consumers.cash[7] == 1234.5
    account = agent.account("baitiao")
    assert account["fixed_limit"] == model.accounts.fixed_limit[0, 7]
    assert account["balance"] == model.accounts.balance[0, 7]
    merchant = next(iter(model.agents_by_type[Merchant]))
    assert merchant.tier == "retailer" and merchant.inventory == model.merchants.inventory[merchant.index]
    lender = next(a for a in model.agents_by_type[Lender] if a.name == "baitiao")
    assert np.array_equal(lender.weights, model.lenders.weights[0])
    assert lender.equity == float(model.lenders.equity[0])


def test_model_runs_through_mesa_step_counter():
    model = make_model(consumers=100, merchants=4, days=12, burn_in=3)
    model.run_model()   # Mesa's own loop: step() until running is False
    assert model.steps == 15 and not model.running
    assert len(model.results()["timeseries"]) == 12


def test_merchants_sit_on_the_supply_network_space():
    import mesa.discrete_space

    model = make_model(consumers=300, merchants=12, days=5)
    assert isinstance(model.space, mesa.discrete_space.Network)
    for merchant in model.agents_by_type[Merchant]:
        assert merchant.cell.coordinate == merchant.index and merchant in merchant.cell.agents
        # a cell's neighbours are the merchant's buyers in the supply network
        buyers = {c.coordinate for c in merchant.cell.neighborhood}
        assert buyers == set(model.network.buyers_of(merchant.index).tolist())
