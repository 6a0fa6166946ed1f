"""Mechanism tests: each behaviour rule of docs/model.md sections 3 and 7 doing its job on a small,
hand-made population.

The pattern: build a small model (``make_model``), set the numpy state of a few
consumers by hand, step the model, and assert the economics (who pays, who is
cut, by how much, with which recorded cause). Paired runs use the same seed, so
they share every random draw except where the scenarios really differ.

Hand-made state keeps the books balanced (docs/model.md 8): cash taken from a
consumer goes to the outside sector, and a debt added to an account part is also
added to the account's ``balance`` and to the lender's ``receivables``. Every
test that steps the model builds it with ``check=True`` (the invariants are
checked at the end of every day) and checks them once more at the end.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import advance_to, make_model

from agents.consumer import OUTSIDE
from agents.lender import features, fit_logistic, sigmoid, target_limit
from sim.accounting import check_invariants
from sim.config import load_config

BAITIAO, HUABEI = 0, 1  # lender rows in the baseline (the platform first)

# an economy in which nobody shops, has expense shocks, or buys big tickets: the only
# debt on the lenders' books is the debt a test puts there
QUIET = ["consumers.propensity_mean=0", "consumers.target_utilisation_impatient=[0.0, 0.0]",
         "consumers.big_ticket_probability=0", "consumers.fraud_share=0",
         "consumers.hardship_probability=0", "consumers.hardship_probability_risky=0"]


# --------------------------------------------------------------------------- helpers


def start_on(date: str) -> str:
    """``run.start_date`` override (TOML-quoted: a bare date is read as a TOML date)."""
    return f'run.start_date="{date}"'


def shock(kind: str, start: str, end: str, size: float = 0.0, lender: str | None = None) -> str:
    """A one-shock ``shocks=[...]`` override."""
    extra = f', lender="{lender}"' if lender else ""
    return f'shocks=[{{kind="{kind}", start="{start}", end="{end}", size={size}{extra}}}]'


def set_cash(model, idx, value) -> None:
    """Set consumers' cash; the difference goes to (or comes from) the outside sector."""
    idx = np.atleast_1d(idx)
    cs = model.consumers
    model.outside.cash += float(np.sum(cs.cash[idx] - value))
    cs.cash[idx] = value


def add_debt(model, l: int, idx, amount, part: str = "unbilled") -> None:
    """Add ``amount`` (one number, or one per account) to each account's ``part``, and to its
    balance and the lender's book."""
    idx = np.atleast_1d(idx)
    amount = np.broadcast_to(np.asarray(amount, dtype=float), idx.shape)
    acc = model.accounts
    getattr(acc, part)[l, idx] += amount
    acc.balance[l, idx] += amount
    model.lenders.receivables[l] += float(amount.sum())


def payers(model, l: int = 0) -> np.ndarray:
    """Consumers with an open account at lender ``l`` who own no business (owners receive
    their merchants' payouts, so they cannot be made to have no income)."""
    ids = np.flatnonzero(model.accounts.open[l])
    return ids[~np.isin(ids, model.merchants.owner)]


def make_unable_to_pay(model, idx) -> None:
    """No cash and no income of any kind (wage, benefit) from now on."""
    idx = np.atleast_1d(idx)
    cs = model.consumers
    assert not np.isin(idx, model.merchants.owner).any(), "owners live on payouts: pick non-owners"
    set_cash(model, idx, 0.0)
    cs.base_income[idx] = 0.0   # benefits are a share of the base wage: zero too
    cs.outside_wage[idx] = 0.0  # and a job found later pays nothing either
    cs.income[idx] = 0.0
    cs.employed[idx] = False


def cut_limit(model, l: int, idx, new, cause: str = "review") -> None:
    """A limit cut through the model's own bookkeeping (recorded, and it dates the raise cool-down)."""
    idx = np.atleast_1d(idx)
    model._set_limit(l, idx, np.broadcast_to(np.asarray(new, dtype=float), idx.shape).copy(), cause)


def changes(model, cause: str | None = None, lender: str = "baitiao"):
    lc = model.results()["limit_changes"]
    lc = lc[lc["lender"] == lender]
    return lc if cause is None else lc[lc["cause"] == cause]


def credit_today(model, l: int) -> dict[int, float]:
    """Credit purchases booked today at lender ``l``, by consumer."""
    who, credit = model.today.credit_purchases
    return {int(c): float(x) for c, x in zip(who, credit[l]) if x > 0}


def usable_credit(model, l: int, idx) -> np.ndarray:
    """Credit an account can spend (docs/model.md 7.4): fixed plus temporary limit less the balance;
    nothing on a closed, frozen or past-due account."""
    acc = model.accounts
    idx = np.atleast_1d(idx)
    usable = acc.open[l, idx] & ~acc.frozen[l, idx] & (acc.dpd[l, idx] == 0)
    room = acc.fixed_limit[l, idx] + acc.temp_limit[l, idx] - acc.balance[l, idx]
    return np.where(usable, np.maximum(room, 0.0), 0.0)


def books_balance(model) -> None:
    assert check_invariants(model, raise_on_breach=False) == []


# --------------------------------------------------------------------------- 1. delinquency


def _unable_payer_with_a_bill(model, bill: float = 3000.0) -> tuple[int, float, int]:
    """A baitiao payer who cannot pay, with ``bill`` of unbilled debt: ``(consumer, bill, the
    day of month its statement falls due)``."""
    p = model.cfg.lenders["baitiao"]
    i = int(payers(model, BAITIAO)[0])
    make_unable_to_pay(model, i)
    add_debt(model, BAITIAO, i, bill, "unbilled")
    return i, bill, (int(model.consumers.statement_day[i]) + p.statement_grace_days - 1) % 28 + 1


