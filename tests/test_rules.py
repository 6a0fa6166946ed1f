"""Exact values of the pure rule functions (labour market, merchants, trade credit) on
small hand-made cases: each pins one rule so that a slip in an operator or a bound shows."""

from __future__ import annotations

import numpy as np

from agents.labour import matches, steady_state_vacancies
from agents.merchant import owner_available, owner_flows
from agents.trade import TradeBook, pay_invoices, place_orders, serve_orders

NEVER = -10**9


def test_matches_are_capped_by_each_side_separately():
    # 1000 x sqrt(10 x 4) / 30 = 210.8 a day, more than either side: capped by the smaller
    assert matches(10, 4, 1000.0, 0.5) == 4.0       # the 4 vacancies
    assert matches(4, 10, 1000.0, 0.5) == 4.0       # the 4 job-seekers


def test_steady_state_vacancies_exact_values():
    # (60 / (0.5 x 100^0.5))^(1 / 0.5) = (60 / 5)^2 = 144
    assert steady_state_vacancies(100, 60.0, 0.5, 0.5) == 144.0
    # fewer than one job-seeker counts as it is: (1 / (0.5 x 0.25^0.5))^2 = (1 / 0.25)^2 = 16
    assert steady_state_vacancies(0.25, 1.0, 0.5, 0.5) == 16.0
    # elasticity 0.75: (12 / (0.5 x 16^0.75))^(1 / 0.25) = (12 / 4)^4 = 81
    assert steady_state_vacancies(16, 12.0, 0.5, 0.75) == 81.0
    assert steady_state_vacancies(100, 0.0, 0.5, 0.5) == 0.0    # no separations: no vacancies


def test_pay_invoices_waterfall_exact_values():
    # edges:        0    1    2    3    4    5    6
    buyer = np.array([0, 0, 1, 2, 3, 4, 5])
    payable = np.array([600.0, 400.0, 100.0, 200.0, 0.0, 50.0, 100.0])
    pressing = np.array([False, True, True, True, False, True, False])
    cash = np.array([500.0, -50.0, 1000.0, 10.0, 0.0, 1000.0])
    credit = np.array([300.0, 300.0, 1000.0, 0.0, -10.0, 0.0])
    active = np.array([True, True, False, True, True, True])
    paid, credit_paid = pay_invoices(payable, buyer, pressing, cash, credit, active)
    # buyer 0: cash 500 of 1,000 owed -> half of each: 300, 200; the pressing edge's other 200
    #   from credit room 300 -> all 200 (only what cash left unpaid is asked of credit)
    # buyer 1: cash below zero pays nothing; its pressing 100 from credit room 300 -> 100 (all)
    # buyer 2: failed -> nothing, whatever its cash and credit
    # buyer 3: owes nothing -> pays nothing
    # buyer 4: no cash; credit room below zero pays nothing on the pressing 50
    # buyer 5: cash 1,000 > 100 owed -> pays the 100, no more
    assert paid.tolist() == [300.0, 200.0, 0.0, 0.0, 0.0, 0.0, 100.0]
    assert credit_paid.tolist() == [0.0, 200.0, 100.0, 0.0, 0.0, 0.0, 0.0]


def _book(supplier, buyer, weight, backlog, rationed_since=None, live=None):
    book = TradeBook.create(np.array(supplier), np.array(buyer), np.array(weight, dtype=float), 3)
    n = book.n
    book.backlog[:n] = backlog
    if rationed_since is not None:
        book.rationed_since[:n] = rationed_since
    if live is not None:
        book.live[:n] = live
    return book


def test_place_orders_net_of_back_orders_by_purchase_share():
    # buyer 1 buys 3/4 from supplier 0 and 1/4 from supplier 2, with 40 + 20 on back-order;
    # buyer 3 buys all from supplier 0, with 50 on back-order; edge 3 (buyer 1) is credit-stopped
    book = _book([0, 2, 0, 2], [1, 1, 3, 1], [0.75, 0.25, 1.0, 0.0], [40.0, 20.0, 50.0, 0.0])
    gap = np.array([0.0, 100.0, 0.0, 30.0])
    stop = np.array([False, False, False, True])
    orders = place_orders(book, gap, stop)
    # buyer 1: 100 - 60 = 40 -> 30 and 10; buyer 3: 30 - 50 < 0 -> nothing (never negative)
    assert orders.tolist() == [30.0, 10.0, 0.0, 0.0]


