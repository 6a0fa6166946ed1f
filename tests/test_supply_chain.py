"""Behaviour tests of the supply chain (docs/model.md sections 2, 3, 7 and 8): trade credit, the payment
waterfall, rationing, supply-chain finance, failures and contagion, layoffs, re-linking and
entry, and a heavy credit crunch travelling up the chain.

The pattern follows ``test_mechanisms.py``: small economies on hand-built supply networks
(written to ``tmp_path`` and loaded with ``network.path``), state set by hand at a chosen
moment, then the model's own phases, and assertions on the economics. Operating-loss shocks
are switched off (``merchants.loss_shock_rate=0``) so that only the test's events fail
merchants. Hand-made state keeps the books balanced: cash taken from a merchant goes to the
outside sector, a bank line drawn is also bank credit of the outside sector, an invoice is a
receivable of its supplier and a payable of its buyer. Every model is built with
``check=True`` (the invariants of docs/model.md 8 are checked at the end of every day) and checked
once more at the end.

Node ids are the order of the node list of each network (the model numbers merchants in
the order of the file's node table).
"""

from __future__ import annotations

import dataclasses

from pathlib import Path

import numpy as np
import pytest
from conftest import advance_to, make_model

import sim.supply_chain as supply_chain
from agents.merchant import ACTIVE, DISTRIBUTOR, FAILED, MANUFACTURER, NEVER, RETAILER, cash_target, daily_outflows
from sim.accounting import check_invariants
from sim.config import ConfigError
from sim.network import SupplyNetwork, save_network
from sim.outputs import failures_frame, summary

DATA = Path(__file__).parent / "data"
CALM = ["merchants.loss_shock_rate=0"]   # no random operating losses: only the test fails merchants


# --------------------------------------------------------------------------- helpers


def write_network(path: Path, nodes: list[tuple[str, str, float]],
                  edges: list[tuple[str, str, float]]) -> str:
    """Write a hand-built network (``nodes``: name, tier, size; ``edges``: supplier, buyer,
    weight) as GraphML or CSV (by the suffix of ``path``); returns the path to load."""
    index = {name: i for i, (name, _, _) in enumerate(nodes)}
    tier = [{"retailer": RETAILER, "distributor": DISTRIBUTOR, "manufacturer": MANUFACTURER}[t]
            for _, t, _ in nodes]
    net = SupplyNetwork(tier=tier, size=[s for _, _, s in nodes], names=[n for n, _, _ in nodes],
                        supplier=[index[s] for s, _, _ in edges], buyer=[index[b] for _, b, _ in edges],
                        weight=[w for _, _, w in edges])
    save_network(net, path)
    return str(path)


def chain_model(tmp_path, nodes, edges, consumers=1000, days=60, sets=(), name="chain.graphml"):
    path = write_network(tmp_path / name, nodes, edges)
    return make_model(consumers=consumers, days=days, sets=[f"network.path={path}", *CALM, *sets],
                      check=True)


def supplier_failure(*targets: int, start: str) -> str:
    """``shocks=[...]``: merchants ``targets`` fail on ``start`` (a ``supplier_failure`` shock each)."""
    tables = ", ".join(f'{{kind="supplier_failure", start="{start}", days=1, target={t}}}' for t in targets)
    return f"shocks=[{tables}]"


def set_merchant_cash(model, i: int, value: float) -> None:
    """Set a merchant's cash; the difference goes to (or comes from) the outside sector."""
    ms = model.merchants
    model.outside.cash += float(ms.cash[i] - value)
    ms.cash[i] = value


def exhaust_bank_line(model, i: int) -> None:
    """The merchant's bank line is fully drawn and the money gone (an earlier loss paid to the
    outside sector): the bank's claim grows with the draw, the merchant's cash does not."""
    ms = model.merchants
    extra = max(float(ms.bank_limit[i] - ms.bank_drawn[i]), 0.0)
    ms.bank_drawn[i] += extra
    model.outside.bank_lent += extra


def drain(model, i: int) -> None:
    """No cash and no bank line left: the merchant's buffers are gone."""
    set_merchant_cash(model, i, 0.0)
    exhaust_bank_line(model, i)


def edges_between(model, supplier: int, buyer: int) -> np.ndarray:
    book = model.supply.book
    n = book.n
    return np.flatnonzero((book.supplier[:n] == supplier) & (book.buyer[:n] == buyer))


def live_edges(model, supplier: int | None = None, buyer: int | None = None) -> np.ndarray:
    book = model.supply.book
    n = book.n
    keep = book.live[:n].copy()
    if supplier is not None:
        keep &= book.supplier[:n] == supplier
    if buyer is not None:
        keep &= book.buyer[:n] == buyer
    return np.flatnonzero(keep)


def rows_of(model, merchant: int) -> list[dict]:
    return [r for r in model.failure_rows if r["merchant_id"] == merchant]


def on_day(model, day: int, before=None, after=None):
    """Wrap ``SupplyChain.payments`` so that ``before()`` runs at the start of day ``day``'s
    payments (phase 7) and ``after()`` right after them."""
    original = model.supply.payments

    def payments():
        if model.t == day and before is not None:
            before()
        original()
        if model.t == day and after is not None:
            after()

    model.supply.payments = payments


def books_balance(model) -> None:
    assert check_invariants(model, raise_on_breach=False) == []


def run_to_end(model) -> None:
    while model.running:
        model.step()


# --------------------------------------------------------------------------- networks

