"""The labour market (agents/labour.py): matching, outside labour demand, separations,
layoffs and vacancy filling, on hand-made numbers; then in the model."""

from __future__ import annotations

import numpy as np
import pytest

from agents.labour import (OUTSIDE, SELF_EMPLOYED, labour_market_day, leave_jobs, matches,
                           outside_labour_demand, steady_state_vacancies, take_jobs)
from agents.merchant import layoffs_due
from tests.conftest import advance_to, make_model


def test_matching_function_exact_value_and_caps():
    # mu x U^a x V^(1-a) a month, per day: 0.5 x sqrt(100 x 25) / 30
    assert matches(100, 25, 0.5, 0.5) == pytest.approx(25 / 30)
    assert matches(100, 25, 0.5, 0.7) == pytest.approx(0.5 * 100 ** 0.7 * 25 ** 0.3 / 30)
    assert matches(0, 25, 0.5, 0.5) == 0.0 and matches(100, 0, 0.5, 0.5) == 0.0
    assert matches(10, 10, 1000.0, 0.5) == 10.0     # never more than either side


def test_more_job_seekers_lower_the_job_finding_rate():
    low, high = 100, 400
    rate_low = matches(low, 25, 0.5, 0.5) / low
    rate_high = matches(high, 25, 0.5, 0.5) / high
    assert rate_high == pytest.approx(rate_low / 2)   # sqrt(4) more hires shared by 4x the seekers
    # and more vacancies raise it
    assert matches(100, 100, 0.5, 0.5) / 100 == pytest.approx(2 * rate_low)


def test_steady_state_vacancies_invert_the_matching_function():
    v = steady_state_vacancies(500, 120.0, 0.5, 0.6)
    assert matches(500, v, 0.5, 0.6) * 30 == pytest.approx(120.0)


def test_outside_labour_demand_follows_sales_by_theta():
    # 1000 x (0.5 x 0.9 + 0.5 x 0.8) - 20
    assert outside_labour_demand(1000, 0.9, 0.5, 0.8, -20) == pytest.approx(830.0)
    # theta = 0: a fixed outside sector, whatever it sells
    assert outside_labour_demand(1000, 1.0, 0.0, 0.5, 0.0) == pytest.approx(1000.0)
    assert outside_labour_demand(1000, 1.0, 1.0, 0.5, 0.0) == pytest.approx(500.0)
    assert outside_labour_demand(10, 1.0, 0.5, 1.0, -50) == 0.0


def _day(draw, employed, employer, target, merchant_vac, sep=0.1, slot=0.5):
    return labour_market_day(np.asarray(employed), np.asarray(employer), np.full(len(draw), sep),
                             np.asarray(draw, dtype=float), target, np.asarray(merchant_vac), 30.0,
                             1000.0, 0.5, slot)


def test_separations_layoffs_and_owners_on_hand_made_draws():
    # four outside workers, one merchant employee, one owner, two job-seekers
    employed = [True, True, True, True, True, True, False, False]
    employer = [OUTSIDE, OUTSIDE, OUTSIDE, OUTSIDE, 0, SELF_EMPLOYED, OUTSIDE, OUTSIDE]
    draw = [0.05, 0.15, 0.35, 0.9, 0.05, 0.01, 0.99, 0.99]
    # target 2 of 4: excess 2, layoff_speed 30 a month = 1 a day: each outside worker 2/4 = 0.5
    flows = _day(draw, employed, employer, target=2.0, merchant_vac=[0])
    assert flows.separated.tolist() == [0, 4]           # draw below 0.1; never the owner (5)
    assert flows.laid_off.tolist() == [1, 2]            # in the band [0.1, 0.6); outside only
    assert flows.hired.size == 0                        # no vacancies: nobody is hired


def test_vacancies_are_filled_once_each_by_systematic_sampling():
    employed = [False] * 4 + [True] * 3
    employer = [OUTSIDE] * 7
    # outside wants 5 and has 3: 2 vacancies; merchants 0 and 1 want one each: 4 slots, 4 hires
    flows = _day([0.0, 0.0, 0.0, 0.0, 0.9, 0.9, 0.9], employed, employer, target=5.0,
                 merchant_vac=[1, 1], sep=0.0)
    assert flows.vacancies == 4
    assert flows.hired.tolist() == [0, 1, 2, 3]
    assert flows.hired_by.tolist() == [OUTSIDE, OUTSIDE, 0, 1]
    # more hires than vacancies are never made: the lowest draws get the slots
    flows = _day([0.3, 0.1, 0.2, 0.0, 0.9, 0.9, 0.9], employed, employer, target=3.0,
                 merchant_vac=[1, 1], sep=0.0)
    assert flows.hired.tolist() == [1, 3] and sorted(flows.hired_by.tolist()) == [0, 1]