def test_missed_minimum_goes_overdue_the_rest_revolves_freeze_calls_the_debt_in_charge_off_at_180():
    # the freeze at 45 DPD (instead of 30) lets a second missed minimum happen before it
    model = make_model(consumers=100, merchants=4, days=260, sets=QUIET + ["lenders.baitiao.freeze_dpd=45"],
                       check=True)
    acc, cs, lenders = model.accounts, model.consumers, model.lenders
    p = model.cfg.lenders["baitiao"]
    i, bill, due_dom = _unable_payer_with_a_bill(model)
    statement_day = int(cs.statement_day[i])

    rows = []
    while model.t < model.calendar.days and acc.open[BAITIAO, i]:
        before = dict(balance=acc.balance[BAITIAO, i], receivables=lenders.receivables[BAITIAO],
                      written=lenders.charge_off_total[BAITIAO], dpd=acc.dpd[BAITIAO, i],
                      interest=lenders.interest_income[BAITIAO])
        model.step()
        rows.append(dict(t=model.t - 1, dom=model.dom, dpd=int(acc.dpd[BAITIAO, i]),
                         billed=acc.billed[BAITIAO, i], overdue=acc.overdue[BAITIAO, i],
                         revolving=acc.revolving[BAITIAO, i],
                         balance=acc.balance[BAITIAO, i], frozen=bool(acc.frozen[BAITIAO, i]),
                         open=bool(acc.open[BAITIAO, i]), limit=acc.fixed_limit[BAITIAO, i],
                         temp=acc.temp_limit[BAITIAO, i], usable=usable_credit(model, BAITIAO, i)[0],
                         receivables=lenders.receivables[BAITIAO], before=before,
                         interest=lenders.interest_income[BAITIAO],
                         charge_offs=int(model.today.charge_offs[BAITIAO]),
                         charge_off_amount=float(model.today.charge_off_amount[BAITIAO])))
    books_balance(model)
    f = p.late_fee_daily

    # statement day: the purchases become the bill; at the due date nothing is paid, so the
    # minimum (10%) is overdue and the rest revolves
    statement = next(r for r in rows if r["dom"] == statement_day)
    assert statement["billed"] == pytest.approx(bill) and statement["dpd"] == 0
    due = next(r for r in rows if r["t"] > statement["t"] and r["dom"] == due_dom)
    assert due["billed"] == 0 and due["dpd"] == 0
    assert due["overdue"] == pytest.approx(0.1 * bill, rel=1e-12)
    assert due["revolving"] == pytest.approx(0.9 * bill, rel=1e-12)
    # the next statement bills a cycle's revolving interest: 0.05% a day x 30 days x 2,700 = 40.5
    second = next(r for r in rows if r["t"] > due["t"] and r["dom"] == statement_day)
    assert second["billed"] == pytest.approx(0.9 * bill * p.revolving_rate_daily * 30, rel=1e-12)
    assert second["interest"] - second["before"]["interest"] == pytest.approx(40.5, rel=1e-12)
    # the second due date misses the new minimum too: 10% of (bill + revolving) joins the overdue
    due2 = next(r for r in rows if r["t"] > second["t"] and r["dom"] == due_dom)
    prev = next(r for r in rows if r["t"] == due2["t"] - 1)
    statement2 = 0.9 * bill + second["billed"]
    assert due2["overdue"] == pytest.approx(prev["overdue"] * (1 + f) + 0.1 * statement2, rel=1e-12)
    assert due2["revolving"] == pytest.approx(0.9 * statement2, rel=1e-12)
    # the day DPD reaches 90 is the score's bad outcome
    hit90 = next(r for r in rows if r["dpd"] == 90)
    assert acc.last_90dpd_day[BAITIAO, i] == hit90["t"]

    late = [r for r in rows if r["t"] > due["t"] and r["open"]]
    assert [r["dpd"] for r in late] == list(range(1, len(late) + 1))   # DPD rises by one a day
    # frozen on the day DPD reaches freeze_dpd, limit zero, a 'freeze' record; the debt is called in
    assert due2["dpd"] < p.freeze_dpd
    hit30 = next(r for r in rows if r["dpd"] == p.freeze_dpd)
    assert hit30["frozen"] and hit30["limit"] == 0 and hit30["temp"] == 0 and hit30["usable"] == 0
    assert all(not r["frozen"] for r in rows if r["t"] < hit30["t"])
    assert hit30["revolving"] == 0 and hit30["billed"] == 0 and hit30["overdue"] == pytest.approx(hit30["balance"])
    freeze = changes(model, "freeze")
    freeze = freeze[freeze["consumer_id"] == i]
    assert len(freeze) == 1 and freeze["dpd"].iloc[0] == p.freeze_dpd and freeze["new_limit"].iloc[0] == 0
    # after the freeze the late fee (0.05% a day of the overdue amount) is the only change
    after = [r for r in late if r["t"] > hit30["t"]]
    for a, b in zip(after, after[1:]):
        assert b["overdue"] == pytest.approx(a["overdue"] * (1 + f), rel=1e-12)
        assert b["balance"] == pytest.approx(b["overdue"]) and b["receivables"] == pytest.approx(b["balance"])

    # charged off on the first statement day at or after 180 DPD, not before
    assert p.charge_off_dpd == 180
    off = rows[-1]
    assert not off["open"] and acc.charged_off[BAITIAO, i]
    dpd_at_off = off["before"]["dpd"] + 1
    assert off["dom"] == statement_day and dpd_at_off >= p.charge_off_dpd
    assert not any(r["dom"] == statement_day and r["dpd"] >= p.charge_off_dpd for r in rows[:-1])
    assert dpd_at_off - p.charge_off_dpd < 28  # ... the first such statement day
    record = changes(model, "charge_off")
    record = record[record["consumer_id"] == i]
    assert len(record) == 1 and record["dpd"].iloc[0] == dpd_at_off and record["new_limit"].iloc[0] == 0

    # the lender writes off the whole balance (with the day's late fee): receivables fall by it
    written = off["before"]["balance"] * (1 + f)
    assert off["charge_offs"] == 1 and off["charge_off_amount"] == pytest.approx(written)
    assert lenders.charge_off_total[BAITIAO] - off["before"]["written"] == pytest.approx(written)
    assert off["before"]["receivables"] == pytest.approx(off["before"]["balance"])
    assert off["receivables"] == pytest.approx(0.0, abs=1e-6) and off["balance"] == 0
    ts = model.results()["timeseries"]
    assert ts.loc[ts["day"] == off["t"], "charge_offs"].item() == 1
    assert ts.loc[ts["day"] == off["t"], "charge_off_amount"].item() == pytest.approx(written)


