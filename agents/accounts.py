"""Accounts' book-keeping: credit purchases and settlements, statements, due dates,
repayment, delinquency (DPD, late fees, freezes) and charge-offs, as vectorised rules
on :class:`agents.lender.Accounts` (shape (L, n)) and :class:`agents.lender.LenderState`.

Scoring, reviews, the anomaly monitor, promotions and applications are in
:mod:`agents.lender`; what a consumer can pay is :func:`agents.consumer.able_to_pay`.
"""

from __future__ import annotations

import numpy as np

from agents.lender import Accounts, LenderState, add_debt
from sim.config import ConsumerParams, LenderParams
from sim.rng import Streams


def instalment_subsidy(amount: np.ndarray, months: np.ndarray, fee_monthly: float) -> np.ndarray:
    """The fee a merchant pays the lender to make an instalment plan interest-free (分期免息):
    what the consumer would have paid, ``fee_monthly`` on the declining principal of ``months``
    equal instalments, ``amount x fee_monthly x (months + 1) / 2``."""
    return amount * fee_monthly * (months + 1) / 2.0


def book_credit_purchases(acc: Accounts, lenders: LenderState, settlement_due: np.ndarray, l: int,
                          p: LenderParams, cp: ConsumerParams, streams: Streams, name: str, t: int,
                          delay: int, who: np.ndarray, amount: np.ndarray, retailer: np.ndarray,
                          panel: bool, offers: bool, take_up: float) -> float:
    """Credit purchases at lender ``l``: the consumer owes, the lender owes the merchant.

    A purchase above ``instalment_threshold`` goes on an instalment plan (分期) with chance
    ``instalment_probability`` (the same uniform picks the plan's length); the rest waits for
    the next statement. Where retailers make instalment ``offers`` (a strategy) the chance is
    ``take_up`` and the plan is interest-free: the retailer pays the lender its fee up front
    (:func:`instalment_subsidy`, out of the settlement), and the consumer pays no instalment fee
    on that principal. The lender keeps the merchant discount and owes the merchant the rest,
    paid ``settlement_lag`` (+ ``delay``) days later from ``settlement_due`` (L, slots, m).
    Returns the merchants' instalment subsidies, yuan."""
    buy = amount > 0
    idx, amt, ret = who[buy], amount[buy], retailer[buy]
    if idx.size == 0:
        return 0.0
    big = amt > cp.instalment_threshold
    inst = np.zeros(idx.size, dtype=bool)
    subsidy = np.zeros(idx.size)
    if big.any():
        chance = take_up if offers else cp.instalment_probability
        u = streams.uniform_at(f"instalment.{name}", t, idx[big])
        take = u < chance
        inst[np.flatnonzero(big)[take]] = True
        months = np.asarray(cp.instalment_months)[
            np.minimum((u[take] / max(chance, 1e-12) * len(cp.instalment_months))
                       .astype(int), len(cp.instalment_months) - 1)]
        ii = idx[inst]
        acc.instalment_principal[l][ii] += amt[inst]
        acc.instalment_months[l][ii] = np.maximum(acc.instalment_months[l][ii], months)
        if offers:
            acc.free_principal[l][ii] += amt[inst]
            subsidy[inst] = instalment_subsidy(amt[inst], months, p.instalment_fee_monthly)
    acc.unbilled[l][idx] += np.where(inst, 0.0, amt)
    acc.balance[l][idx] += amt
    if panel:
        acc.month_credit[l][idx] += amt
    total = float(amt.sum())
    lenders.receivables[l] += total
    fee = total * p.merchant_discount
    paid = float(subsidy.sum())
    slot = (t + p.settlement_lag + delay) % settlement_due.shape[1]
    net = np.bincount(ret, amt * (1 - p.merchant_discount) - subsidy, minlength=settlement_due.shape[2])
    settlement_due[l][slot] += net
    lenders.settlement_payable[l] += total - fee - paid
    lenders.fee_income[l] += fee + paid
    return paid


def book_outside_credit(acc: Accounts, lenders: LenderState, l: int, idx: np.ndarray, amount: np.ndarray) -> float:
    """Consumers ``idx`` pay an off-platform expense on their line at lender ``l`` (both
    platforms' credit pays at outside merchants: QR payments, JD Pay): they owe it at the next
    statement and the lender pays the outside payee at once. Returns the total, yuan (the
    caller credits it to the outside sector)."""
    acc.unbilled[l][idx] += amount
    acc.balance[l][idx] += amount
    total = float(amount.sum())
    lenders.receivables[l] += total
    lenders.cash[l] -= total
    return total


def settle(settlement_due: np.ndarray, lenders: LenderState, t: int) -> np.ndarray:
    """Settlements due today: the lenders pay the merchants what credit sales earned
    ``settlement_lag`` days ago. Returns each merchant's receipts (length m)."""
    slot = t % settlement_due.shape[1]
    due = settlement_due[:, slot, :]
    per_lender = due.sum(axis=1)
    receipts = due.sum(axis=0)
    lenders.cash -= per_lender
    lenders.settlement_payable -= per_lender
    settlement_due[:, slot, :] = 0.0
    return receipts