def test_serve_orders_pro_rata_back_orders_cancellation_and_rationing_runs():
    # edge:         0     1    2      3      4    5 (dead)
    supplier = [0, 0, 4, 4, 4, 3]
    buyer = [1, 2, 2, 1, 3, 1]
    backlog = [20.0, 0.0, 10.0, 0.0, 8.0, 5.0]
    since = [3, NEVER, NEVER, NEVER, 5, NEVER]
    live = [True, True, True, True, True, False]
    book = _book(supplier, buyer, [1.0] * 6, backlog, since, live)
    new = np.array([30.0, 50.0, 10.0, 40.0, 0.0, 7.0])
    stock = np.array([50.0, 0.0, 0.0, 0.0, 12.0])
    stop = np.array([False, False, True, False, False, False])
    ship, demand = serve_orders(book, new, stock, stop, today=7, cancel_days=4.0, rationed_fill=0.5)
    # asked: 50, 50, 0 (credit stopped), 40, 8, 0 (dead); supplier 0 asked 100 with 50 in stock
    # (fill 0.5), supplier 4 asked 48 with 12 (fill 0.25)
    assert demand.tolist() == [100.0, 0.0, 0.0, 0.0, 48.0]
    assert ship.tolist() == [25.0, 25.0, 0.0, 10.0, 2.0, 0.0]
    # left on back-order: 25, 25, 20 (stopped: all of it waits), 30, 6, 0 (dead edge: dropped);
    # a quarter (1 / cancel_days) is cancelled
    assert book.backlog[:6].tolist() == [18.75, 18.75, 15.0, 22.5, 4.5, 0.0]
    # fill 0.5 is not below rationed_fill 0.5: edge 0's run ends; edge 3 starts one today,
    # edge 4 continues its run from day 5; edges asking nothing keep what they had
    assert book.rationed_since[:6].tolist() == [NEVER, NEVER, NEVER, 7, 5, NEVER]


def _market(draw, employed, employer, target, merchant_vac, sep, slot=0.5, speed=30.0):
    from agents.labour import labour_market_day
    return labour_market_day(np.array(employed), np.array(employer), np.full(len(draw), sep),
                             np.array(draw, dtype=float), target, np.array(merchant_vac), speed,
                             1000.0, 0.5, slot)


def test_labour_market_day_boundaries_of_the_draw_bands():
    from agents.labour import OUTSIDE
    # an outside worker, a merchant employee (both drawing exactly the separation chance 0.25)
    # and four job-seekers; the outside sector wants 0 of its 1 (lays off 1 x 1/1 a day) and
    # merchant 0 has 2 vacancies: hires min(1000 x sqrt(4 x 2) / 30, 4, 2) = 2 of 4 seekers,
    # a job-finding rate of exactly 0.5
    flows = _market([0.25, 0.25, 0.5, 0.9, 0.9, 0.9], [True, True, False, False, False, False],
                    [OUTSIDE, 0, OUTSIDE, OUTSIDE, OUTSIDE, OUTSIDE], 0.0, [2], sep=0.25)
    assert flows.separated.tolist() == []      # a draw of 0.25 is not below 0.25
    assert flows.laid_off.tolist() == [0]      # but is in the layoff band [0.25, 1.25)
    assert flows.hired.tolist() == []          # a draw of 0.5 is not below the rate 0.5
    assert flows.vacancies == 2


def test_labour_market_day_lone_outside_worker_is_laid_off_at_the_full_rate():
    from agents.labour import OUTSIDE
    # excess 1 over a target of 0, layoff_speed 30 a month: 1 a day of 1 worker -> band [0.1, 1.1)
    flows = _market([0.7], [True], [OUTSIDE], 0.0, [0], sep=0.1)
    assert flows.laid_off.tolist() == [0]