# manufacturer -> distributor -> two retailers; R1 is three quarters of D's business
CHAIN_NODES = [("M", "manufacturer", 1.0), ("D", "distributor", 1.0), ("R1", "retailer", 3.0),
               ("R2", "retailer", 1.0)]
CHAIN_EDGES = [("M", "D", 1.0), ("D", "R1", 1.0), ("D", "R2", 1.0)]
M, D, R1, R2 = 0, 1, 2, 3

# the chain plus a second distributor D2 with a big retailer R3: when R1 fails, most of its
# customers move to R3, so D loses R1's business as well as R1's debt
CASCADE_NODES = CHAIN_NODES + [("D2", "distributor", 1.0), ("R3", "retailer", 8.0)]
CASCADE_EDGES = CHAIN_EDGES + [("M", "D2", 1.0), ("D2", "R3", 1.0)]

# two manufacturers (creditors of D in shares 0.6 / 0.4) -> D -> two retailers of unequal size
FAN_NODES = [("M1", "manufacturer", 1.0), ("M2", "manufacturer", 1.0), ("D", "distributor", 1.0),
             ("R1", "retailer", 2.0), ("R2", "retailer", 1.0)]
FAN_EDGES = [("M1", "D", 0.6), ("M2", "D", 0.4), ("D", "R1", 1.0), ("D", "R2", 1.0)]
FM1, FM2, FD, FR1, FR2 = 0, 1, 2, 3, 4


# --------------------------------------------------------------------------- 1. contagion


def retailer_failure_run(tmp_path, fail: bool, drain_distributor: bool, seed: int = 1):
    """The cascade network; on day 10 (2026-01-11) R1 is insolvent (no cash, its bank line
    drawn and lost) and, if ``fail``, a ``supplier_failure`` shock fails it.
    ``drain_distributor``: D has no buffers left either (no cash, no bank line). Returns the
    model after 90 days and what D was owed by R1 and held just before and after R1's estate
    was settled."""
    sets = [f"run.seed={seed}"] + ([supplier_failure(R1, start="2026-01-11")] if fail else [])
    model = chain_model(tmp_path, CASCADE_NODES, CASCADE_EDGES, days=90, sets=sets)
    while model.t < 10:
        model.step()
    if fail:  # (drained, R1 would also fail on its own: it is insolvent)
        drain(model, R1)
    if drain_distributor:
        drain(model, D)
    else:  # a distributor with a deep buffer: five months of outflows in cash
        ms = model.merchants
        ms.buffer_days[D] = 150.0
        set_merchant_cash(model, D, float(cash_target(ms)[D]))
    seen = {}
    original = model.supply._fail

    def fail_spy(f, arrears, **kw):
        if f == R1:
            book, ms = model.supply.book, model.merchants
            seen.update(owed=float(book.owed()[edges_between(model, D, R1)].sum()),
                        receivables=float(ms.trade_receivables[D]), cash=float(ms.cash[D]))
        original(f, arrears, **kw)
        if f == R1:
            seen.update(receivables_after=float(model.merchants.trade_receivables[D]),
                        cash_after=float(model.merchants.cash[D]))

    model.supply._fail = fail_spy
    model.step()   # day 10
    if fail:
        assert model.merchants.status[R1] == FAILED
    run_to_end(model)
    books_balance(model)
    return model, seen


def test_retailer_failure_writes_off_its_suppliers_receivable_and_a_weak_supplier_fails_as_contagion(tmp_path):
    # a deep buffer: D takes the loss (and the loss of R1's business) and survives
    sturdy, seen = retailer_failure_run(tmp_path, fail=True, drain_distributor=False)
    root = rows_of(sturdy, R1)
    assert len(root) == 1
    root = root[0]
    assert str(root["date"]) == "2026-01-11" and root["tier"] == "retailer"
    assert root["cause"] == "liquidity" and root["generation"] == 0 and root["parents"] == []
    # D's receivable on R1 is gone from its books; what it got back is a small recovery
    recovered = seen["cash_after"] - seen["cash"]
    loss = seen["owed"] - recovered
    assert seen["owed"] > 0
    assert seen["receivables"] - seen["receivables_after"] == pytest.approx(seen["owed"])
    assert 0 <= recovered < 0.5 * seen["owed"] and loss > 0.5 * seen["owed"]
    assert sturdy.supply.book.owed()[edges_between(sturdy, D, R1)].sum() == 0
    assert root["creditor_losses"] >= loss - 1e-6
    assert sturdy.merchants.loss_day[D] == 10
    assert not rows_of(sturdy, D) and sturdy.merchants.status[D] != FAILED

    # no buffers: the same loss fails D within the contagion window, as R1's child
    weak, _ = retailer_failure_run(tmp_path, fail=True, drain_distributor=True)
    root = rows_of(weak, R1)[0]
    child = rows_of(weak, D)
    assert len(child) == 1
    child = child[0]
    # D first stretches its own payables (stretch_days), so its formal failure can come after
    # the contagion window; the window counts back from the onset of its distress
    window = weak.cfg.merchants.contagion_window_days
    waited = int((child["date"] - root["date"]) / np.timedelta64(1, "D"))
    assert 0 <= waited <= window + weak.cfg.merchants.failure_arrears_days
    assert child["cause"] == "counterparty" and child["tier"] == "distributor"
    assert child["parents"] == [R1] and child["generation"] == 1
    assert child["cascade_id"] == root["cascade_id"]
    # ... as recorded in the failures table
    table = failures_frame(weak).set_index("merchant_id")
    assert table.loc[D, "cause"] == "counterparty" and list(table.loc[D, "parents"]) == [R1]
    assert table.loc[D, "generation"] == 1 and table.loc[D, "cascade_id"] == table.loc[R1, "cascade_id"]
    ts = weak.results()["timeseries"]
    assert ts["contagion_failures"].sum() >= 1 and ts["merchant_failures"].sum() == len(weak.failure_rows)

    # control: the same weak D without R1's failure survives (the counterparty loss did it)
    control, _ = retailer_failure_run(tmp_path, fail=False, drain_distributor=True)
    assert not control.failure_rows and control.merchants.status[D] != FAILED


