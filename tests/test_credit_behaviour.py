"""Consumers' credit behaviour on hand-made populations: buffer-stock spending toward a
target utilisation, repayment down to the target debt, credit as insurance against
expense shocks, and bust-out fraud (Carroll 1997; Fulford 2015; Sullivan 2008)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import advance_to, make_model
from test_mechanisms import BAITIAO, HUABEI, QUIET, add_debt, books_balance, cut_limit, payers, set_cash

W = 6000.0  # the test consumer's monthly wage


def lone_platform_payer(model, n: int = 1) -> np.ndarray:
    """Consumers with a platform account only (no second line), honest."""
    acc = model.accounts
    ids = payers(model, BAITIAO)
    ids = ids[~acc.open[HUABEI, ids] & ~model.consumers.fraud[ids]]
    return ids[:n]


def make_type(model, i, impatient: bool, u: float) -> None:
    cs = model.consumers
    cs.impatient[i] = impatient
    cs.risk_prone[i] = False
    cs.target_utilisation[i] = u
    cs.credit_first[i] = True


def quiet_consumer(model, i) -> None:
    """Consumer ``i`` has no taste for the platform, no big tickets and no expense shocks: only
    the credit gap moves their platform spending (the rest of the economy shops as usual, so
    retailers hold stock)."""
    cs = model.consumers
    cs.propensity[i] = 0.0
    cs.next_big_ticket[i] = cs.next_hardship[i] = 10**12


def test_impatient_consumers_borrow_toward_their_target_utilisation_patient_ones_do_not():
    model = make_model(consumers=300, merchants=6, days=120, check=True,
                       sets=["consumers.fraud_share=0", "consumers.target_utilisation_impatient=[0.6, 0.6]"])
    acc, cs = model.accounts, model.consumers
    imp, pat = lone_platform_payer(model, 2)
    for i, impatient, u in ((imp, True, 0.6), (pat, False, 0.0)):
        quiet_consumer(model, i)
        make_type(model, i, impatient, u)
        acc.fixed_limit[BAITIAO, i] = 10_000.0
        set_cash(model, i, cs.buffer_months[i] * cs.income[i] + 3 * cs.income[i])   # can pay any bill
    advance_to(model, 120)
    # the patient consumer (u* = 0, no taste for the platform in this economy) never borrows
    assert acc.balance[BAITIAO, pat] == 0 and acc.revolving[BAITIAO, pat] == 0
    # the impatient one carries debt toward u* x limit and pays only down to it (reviews may
    # have moved the limit: compare with today's)
    limit = acc.fixed_limit[BAITIAO, imp]
    assert 0.3 * limit < acc.revolving[BAITIAO, imp] <= 0.6 * limit + 1e-6
    assert acc.dpd[BAITIAO, imp] == 0
    books_balance(model)


@pytest.mark.parametrize("spare, carried", [(None, 3_000.0), (400.0, 5_100.0)])
def test_a_cut_makes_a_revolver_pay_down_toward_the_new_target_at_the_due_date(spare, carried):
    """Revolving 6,000 at target (0.6 x 10,000); the limit is cut to 5,000 (target 3,000). With
    cash to spare the excess is paid at once; with 400 to spare above the buffer, kappa (0.3)
    of it: the consumer carries 3,000 + 0.7 x 3,000 = 5,100."""
    sets = [q for q in QUIET if "target_utilisation" not in q] + ["consumers.target_utilisation_impatient=[0.6, 0.6]"]
    model = make_model(consumers=200, merchants=6, days=60, sets=sets, check=True)
    acc, cs = model.accounts, model.consumers
    p = model.cfg.lenders["baitiao"]
    i = lone_platform_payer(model)[0]
    make_type(model, i, True, 0.6)
    acc.fixed_limit[BAITIAO, i] = 10_000.0
    add_debt(model, BAITIAO, i, 6_000.0, "revolving")        # at target: 0.6 x 10,000
    set_cash(model, i, 50_000.0)
    cut_limit(model, BAITIAO, i, 5_000.0)                    # new target debt 3,000
    due_dom = (int(cs.statement_day[i]) + p.statement_grace_days - 1) % 28 + 1
    assert model.cfg.consumers.credit_adjustment_rate == 0.3
    while model.t < 60 and int(model.calendar.day_of_month[model.calendar.pos(model.t)]) != due_dom:
        model.step()
    if spare is not None:
        buffer = cs.buffer_months[i] * cs.income[i]
        set_cash(model, i, buffer + spare)
        assert buffer + spare - model.cfg.consumers.reserve_months * cs.income[i] > 900.0   # able to pay 900
    cash = cs.cash[i]
    model.step()                                             # the due date
    assert acc.revolving[BAITIAO, i] == pytest.approx(carried, rel=1e-12)
    assert cash - cs.cash[i] == pytest.approx(6_000.0 - carried, rel=1e-12)
    assert acc.overdue[BAITIAO, i] == 0 and acc.billed[BAITIAO, i] == 0
    books_balance(model)


def insurance_run(cut: bool):
    """A patient wage earner owes a bill of 3 months' wage and has no spare cash; a day after
    the statement an expense shock of 2 months' wage hits. Statement on the 5th, pay day on
    the 10th, due date on the 15th."""
    sets = QUIET + ["consumers.hardship_min=2", "consumers.hardship_max=2", "labour.separation_rate=0"]
    model = make_model(consumers=200, merchants=6, days=40, sets=sets, check=True)
    acc, cs = model.accounts, model.consumers
    i = lone_platform_payer(model)[0]
    make_type(model, i, False, 0.0)
    cs.employed[i], cs.employer[i] = True, -1
    cs.base_income[i] = cs.income[i] = cs.outside_wage[i] = W
    cs.statement_day[i], cs.payday[i] = 5, 10
    model._build_groups()
    acc.fixed_limit[BAITIAO, i] = 6 * W
    add_debt(model, BAITIAO, i, 3 * W, "unbilled")
    set_cash(model, i, model.cfg.consumers.reserve_months * W)   # nothing above subsistence
    if cut:
        cut_limit(model, BAITIAO, i, 3 * W)                      # no credit left
    cs.next_hardship[i] = 5                                      # 6 January, after the statement
    advance_to(model, 15)                                        # through the due date (15 January)
    books_balance(model)
    return model, i


def test_credit_insures_an_expense_shock_and_a_cut_consumer_misses_the_platform_payment():
    with_credit, i = insurance_run(cut=False)
    cut, _ = insurance_run(cut=True)
    a, b = with_credit.accounts, cut.accounts
    # with credit: the shock went on the line, no arrears; the minimum (10% of 3W) was paid
    assert with_credit.consumers.arrears[i] == 0
    assert a.unbilled[BAITIAO, i] == pytest.approx(2 * W)
    assert a.overdue[BAITIAO, i] == 0 and a.dpd[BAITIAO, i] == 0
    # cut: the shock became arrears, the pay day paid 30% of the wage toward them, and the
    # cash left (0.55W - 0.3W above subsistence) falls short of the 0.3W minimum
    assert cut.consumers.arrears[i] == pytest.approx(2 * W - 0.3 * W)
    assert b.overdue[BAITIAO, i] == pytest.approx(0.3 * W - 0.25 * W, rel=1e-9)
    assert b.late_score[BAITIAO, i] > 0


def test_a_bust_out_fraudster_maxes_out_never_pays_and_is_charged_off():
    model = make_model(consumers=300, merchants=6, days=260, sets=["consumers.fraud_share=0"], check=True)
    acc, cs = model.accounts, model.consumers
    i = lone_platform_payer(model)[0]
    quiet_consumer(model, i)
    cs.fraud[i] = True
    model.fraudsters = np.array([i])
    set_cash(model, i, 100_000.0)                   # rich: fraud is a choice, not hardship
    limit = acc.fixed_limit[BAITIAO, i]
    acc.open_day[BAITIAO, i] = -365                 # past the dormancy
    model.step()
    assert acc.balance[BAITIAO, i] == pytest.approx(limit)   # maxed out on the first day
    balances = []
    while model.t < model.calendar.days and acc.open[BAITIAO, i]:
        balances.append(acc.balance[BAITIAO, i])
        model.step()
    assert acc.charged_off[BAITIAO, i]
    assert model.lenders.charge_off_total[BAITIAO] >= limit
    assert np.all(np.diff(balances) >= 0)          # never paid a fen: the debt only grows (fees)
    books_balance(model)


def test_big_tickets_are_more_likely_in_promotion_windows():
    model = make_model(consumers=6000, merchants=6, days=365, sets=["consumers.fraud_share=0"])
    p = model.cfg.consumers
    counts = {"inside": 0, "outside": 0}
    original = model.households._big_tickets_today

    def counted():
        buying = original()
        counts["inside" if model.calendar.in_window[model.pos] else "outside"] += buying.size
        return buying

    model.households._big_tickets_today = counted
    model.run()
    inside, outside = counts["inside"], counts["outside"]
    days_in = int(model.calendar.in_window.sum())
    rate_in, rate_out = inside / days_in, outside / (model.calendar.n - days_in)
    assert rate_in / rate_out == pytest.approx(p.big_ticket_promotion_multiplier, rel=0.15)
    # the yearly average stays big_ticket_probability
    yearly = (inside + outside) / model.calendar.n / model.consumers.n
    assert yearly == pytest.approx(p.big_ticket_probability, rel=0.08)