def test_labour_market_day_fractional_target_and_one_hire_too_many():
    from agents.labour import OUTSIDE
    # target 2.5 with 1 outside worker: floor(2.5) - 1 = 1 vacancy; 2 seekers, hires
    # min(..., 2, 1) = 1, rate 0.5: both seekers draw below it, the lower draw (id 2) gets the job
    flows = _market([0.9, 0.2, 0.1], [True, False, False], [OUTSIDE] * 3, 2.5, [0], sep=0.0)
    assert flows.vacancies == 1
    assert flows.hired.tolist() == [2] and flows.hired_by.tolist() == [OUTSIDE]


def test_labour_market_day_slot_draw_places_the_first_hire():
    from agents.labour import OUTSIDE
    # slots: [0] outside (target 2, has 1), [1] merchant 0, [2, 3] merchant 1; 2 hires of 4 slots
    # at positions floor((k + slot) x 4 / 2): slot 0.5 -> 1, 3 (merchants 0, 1); slot 0 -> 0, 2
    args = ([0.9, 0.0, 0.0], [True, False, False], [OUTSIDE] * 3, 2.0, [1, 2])
    flows = _market(*args, sep=0.0, slot=0.5)
    assert flows.vacancies == 4 and flows.hired.tolist() == [1, 2]
    assert flows.hired_by.tolist() == [0, 1]
    assert _market(*args, sep=0.0, slot=0.0).hired_by.tolist() == [OUTSIDE, 1]


def test_separation_probability_by_risk_type():
    from agents.labour import separation_probability
    # 1.5 a month = 0.05 a day; risk-prone types twice that
    assert separation_probability(np.array([False, True]), 1.5, 2.0).tolist() == [0.05, 0.1]


def _retailers(k):
    from agents.merchant import RETAILER, MerchantState
    ms = MerchantState.create(np.full(k, RETAILER), np.ones(k), np.full(k, 1.25), 3, 1)
    ms.expected_sales[:] = 1000.0          # cost of goods 800 a day
    ms.fixed_cost[:] = 100.0
    ms.wage_bill[:] = 3000.0               # 100 a day
    ms.buffer_days[:] = 10.0               # target 10 x 1,000 = 10,000
    return ms


def test_owner_available_boundaries():
    from agents.merchant import FAILED
    ms = _retailers(4)
    ms.cash[:] = 1000.0
    ms.trade_payables[0] = 1000.0          # net worth exactly 0: still worth topping up
    ms.status[1] = FAILED                  # failed, though solvent on its books: nothing
    owner_cash = np.array([5000.0, 5000.0, 1500.0, 9000.0])
    reserve = np.full(4, 2000.0)
    # spare cash above the 2,000 reserve: 3,000, (failed), none (below the reserve), 7,000
    assert owner_available(ms, owner_cash, reserve).tolist() == [3000.0, 0.0, 0.0, 7000.0]


def test_owner_flows_nothing_between_the_target_and_the_keep_back():
    ms = _retailers(2)
    ms.cash[:] = [10_500.0, 9_000.0]
    # 500 above the 10,000 target but 1,000 kept back: no payout, and no shortfall to top up;
    # the second is 1,000 short: the owner puts back half of it, 500
    flow = owner_flows(ms, 0.5, np.array([1e9, 1e9]), np.array([1_000.0, 0.0]))
    assert flow.tolist() == [0.0, -500.0]


def test_daily_outflows_and_cash_target_exact():
    from agents.merchant import cash_target, daily_outflows
    ms = _retailers(1)
    ms.buffer_days[:] = 3.0
    # 1,000 / 1.25 + 100 + 3,000 / 30 = 800 + 100 + 100
    assert daily_outflows(ms).tolist() == [1000.0]
    assert cash_target(ms).tolist() == [3000.0]