def test_a_loss_small_against_net_worth_is_contagion_when_it_is_half_the_shortfall(tmp_path):
    """A counterparty loss is material against net worth (``counterparty_materiality``) or
    against the unpaid debts that make the creditor fail (``counterparty_shortfall_share``)."""
    model = chain_model(tmp_path, CHAIN_NODES, CHAIN_EDGES, days=5)
    supply, ms, t = model.supply, model.merchants, model.t
    assert 1000.0 < 0.1 * ms.net_worth()[D]                 # immaterial against D's net worth
    window = model.cfg.merchants.contagion_window_days
    supply.loss_sources[D] = {R1: (t, 1000.0, False)}
    assert supply._attribute(D, shortfall=2000.0) == ("counterparty", [R1])   # exactly half
    assert supply._attribute(D, shortfall=2000.1) == ("liquidity", [])
    assert supply._attribute(D, shortfall=0.0) == ("liquidity", [])
    supply.loss_sources[D] = {R1: (t - window - 1, 1000.0, False)}           # before the window
    assert supply._attribute(D, shortfall=1000.0) == ("liquidity", [])
    supply.loss_sources[D] = {R1: (t - window, 10.0, True)}                  # material against net worth
    assert supply._attribute(D, shortfall=1e9) == ("counterparty", [R1])
    # a buyer's late payment beyond the stretch window counts the same way
    supply.loss_sources.pop(D)
    book = supply.book
    edge = edges_between(model, D, R2)[0]
    book.arrears[edge] = 1000.0
    book.arrears_day[edge] = t - model.cfg.merchants.stretch_days
    assert supply._attribute(D, shortfall=2000.0) == ("counterparty", [R2])
    assert supply._attribute(D, shortfall=2001.0) == ("liquidity", [])


# --------------------------------------------------------------------------- 2. waterfall