def test_a_minimum_payer_is_not_delinquent_and_pays_revolving_interest():
    """Cash for the minimum but not the bill: the minimum is paid, the rest revolves, no DPD."""
    model = make_model(consumers=100, merchants=4, days=80, sets=QUIET, check=True)
    acc, cs, lenders = model.accounts, model.consumers, model.lenders
    i, bill, due_dom = _unable_payer_with_a_bill(model)
    set_cash(model, i, 0.1 * bill)                       # exactly the minimum, no income
    advance_to(model, 0)
    seen_due = False
    while model.t < 60:
        model.step()
        if model.dom == due_dom and acc.revolving[BAITIAO, i] > 0 and not seen_due:
            seen_due = True
            assert acc.overdue[BAITIAO, i] == 0 and acc.dpd[BAITIAO, i] == 0
            assert acc.revolving[BAITIAO, i] == pytest.approx(0.9 * bill, rel=1e-12)
            assert cs.cash[i] == pytest.approx(0.0, abs=1e-9)
    assert seen_due
    # a later statement bills interest on the revolving balance: lender income, no cash moved
    assert lenders.interest_income[BAITIAO] > 0
    books_balance(model)


# --------------------------------------------------------------------------- 2. anomaly monitor


def prime_spenders(model, idx, limit: float, mean: float, sd: float) -> None:
    """Consumers who want far more than ``limit`` today, pay with credit first, and whose
    monitor has seen 20 shopping days with the given mean and standard deviation."""
    acc, cs = model.accounts, model.consumers
    cs.credit_first[idx] = True
    cs.propensity[idx] = 1.0
    cs.base_income[idx] = 1e7   # any basket is far above the limit: the spike is the limit
    cs.income[idx] = 1e7
    cs.employed[idx] = True
    cs.employer[idx] = OUTSIDE
    acc.fixed_limit[BAITIAO, idx] = limit
    acc.temp_limit[BAITIAO, idx] = 0.0
    acc.spend_obs[BAITIAO, idx] = 20
    acc.spend_mean[BAITIAO, idx] = mean
    acc.spend_var[BAITIAO, idx] = sd ** 2


def spike_day(date: str, aware: bool, groups: dict[str, tuple[float, float, float]]):
    """One day starting ``date``: primed groups of 60 consumers each; returns the model,
    the credit each group put on the platform today, and the flags."""
    model = make_model(consumers=400, merchants=4, days=10, check=True,
                       sets=[start_on(date), f"lenders.baitiao.promotion_aware={str(aware).lower()}"])
    acc, cs = model.accounts, model.consumers
    # no cash and no pay day today: the purchase is all credit, capped by the limit
    dom = model.calendar.date(0).day
    pool = np.flatnonzero(acc.open[BAITIAO] & ~acc.open[HUABEI] & (acc.balance[BAITIAO] == 0) &
                          (cs.payday != dom))
    set_cash(model, pool, 0.0)
    members = {}
    for k, (name, (limit, mean, sd)) in enumerate(groups.items()):
        members[name] = pool[60 * k:60 * (k + 1)]
        prime_spenders(model, members[name], limit, mean, sd)
    # well-stocked retailers (the test is about the monitor, not stock-outs); goods at cost are
    # merchant net worth, so the books still balance
    model.merchants.inventory += 1e6
    model.step()
    credit = credit_today(model, BAITIAO)
    flagged = set(changes(model, "anomaly")["consumer_id"])
    out = {name: {int(i): credit[int(i)] for i in ids if int(i) in credit} for name, ids in members.items()}
    books_balance(model)
    return model, out, flagged


def test_spending_spike_is_flagged_and_cut_but_a_habitual_big_spender_is_not():
    p = load_config("baseline").lenders["baitiao"]
    # a spike to the whole limit (5,000) on an account that usually spends 300 +- 400 a trip,
    # and the same purchase by an account that usually spends 3,000 +- 1,500
    model, bought, flagged = spike_day("2026-03-10", False, {"spike": (5000.0, 300.0, 400.0),
                                                             "habitual": (5000.0, 3000.0, 1500.0)})
    acc = model.accounts
    spikes, habitual = bought["spike"], bought["habitual"]
    assert len(spikes) >= 3 and len(habitual) >= 3       # enough of them shopped today
    assert min(spikes.values()) > 0.8 * 5000 and min(habitual.values()) > 0.8 * 5000
    # every spike is flagged: the limit is cut by anomaly_cut, recorded with cause 'anomaly'
    assert set(spikes) <= flagged
    ids = np.array(sorted(spikes))
    record = changes(model, "anomaly").set_index("consumer_id").loc[ids]
    assert np.allclose(record["old_limit"], 5000.0)
    assert np.allclose(record["new_limit"], 5000.0 * (1 - p.anomaly_cut))
    assert np.all(acc.anomaly_score[BAITIAO, ids] == 1.0)
    # the flag enters the score: PD rises with the 'recent anomaly flags' feature
    income = model.consumers.income[ids]
    X = features(acc, BAITIAO, ids, model.t, income, model.cfg.consumers.income_median)
    assert np.all(X[:, 8] == pytest.approx(1.0, abs=0.02))
    X0 = X.copy()
    X0[:, 8] = 0.0
    w = model.lenders.weights[BAITIAO]
    assert np.all(sigmoid(X @ w) > sigmoid(X0 @ w))
    # the same purchase is no anomaly for an account used to big purchases
    assert not set(habitual) & flagged
    ts = model.results()["timeseries"]
    assert ts["anomaly_flags"].iloc[0] == len(flagged) == ts["limit_cuts_anomaly"].iloc[0]