def test_desired_staff_exact_values():
    from agents.merchant import (DISTRESSED, DISTRIBUTOR, FAILED, MANUFACTURER, RETAILER, MerchantState,
                                 desired_staff)
    tier = np.array([RETAILER, DISTRIBUTOR, MANUFACTURER, RETAILER, RETAILER])
    ms = MerchantState.create(tier, np.ones(5), np.full(5, 1.25), 3, 1)
    ms.wage[:] = [5000.0, 1000.0, 3000.0, 5000.0, 5000.0]
    ms.sales_longrun[:] = [9000.0, 8000.0, 10_000.0, 9000.0, 9000.0]
    ms.trend_sales[:] = [2250.0, 8000.0, 10_000.0, -100.0, 9000.0]
    ms.status[:] = [0, 0, DISTRESSED, 0, FAILED]
    share = np.array([0.1, 0.05, 0.2])
    staff = desired_staff(ms, share, elasticity=0.5, distress_cut=0.25, wage_floor=2000.0)
    # 0: 0.1 x 9,000 x 30 / 5,000 = 5.4, trend at a quarter of the long run: x 0.25^0.5 -> 2.7 -> 3
    # 1: wage 1,000 below the floor 2,000: 0.05 x 8,000 x 30 / 2,000 = 6
    # 2: 0.2 x 10,000 x 30 / 3,000 = 20, distressed: x 0.75 -> 15
    # 3: trend sales below zero count as none -> 0, but at least one employee while active
    # 4: failed -> none
    assert staff.tolist() == [3, 6, 15, 1, 0]
    # the wage floor binds only below it: a floor of 2,000 under the retailer's 5,000 leaves 3
    ms.wage[0] = 2000.0                                # 5.4 x 5/2 x 0.5 = 6.75 -> 7
    assert desired_staff(ms, share, 0.5, 0.25, 2000.0)[0] == 7


def test_drift_appeal_ar1_step():
    from agents.merchant import drift_appeal
    # 0.5 x 0.5 + 0.25 x 1 = 0.5; 0.5 x -0.25 + 0.25 x -2 = -0.625
    out = drift_appeal(np.array([0.5, -0.25]), 0.5, 0.25, np.array([1.0, -2.0]))
    assert out.tolist() == [0.5, -0.625]


def test_take_jobs_at_merchant_zero():
    from agents.labour import OUTSIDE, take_jobs
    employed, employer = np.array([False, False]), np.array([OUTSIDE, OUTSIDE])
    base, outside_wage = np.array([6000.0, 6500.0]), np.array([6000.0, 6500.0])
    staff, bill, wage = np.array([0, 0]), np.array([0.0, 0.0]), np.array([4000.0, 5000.0])
    take_jobs(employed, employer, base, outside_wage, staff, bill, wage, np.array([0, 1]), np.array([0, OUTSIDE]))
    # merchant 0 (index 0 is a merchant, not the outside) hires consumer 0 at its 4,000 wage
    assert employer.tolist() == [0, OUTSIDE] and employed.tolist() == [True, True]
    assert base.tolist() == [4000.0, 6500.0]
    assert staff.tolist() == [1, 0] and bill.tolist() == [4000.0, 0.0]


# --------------------------------------------------------------------------- consumers' credit rules

from agents.accounts import accelerate, repayment_due  # noqa: E402
from agents.consumer import (big_ticket_acceptance, big_ticket_peak_rate, credit_gap,  # noqa: E402
                             essential_spending, finance_expense, pay_arrears)
from agents.lender import Accounts, capital_flows  # noqa: E402
from sim.config import load_config  # noqa: E402


def test_repayment_due_pays_in_full_toward_target_and_never_below_the_minimum():
    statement = np.array([1000.0, 1000.0, 1000.0, 1000.0])
    revolving = np.array([0.0, 0.0, 800.0, 0.0])
    target = np.array([0.0, 600.0, 200.0, 5000.0])
    intended, minimum = repayment_due(statement, revolving, target, 0.1, 0.3)
    # patient, no revolving: in full; carries 600: pays 400; 800 revolving over a 200 target:
    # carries 200 + 0.7 x 600 = 620, pays 380; a target above the statement: the minimum
    assert np.allclose(intended, [1000.0, 400.0, 380.0, 100.0]) and np.allclose(minimum, 100.0)