@pytest.mark.parametrize("stage", ["cash", "buffer", "stretch", "bank", "scf", "owner", "arrears"])
def test_payment_waterfall_cash_then_stretching_then_bank_scf_owner_then_arrears(tmp_path, stage):
    """On day 12 D owes its two manufacturers a wave of invoices; it holds 200,000 in cash, a
    300,000 bank line and an SCF line. A fresh wave beyond its cash is stretched (paid late,
    pro rata) before any line is drawn; a wave of arrears older than ``stretch_days`` is
    pressing: paid from cash, then the bank line, the SCF line and the owner's spare cash, and
    only the rest stays in arrears. Sized to end in each stage."""
    # D keeps no buffer back: it pays suppliers whenever it has cash
    model = chain_model(tmp_path, FAN_NODES, FAN_EDGES, days=20, sets=["merchants.protected_cash_share=0"])
    ms, book, cs = model.merchants, model.supply.book, model.consumers
    ms.scf_enrolled[FD] = True
    day, cash, bank, spare = 12, 200_000.0, 300_000.0, 50_000.0
    edges = np.concatenate([edges_between(model, FM1, FD), edges_between(model, FM2, FD)])
    owner = int(ms.owner[FD])
    got = {}

    def before():
        slot = model.t % model.supply.slots
        assert ms.bank_drawn[FD] == 0 and ms.scf_drawn[FD] == 0 and book.arrears[edges].sum() == 0
        ms.fixed_cost[FD] = 0.0          # only the invoices draw on the waterfall today
        set_merchant_cash(model, FD, cash)
        if stage == "buffer":   # now D keeps its whole buffer target, which equals its cash
            model.supply.p = dataclasses.replace(model.supply.p, protected_cash_share=1.0)
            ms.buffer_days[FD] = cash / daily_outflows(ms)[FD]
        ms.bank_limit[FD] = bank
        # the owner has ``spare`` above their reserve in the owner stage, nothing otherwise
        reserve = model.cfg.consumers.reserve_months * cs.income[owner]
        target = reserve + (spare if stage == "owner" else 0.0)
        model.outside.cash += cs.cash[owner] - target
        cs.cash[owner] = target
        appetite = min(model.lenders.appetite[model.platform], 1.0)
        scf = model.cfg.merchants.scf_advance_rate * appetite * (ms.trade_receivables[FD] +
                                                                 ms.settlement_receivable()[FD])
        assert scf > bank
        total = {"cash": 0.5 * cash, "buffer": 0.5 * cash, "stretch": cash + 0.5 * bank, "bank": cash + 0.5 * bank,
                 "scf": cash + bank + 0.5 * scf, "owner": cash + bank + scf + 0.5 * spare,
                 "arrears": cash + bank + scf + 100_000.0}[stage]
        regular = book.due[slot, edges].sum()
        wave = total - regular
        assert wave > 0
        # the wave, 3/4 from M1 and 1/4 from M2 (not the 0.6 / 0.4 of the regular purchases):
        # invoices due today, or (pressing stages) arrears overdue for stretch_days
        old = stage in ("bank", "scf", "owner", "arrears")
        for e, share in zip(edges, (0.75, 0.25)):
            if old:
                book.arrears[e] += share * wave
                book.arrears_day[e] = model.t - model.cfg.merchants.stretch_days
            else:
                book.due[slot, e] += share * wave
                book.outstanding[e] += share * wave
            ms.trade_receivables[book.supplier[e]] += share * wave
        ms.trade_payables[FD] += wave
        ms.inventory[FD] += wave          # the goods those invoices bought: D stays solvent
        payable = book.due[slot, edges] + book.arrears[edges]
        got.update(total=total, scf_limit=scf, payable=payable.copy(), owner_cash=float(cs.cash[owner]),
                   receivables=float(ms.trade_receivables[FD]))

    def after():
        got.update(cash=float(ms.cash[FD]), bank=float(ms.bank_drawn[FD]), scf=float(ms.scf_drawn[FD]),
                   scf_limit_used=float(ms.scf_limit[FD]), arrears=book.arrears[edges].copy(),
                   overdraft=int(ms.overdraft_day[FD]), owner_paid=got["owner_cash"] - float(cs.cash[owner]),
                   received=got["receivables"] - float(ms.trade_receivables[FD]))

    on_day(model, day, before, after)
    while model.t <= day:
        model.step()
    books_balance(model)

    total, scf_limit = got["total"], got["scf_limit"]
    assert got["scf_limit_used"] == pytest.approx(scf_limit)
    # what D's own buyers paid it today arrives after its own payments: its cash afterwards
    own_cash_left = got["cash"] - got["received"]
    assert got["overdraft"] == NEVER   # never an emergency overdraft: arrears come first
    drawn = {"bank": got["bank"], "scf": got["scf"], "owner": got["owner_paid"]}
    expected = {"cash": dict(bank=0, scf=0, owner=0, arrears=0.0),
                "buffer": dict(bank=0, scf=0, owner=0, arrears=total),
                "stretch": dict(bank=0, scf=0, owner=0, arrears=total - cash),
                "bank": dict(bank=total - cash, scf=0, owner=0, arrears=0.0),
                "scf": dict(bank=bank, scf=total - cash - bank, owner=0, arrears=0.0),
                "owner": dict(bank=bank, scf=scf_limit, owner=total - cash - bank - scf_limit, arrears=0.0),
                "arrears": dict(bank=bank, scf=scf_limit, owner=0,
                                arrears=total - cash - bank - scf_limit)}[stage]
    for key in ("bank", "scf", "owner"):
        assert drawn[key] == pytest.approx(expected[key], abs=1e-6), key
    assert got["arrears"].sum() == pytest.approx(expected["arrears"], abs=1e-6)
    left = {"cash": cash - total, "buffer": cash}.get(stage, 0.0)
    assert own_cash_left == pytest.approx(left, abs=1e-6)
    if expected["arrears"] > 0:
        # what is left unpaid is shared pro rata to what each creditor was owed
        np.testing.assert_allclose(got["arrears"], got["payable"] * expected["arrears"] / total, rtol=1e-9)
        assert got["payable"][0] > 2 * got["payable"][1]   # two creditors, unequal claims


# --------------------------------------------------------------------------- 3. rationing


def test_supplier_short_of_stock_ships_each_buyer_the_same_share_of_its_order(tmp_path, monkeypatch):
    """On day 12 D has stock for 40% of what its two retailers order: each gets 40% of its order."""
    model = chain_model(tmp_path, FAN_NODES, FAN_EDGES, days=20)
    ms, book = model.merchants, model.supply.book
    day = 12
    seen = {}
    original = supply_chain.place_orders

    def place_orders(book_, order_by_buyer, credit_stop):
        orders = original(book_, order_by_buyer, credit_stop)
        if model.t == day:
            n = book_.n
            mine = np.flatnonzero(book_.supplier[:n] == FD)
            demand = orders[mine].sum()
            # goods at cost are net worth of the merchant and total inventory alike: the books
            # still balance
            ms.inventory[FD] = 0.4 * demand / ms.markup[FD]
            seen.update(orders=orders.copy(), mine=mine, demand=demand)
        return orders

    monkeypatch.setattr(supply_chain, "place_orders", place_orders)
    while model.t <= day:
        model.step()
    books_balance(model)
    mine, orders = seen["mine"], seen["orders"]
    # what D could not ship stays on back-order (less a thirtieth cancelled a day) ...
    keep = 1 - 1 / model.cfg.merchants.backorder_days
    np.testing.assert_allclose(book.backlog[mine], 0.6 * orders[mine] * keep, rtol=1e-9)
    assert np.all(book.rationed_since[mine] == day)
    assert sorted(book.buyer[mine].tolist()) == [FR1, FR2]
    assert np.all(orders[mine] > 0)
    assert orders[edges_between(model, FD, FR1)].sum() > 1.3 * orders[edges_between(model, FD, FR2)].sum()
    # shipped today: the invoices written today, due trade_terms_days later
    slot = (day + model.cfg.merchants.trade_terms_days) % model.supply.slots
    shipped = book.due[slot, mine]
    np.testing.assert_allclose(shipped, 0.4 * orders[mine], rtol=1e-9)
    # the two manufacturers had stock enough for D's order: they shipped all of it
    up = np.concatenate([edges_between(model, FM1, FD), edges_between(model, FM2, FD)])
    assert np.all(orders[up] > 0)
    np.testing.assert_allclose(book.due[slot, up], orders[up], rtol=1e-9)
    assert ms.demand_today[FD] == pytest.approx(seen["demand"])
    assert model.today.shortfall_upstream == pytest.approx(0.6 * seen["demand"])
    # ... and is served the next day, with the new orders, now that D has stock again; the
    # retailers do not order those goods a second time
    backlog = book.backlog[mine].copy()
    ms.inventory[FD] += 10 * seen["demand"] / ms.markup[FD]   # a delivery from the outside: real assets
    model.step()
    slot = (day + 1 + model.cfg.merchants.trade_terms_days) % model.supply.slots
    assert np.all(book.due[slot, mine] >= backlog - 1e-9)
    np.testing.assert_allclose(book.backlog[mine], 0.0, atol=1e-9)
    assert np.all(book.rationed_since[mine] == NEVER)