def test_promotion_aware_monitoring_raises_the_threshold_in_the_promotion_season():
    groups = {"spike": (5000.0, 300.0, 400.0), "huge": (8000.0, 300.0, 400.0)}
    peak = "2026-06-18"  # 618 peak day: season 1 + demand_peak = 2.5
    naive, naive_bought, naive_flagged = spike_day(peak, False, groups)
    aware, aware_bought, aware_flagged = spike_day(peak, True, groups)
    offseason, off_bought, off_flagged = spike_day("2026-03-10", True, groups)
    assert aware.calendar.season[aware.pos] == pytest.approx(2.5)
    assert offseason.calendar.season[offseason.pos] == 1.0
    # common random numbers: the same consumers shop and buy the same in both peak-day runs
    assert naive_bought == aware_bought
    spikes = naive_bought["spike"]
    assert len(spikes) >= 3 and min(spikes.values()) > 4000
    # threshold 300 + z x 400: z = 5 flags a 5,000 spike; z = 5 x 2.5 = 12.5 (5,300) does not
    assert set(spikes) <= naive_flagged
    assert not set(spikes) & aware_flagged
    # ... outside the season the aware monitor is as strict as the naive one
    assert off_bought["spike"] and set(off_bought["spike"]) <= off_flagged
    # ... and in the season it still flags a spike beyond the higher threshold (8,000 > 5,300)
    huge = aware_bought["huge"]
    assert huge and min(huge.values()) > 5300 and set(huge) <= aware_flagged


# --------------------------------------------------------------------------- 3. promotions


@pytest.mark.parametrize("start_date,window_start,window_end,grace", [
    ("2026-05-25", "2026-06-01", "2026-06-20", 15),   # 618 with the default grace
    ("2026-10-15", "2026-10-20", "2026-11-13", 5),    # Double 11 with a shorter grace
])
def test_temporary_limits_open_on_window_start_and_expire_after_the_grace_period(
        start_date, window_start, window_end, grace):
    model = make_model(consumers=300, merchants=6, days=60, check=True,
                       sets=[start_on(start_date), f"lenders.baitiao.promo_grace_days={grace}",
                             f"lenders.huabei.promo_grace_days={grace}"])
    acc, cal = model.accounts, model.calendar
    p = model.cfg.lenders["baitiao"]
    s, e = cal.index(window_start), cal.index(window_end)
    expiry = e + grace   # the last day a temporary limit can be used; removed that evening
    advance_to(model, s)
    assert not (acc.temp_expiry > model.t).any() and acc.temp_limit.sum() == 0
    # one otherwise eligible account scores above the approval cut-off: it gets nothing
    opened = np.flatnonzero(acc.open[BAITIAO] & ~acc.frozen[BAITIAO] & (acc.dpd[BAITIAO] == 0))
    risky = opened[0]
    acc.pd[BAITIAO, risky] = 0.5
    eligible = opened[acc.pd[BAITIAO, opened] < p.approval_pd]
    fixed_before = acc.fixed_limit[BAITIAO].copy()
    model.step()  # the window's first day
    flagged = changes(model, "anomaly")["consumer_id"].to_numpy()
    # (accounts closed at today's review lose their limits: leave them out)
    got = eligible[~np.isin(eligible, flagged) & acc.open[BAITIAO, eligible]]
    assert got.size > 100
    assert np.allclose(acc.temp_limit[BAITIAO, got], p.temp_limit_share * fixed_before[got])
    assert np.all(acc.temp_expiry[BAITIAO, got] == expiry)
    assert acc.temp_limit[BAITIAO, risky] == 0
    # the temporary limit is credit on top of the fixed limit: consumers who have used up their
    # fixed limit and want more (primed for one day) buy on it, up to the temporary limit
    # (no cash and no pay day today, so all they buy is on credit)
    cs = model.consumers
    full = got[(acc.balance[BAITIAO, got] == 0) & ~acc.open[HUABEI, got] &
               (cs.payday[got] != cal.date(model.t).day)][:50]
    saved = (cs.base_income[full].copy(), cs.income[full].copy(), cs.propensity[full].copy(),
             cs.cash[full].copy())
    add_debt(model, BAITIAO, full, acc.fixed_limit[BAITIAO, full], "unbilled")
    assert np.allclose(usable_credit(model, BAITIAO, full), acc.temp_limit[BAITIAO, full])
    set_cash(model, full, 0.0)
    cs.credit_first[full], cs.propensity[full] = True, 1.0
    cs.base_income[full] = cs.income[full] = 1e7
    model.merchants.inventory += 1e6   # no stock-outs (goods at cost: the books still balance)
    fixed_today, temp_today = acc.fixed_limit[BAITIAO].copy(), acc.temp_limit[BAITIAO].copy()
    model.step()
    cs.base_income[full], cs.income[full], cs.propensity[full] = saved[:3]
    set_cash(model, full, saved[3])
    bought = credit_today(model, BAITIAO)
    buyers = np.array([i for i in full if i in bought])
    assert buyers.size >= 3
    spent = np.array([bought[i] for i in buyers])
    assert np.allclose(spent, temp_today[buyers])
    assert np.all(acc.balance[BAITIAO, buyers] >= fixed_today[buyers] + spent - 1e-6)

    advance_to(model, expiry)   # the next step is the last day of the grace period
    live = np.flatnonzero(acc.open[BAITIAO] & (acc.temp_expiry[BAITIAO] == expiry) &
                          (acc.temp_limit[BAITIAO] > 0) & ~acc.frozen[BAITIAO])
    # one account uses 30% more than its fixed limit, another half of it; a third uses 30% more
    # and has a record of recent anomaly flags (its re-score calls for a cut)
    over, under, risky = live[(acc.balance[BAITIAO, live] == 0)][:3]
    fixed_over, fixed_risky = acc.fixed_limit[BAITIAO, over], acc.fixed_limit[BAITIAO, risky]
    add_debt(model, BAITIAO, over, 1.3 * fixed_over, "unbilled")
    add_debt(model, BAITIAO, under, 0.5 * acc.fixed_limit[BAITIAO, under], "unbilled")
    add_debt(model, BAITIAO, risky, 1.3 * fixed_risky, "unbilled")
    acc.anomaly_score[BAITIAO, risky], acc.anomaly_day[BAITIAO, risky] = 30.0, expiry
    # the clean one earns enough that its re-scored target stays far above its limit
    cs.base_income[over] = cs.income[over] = model.income_estimate[BAITIAO, over] = 1e6
    temp_at_expiry = acc.temp_limit[BAITIAO].copy()
    fixed_at_expiry = acc.fixed_limit[BAITIAO].copy()
    model.step()
    books_balance(model)

    ts = model.results()["timeseries"].set_index("day")
    # temporary limits are live from the window start through window end + grace, then gone
    # (the temporary limit is removed in the evening of its last day: zero at that day's close)
    assert (ts.loc[:s - 1, "temp_limit_total"] == 0).all()
    assert (ts.loc[s:expiry - 1, "temp_limit_total"] > 0).all()
    assert ts.loc[expiry, "temp_limit_total"] == 0 and acc.temp_limit[BAITIAO, live].sum() == 0
    # each expiring account has a promo_expiry record: fixed + temporary -> fixed, on the expiry day
    exp = changes(model, "promo_expiry").set_index("consumer_id")
    assert set(live) <= set(exp.index)
    assert (exp["date"] == cal.date(expiry).isoformat()).all()
    assert np.allclose(exp.loc[live, "old_limit"], fixed_at_expiry[live] + temp_at_expiry[live])
    assert np.allclose(exp.loc[live, "new_limit"], fixed_at_expiry[live])
    # at expiry the accounts are re-scored: using more than the fixed limit brings a reversion
    # cut only where the re-score calls for one (the clean account keeps its limit), and then
    # by at most promo_reversion_cut
    rev = changes(model, "promo_reversion").set_index("consumer_id")
    assert risky in rev.index and over not in rev.index and under not in rev.index
    assert acc.fixed_limit[BAITIAO, over] == fixed_over
    assert rev.loc[risky, "old_limit"] == pytest.approx(fixed_risky)
    # max(target, fixed x (1 - promo_reversion_cut)), the target below fixed x (1 - cut_hysteresis)
    assert fixed_risky * (1 - p.promo_reversion_cut) - 1e-9 <= rev.loc[risky, "new_limit"] \
        <= fixed_risky * (1 - min(p.cut_hysteresis, p.promo_reversion_cut)) + 1e-9
    assert rev.loc[risky, "pd"] > 0.1   # the re-score is stored with the change
    assert (rev["date"] == cal.date(expiry).isoformat()).all()


