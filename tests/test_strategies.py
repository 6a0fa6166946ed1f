"""Coping strategies (issue 8): the two new mechanisms (repayment reminders, merchant-funded
interest-free instalments) pinned on hand-made cases, their books, and strategies laid over a
scenario with ``--strategy``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import make_model

from agents.accounts import accelerate, book_credit_purchases, cut_statements, forget_chance, instalment_subsidy
from agents.lender import Accounts, LenderState, write_off
from sim.accounting import check_invariants
from sim.config import ConfigError, ConsumerParams, LenderParams, load_config
from sim.rng import Streams

P = LenderParams()


def test_forget_chance_with_and_without_a_reminder():
    f = np.array([0.0, 0.02, 0.5])
    assert forget_chance(f, False, 0.5).tolist() == [0.0, 0.02, 0.5]
    assert forget_chance(f, True, 0.5).tolist() == [0.0, 0.01, 0.25]
    assert forget_chance(f, True, 1.0).tolist() == [0.0, 0.0, 0.0]


def test_instalment_subsidy_is_the_fee_on_the_declining_principal():
    # 1,200 over 3 months at 1.1% a month: 13.2 + 8.8 + 4.4 = 26.4; over 12 months 1,200 x 0.011 x 6.5
    got = instalment_subsidy(np.array([1200.0, 1200.0]), np.array([3, 12]), 0.011)
    assert got == pytest.approx([26.4, 85.8], abs=1e-9)


def _book(offers: bool):
    """Three consumers buy 500, 2,000 and 3,000 on credit at retailers 0, 1, 1."""
    acc = Accounts.empty(1, 3)
    acc.open[0][:] = True
    lenders = LenderState.create([P], np.zeros(1))
    due = np.zeros((1, 8, 2))
    cp = dataclasses.replace(ConsumerParams(), instalment_probability=0.0, instalment_months=[3])
    paid = book_credit_purchases(acc, lenders, due, 0, P, cp, Streams(1), "baitiao", 0, 0, np.arange(3),
                                 np.array([500.0, 2000.0, 3000.0]), np.array([0, 1, 1]), False, offers, 1.0)
    return acc, lenders, due, paid


def test_an_instalment_offer_is_interest_free_for_the_consumer_and_paid_by_the_retailer():
    acc, lenders, due, paid = _book(True)
    # both purchases above the 1,000 threshold go on a 3-month plan (take-up 1); the retailer
    # pays 2% of them (0.011 x 4 / 2) out of its settlement
    assert acc.instalment_principal[0].tolist() == [0.0, 2000.0, 3000.0]
    assert acc.free_principal[0].tolist() == [0.0, 2000.0, 3000.0]
    assert acc.unbilled[0].tolist() == [500.0, 0.0, 0.0]
    assert paid == pytest.approx(0.022 * 5000)
    settle = P.settlement_lag
    assert due[0, settle].tolist() == pytest.approx([500 * (1 - P.merchant_discount),
                                                     5000 * (1 - P.merchant_discount) - 110.0])
    assert lenders.fee_income[0] == pytest.approx(5500 * P.merchant_discount + 110.0)
    assert lenders.settlement_payable[0] == pytest.approx(due.sum())
    # without the offer nothing goes on a plan here (instalment_probability 0) and nobody pays a subsidy
    acc0, lenders0, due0, paid0 = _book(False)
    assert paid0 == 0.0 and acc0.free_principal.sum() == 0.0 and acc0.instalment_principal.sum() == 0.0


def test_statements_charge_no_fee_on_the_interest_free_principal_and_repay_it_in_step():
    acc = Accounts.empty(1, 2)
    acc.open[0][:] = True
    lenders = LenderState.create([P], np.zeros(1))
    acc.instalment_principal[0][:] = [1200.0, 1200.0]
    acc.balance[0][:] = [1200.0, 1200.0]
    lenders.receivables[0] = 2400.0
    acc.free_principal[0][:] = [600.0, 0.0]
    acc.instalment_months[0][:] = 3
    cut_statements(acc, lenders, 0, np.arange(2), P)
    # the bill: a third of the principal, plus the fee on the part that is not interest-free
    assert acc.billed[0].tolist() == pytest.approx([400.0 + 600 * P.instalment_fee_monthly,
                                                    400.0 + 1200 * P.instalment_fee_monthly])
    assert acc.instalment_principal[0].tolist() == pytest.approx([800.0, 800.0])
    assert acc.free_principal[0].tolist() == pytest.approx([400.0, 0.0])
    # collections and charge-offs take the interest-free part with the rest
    accelerate(acc, 0, np.array([0]))
    assert acc.free_principal[0][0] == 0.0
    acc.free_principal[0][1] = 100.0
    write_off(acc, lenders, 0, np.array([1]), 5)
    assert acc.free_principal[0][1] == 0.0


def test_the_interest_free_principal_must_lie_within_the_instalment_principal():
    model = make_model(consumers=200, days=10)
    model.step()
    assert not check_invariants(model, raise_on_breach=False)
    model.accounts.free_principal[0, 3] = model.accounts.instalment_principal[0, 3] + 10.0
    names = [b.name for b in check_invariants(model, raise_on_breach=False)]
    assert names == ["interest-free principal outside [0, instalment principal]"]


def _run(sets):
    return make_model(consumers=2000, merchants=20, days=150, burn_in=120, sets=sets, check=True).run() \
        .results()["timeseries"]


def test_reminders_cut_missed_payments_and_the_platform_pays_for_them():
    base = _run([])
    reminded = _run(["lenders.baitiao.reminders=true"])
    assert reminded["missed_payments"].sum() < 0.95 * base["missed_payments"].sum()
    assert base["reminder_cost"].sum() == 0
    # a reminder costs 0.05: some thousands of bills over the months
    assert 0.05 * 1000 < reminded["reminder_cost"].sum() < 0.05 * 2000 * 12


def test_instalment_offers_move_big_purchases_onto_free_plans_at_the_retailers_cost():
    base = _run([])
    offered = _run(["merchants.instalment_offers=true"])
    assert base["instalment_subsidy"].sum() == 0
    # the subsidy is a few percent of the credit sales it funds
    assert 0 < offered["instalment_subsidy"].sum() < 0.1 * offered["consumption_credit"].sum()


def test_a_strategy_lays_its_own_table_over_any_scenario():
    cfg = load_config("credit_crunch", strategies=["cash_reserves", "reminders"])
    assert cfg.name == "credit_crunch+cash_reserves+reminders"
    assert cfg.merchants.cash_buffer_days == 54.0 and cfg.lenders["baitiao"].reminders
    assert len(cfg.shocks) == len(load_config("credit_crunch").shocks)   # not the baseline's again
    assert cfg.description == load_config("credit_crunch").description
    # on its own a strategy file runs as the baseline with the strategy
    alone = load_config("cash_reserves")
    assert alone.merchants.cash_buffer_days == 54.0 and alone.run.burn_in_days == 1460
    with pytest.raises(ConfigError, match="--strategy credit_crunch: .*credit_crunch.toml is not a strategy.*strategies: cash_reserves, "):
        load_config("baseline", strategies=["credit_crunch"])


def test_the_command_line_takes_strategies(tmp_path, capsys):
    from sim.cli import main
    out = tmp_path / "run"
    assert main(["run", "baseline", "--strategy", "reminders", "--consumers", "300", "--merchants", "6",
                 "--days", "40", "--set", "run.burn_in_days=0", "--out", str(out), "--quiet",
                 "--no-dashboard"]) == 0
    import pandas as pd
    assert pd.read_parquet(out / "timeseries.parquet")["reminder_cost"].sum() > 0
    assert main(["run", "baseline", "--strategy", "nonesuch", "--quiet"]) == 2
    assert "unknown scenario 'nonesuch'" in capsys.readouterr().err
    main(["scenarios"])
    listing = capsys.readouterr().out
    assert "strategies (combine with --strategy NAME):" in listing and "  reminders " in listing


def test_instalment_offers_raise_the_big_ticket_rate_by_the_uplift():
    from agents.consumer import big_ticket_peak_rate
    p = dataclasses.replace(ConsumerParams(), big_ticket_probability=0.01, big_ticket_promotion_multiplier=4.0)
    # 0.01 x 1.2 x 4 / (1 + 3 x 0.1): the yearly average is 1.2 x 0.01 with 10% of days in a window
    assert big_ticket_peak_rate(p, 0.1, 0.2) == pytest.approx(0.048 / 1.3, rel=1e-12)
    assert big_ticket_peak_rate(p, 0.1) == pytest.approx(0.04 / 1.3, rel=1e-12)
    cfg = load_config("baseline", ["merchants.instalment_offers=true", "population.consumers=100",
                                   "population.merchants=4", "run.burn_in_days=0"])
    from sim.model import CreditModel
    assert CreditModel(cfg).big_ticket_rate == pytest.approx(
        big_ticket_peak_rate(cfg.consumers, CreditModel(load_config("baseline", ["population.consumers=100",
                             "population.merchants=4", "run.burn_in_days=0"])).calendar.window_share, 0.2))


# --------------------------------------------------------------------------- strategies in a crunch

@pytest.fixture(scope="module")
def crunch_strategies():
    from sim.research import run_strategies
    return run_strategies("credit_crunch", ["cash_reserves", "differentiated_limits", "supply_chain_finance",
                                            "reminders", "instalment_offers"], seeds=[1, 2], consumers=10_000,
                          merchants=200, workers=2)


@pytest.mark.slow
def test_cash_reserves_fail_fewer_merchants_in_a_crunch_at_the_return_they_forgo(crunch_strategies):
    """20,000 / 400, seeds 20260101-3: failures 31 -> 7 (-24 [-28, -20]), 3.9 million yuan forgone."""
    ps = crunch_strategies.per_seed
    f = ps[(ps["strategy"] == "cash_reserves") & (ps["measure"] == "merchant_failures")]
    assert (f["diff"] < 0).all() and f["diff"].sum() <= -0.3 * f["crisis"].sum(), f
    cost = crunch_strategies.costs.set_index("strategy").loc["cash_reserves"]
    assert cost["payer"] == "merchants" and cost["cost_mean"] > 0


@pytest.mark.slow
def test_differentiated_limits_keep_more_sales_in_a_crunch(crunch_strategies):
    """20,000 / 400, seeds 20260101-3: retail sales +1.0% [+0.5%, +1.5%]."""
    ps = crunch_strategies.per_seed
    s = ps[(ps["strategy"] == "differentiated_limits") & (ps["measure"] == "retail_sales")]
    assert (s["diff"] > 0).all(), s


@pytest.mark.slow
def test_instalment_offers_keep_more_sales_in_a_crunch_at_the_retailers_cost(crunch_strategies):
    """20,000 / 400, seeds 20260101-5: retail sales +2.0% [+0.4%, +3.6%], fees 4.0 million yuan,
    and failures +10 [-1, +21] (docs/scenarios.md 5: the fees drain the cash retailers need).
    At this size seeds 1 and 2 gave sales +1.1% and +1.7%, failures +7 and +8."""
    ps = crunch_strategies.per_seed
    s = ps[(ps["strategy"] == "instalment_offers") & (ps["measure"] == "retail_sales")]
    assert (s["diff"] > 0).all(), s
    cost = crunch_strategies.costs.set_index("strategy").loc["instalment_offers"]
    assert cost["payer"] == "retailers" and cost["cost_mean"] > 0


@pytest.mark.slow
def test_every_strategy_reports_its_cost_and_who_bears_it(crunch_strategies):
    costs = crunch_strategies.costs.set_index("strategy")
    assert set(costs.index) == {"cash_reserves", "differentiated_limits", "supply_chain_finance", "reminders",
                                "instalment_offers"}
    # reminders: exactly what the platform paid for them; SCF: interest on loans actually drawn
    assert costs.loc["reminders", "cost_mean"] > 0 and costs.loc["reminders", "payer"] == "platform"
    assert costs.loc["supply_chain_finance", "cost_mean"] > 0
    assert costs.loc["supply_chain_finance", "payer"].startswith("merchants")


@pytest.mark.slow
def test_the_618_remedies_reduce_the_merchants_lost_618_sales():
    """The seed article's case: a mass cut in the 618 sale, with and without its remedies (risk
    training of the monitor, instalment offers, supply-chain finance) laid over both the cut and
    the baseline; June's retail sales, paired by seed."""
    from sim.research import run_remedies
    r = run_remedies("case_618", "baseline", seeds=[1, 2], consumers=10_000, merchants=200, workers=2,
                     date_from="2026-06-01", date_to="2026-06-30")
    ps = r.per_seed
    sales = ps[ps["measure"] == "retail_sales"]
    assert (sales["diff_without"] < 0).all()           # the cut loses 618 sales
    assert (sales["saved"] > 0).all(), sales            # the remedies win some back, every seed
    anomaly = ps[ps["measure"] == "limit_cuts_anomaly"]
    assert (anomaly["diff_with"] < anomaly["diff_without"]).all()   # fewer honest baskets cut