def test_a_rationed_buyer_qualifies_a_second_supplier_only_after_the_delay(tmp_path):
    """From day 5 D (R1's only supplier) has no stock: R1 is rationed. Qualifying another
    supplier takes relink_delay_days: on that day, and not before, half of R1's purchase share
    moves to the other distributor D2."""
    model = chain_model(tmp_path, CASCADE_NODES, CASCADE_EDGES, days=60, sets=["network.relink_delay_days=20"])
    ms, book = model.merchants, model.supply.book
    original = model.supply.orders_and_production
    start, delay = 5, 20

    def starved():
        if model.t >= start:
            ms.inventory[D] = 0.0        # goods lost (real assets: net worth falls with them)
        original()

    model.supply.orders_and_production = starved
    d2 = CASCADE_NODES.index(next(n for n in CASCADE_NODES if n[0] == "D2"))
    while model.t < start + delay:
        model.step()
        assert live_edges(model, supplier=d2, buyer=R1).size == 0, model.t
        assert book.weight[edges_between(model, D, R1)].sum() == pytest.approx(1.0)
    model.step()      # the day the qualification is complete
    new = live_edges(model, supplier=d2, buyer=R1)
    assert new.size == 1 and book.weight[new].sum() == pytest.approx(0.5)
    assert book.weight[edges_between(model, D, R1)].sum() == pytest.approx(0.5)
    model.supply.orders_and_production = original
    run_to_end(model)
    books_balance(model)


def late_buyer_run(tmp_path, late: bool):
    """FAN network: on day 12 the distributor D, if ``late``, has no cash and keeps none back:
    what falls due to M1 and M2 that day is stretched, not paid. Returns M1's cash after day
    12's payments and what D owed M1 that day."""
    model = chain_model(tmp_path, FAN_NODES, FAN_EDGES, days=14)
    ms, book = model.merchants, model.supply.book
    got = {}

    def before():
        slot = model.t % model.supply.slots
        got["due"] = float(book.due[slot, edges_between(model, FM1, FD)].sum())
        if late:
            set_merchant_cash(model, FD, 0.0)
            ms.bank_limit[FD] = 0.0
            cs = model.consumers
            owner = int(ms.owner[FD])
            model.outside.cash += cs.cash[owner]
            cs.cash[owner] = 0.0            # the owner has nothing to put in either

    def after():
        got["cash"] = float(ms.cash[FM1])

    on_day(model, 12, before, after)
    while model.t <= 12:
        model.step()
    books_balance(model)
    return got


def test_a_buyers_late_payment_is_a_missing_inflow_for_its_supplier_on_the_due_day(tmp_path):
    paid = late_buyer_run(tmp_path, late=False)
    stretched = late_buyer_run(tmp_path, late=True)
    assert paid["due"] == pytest.approx(stretched["due"]) and paid["due"] > 0
    # the same economy (common random numbers): M1's cash is short by exactly what D did not pay
    assert paid["cash"] - stretched["cash"] == pytest.approx(paid["due"], rel=1e-9)


def draw_and_spend(model, i: int, amount: float) -> None:
    """Merchant ``i`` has drawn ``amount`` on its bank line and spent it (a loss paid to the
    outside sector), and holds too little cash to repay any of it yet."""
    ms = model.merchants
    ms.bank_drawn[i] += amount
    model.outside.bank_lent += amount
    set_merchant_cash(model, i, 0.3 * float(cash_target(ms)[i]))


def test_a_line_that_shrinks_with_the_merchants_own_sales_is_not_credit_line_contagion(tmp_path):
    """At the monthly bank review a line is cut below what is drawn. When the merchant's own
    trend sales fell (the line at normal appetite would not cover it either) that is no lender
    decision; when the banks' appetite fell and the line at normal appetite would still cover
    the drawn amount, it is."""
    model = chain_model(tmp_path, CHAIN_NODES, CHAIN_EDGES, days=40)
    ms, supply = model.merchants, model.supply
    advance_to(model, model.calendar.index("2026-02-01"))   # the next step reviews the lines
    months = model.cfg.merchants.bank_line_months
    for i in (R1, R2, D):
        ms.bank_access[i] = True
        ms.bank_limit[i] = months * 30 * ms.trend_sales[i]
    # R1: draws 55% of its line; its own sales then halve (even at normal appetite the new line,
    # half the old, is below the drawn amount)
    draw_and_spend(model, R1, 0.55 * ms.bank_limit[R1])
    ms.trend_sales[R1] *= 0.5
    ms.expected_sales[R1] *= 0.5
    # R2: draws 85% of its line; the banks' appetite falls to 0.8
    draw_and_spend(model, R2, 0.85 * ms.bank_limit[R2])
    supply.bank_appetite = 0.8
    original = supply._update_bank_appetite
    supply._update_bank_appetite = lambda: None   # hold the appetite at 0.8 for the review
    model.step()
    supply._update_bank_appetite = original
    assert ms.bank_limit[R1] < ms.bank_drawn[R1] and ms.bank_limit[R2] < ms.bank_drawn[R2]
    assert ms.line_cut_day[R1] == NEVER                           # its own sales: not contagion
    assert ms.line_cut_day[R2] == model.calendar.index("2026-02-01")   # the banks' decision
    books_balance(model)