def test_credit_gap_is_target_debt_less_carried_and_never_negative():
    assert np.allclose(credit_gap(np.array([0.6, 0.6, 0.0]), np.array([10_000.0, 10_000.0, 10_000.0]),
                                  np.array([2_000.0, 7_000.0, 0.0])), [4_000.0, 0.0, 0.0])


def test_finance_expense_uses_cash_then_lines_in_order_then_arrears():
    cash, credit, arrears = finance_expense(np.array([1000.0, 1000.0, 1000.0]), np.array([300.0, 1500.0, 0.0]),
                                            np.array([[200.0, 0.0, 0.0], [100.0, 0.0, 5000.0]]))
    assert np.allclose(cash, [300.0, 1000.0, 0.0])
    assert np.allclose(credit, [[200.0, 0.0, 0.0], [100.0, 0.0, 1000.0]])
    assert np.allclose(arrears, [400.0, 0.0, 0.0])


def test_pay_arrears_is_capped_by_arrears_cash_and_a_share_of_income():
    paid = pay_arrears(np.array([500.0, 5000.0, 5000.0]), np.array([1000.0, 1000.0, 100.0]),
                       np.array([6000.0, 2000.0, 6000.0]), 0.3)
    assert np.allclose(paid, [500.0, 600.0, 100.0])


def test_essential_spending_mixes_usual_and_current_income_within_cash():
    out = essential_spending(np.array([10_000.0, 100.0]), np.array([6000.0, 6000.0]), np.array([2400.0, 2400.0]),
                             0.45, 0.7)
    assert np.allclose(out, [0.45 * (0.7 * 6000 + 0.3 * 2400), 100.0])   # 2214: 18% below 0.45 x 6000


def test_big_tickets_thinning_keeps_the_yearly_average():
    p = load_config("baseline", ["consumers.big_ticket_probability=0.01",
                                 "consumers.big_ticket_promotion_multiplier=4"]).consumers
    peak = big_ticket_peak_rate(p, 0.1)
    assert peak == 0.04 / 1.3
    assert big_ticket_acceptance(True, p) == 1.0 and big_ticket_acceptance(False, p) == 0.25
    assert abs(0.1 * peak + 0.9 * peak * 0.25 - 0.01) < 1e-15   # 10% of days at the peak, the rest thinned


def test_capital_flows_pay_out_above_1_2_targets_and_recapitalise_below_the_floor():
    payout, injection = capital_flows(np.array([20.0, 3.0, 8.0]), np.array([100.0, 100.0, 100.0]),
                                      np.array([0.1, 0.1, 0.1]), np.array([0.5, 0.5, 0.5]), np.array([0.5, 0.5, 0.5]))
    assert np.allclose(payout, [4.0, 0.0, 0.0]) and np.allclose(injection, [0.0, 7.0, 0.0])


def test_accelerate_moves_every_part_of_the_debt_into_overdue():
    acc = Accounts.empty(1, 2)
    for name, value in (("unbilled", 1.0), ("billed", 2.0), ("revolving", 4.0), ("instalment_principal", 8.0),
                        ("overdue", 16.0)):
        getattr(acc, name)[0][:] = value
    acc.instalment_months[0][:] = 6
    accelerate(acc, 0, np.array([1]))
    assert acc.overdue[0].tolist() == [16.0, 31.0] and acc.instalment_months[0].tolist() == [6, 0]
    for name in ("unbilled", "billed", "revolving", "instalment_principal"):
        assert getattr(acc, name)[0].tolist()[1] == 0.0 and getattr(acc, name)[0].tolist()[0] > 0