def test_book_credit_purchases_edges_plan_lengths_and_a_lone_buyer():
    """Purchases of exactly the threshold stay off plans; with take-up 1 every larger one goes on
    a plan whose length is picked by the same uniform (thirds of [0, 1) -> 3, 6, 12 months); a
    lone buyer is booked; no buyer books nothing."""
    cp = dataclasses.replace(ConsumerParams(), instalment_threshold=1000.0)
    streams = Streams(7)
    n = 30
    acc = Accounts.empty(1, n)
    lenders = LenderState.create([P], np.zeros(1))
    due = np.zeros((1, 8, 2))
    amount = np.full(n, 2000.0)
    amount[0] = 1000.0
    book_credit_purchases(acc, lenders, due, 0, P, cp, streams, "baitiao", 3, 0, np.arange(n), amount,
                          np.zeros(n, dtype=int), False, True, 1.0)
    u = streams.uniform_at("instalment.baitiao", 3, np.arange(1, n))
    expected = np.array([3, 6, 12])[np.minimum((u * 3).astype(int), 2)]
    assert acc.instalment_months[0][0] == 0 and acc.unbilled[0][0] == 1000.0
    assert acc.instalment_months[0][1:].tolist() == expected.tolist()
    assert set(expected.tolist()) == {3, 6, 12}
    subsidy = 2000.0 * P.instalment_fee_monthly * (expected + 1) / 2
    assert lenders.fee_income[0] == pytest.approx(amount.sum() * P.merchant_discount + subsidy.sum())
    # a lone buyer, and nobody
    acc1 = Accounts.empty(1, 2)
    lenders1 = LenderState.create([P], np.zeros(1))
    paid = book_credit_purchases(acc1, lenders1, np.zeros((1, 8, 1)), 0, P, cp, streams, "baitiao", 3, 0,
                                 np.array([1]), np.array([300.0]), np.array([0]), False, False, 0.0)
    assert paid == 0.0 and acc1.balance[0].tolist() == [0.0, 300.0] and lenders1.receivables[0] == 300.0
    assert book_credit_purchases(acc1, lenders1, np.zeros((1, 8, 1)), 0, P, cp, streams, "baitiao", 3, 0,
                                 np.array([0]), np.array([0.0]), np.array([0]), False, True, 1.0) == 0.0


def test_a_statement_charges_interest_on_a_small_revolving_balance():
    acc = Accounts.empty(1, 1)
    lenders = LenderState.create([P], np.zeros(1))
    acc.revolving[0][0] = acc.balance[0][0] = lenders.receivables[0] = 0.5
    cut_statements(acc, lenders, 0, np.array([0]), P)   # a cycle is 30 days unless told
    assert acc.billed[0][0] == pytest.approx(0.5 * P.revolving_rate_daily * 30.0, rel=1e-12)