# --------------------------------------------------------------------------- 4. SCF


def operating_loss_run(tmp_path, enrolled: bool):
    """On day 12 D suffers an operating loss of its cash plus its bank line plus 80% of the SCF
    line it would have (about 38 days of revenue beyond its cash and bank line): a loss of
    liquidity, which a credit line can save. The owner cannot: the loss leaves the business's
    net worth negative, so the owner puts in nothing."""
    model = chain_model(tmp_path, CHAIN_NODES, CHAIN_EDGES, days=90)
    ms = model.merchants
    ms.scf_enrolled[D] = enrolled
    day = 12
    got = {}

    def before():
        appetite = min(model.lenders.appetite[model.platform], 1.0)
        scf = model.cfg.merchants.scf_advance_rate * appetite * (ms.trade_receivables[D] +
                                                                 ms.settlement_receivable()[D])
        loss = ms.cash[D] + ms.bank_limit[D] - ms.bank_drawn[D] + 0.8 * scf
        ms.cash[D] -= loss             # paid to the outside sector (fraud, a lawsuit, ...)
        model.outside.cash += loss
        got.update(loss=float(loss), revenue=float(ms.expected_sales[D]))

    def after():
        got.update(scf=float(ms.scf_drawn[D]), overdraft=int(ms.overdraft_day[D]))

    on_day(model, day, before, after)
    run_to_end(model)
    books_balance(model)
    return model, got


def test_scf_line_saves_a_merchant_that_would_otherwise_fail(tmp_path):
    alone, lost = operating_loss_run(tmp_path, enrolled=False)
    financed, lost_financed = operating_loss_run(tmp_path, enrolled=True)
    # the same economy and the same loss (common random numbers)
    assert lost["loss"] == pytest.approx(lost_financed["loss"])
    assert lost["loss"] > 30 * lost["revenue"]
    # without SCF the loss is an emergency overdraft and D fails
    assert lost["scf"] == 0 and lost["overdraft"] == 12
    row = rows_of(alone, D)
    assert len(row) == 1 and row[0]["cause"] == "liquidity" and alone.merchants.status[D] == FAILED
    # enrolled, the SCF line covers it: no overdraft, and D survives the rest of the run
    assert lost_financed["scf"] > 0 and lost_financed["overdraft"] == NEVER
    assert not rows_of(financed, D) and financed.merchants.status[D] != FAILED
    assert financed.merchants.scf_drawn[D] > 0 and financed.lenders.scf_loans[financed.platform] > 0


# --------------------------------------------------------------------------- 5. entry, re-linking


ENTRY_NODES = [("M", "manufacturer", 1.0), ("D1", "distributor", 1.0), ("D2", "distributor", 1.0),
               ("R1", "retailer", 1.0), ("R2", "retailer", 1.0), ("R3", "retailer", 1.0)]
ENTRY_EDGES = [("M", "D1", 1.0), ("M", "D2", 1.0), ("D1", "R1", 0.6), ("D2", "R1", 0.4),
               ("D1", "R2", 1.0), ("D2", "R3", 1.0)]
EM, ED1, ED2, ER1, ER2, ER3 = range(6)