# --------------------------------------------------------------------------- repayment and delinquency


def pay(acc: Accounts, lenders: LenderState, cash: np.ndarray, l: int, idx: np.ndarray, amount: np.ndarray,
        field: str) -> float:
    """Consumers ``idx`` pay ``amount`` off the ``field`` part (billed, overdue) of their balance
    at lender ``l`` from ``cash``: the lender's cash rises and its receivables fall. Returns
    the total repaid, yuan."""
    getattr(acc, field)[l][idx] -= amount
    acc.balance[l][idx] -= amount
    cash[idx] -= amount
    total = float(amount.sum())
    lenders.cash[l] += total
    lenders.receivables[l] -= total
    return total


def collect_overdue(acc: Accounts, lenders: LenderState, cash: np.ndarray, able: np.ndarray, l: int,
                    p: LenderParams, idx: np.ndarray, notice: np.ndarray,
                    t: int) -> tuple[float, np.ndarray]:
    """A day past due for the overdue accounts ``idx`` (all with ``overdue`` > 0).

    DPD rise by one and the late fee (``late_fee_daily`` of the overdue amount) is added;
    consumers pay what they can (``able``) unless they forgot the due date and have not yet
    noticed (``notice``: today's chance of noticing); paid-up accounts are current again
    (DPD 0). An account reaching 30 DPD is dated, one reaching 90 DPD too (the score's
    outcome), and one reaching ``freeze_dpd`` is frozen (no spending, no temporary limit) and
    its debt called in (:func:`accelerate`). Returns (total repaid, the accounts to freeze:
    their fixed limit goes to 0)."""
    acc.dpd[l][idx] += 1
    add_debt(acc, lenders, l, idx, acc.overdue[l][idx] * p.late_fee_daily, "overdue")
    forgot = acc.forgot[l][idx]
    pays = ~forgot | notice
    amount = np.where(pays, np.minimum(acc.overdue[l][idx], able), 0.0)
    repaid = pay(acc, lenders, cash, l, idx, amount, "overdue")
    acc.forgot[l][idx] &= ~notice
    cleared = idx[acc.overdue[l][idx] <= 1e-9]
    acc.overdue[l][cleared] = 0.0
    acc.dpd[l][cleared] = 0
    acc.forgot[l][cleared] = False
    hit30 = idx[acc.dpd[l][idx] == 30]
    acc.last_30dpd_day[l][hit30] = t
    hit90 = idx[acc.dpd[l][idx] == 90]
    acc.last_90dpd_day[l][hit90] = t
    freeze = idx[(acc.dpd[l][idx] == p.freeze_dpd) & ~acc.frozen[l][idx]]
    if freeze.size:
        acc.frozen[l][freeze] = True
        acc.temp_limit[l][freeze] = 0.0
        accelerate(acc, l, freeze)
    return repaid, freeze


def accelerate(acc: Accounts, l: int, idx: np.ndarray) -> None:
    """A frozen account's debt is called in (collections): everything the consumer owes
    (unbilled, billed, revolving, instalments) becomes overdue, so a cure takes the whole
    balance and most accounts that reach the freeze roll on to charge-off (the high 90+/30+
    ratio of consumer-credit portfolios)."""
    for name in ("unbilled", "billed", "revolving", "instalment_principal"):
        part = getattr(acc, name)[l]
        acc.overdue[l][idx] += part[idx]
        part[idx] = 0.0
    acc.free_principal[l][idx] = 0.0
    acc.instalment_months[l][idx] = 0


def charge_offs_due(acc: Accounts, l: int, idx: np.ndarray, p: LenderParams) -> np.ndarray:
    """Accounts among ``idx`` (on their statement day) at or beyond ``charge_off_dpd``: the
    lender gives up on them (the balance is written off, the account closed)."""
    return idx[acc.dpd[l][idx] >= p.charge_off_dpd]


def cut_statements(acc: Accounts, lenders: LenderState, l: int, idx: np.ndarray, p: LenderParams,
                   cycle_days: float = 30.0) -> None:
    """Statement day for open accounts ``idx``: unbilled purchases, this month's instalment
    (principal over the months left, plus ``instalment_fee_monthly`` on the principal not on
    interest-free plans) and the cycle's interest on the revolving balance
    (``revolving_rate_daily`` x ``cycle_days``) become the bill, due ``statement_grace_days``
    later. The interest-free principal is repaid in the same proportion. The revolving balance
    stays where it is: the statement balance is the bill plus the revolving balance."""
    months = acc.instalment_months[l][idx]
    on_plan = months > 0
    principal = np.where(on_plan, acc.instalment_principal[l][idx] / np.maximum(months, 1), 0.0)
    free = acc.free_principal[l][idx]
    fee = np.where(on_plan, (acc.instalment_principal[l][idx] - free) * p.instalment_fee_monthly, 0.0)
    acc.free_principal[l][idx] = free - np.where(on_plan, free / np.maximum(months, 1), 0.0)
    add_debt(acc, lenders, l, idx, fee, "billed")
    revolving = acc.revolving[l][idx]
    carrying = np.flatnonzero(revolving > 0)
    if carrying.size:
        add_debt(acc, lenders, l, idx[carrying], revolving[carrying] * p.revolving_rate_daily * cycle_days,
                 "billed", income="interest_income")
    acc.instalment_principal[l][idx] -= principal
    acc.instalment_months[l][idx] = np.maximum(months - 1, 0)
    acc.billed[l][idx] += acc.unbilled[l][idx] + principal
    acc.unbilled[l][idx] = 0.0