# --------------------------------------------------------------------------- 4. re-estimation


def test_fit_logistic_recovers_known_weights():
    g = np.random.default_rng(7)
    n = 40000
    X = np.column_stack([np.ones(n), g.normal(size=n), g.exponential(size=n), g.random(n) < 0.3])
    true = np.array([-2.5, 0.8, 0.6, 1.2])
    y = (g.random(n) < sigmoid(X @ true)).astype(float)
    w = fit_logistic(X, y, np.zeros(4), ridge=0.0)
    assert np.allclose(w, true, atol=0.08)
    # a maximum of the likelihood: the score (gradient) vanishes
    assert np.abs(X.T @ (y - sigmoid(X @ w))).max() < 1e-3 * n
    # a strong ridge holds every weight but the intercept at the prior; the intercept
    # then matches the base rate of the outcome
    prior = np.array([0.0, 0.1, 0.2, 0.3])
    w_ridge = fit_logistic(X, y, prior, ridge=1e9)
    assert np.allclose(w_ridge[1:], prior[1:], atol=1e-4)
    assert sigmoid(X @ w_ridge).mean() == pytest.approx(y.mean(), rel=1e-3)


REESTIMATE = ["lenders.baitiao.reestimate_every_days=35",     # snapshots every 35 days from day 0 ...
              "lenders.baitiao.score_horizon_days=91",        # ... outcome: 90+ DPD within 91 days ...
              "lenders.baitiao.appetite_delinquency=0",       # ... no macro channel ...
              "lenders.baitiao.appetite_unemployment=0", "lenders.baitiao.appetite_capital=0",
              shock("model_update", "2026-04-06", "2026-04-07", lender="baitiao")]  # ... refit on day 95
REFIT_DATE = "2026-04-06"   # day 95: the newest snapshot at least 91 days old is day 0's