def test_collect_due_pays_the_bill_then_revolving_forgets_only_when_able_and_dates_late_payments():
    from agents.accounts import collect_due
    from agents.lender import LenderState
    from sim.config import LenderParams

    p = LenderParams()
    acc = Accounts.empty(1, 4)
    lenders = LenderState.create([p], np.zeros(1))
    acc.open[0][:] = True
    acc.billed[0][:] = [1000.0, 1000.0, 1000.0, 1000.0]
    acc.revolving[0][:] = [500.0, 0.0, 0.0, 0.0]
    acc.balance[0][:] = acc.billed[0] + acc.revolving[0]
    lenders.receivables[0] = acc.balance[0].sum()
    acc.late_score[0][3], acc.late_day[0][3] = 1.0, 100 - 365      # one late payment a year ago
    cash = np.array([5000.0, 1000.0, 5000.0, 50.0])
    able = cash.copy()
    forgets = np.array([False, True, True, False])
    # 0: patient with 500 revolving: pays the bill and kappa (30%) of the revolving balance,
    # 1,150, first the bill; 1: able to pay exactly the intended 1,000 but forgets: pays nothing,
    # the minimum (100) is overdue; 2: a revolver (target 600) who would pay 400, forgets and is
    # able: pays nothing; 3: pays 50 of the 100 minimum, 50 overdue
    target = np.array([0.0, 0.0, 600.0, 0.0])
    repaid, late = collect_due(acc, lenders, cash, able, 0, np.arange(4), forgets, 100, target, p, 0.3)
    assert repaid == 1150.0 + 50.0
    assert cash.tolist() == [3850.0, 1000.0, 5000.0, 0.0]
    assert late.tolist() == [1, 2, 3]
    assert np.allclose(acc.overdue[0], [0.0, 100.0, 100.0, 50.0])
    assert np.allclose(acc.revolving[0], [350.0, 900.0, 900.0, 900.0])
    assert acc.billed[0].tolist() == [0.0] * 4
    assert acc.forgot[0].tolist() == [False, True, True, False]
    assert acc.late_score[0][3] == np.exp(-1.0) + 1.0 and acc.late_day[0][3] == 100
    assert lenders.receivables[0] == 4500.0 - 1200.0 and lenders.cash[0] == 1200.0


def test_update_income_estimate_follows_income_with_the_half_life():
    from agents.lender import update_income_estimate

    est = np.array([6000.0, 6000.0])
    update_income_estimate(est, np.array([2400.0, 6000.0]), 1.0)          # one month, half-life 1: halfway
    assert est.tolist() == [4200.0, 6000.0]
    update_income_estimate(est, np.array([2400.0, 6000.0]), 0.0)          # 0: current income
    assert est.tolist() == [2400.0, 6000.0]
    est = np.array([6000.0])
    update_income_estimate(est, np.array([2400.0]), 6.0)
    assert est[0] == 6000.0 - (1 - 0.5 ** (1 / 6)) * 3600.0


def test_rule_edges_the_first_tests_miss():
    # a peak rate above one a day is capped at one
    p = load_config("baseline", ["consumers.big_ticket_probability=0.5",
                                 "consumers.big_ticket_promotion_multiplier=4"]).consumers
    assert big_ticket_peak_rate(p, 0.0) == 1.0
    # credit covers only what cash left unpaid
    _, credit, _ = finance_expense(np.array([1000.0]), np.array([300.0]), np.array([[5000.0]]))
    assert credit.tolist() == [[700.0]]
    # equity exactly at the floor is not recapitalised
    _, injection = capital_flows(np.array([5.0]), np.array([100.0]), np.array([0.1]), np.array([0.5]),
                                 np.array([0.5]))
    assert injection.tolist() == [0.0]


def test_collect_due_keeps_a_small_revolving_balance():
    """Fifty fen left unpaid revolve: only rounding residue (below 1e-9 yuan) is cleared."""
    from agents.accounts import collect_due
    from agents.lender import LenderState
    from sim.config import LenderParams

    p = LenderParams()
    acc = Accounts.empty(1, 1)
    lenders = LenderState.create([p], np.zeros(1))
    acc.open[0][:] = True
    acc.billed[0][:] = acc.balance[0][:] = 100.0
    lenders.receivables[0] = 100.0
    cash = np.array([99.5])
    collect_due(acc, lenders, cash, cash.copy(), 0, np.arange(1), np.array([False]), 10, np.zeros(1), p, 0.3)
    assert acc.revolving[0].tolist() == [0.5] and acc.balance[0].tolist() == [0.5] and acc.overdue[0][0] == 0