def repayment_due(statement: np.ndarray, revolving: np.ndarray, target_carry: np.ndarray, minimum_share: float,
                  adjustment: float, spare: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """What a consumer means to pay on a statement balance ``statement`` (new bill plus the
    ``revolving`` balance), and the minimum payment (``minimum_share`` of it).

    The consumer wants to carry ``target_carry`` (u* x limit; 0 for patient consumers). The
    part of the revolving balance above it (the excess) is paid down at least at the monthly
    rate ``adjustment`` (kappa, the rate at which spending closes a gap below the target), and
    wholly as far as ``spare`` cash (cash above the buffer target, after the rest of the
    statement) allows; the rest of the statement above the target is paid, and never less than
    the minimum. A patient consumer pays in full when they can; one squeezed by an expense shock
    on credit, or a revolver whose limit was cut, pays the debt down over months. Returns
    (intended, minimum)."""
    minimum = minimum_share * statement
    excess = np.maximum(revolving - target_carry, 0.0)
    paydown = adjustment * excess
    if spare is not None:
        rest = np.maximum(statement - target_carry - excess, 0.0)
        paydown = np.maximum(paydown, np.minimum(excess, np.maximum(spare - rest, 0.0)))
    carry = target_carry + excess - paydown
    intended = np.clip(statement - carry, minimum, statement)
    return intended, minimum


def collect_due(acc: Accounts, lenders: LenderState, cash: np.ndarray, able: np.ndarray, l: int,
                idx: np.ndarray, forgets: np.ndarray, t: int, target_carry: np.ndarray,
                p: LenderParams, adjustment: float, spare: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Due date of the statements of accounts ``idx``.

    Each consumer pays what they intend (:func:`repayment_due`: in full, or toward their
    target debt, at least the minimum) as far as they can (``able``); one able to pay may
    forget (``forgets``) and pays nothing. Payments clear the bill first, then the revolving
    balance. Whatever is left of the statement revolves (at ``revolving_rate_daily``), except
    the shortfall below the minimum payment, which is overdue and counts as a late payment
    in the score (a count decaying over a year). Returns (total repaid, the accounts that
    missed the minimum)."""
    bill, revolving = acc.billed[l][idx], acc.revolving[l][idx]
    statement = bill + revolving
    intended, minimum = repayment_due(statement, revolving, target_carry, p.minimum_payment_share, adjustment,
                                      spare)
    forgets = forgets & (able >= intended)
    amount = np.where(forgets, 0.0, np.minimum(intended, able))
    on_bill = np.minimum(amount, bill)
    repaid = pay(acc, lenders, cash, l, idx, on_bill, "billed")
    repaid += pay(acc, lenders, cash, l, idx, amount - on_bill, "revolving")
    shortfall = np.maximum(minimum - amount, 0.0)
    missed = shortfall > 1e-9
    late = idx[missed]
    acc.overdue[l][late] += shortfall[missed]
    acc.revolving[l][idx] += acc.billed[l][idx] - shortfall
    acc.billed[l][idx] = 0.0
    acc.revolving[l][idx[acc.revolving[l][idx] < 1e-9]] = 0.0  # rounding residue
    acc.forgot[l][late] = False
    acc.forgot[l, idx[forgets & missed]] = True
    acc.late_score[l][late] = acc.late_score[l][late] * np.exp(-(t - acc.late_day[l][late]) / 365.0) + 1
    acc.late_day[l][late] = t
    return repaid, late


def forget_chance(forgetfulness: np.ndarray, reminded: bool, effect: float) -> np.ndarray:
    """Chance that an able payer forgets a due date: their ``forgetfulness``, less the share
    ``effect`` that a reminder on the due date prevents when the lender sends one."""
    return forgetfulness * (1.0 - effect) if reminded else forgetfulness


def close_accounts(acc: Accounts, l: int, idx: np.ndarray, t: int) -> None:
    """Close accounts ``idx`` at lender ``l``: closed accounts carry no limit, no DPD and no
    score, so that totals over all rows equal totals over open accounts; their history stays
    (for a re-application)."""
    acc.open[l][idx] = False
    acc.closed_day[l][idx] = t
    for name in ("fixed_limit", "temp_limit", "pd"):
        getattr(acc, name)[l][idx] = 0.0
    acc.frozen[l][idx] = False
    acc.dpd[l][idx] = 0