def test_failed_slots_reenter_after_the_delay_and_buyers_relink_after_theirs(tmp_path):
    fail_day, entry_delay, relink_delay = 5, 30, 7
    model = chain_model(tmp_path, ENTRY_NODES, ENTRY_EDGES, consumers=1500, days=50, name="entry.csv",
                        sets=[f"merchants.entry_delay_days={entry_delay}",
                              f"network.relink_delay_days={relink_delay}",
                              supplier_failure(ED1, ER3, start="2026-01-06")])
    assert (tmp_path / "entry.nodes.csv").exists() and model.merchants.m == 6
    ms, cs, book = model.merchants, model.consumers, model.supply.book
    while model.t <= fail_day:
        model.step()
    assert ms.status[ED1] == FAILED and ms.status[ER3] == FAILED
    assert {r["merchant_id"] for r in model.failure_rows} == {ED1, ER3}
    dead = np.concatenate([edges_between(model, ED1, ER1), edges_between(model, ED1, ER2)])
    assert np.all(book.outside_owned[dead]) and not np.any(book.live[dead])
    assert live_edges(model, buyer=ER2).size == 0   # R2 has lost its only supplier

    relink_day, entry_day = fail_day + relink_delay, fail_day + entry_delay
    while model.t < relink_day:
        model.step()
        assert live_edges(model, buyer=ER2).size == 0
    model.step()   # the relink day
    # R1 and R2 buy from D2 now (the only distributor open), with the share D1 had
    new_r1 = live_edges(model, supplier=ED2, buyer=ER1)
    new_r2 = live_edges(model, supplier=ED2, buyer=ER2)
    assert new_r1.size == 2 and new_r2.size == 1    # R1's old D2 edge and the new one
    assert sorted(book.weight[new_r1].tolist()) == pytest.approx([0.4, 0.6])
    assert book.weight[new_r2].tolist() == pytest.approx([1.0])

    while model.t < entry_day:
        model.step()
        assert ms.status[ED1] == FAILED and ms.status[ER3] == FAILED
    # the estate went to the creditors: the failed slots hold nothing
    np.testing.assert_allclose(ms.cash[[ED1, ER3]], 0.0, atol=1e-6)
    customers_before = np.count_nonzero(np.any(cs.retailers == ER3, axis=1))
    model.step()   # the entry day
    for e in (ED1, ER3):
        assert ms.status[e] == ACTIVE
        # the entrant starts with outside capital: cash, no stock, no debts
        assert ms.cash[e] > 0 and ms.inventory[e] == 0
        assert ms.net_worth()[e] == pytest.approx(ms.cash[e] + ms.fixed_assets[e])
        assert ms.fixed_assets[e] > 0
        assert ms.expected_sales[e] == pytest.approx(0.5 * ms.normal_sales[e])
        assert ms.trade_payables[e] == 0 and ms.bank_drawn[e] == 0
        # the entrant posts vacancies for the staff its sales pay for; it hires through the
        # labour market (matching), not at once
        assert ms.staff[e] == 0 and ms.staff_target[e] > 0
        assert model.supply.vacancies()[e] == ms.staff_target[e]
    # D1: a new manufacturer supplier and retailers to sell to
    up = live_edges(model, buyer=ED1)
    assert up.size >= 1 and np.all(ms.tier[book.supplier[up]] == MANUFACTURER)
    down = live_edges(model, supplier=ED1)
    assert down.size >= 1 and np.all(ms.tier[book.buyer[down]] == RETAILER)
    # R3: a new distributor supplier, and customers
    up = live_edges(model, buyer=ER3)
    assert up.size >= 1 and np.all(ms.tier[book.supplier[up]] == DISTRIBUTOR)
    assert book.weight[up].sum() == pytest.approx(1.0)
    assert np.count_nonzero(np.any(cs.retailers == ER3, axis=1)) > customers_before + 100
    # every buyer's live purchase shares still sum to one
    n = book.n
    shares = np.bincount(book.buyer[:n], np.where(book.live[:n], book.weight[:n], 0.0), minlength=ms.m)
    np.testing.assert_allclose(shares[ms.tier != MANUFACTURER], 1.0)
    # the entrants trade: R3 sells to consumers, D1 ships to its retailers on trade credit
    sales = np.zeros(ms.m)
    while model.running:
        model.step()
        sales += ms.sales_today
    books_balance(model)
    assert ms.status[ER3] != FAILED and ms.status[ED1] != FAILED
    assert sales[ER3] > 0 and sales[ED1] > 0
    for e in (ED1, ER3):  # vacancies were filled through matching
        assert ms.staff[e] > 0 and np.count_nonzero(cs.employed & (cs.employer == e)) == ms.staff[e]
    assert book.owed()[live_edges(model, supplier=ED1)].sum() > 0


# --------------------------------------------------------------------------- 6. layoffs


def test_staff_of_a_failed_merchant_become_unemployed_with_lower_income(tmp_path):
    model = chain_model(tmp_path, CHAIN_NODES, CHAIN_EDGES, days=20,
                        sets=[supplier_failure(R1, start="2026-01-06")])
    cs = model.consumers
    while model.t < 5:
        model.step()
    staff = np.flatnonzero(cs.employed & (cs.employer == R1))
    assert staff.size >= 2
    income = cs.income[staff].copy()
    model.step()   # day 5: R1 fails
    assert model.merchants.status[R1] == FAILED and model.merchants.staff[R1] == 0
    assert not cs.employed[staff].any()
    assert not np.any(cs.employed & (cs.employer == R1))
    # back on the outside labour market: benefits on the wage an outside job would pay
    replacement = model.cfg.labour.benefit_replacement
    np.testing.assert_allclose(cs.base_income[staff], cs.outside_wage[staff])
    np.testing.assert_allclose(cs.income[staff], replacement * cs.outside_wage[staff] *
                               model.income_index[model.pos])
    assert cs.income[staff].sum() < income.sum()
    ts = model.results()["timeseries"]
    assert ts["layoffs"].iloc[5] >= staff.size
    run_to_end(model)
    books_balance(model)


def test_customers_of_a_failed_retailer_relink_to_open_retailers(tmp_path):
    """(Regression: the failed retailer used to be among the 'open' retailers drawn, because
    it was re-linked before it was marked failed.)"""
    model = chain_model(tmp_path, CHAIN_NODES, CHAIN_EDGES, days=20,
                        sets=[supplier_failure(R1, start="2026-01-06")])
    cs = model.consumers
    while model.t < 5:
        model.step()
    linked = np.any(cs.retailers == R1, axis=1)
    assert linked.sum() > 100
    model.step()   # day 5: R1 fails
    books_balance(model)
    assert model.merchants.status[R1] == FAILED
    # every link to R1 moved to an open retailer (here R2, the only one)
    assert not np.any(cs.retailers == R1)
    assert np.all(np.isin(cs.retailers[linked], [R2]))


# --------------------------------------------------------------------------- 7. credit crunch