def test_repayment_due_pays_the_excess_from_spare_cash():
    statement = np.array([1500.0, 1500.0, 1500.0])
    revolving = np.array([1000.0, 1000.0, 1000.0])
    target = np.array([0.0, 0.0, 400.0])
    spare = np.array([5000.0, 700.0, 1500.0])
    intended, _ = repayment_due(statement, revolving, target, 0.1, 0.3, spare)
    # 0: spare covers the bill (500) and the whole excess: pays 1,500; 1: 200 spare after the
    # bill, below kappa x 1,000 = 300: pays 500 + 300; 2: excess 600, the rest 500 above target:
    # spare 1,000 after it covers the excess, carry 400: pays 1,100
    assert intended.tolist() == [1500.0, 800.0, 1100.0]


# --------------------------------------------------------------------------- merchants' credit lines and failure


def test_scf_limits_appetite_freeze_and_cuts_by_the_lender_only():
    from agents.merchant import FAILED, scf_limits
    enrolled = np.array([True, True, False, True])
    status = np.array([0, 0, 0, FAILED])
    trade = np.array([1000.0, 400.0, 1000.0, 1000.0])
    settlement = np.array([600.0, 0.0, 0.0, 0.0])
    limit_now = np.array([800.0, 800.0, 0.0, 500.0])
    drawn = np.array([700.0, 700.0, 0.0, 100.0])
    # normal = 0.5 x receivables: 800, 200, 0 (not enrolled), 0 (failed); x appetite 0.75
    limit, cut = scf_limits(enrolled, status, trade, settlement, limit_now, drawn, 0.5, 0.75, False)
    assert limit.tolist() == [600.0, 150.0, 0.0, 0.0]
    # 0: 600 below the old 800 and the 700 drawn, the normal 800 would cover it: the lender's cut
    # 1: the limit shrank with receivables (normal 200 < 700 drawn): not a cut
    # 3: failed, normal 0 < 100 drawn: not a cut
    assert cut.tolist() == [True, False, False, False]
    # appetite above 1 counts as 1: the normal limits, and no limit falls below the old one at 0
    limit, cut = scf_limits(enrolled, status, trade, settlement, limit_now, drawn, 0.5, 1.3, False)
    assert limit.tolist() == [800.0, 200.0, 0.0, 0.0] and cut.tolist() == [False, False, False, False]
    # a freeze closes every line: 0 is the lender's cut where the normal line covers the loan
    limit, cut = scf_limits(enrolled, status, trade, settlement, limit_now, drawn, 0.5, 1.0, True)
    assert limit.tolist() == [0.0, 0.0, 0.0, 0.0] and cut.tolist() == [True, False, False, False]


def test_scf_limits_the_boundaries_of_a_cut():
    from agents.merchant import scf_limits
    on, active = np.ones(5, dtype=bool), np.zeros(5, dtype=np.int8)
    # advance rate 1, appetite 0.5: limit = half the receivables
    trade = np.array([1000.0, 1000.0, 1000.0, 1000.0, 1000.0])
    limit_now = np.array([500.0, 900.0, 900.0, 900.0, 900.0])
    drawn = np.array([800.0, 500.0, 500.0 + 1e-9, 500.5, 1000.0])
    limit, cut = scf_limits(on, active, trade, np.zeros(5), limit_now, drawn, 1.0, 0.5, False)
    assert limit.tolist() == [500.0] * 5
    # 0: the limit did not fall (500 = 500): no cut, though below the 800 drawn
    # 1: the limit fell to exactly the amount drawn: not below it, no cut
    # 2: to within 1e-9 of it: no cut either
    # 3: to half a yuan below it: the lender's cut
    # 4: below the 1,000 drawn, which the normal limit (1,000) just covers: the lender's cut
    assert cut.tolist() == [False, False, False, True, True]
    # the normal line falls short of the loan by a hair (1e-9 is tolerated), or by a yuan
    limit, cut = scf_limits(on[:2], active[:2], np.array([1000.0 - 1e-9, 999.0]), np.zeros(2),
                            np.full(2, 900.0), np.full(2, 1000.0), 1.0, 0.5, False)
    assert cut.tolist() == [True, False]