def reestimation_run(wave: bool):
    """Snapshot on day 0; a quarter of the platform's accounts default right after it (or
    not) and reach 90 DPD on day 90; the score is re-estimated on day 95; one full review
    cycle follows."""
    model = make_model(consumers=400, merchants=6, days=135, sets=REESTIMATE, check=True)
    acc = model.accounts
    model.step()  # day 0: the snapshot the refit will use
    assert model.snapshots[BAITIAO][-1][0] == 0
    opened = payers(model, BAITIAO)
    wave_ids = np.sort(np.random.default_rng(1).choice(opened, size=opened.size // 4, replace=False))
    if wave:
        make_unable_to_pay(model, wave_ids)
        model.consumers.employed[wave_ids] = True   # no unemployment: only delinquency changes
        add_debt(model, BAITIAO, wave_ids, 1000.0, "overdue")
    refit = model.calendar.index(REFIT_DATE)
    advance_to(model, refit)
    before = model.lenders.weights[BAITIAO].copy()
    others = np.setdiff1d(opened, wave_ids)
    pd_before = acc.pd[BAITIAO, others[acc.open[BAITIAO, others]]].mean()
    model.step()
    after = model.lenders.weights[BAITIAO].copy()
    advance_to(model, refit + 35)   # every account reviewed at least once with the new score
    books_balance(model)
    others = others[acc.open[BAITIAO, others]]
    lc = changes(model)
    lc = lc[(lc["date"] >= REFIT_DATE) & ~lc["consumer_id"].isin(wave_ids)]
    cuts = lc[lc["new_limit"] < lc["old_limit"]]["cause"].value_counts()
    return dict(model=model, before=before, after=after, pd_before=pd_before,
                pd_others=acc.pd[BAITIAO, others].mean(), cuts=cuts,
                wave_90dpd=int((acc.last_90dpd_day[BAITIAO, wave_ids] >= 0).sum()), n_wave=wave_ids.size)


def test_reestimation_after_a_wave_of_defaults_raises_pd_and_cuts_other_accounts():
    calm, wave = reestimation_run(False), reestimation_run(True)
    prior = np.asarray(calm["model"].cfg.lenders["baitiao"].initial_weights)
    # until the refit date both runs score with the prior weights
    assert np.allclose(calm["before"], prior) and np.allclose(wave["before"], prior)
    # the wave really is a wave of 90+ DPD outcomes after the snapshot
    assert wave["wave_90dpd"] == wave["n_wave"] and calm["wave_90dpd"] < 0.1 * calm["n_wave"]
    # the refit raises the intercept (the base rate of default) above the prior and the calm refit
    assert wave["after"][0] > prior[0] + 1.0
    assert wave["after"][0] > calm["after"][0] + 1.0
    # accounts that did not default are now scored riskier ...
    assert wave["pd_others"] > 3 * max(wave["pd_before"], calm["pd_others"])
    # ... and cut at their next review, for cause 'review' (appetite played no part)
    review_wave = wave["cuts"].get("review", 0)
    assert review_wave > 50 and review_wave > 5 * max(calm["cuts"].get("review", 0), 1)
    assert wave["cuts"].get("macro", 0) < 0.05 * review_wave


def test_reestimation_learns_from_performing_accounts_so_delinquency_stays_risky():
    """The score predicts 90+ DPD within the horizon: accounts already 30+ DPD at the snapshot are
    left out of the fit (labelled 'good' they would teach the score that delinquency is safe)."""
    model = make_model(consumers=600, merchants=6, days=100, sets=REESTIMATE, check=True)
    acc = model.accounts
    pick = np.random.default_rng(3).permutation(payers(model, BAITIAO))
    new_bad, old_bad = np.sort(pick[:60]), np.sort(pick[60:120])
    # old_bad: 35 DPD at the snapshot (frozen, one late payment on record), never pays again
    make_unable_to_pay(model, old_bad)
    add_debt(model, BAITIAO, old_bad, 1000.0, "overdue")
    acc.dpd[BAITIAO, old_bad] = 35
    acc.last_30dpd_day[BAITIAO, old_bad] = -5
    acc.frozen[BAITIAO, old_bad] = True
    acc.fixed_limit[BAITIAO, old_bad] = 0.0
    acc.late_score[BAITIAO, old_bad] = 1.0
    acc.late_day[BAITIAO, old_bad] = -25
    model.step()   # day 0: snapshot
    # new_bad: current at the snapshot, never pays again
    make_unable_to_pay(model, new_bad)
    add_debt(model, BAITIAO, new_bad, 1000.0, "overdue")
    refit = model.calendar.index(REFIT_DATE)
    advance_to(model, refit)
    day, sample, X, used = model.snapshots[BAITIAO][0]
    assert day == 0 and np.array_equal(used, model.cfg.lenders["baitiao"].initial_weights)
    assert not np.isin(old_bad, sample).any() and np.isin(new_bad, sample).all()
    model.step()
    books_balance(model)
    w = model.lenders.weights[BAITIAO]
    assert np.all(acc.dpd[BAITIAO, old_bad] > 60) and np.all(acc.dpd[BAITIAO, new_bad] >= 30)
    # after the refit, with today's features: the delinquent score far riskier than the clean
    median = model.cfg.consumers.income_median
    clean = np.setdiff1d(np.flatnonzero(acc.open[BAITIAO] & (acc.dpd[BAITIAO] == 0)), pick[:120])

    def pd_now(ids):
        X_now = features(acc, BAITIAO, ids, model.t, model.consumers.income[ids] + 1.0, median)
        return sigmoid(X_now @ w)

    base = pd_now(clean).mean()   # about the new default rate (60 of ~480 sampled accounts)
    assert pd_now(old_bad).min() > max(0.5, 2.5 * base)
    assert pd_now(new_bad).min() > max(0.5, 2.5 * base)
    # the refit learnt from the new defaults: the base rate moved up
    assert w[0] > model.cfg.lenders["baitiao"].initial_weights[0]


# --------------------------------------------------------------------------- 5. macro tightening


def test_credit_tightening_raises_cuts_recorded_as_macro():
    def run(tighten: bool):
        # only the shock moves appetite (the start-up drift of unemployment and capital left out)
        # and limits start near their target, as in the settled baseline (median 0.9 of target)
        sets = [f"lenders.{name}.{key}" for name in ("baitiao", "huabei")
                for key in ("appetite_unemployment=0", "appetite_capital=0", "starting_limit_share=0.92")]
        if tighten:
            sets.append(shock("credit_tightening", "2026-01-10", "2026-04-30", -0.4))
        model = make_model(consumers=1500, merchants=8, days=120, sets=sets, check=True)
        model.run()
        books_balance(model)
        return model.results()["timeseries"], changes(model)

    ts0, lc0 = run(False)
    ts1, lc1 = run(True)
    assert ts0["risk_appetite"].min() > 0.95        # no tightening: appetite stays near normal
    assert ts1["risk_appetite"].iloc[-1] < 0.75      # -0.4 pulls it down (30-day half-life)
    not_cuts = ("promo_expiry", "freeze", "charge_off")
    cuts0 = lc0[(lc0["new_limit"] < lc0["old_limit"]) & ~lc0["cause"].isin(not_cuts)]
    cuts1 = lc1[(lc1["new_limit"] < lc1["old_limit"]) & ~lc1["cause"].isin(not_cuts)]
    # risk-based tightening cuts the marginal accounts, not all (starting limits sit at 0.85 of
    # the target here: burn-in 0), so the cuts are fewer than a uniform cut's but still double
    assert len(cuts1) > 1.5 * len(cuts0) and len(cuts1) - len(cuts0) > 50
    assert ts1["limit_cuts"].sum() == len(cuts1) and ts0["limit_cuts"].sum() == len(cuts0)
    assert ts1["limit_raises"].sum() < ts0["limit_raises"].sum()
    # the extra cuts are 'macro' (without the shock there are next to none)
    macro0 = (cuts0["cause"] == "macro").sum()
    macro1 = cuts1[cuts1["cause"] == "macro"]
    assert len(macro1) > 10 * max(macro0, 1)
    assert len(macro1) - macro0 >= 0.8 * (len(cuts1) - len(cuts0))
    assert ts1["limit_cuts_macro"].sum() == len(macro1)
    assert (macro1["date"] >= "2026-01-10").all() and (macro1["date"] < "2026-05-01").all()
    # 'macro' means the account would have kept its limit at normal appetite: the new limit is
    # the target at today's appetite, and the target at normal appetite (same PD and income) is
    # new x multiplier(PD, 1) / multiplier(PD, appetite); it must clear the cut threshold
    p = load_config("baseline").lenders["baitiao"]
    free = dataclasses.replace(p, limit_min=0.0, limit_max=np.inf)

    def normal_over_today(pd_, appetite_):
        ones = np.ones(pd_.size)
        return np.array([target_limit(pd_[k:k + 1], ones[k:k + 1], 1.0, free)[0] /
                         target_limit(pd_[k:k + 1], ones[k:k + 1], appetite_[k], free)[0]
                         for k in range(pd_.size)])

    appetite = ts1.set_index("date")["risk_appetite"].loc[macro1["date"]].to_numpy()
    inner = ((macro1["new_limit"] > p.limit_min) & (macro1["new_limit"] < p.limit_max)).to_numpy()
    assert inner.sum() > 20
    normal_target = macro1["new_limit"].to_numpy()[inner] * normal_over_today(macro1["pd"].to_numpy()[inner],
                                                                               appetite[inner])
    keep_at = (1 - p.cut_hysteresis) * macro1["old_limit"].to_numpy()[inner]
    assert np.all(normal_target >= keep_at * (1 - 1e-9))
    review1 = cuts1[cuts1["cause"] == "review"]
    if len(review1):
        app_r = ts1.set_index("date")["risk_appetite"].loc[review1["date"]].to_numpy()
        inner_r = ((review1["new_limit"] > p.limit_min) & (review1["new_limit"] < p.limit_max)).to_numpy()
        normal_r = review1["new_limit"].to_numpy()[inner_r] * normal_over_today(review1["pd"].to_numpy()[inner_r],
                                                                                app_r[inner_r])
        assert np.all(normal_r < (1 - p.cut_hysteresis) * review1["old_limit"].to_numpy()[inner_r])


# --------------------------------------------------------------------------- 6. cut below balance


def test_consumer_cut_below_balance_stops_using_the_line_and_repays_it():
    model = make_model(consumers=200, merchants=4, days=80, check=True,
                       sets=["consumers.hardship_probability=0", "labour.separation_rate=0",
                             "merchants.loss_shock_rate=0"])  # a quiet supply chain
    acc, cs = model.accounts, model.consumers
    # statement on the 20th or later: the old balance stays for 30+ days before it is due;
    # an outside job (no merchant layoffs) and no expense shocks keep the consumer able to pay
    pool = np.flatnonzero(acc.open[BAITIAO] & ~acc.open[HUABEI] & cs.employed & ~cs.risk_prone &
                          (cs.statement_day >= 20) & (cs.employer == -1))
    i = int(pool[0])
    acc.open_day[BAITIAO, i] = model.t - 60   # a recent customer: no raise can undo the cut here
    cs.credit_first[i] = True      # left to itself it would pay with credit
    cs.propensity[i] = 0.6
    cs.forgetfulness[i] = 0.0
    set_cash(model, i, 30000.0)    # able to repay
    acc.fixed_limit[BAITIAO, i] = 10000.0
    add_debt(model, BAITIAO, i, 8000.0, "unbilled")
    cut_limit(model, BAITIAO, i, 3000.0)
    days = []
    for _ in range(70):
        start = dict(balance=acc.balance[BAITIAO, i], limit=acc.fixed_limit[BAITIAO, i])
        model.step()
        who = model.today.credit_purchases[0]
        days.append(dict(start, shopped=bool(np.isin(i, who)), end=acc.balance[BAITIAO, i],
                         credit=credit_today(model, BAITIAO).get(i, 0.0)))
    books_balance(model)
    over = [d for d in days if d["balance"] >= d["limit"]]
    assert len(over) >= 29 and sum(d["shopped"] for d in over) >= 3   # it kept shopping ...
    assert all(d["credit"] == 0 for d in over)                         # ... but not on this line
    assert all(d["end"] <= d["balance"] + 1e-9 for d in over)          # the balance never grew
    # the statement is paid on its due date: the old balance is gone
    first_below = next(k for k, d in enumerate(days) if d["end"] < 8000.0)
    assert days[first_below]["end"] == pytest.approx(0.0, abs=1e-6)
    # once below the limit the line is used again
    assert sum(d["credit"] for d in days[first_below + 1:]) > 0


# --------------------------------------------------------------------------- 7. consumer side


def test_large_credit_purchases_become_instalment_plans():
    # the first day of the run has no statements (day of month 29): balances are today's purchases
    model = make_model(consumers=2000, merchants=6, days=10, check=True,
                       sets=[start_on("2026-01-29"), "consumers.instalment_probability=1.0",
                             "consumers.instalment_threshold=300",
                             "consumers.instalment_months=[6]"])
    threshold = model.cfg.consumers.instalment_threshold
    model.step()
    acc = model.accounts
    for l in (BAITIAO, HUABEI):
        bought = credit_today(model, l)
        big = np.array([i for i, x in bought.items() if x > threshold])
        small = np.array([i for i, x in bought.items() if x <= threshold])
        assert big.size > 0 and small.size > 0
        amount = np.array([bought[i] for i in big])
        assert np.allclose(acc.instalment_principal[l, big], amount)
        assert np.all(acc.instalment_months[l, big] == 6) and np.all(acc.unbilled[l, big] == 0)
        assert np.allclose(acc.unbilled[l, small], [bought[i] for i in small])
        assert np.all(acc.instalment_principal[l, small] == 0)
    books_balance(model)


def test_instalments_are_billed_monthly_with_the_monthly_fee():
    model = make_model(consumers=100, merchants=4, days=130, sets=QUIET, check=True)
    acc, cs, lenders = model.accounts, model.consumers, model.lenders
    p = model.cfg.lenders["baitiao"]
    i = int(np.flatnonzero(acc.open[BAITIAO] & cs.employed)[0])
    cs.forgetfulness[i] = 0.0
    set_cash(model, i, 10000.0)
    months = 3
    principal = 0.9 * cs.income[i]   # 30% of a month's income a month: affordable from pay
    add_debt(model, BAITIAO, i, principal, "instalment_principal")
    acc.instalment_months[BAITIAO, i] = months
    fees0 = lenders.fee_income[BAITIAO]
    bills = []
    while model.t < 125:   # four statement days at least
        model.step()
        if model.dom == cs.statement_day[i]:
            bills.append((acc.billed[BAITIAO, i], acc.instalment_principal[BAITIAO, i],
                          acc.instalment_months[BAITIAO, i]))
    books_balance(model)
    rate = p.instalment_fee_monthly   # a month, on the principal still outstanding
    assert len(bills) >= months + 1
    fees = []
    for k in range(months):
        billed, left, months_left = bills[k]
        fee = rate * principal * (months - k) / months
        fees.append(fee)
        assert billed == pytest.approx(principal / months + fee)
        assert left == pytest.approx(principal * (months - k - 1) / months)
        assert months_left == months - k - 1
    assert bills[months][0] == 0  # the plan is over: nothing more to bill
    assert acc.balance[BAITIAO, i] == pytest.approx(0.0, abs=1e-6)
    assert lenders.fee_income[BAITIAO] - fees0 == pytest.approx(sum(fees))
    assert acc.dpd[BAITIAO, i] == 0 and acc.late_score[BAITIAO, i] == 0   # paid on time
    # the quiet economy: with the plan paid off the lender's book is empty
    assert lenders.receivables[BAITIAO] == pytest.approx(0.0, abs=1e-6)


def test_credit_first_habit_pays_with_credit_even_when_cash_is_plentiful():
    model = make_model(consumers=600, merchants=6, days=30, check=True, panel="monthly")  # monthly totals
    acc, cs = model.accounts, model.consumers
    rich = np.flatnonzero(acc.open[BAITIAO] & cs.employed)[:300]
    set_cash(model, rich, cs.buffer_months[rich] * cs.income[rich] + 20 * cs.income[rich])
    habit = rich[::2]
    cs.credit_first[rich] = False
    cs.credit_first[habit] = True
    others = np.setdiff1d(rich, habit)
    advance_to(model, 20)
    books_balance(model)
    credit = acc.month_credit.sum(axis=0)

    def share(ids):
        return credit[ids].sum() / cs.month_spending[ids].sum()

    assert cs.month_spending[habit].sum() > 0 and cs.month_spending[others].sum() > 0
    assert share(habit) > 0.95      # credit first, although the cash is there
    assert share(others) < 0.05     # cash above the buffer first
    # across the whole population credit-first consumers borrow a larger share of what they buy
    pop = np.flatnonzero(acc.open[BAITIAO])
    pop = pop[~np.isin(pop, rich)]
    assert share(pop[cs.credit_first[pop]]) > share(pop[~cs.credit_first[pop]]) + 0.1


def test_credit_constrained_consumers_open_second_accounts_raising_multi_borrowing():
    def run(probability: float):
        model = make_model(consumers=600, merchants=6, days=45, check=True,
                           sets=[f"consumers.open_second_probability={probability}"])
        acc = model.accounts
        acc.fixed_limit[BAITIAO, acc.open[BAITIAO]] = 300.0   # platform credit is scarce
        had = acc.open[HUABEI].copy()
        model.run()
        books_balance(model)
        return model, np.flatnonzero(acc.open[HUABEI] & ~had), model.results()["timeseries"]

    model0, new0, ts0 = run(0.0)
    model1, new1, ts1 = run(1.0)
    assert new1.size >= 15 and new1.size > 3 * new0.size
    # the applicants were mostly platform customers short of credit: they now borrow on two platforms
    both0 = (model0.accounts.open[BAITIAO] & model0.accounts.open[HUABEI]).sum()
    both1 = (model1.accounts.open[BAITIAO] & model1.accounts.open[HUABEI]).sum()
    assert both1 - both0 >= 10
    assert ts1["multi_borrower_share"].iloc[-1] > ts0["multi_borrower_share"].iloc[-1] + 0.02
    # the new accounts come with a credit line of their own
    assert (model1.accounts.fixed_limit[HUABEI, new1] > 0).all()
    # the platform sees the other account through the bureau 30 days after it opened
    acc = model1.accounts
    i = new1[:1]
    opened = int(acc.open_day[HUABEI, i[0]])
    income = model1.consumers.income[i]
    median = model1.cfg.consumers.income_median
    seen = [features(acc, BAITIAO, i, opened + k, income, median)[0, 5] for k in (0, 29, 30)]
    assert seen == [0.0, 0.0, 1.0]


# --------------------------------------------------------------------------- found along the way


def test_start_date_override_accepts_a_bare_date():
    cfg = load_config("baseline", ["run.start_date=2026-03-10"])
    assert cfg.run.start_date == "2026-03-10"