def test_leave_and_take_jobs_keep_merchant_books():
    employed = np.array([True, True, False])
    employer = np.array([0, OUTSIDE, OUTSIDE])
    base = np.array([5000.0, 7000.0, 6000.0])
    outside_wage = np.array([6500.0, 7000.0, 6000.0])
    staff, bill, wage = np.array([1, 0]), np.array([5000.0, 0.0]), np.array([5000.0, 4000.0])
    leave_jobs(employed, employer, base, outside_wage, staff, bill, np.array([0]))
    assert staff.tolist() == [0, 0] and bill.tolist() == [0.0, 0.0]
    assert not employed[0] and employer[0] == OUTSIDE and base[0] == 6500.0
    take_jobs(employed, employer, base, outside_wage, staff, bill, wage, np.array([0, 2]), np.array([1, OUTSIDE]))
    assert employer.tolist() == [1, OUTSIDE, OUTSIDE] and employed.all()
    assert base.tolist() == [4000.0, 7000.0, 6000.0]    # the merchant's wage; the outside wage
    assert staff.tolist() == [0, 1] and bill.tolist() == [0.0, 4000.0]


def test_layoffs_due_lay_off_a_share_of_the_excess():
    staff, target = np.array([10, 3, 5, 2]), np.array([6, 3, 6, 1])
    # excess 4, 0, 0, 1; half of it: 2, 0, 0, 0.5 rounded at random
    assert layoffs_due(staff, target, 0.5, np.array([0.0, 0.9, 0.9, 0.4])).tolist() == [2, 0, 0, 0]
    assert layoffs_due(staff, target, 0.5, np.array([0.99, 0.9, 0.9, 0.6])).tolist() == [2, 0, 0, 1]


def test_a_merchants_layoffs_raise_unemployment_and_lower_income():
    model = make_model(consumers=600, merchants=8, days=70)
    cs, ms = model.consumers, model.merchants
    big = int(np.argmax(np.where(ms.tier == 0, ms.staff, 0)))   # the retailer with most staff
    staff = np.flatnonzero(cs.employed & (cs.employer == big))
    assert staff.size >= 4
    advance_to(model, model.calendar.index("2026-02-01"))   # the next step is 1 February
    staff = np.flatnonzero(cs.employed & (cs.employer == big))
    income_before = cs.income[staff].copy()
    ms.expected_sales[big] *= 0.05  # its sales collapse: desired staff fall
    ms.trend_sales[big] *= 0.05
    unemployed_before = np.count_nonzero(~cs.employed)
    model.step()                    # 1 February: the monthly review lays off half the excess
    gone = staff[~cs.employed[staff]]
    excess = staff.size - int(ms.staff_target[big])
    assert excess >= 4 and excess // 2 <= gone.size <= (excess + 1) // 2   # half the excess
    assert ms.staff[big] == staff.size - gone.size
    assert model.today.layoffs >= gone.size
    assert np.count_nonzero(~cs.employed) >= unemployed_before + gone.size - model.today.hires
    replacement = model.cfg.labour.benefit_replacement
    np.testing.assert_allclose(cs.income[gone], replacement * cs.outside_wage[gone] * model.income_index[model.pos - 1])
    assert np.all(cs.income[gone] < income_before[np.isin(staff, gone)])


def test_unemployment_is_an_outcome_that_an_unemployment_shock_moves():
    """The shock removes outside jobs; unemployment rises by about its size, then matching and
    the sales feedback decide the rest. Without a shock it stays near its start."""
    sets = ["labour.separation_rate=0.03"]
    calm = make_model(consumers=4000, merchants=60, days=120, burn_in=730, sets=sets).run()
    shock = ["shocks=[{kind='unemployment', start='2026-02-01', days=60, size=0.04}]"]
    hit = make_model(consumers=4000, merchants=60, days=120, burn_in=730, sets=sets + shock).run()
    a, b = calm.results()["timeseries"], hit.results()["timeseries"]
    window = (a["date"] >= "2026-03-01") & (a["date"] < "2026-04-01")
    gap = (b["unemployment_rate"] - a["unemployment_rate"])[window].mean()
    assert 0.02 < gap < 0.07
    assert abs(a["unemployment_rate"].mean() - 0.05) < 0.015
    assert b["layoffs"].sum() > a["layoffs"].sum()