def test_line_repayments_scf_before_the_bank_from_cash_above_working_needs():
    from agents.merchant import line_repayments
    cash = np.array([8000.0, 6000.0, 4000.0, 20_000.0])
    target = np.full(4, 10_000.0)                   # working cash 0.5 x 10,000 = 5,000
    scf_drawn = np.array([1000.0, 4000.0, 1000.0, 0.0])
    bank_drawn = np.array([5000.0, 5000.0, 1000.0, 3000.0])
    scf, bank = line_repayments(cash, target, scf_drawn, bank_drawn, 0.5)
    # 0: spare 3,000 -> the whole 1,000 SCF, then 2,000 of the bank line
    # 1: spare 1,000 -> all to the SCF loan (4,000 drawn), nothing to the bank
    # 2: below working cash -> nothing; 3: spare 15,000, no SCF -> the whole 3,000 bank line
    assert scf.tolist() == [1000.0, 1000.0, 0.0, 0.0]
    assert bank.tolist() == [2000.0, 0.0, 0.0, 3000.0]


def test_failure_due_illiquid_and_the_owner_will_not_or_cannot_pay():
    from agents.merchant import FAILED, failure_due
    t = 200
    status = np.array([0, 0, 0, FAILED, 0])
    trade_day = np.array([100, NEVER, NEVER, NEVER, NEVER])
    overdraft_day = np.array([150, NEVER, 190, 190, NEVER])
    wage_day = np.array([NEVER, 110, NEVER, NEVER, NEVER])
    trade_unpaid = np.array([1000.0, 0.0, 20_000.0, 20_000.0, 10_000.0])
    overdraft = np.array([0.0, 0.0, 8000.0, 8000.0, 10_000.0])
    wage_arrears = np.array([0.0, 500.0, 3000.0, 3000.0, 10_000.0])
    sales = np.full(5, 1000.0)                      # a month of revenue: 30 x 1,000 = 30,000
    net_worth = np.array([5000.0, 100.0, -1.0, -1.0, -100.0])
    owner = np.array([2000.0, 0.0, 0.0, 0.0, 0.0])
    fails = failure_due(status, trade_day, overdraft_day, wage_day, t, trade_unpaid, overdraft, wage_arrears,
                        sales, net_worth, owner, 90, 1.0)
    # 0: oldest min(100, 150) -> 100 days >= 90: too old, but solvent with owner funds: no failure
    # 1: wages unpaid since day 110, exactly 90 days: too old; solvent but the owner has nothing: fails
    # 2: 20,000 + 8,000 + 3,000 = 31,000 > 30,000 (10 days old): too big, net worth < 0: fails
    # 3: the same, but already failed: never fails again
    # 4: 30,000 not above 30,000 and no dated arrears (NEVER is not old): not illiquid, though
    #    insolvent with no owner funds: no failure
    assert fails.tolist() == [False, True, True, False, False]
    # the boundaries, all too old (100 days): net worth exactly 0 or 0.5 with the owner's funds
    # still there is solvent; owner funds of at most 1e-9 count as exhausted; a merchant
    # with no expected sales is illiquid with any arrears (a month of its revenue is nil)
    old = np.full(5, 100)
    fails = failure_due(np.zeros(5, dtype=np.int8), old, np.full(5, NEVER), np.full(5, NEVER), t,
                        np.array([0.0, 0.0, 0.0, 10.0, 0.0]), np.zeros(5), np.zeros(5),
                        np.array([1000.0, 1000.0, 1000.0, 0.0, 1000.0]), np.array([0.0, 0.5, 5.0, -1.0, 5.0]),
                        np.array([50.0, 50.0, 1e-9, 0.0, 0.5]), 90, 1.0)
    assert fails.tolist() == [False, False, True, True, False]   # (half a yuan from the owner still counts)
    young = failure_due(np.zeros(2, dtype=np.int8), np.full(2, 199), np.full(2, NEVER), np.full(2, NEVER), t,
                        np.array([10.0, 29_000.0]), np.zeros(2), np.zeros(2), np.array([0.0, 1000.0]),
                        np.array([-1.0, -1.0]), np.zeros(2), 90, 1.0)
    assert young.tolist() == [True, False]      # 10 yuan against no revenue: too big; 29,000 < 30,000