def crunch_run(shock: bool, seed: int = 20260101):
    """20,000 consumers and 400 merchants after the baseline's three-year burn-in (suppliers'
    buffers, owners' savings and customer bases have settled), 270 recorded days."""
    sets = [f"run.seed={seed}"]
    if shock:   # from February to the end: lenders and banks (no lender named) tighten hard
        sets.append('shocks=[{kind="credit_tightening", start="2026-02-01", end="2026-09-28", size=-0.5}, '
                    '{kind="unemployment", start="2026-02-01", end="2026-09-28", size=0.04}]')
    model = make_model(consumers=20_000, merchants=400, days=270, burn_in=1095, sets=sets)
    model.run()
    books_balance(model)
    return model, model.results()["timeseries"]


def test_heavy_credit_tightening_lowers_sales_cuts_many_lines_and_raises_unemployment_and_delinquency():
    """Measured (calm -> crunch; seeds 20260101 and 7 at this size): platform risk appetite
    0.98 -> 0.40; limit cuts 679 -> 17,596 and 598 -> 14,815; retail sales -5.3% and -4.3%;
    unemployment over the last 60 days 5.2% -> 9.9% and 5.0% -> 9.5%; 30+ DPD peak 1.77% ->
    2.34% and 1.60% -> 2.42%; failures 10 -> 11 and 19 -> 20 (failures barely respond to an
    even fall in sales of a few percent at this size: docs/model.md 11.3)."""
    calm, ts0 = crunch_run(False)
    crunch, ts1 = crunch_run(True)
    assert ts1["risk_appetite"].min() < 0.6 < ts0["risk_appetite"].min()
    # the lenders cut many times as many lines ...
    assert ts1["limit_cuts"].sum() > 10 * ts0["limit_cuts"].sum()
    # ... consumers spend less at retailers ...
    assert ts1["retail_sales"].sum() < 0.97 * ts0["retail_sales"].sum()
    # ... unemployment is higher by more than the direct job loss's three quarters ...
    late = slice(-60, None)
    assert ts1["unemployment_rate"].iloc[late].mean() > ts0["unemployment_rate"].iloc[late].mean() + 0.03
    # ... delinquency rises ...
    assert ts1["delinq_30_rate"].max() > 1.2 * ts0["delinq_30_rate"].max()
    # ... and every failure and contagion failure is counted where it happened
    assert ts1["merchant_failures"].sum() == len(crunch.failure_rows) >= len(calm.failure_rows)
    contagion = [r for r in crunch.failure_rows if r["cause"] in ("counterparty", "credit_line")]
    assert ts1["contagion_failures"].sum() == len(contagion)


# --------------------------------------------------------------------------- loading


def test_a_loaded_network_sets_the_number_of_merchants_in_the_resolved_configuration(tmp_path):
    model = chain_model(tmp_path, CHAIN_NODES, CHAIN_EDGES, days=2)
    model.run()
    assert model.merchants.m == len(CHAIN_NODES)
    info = summary(model, model.results())
    assert info["headline"]["merchants"] == len(CHAIN_NODES)
    assert info["config"]["population"]["merchants"] == len(CHAIN_NODES)


def test_a_malformed_network_file_is_a_config_error_naming_the_file():
    path = DATA / "malformed.graphml"
    with pytest.raises(ConfigError, match="malformed.graphml"):
        make_model(sets=[f"network.path={path}"])


def test_systemic_importance_from_the_model():
    """DebtRank on today's trade-credit exposures: a buyer's default hits its suppliers, so a
    merchant that owes nothing in trade credit (a manufacturer) has no systemic importance,
    and the merchant that owes most relative to its suppliers' capital ranks first."""
    model = make_model(consumers=2000, merchants=40, days=20, sets=CALM)
    model.run()
    importance = model.supply.systemic_importance()
    ms = model.merchants
    assert importance.shape == (ms.m,) and np.all((importance >= 0) & (importance <= 1))
    assert np.all(importance[ms.tier == 2] == 0) and importance.max() > 0
    exposures = model.supply.trade_exposures()
    owed = np.asarray(exposures.sum(axis=0)).ravel()           # what each buyer owes
    assert np.all(importance[owed == 0] == 0)
    np.testing.assert_allclose(owed, ms.trade_payables - np.bincount(
        model.supply.book.buyer[:model.supply.book.n],
        np.where(model.supply.book.outside_owned[:model.supply.book.n], model.supply.book.owed(), 0.0),
        minlength=ms.m), rtol=1e-9, atol=1e-6)


def test_chain_failures_are_measured_on_the_network_of_the_eve_of_the_recorded_window():
    """Failures and re-linking in the burn-in change the generated network; the relations at
    the start of the recorded window are kept for Arata's measure, written to summary.json."""
    from sim.outputs import summary
    model = make_model(consumers=3000, merchants=60, days=30, burn_in=400, sets=["merchants.loss_shock_rate=2"])
    generated = set(zip(model.network.supplier.tolist(), model.network.buyer.tolist()))
    advance_to(model, 0)
    eve = model.supply.relations()
    np.testing.assert_array_equal(model.supply.start_relations[0], eve[0])
    np.testing.assert_array_equal(model.supply.start_relations[1], eve[1])
    assert set(zip(eve[0].tolist(), eve[1].tolist())) != generated       # the burn-in re-linked
    run_to_end(model)
    np.testing.assert_array_equal(model.supply.start_relations[0], eve[0])  # kept as it was
    table = summary(model, model.results())["headline"]["failure_by_customer_losses"]
    assert [row["customers_failed"] for row in table] == ["none", "(0%, 25%]", "(25%, 50%]", "(50%, 100%]"]
    assert sum(row["suppliers"] for row in table) == np.unique(eve[0]).size
