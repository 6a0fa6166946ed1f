"""Consumers: state store, Mesa view agent and vectorised behaviour.

Money is in yuan; incomes are monthly. A consumer's accounts at the lenders live
in :class:`agents.lender.Accounts`; this module holds the rest of the consumer:
income and employment, cash, tastes, and the shopping decision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri
from scipy.stats import beta as beta_dist

from agents.base import Column, ViewAgent
from sim.config import ConsumerParams, LabourParams
from sim.rng import Streams

from agents.labour import OUTSIDE, SELF_EMPLOYED  # noqa: F401  (employer codes, re-exported)

DAYS_PER_MONTH = 30.0  # converts monthly amounts and rates to daily ones
BILLING_DAYS = 28  # pay days, statement days and review days fall on days 1..28


@dataclass(slots=True)
class ConsumerState:
    """Columnar state of all consumers (row = consumer id)."""

    base_income: np.ndarray       # monthly wage when employed, yuan/month
    outside_wage: np.ndarray      # the wage the consumer earns in an outside job, yuan/month
    income: np.ndarray            # current monthly income (wage or benefit) x income index, yuan/month
    employed: np.ndarray          # bool: has a job
    employer: np.ndarray          # int: merchant index, or OUTSIDE (-1, also after a layoff)
    cash: np.ndarray              # liquid balance, yuan
    propensity: np.ndarray        # share of income spent on the platform
    buffer_months: np.ndarray     # cash buffer target, months of income
    risk_prone: np.ndarray        # bool: latent high-risk type
    impatient: np.ndarray         # bool: thin cash buffer, revolves (all risk-prone, some others)
    target_utilisation: np.ndarray  # u*: share of the credit limits the consumer wants drawn
    fraud: np.ndarray             # bool: a bust-out fraudster (maxes out, never repays)
    arrears: np.ndarray           # unpaid expense-shock bills owed to the outside sector, yuan
    wage_claim: np.ndarray        # wages an employer owes the consumer (wage arrears), yuan
    wage_claim_on: np.ndarray     # int: the merchant that owes them (-1: none)
    forgetfulness: np.ndarray     # chance of forgetting a due date when able to pay
    credit_first: np.ndarray      # bool: pays with credit before cash
    retailers: np.ndarray         # int (n, k): preferred retailers
    retailer_cumweight: np.ndarray  # float32 (k - 1, n): cumulative choice weights (the last, 1, is implied)
    payday: np.ndarray            # int: day of month (1..28) income arrives
    statement_day: np.ndarray     # int: day of month (1..28) statements are cut
    last_cut_day: np.ndarray      # int: last day any limit of the consumer was cut (-10**9: never); raise cool-down
    next_big_ticket: np.ndarray   # int: day of the next big-ticket purchase (a Poisson clock)
    next_hardship: np.ndarray     # int: day of the next expense shock (a Poisson clock)
    month_spending: np.ndarray    # platform spending this month (for the panel), yuan

    @property
    def n(self) -> int:
        return self.cash.size

    @classmethod
    def create(cls, n: int, p: ConsumerParams, labour: LabourParams, streams: Streams,
               retailer_weight: np.ndarray) -> "ConsumerState":
        """A population of ``n`` consumers linked to retailers by ``retailer_weight``."""
        # one stream per attribute, and transforms of one uniform per consumer where the
        # distribution allows: changing one parameter leaves every other attribute alone
        def u(name: str) -> np.ndarray:
            return streams.uniform(f"population.{name}", 0, n)

        base_income = p.income_median * np.exp(p.income_sigma * ndtri(np.clip(u("income"), 1e-12, 1 - 1e-12)))
        a = p.propensity_mean * p.propensity_concentration
        b = (1 - p.propensity_mean) * p.propensity_concentration
        propensity = beta_dist.ppf(u("propensity"), a, b) if 0 < p.propensity_mean < 1 else \
            np.full(n, p.propensity_mean)
        risk_prone = u("risk_type") < p.risk_prone_share
        # impatience: thin cash buffers and a taste for revolving (buffer-stock saving with
        # credit, Carroll 1997; Fulford 2015); the risk-prone are all impatient
        impatient = risk_prone | (u("impatience") < p.impatient_share)
        lo, hi = p.target_utilisation_impatient
        target_utilisation = np.where(impatient, lo + (hi - lo) * u("target_utilisation"),
                                      p.target_utilisation_patient)
        buffer_months = p.buffer_months * np.where(impatient, p.impatient_buffer_factor, 1.0) * (0.5 + u("buffer"))
        fraud = u("fraud") < p.fraud_share
        # the risk-prone forget more often
        forgetfulness = np.clip(p.forget_probability * -np.log(np.maximum(u("forgetfulness"), 1e-300)) *
                                np.where(risk_prone, 2.0, 1.0), 0, 1)
        credit_first = u("credit_first") < p.credit_first_share
        employed = u("employment") >= labour.unemployment_normal
        k = min(p.retailer_links, retailer_weight.size)
        g = streams.generator("population.retailers")
        retailers = _draw_retailers(g, n, k, retailer_weight)
        pref = g.gamma(2.0, 1.0, (n, k)) * retailer_weight[retailers]
        cum = np.cumsum(pref, axis=1)
        cum /= cum[:, -1:]
        payday = 1 + (u("payday") * BILLING_DAYS).astype(np.int64)
        statement_day = 1 + (u("statement_day") * BILLING_DAYS).astype(np.int64)
        income = np.where(employed, base_income, base_income * labour.benefit_replacement)
        return cls(
            base_income=base_income, outside_wage=base_income.copy(), income=income, employed=employed,
            employer=np.full(n, OUTSIDE, dtype=np.int64),
            cash=buffer_months * income,
            propensity=propensity, buffer_months=buffer_months, risk_prone=risk_prone, impatient=impatient,
            target_utilisation=target_utilisation, fraud=fraud, arrears=np.zeros(n),
            wage_claim=np.zeros(n), wage_claim_on=np.full(n, -1, dtype=np.int64),
            forgetfulness=forgetfulness, credit_first=credit_first,
            retailers=retailers, retailer_cumweight=np.ascontiguousarray(cum[:, :-1].T, dtype=np.float32),
            payday=payday, statement_day=statement_day,
            last_cut_day=np.full(n, -10**9, dtype=np.int64), month_spending=np.zeros(n),
            next_big_ticket=np.zeros(n, dtype=np.int64), next_hardship=np.zeros(n, dtype=np.int64),
        )


def _draw_retailers(g: np.random.Generator, n: int, k: int, weight: np.ndarray) -> np.ndarray:
    """k distinct retailers per consumer, chosen with probability rising with size."""
    p = weight / weight.sum()
    links = g.choice(weight.size, size=(n, k), p=p)
    # re-draw duplicates within a row a few times; a leftover duplicate is harmless
    for _ in range(8):
        srt = np.sort(links, axis=1)
        dup_rows = np.flatnonzero((srt[:, 1:] == srt[:, :-1]).any(axis=1))
        if dup_rows.size == 0:
            break
        links[dup_rows, -1] = g.choice(weight.size, size=dup_rows.size, p=p)
        links[dup_rows] = np.roll(links[dup_rows], 1, axis=1)
    return links


class Consumer(ViewAgent):
    """A consumer (a view of row ``index`` of ``model.consumers``)."""

    base_income = Column("consumers", "monthly wage when employed, yuan/month")
    income = Column("consumers", "current monthly income, yuan/month")
    employed = Column("consumers", "has a job")
    employer = Column("consumers", "merchant index or -1 (outside sector)")
    cash = Column("consumers", "liquid balance, yuan")
    propensity = Column("consumers", "share of income spent on the platform")
    risk_prone = Column("consumers", "latent high-risk type")
    credit_first = Column("consumers", "pays with credit first")

    @property
    def consumer_id(self) -> int:
        """The consumer's id in the outputs (``consumer_id`` of the limit changes and the panel):
        its row. Mesa's ``unique_id`` is a different, model-wide number."""
        return self.index

    def account(self, lender: str) -> dict:
        """This consumer's account at ``lender`` as a dict of current values."""
        return self.model.accounts.row(self.model.lender_index[lender], self.index)


# --------------------------------------------------------------------------- behaviour


def refresh_income(cs: ConsumerState, idx: np.ndarray | slice, income_index: float,
                   replacement: float) -> None:
    """Current income of ``idx`` from employment status and the income index."""
    base = cs.base_income[idx]
    cs.income[idx] = np.where(cs.employed[idx], base, base * replacement) * income_index


def hardship_rate(cs: "ConsumerState", p: ConsumerParams, idx) -> np.ndarray:
    """Daily rate of expense shocks: higher for the risk-prone."""
    return np.where(cs.risk_prone[idx], p.hardship_probability_risky, p.hardship_probability)


def desired_spending(cs: ConsumerState, p: ConsumerParams, who: np.ndarray, season: float,
                     confidence: float, shop_u: np.ndarray, big_size_u: np.ndarray | None,
                     credit_gap: np.ndarray) -> np.ndarray:
    """Desired platform spending of the shoppers ``who``, yuan.

    Monthly desire is ``propensity x income`` plus ``credit_adjustment_rate`` (kappa) times
    ``credit_gap``, the amount by which the debt a consumer carries falls short of their
    target debt (u* x limits, :func:`credit_gap`): buffer-stock behaviour with credit
    (Carroll 1997; Fulford 2015). A limit rise moves target debt by u* per yuan, so the
    response to credit is largest for impatient consumers, who revolve, and close to zero
    for patient ones (Agarwal et al. 2018); a cut closes the gap from above through larger
    repayments (:func:`repayment_due`), not through a spending penalty. A trip's basket is
    exponential with the mean that spreads that desire over the expected trips, scaled by
    season and confidence; the uniform that decides whether also decides how much (inverse
    transform). ``big_size_u`` holds a uniform for each shopper buying a big ticket today
    (NaN for the others): the purchase costs ``big_ticket_min`` to ``big_ticket_max``
    months of income.
    """
    q = p.shop_probability
    income = cs.income[who]
    monthly = cs.propensity[who] * income + p.credit_adjustment_rate * credit_gap
    basket_mean = monthly / DAYS_PER_MONTH / q * season * confidence
    basket = np.where(shop_u < q, -np.log(np.maximum(shop_u / q, 1e-12)) * basket_mean, 0.0)
    if big_size_u is None:
        return basket
    span = p.big_ticket_max - p.big_ticket_min
    big_amount = np.where(np.isnan(big_size_u), 0.0, (p.big_ticket_min + span * np.nan_to_num(big_size_u)) * income)
    return basket + big_amount


def credit_gap(target_utilisation: np.ndarray, limit: np.ndarray, carried: np.ndarray) -> np.ndarray:
    """How far the debt a consumer carries past its due dates (``carried``: revolving,
    overdue and instalment balances over all lines) falls short of the debt they want,
    ``target_utilisation`` (u*) x ``limit`` (all lines, temporary limits included), yuan
    (never negative: debt above target is paid down at the due date instead)."""
    return np.maximum(target_utilisation * limit - carried, 0.0)


def big_ticket_acceptance(in_window: bool, p: ConsumerParams) -> float:
    """Chance that a ringing big-ticket clock (which rings at the peak rate, the window rate)
    is a purchase today: 1 in a promotion window, ``1/multiplier`` outside it (thinning of a
    Poisson process). Consumers save big purchases for 618 and Double 11."""
    return 1.0 if in_window else 1.0 / p.big_ticket_promotion_multiplier


def big_ticket_peak_rate(p: ConsumerParams, window_share: float, uplift: float = 0.0) -> float:
    """Daily big-ticket rate on promotion-window days, such that the yearly average is
    ``big_ticket_probability`` x (1 + ``uplift``) when ``window_share`` of the days are in a
    window (``uplift``: more big purchases when retailers offer interest-free instalments)."""
    m = p.big_ticket_promotion_multiplier
    return min(p.big_ticket_probability * (1.0 + uplift) * m / (1.0 + (m - 1.0) * window_share), 1.0)


def choose_retailer(cs: ConsumerState, who: np.ndarray, draw: np.ndarray) -> np.ndarray:
    """One of each shopper's preferred retailers, by preference weight."""
    k = cs.retailers.shape[1]
    j = who * k
    for cum in cs.retailer_cumweight:  # one row per cut point: row gathers are cheap
        j += draw >= cum[who]
    return cs.retailers.ravel()[j]


def churn_retailers(retailers: np.ndarray, draw: np.ndarray, churn: float, candidates: np.ndarray,
                    weight: np.ndarray) -> np.ndarray:
    """Consumers' retailer links after a month of customer churn: each link whose ``draw``
    (uniform, same shape as ``retailers``) is below ``churn`` moves to one of ``candidates``
    chosen with probability proportional to ``weight`` (size x appeal); the same uniform,
    rescaled, picks the new retailer. Returns the new (n, k) links."""
    out = retailers.copy()
    move = draw < churn
    if not move.any() or candidates.size == 0:
        return out
    cum = np.cumsum(weight)
    pick = np.searchsorted(cum, draw[move] / churn * cum[-1], side="right")
    out[move] = candidates[np.minimum(pick, candidates.size - 1)]
    return out


# --------------------------------------------------------------------------- paying for purchases


def bills_known(acc, idx: np.ndarray, balance: np.ndarray | None = None) -> np.ndarray:
    """What consumers ``idx`` owe on all lines outside instalment plans and the revolving
    balance (unbilled, billed, overdue: what the next due dates ask for): the cash they keep
    back for bills (precautionary saving against known obligations). ``balance`` (L, idx.size)
    may give the balances already gathered."""
    owed = np.zeros(idx.size)
    for l in range(acc.open.shape[0]):
        owed += ((acc.balance[l][idx] if balance is None else balance[l]) - acc.instalment_principal[l][idx]
                 - acc.revolving[l][idx])
    return owed


def debt_carried(acc, idx: np.ndarray) -> np.ndarray:
    """Consumers ``idx``'s debt carried past due dates (revolving, overdue, instalment
    principal), summed over all lines, yuan."""
    carried = np.zeros(idx.size)
    for l in range(acc.open.shape[0]):
        carried += acc.revolving[l][idx] + acc.overdue[l][idx] + acc.instalment_principal[l][idx]
    return carried


def able_to_pay(cash: np.ndarray, income: np.ndarray, reserve_months: float) -> np.ndarray:
    """Cash a consumer can put toward a purchase or a bill: all above a subsistence reserve
    of ``reserve_months`` of income, yuan."""
    return np.maximum(cash - reserve_months * income, 0.0)


def essential_spending(cash: np.ndarray, base_income: np.ndarray, income: np.ndarray, share: float,
                       stickiness: float) -> np.ndarray:
    """Essential off-platform spending on a pay day: ``share`` of a mix of usual income
    (``base_income``, weight ``stickiness``: habits and commitments do not shrink at once) and
    current income (a benefit after a layoff, the income index), as far as cash allows, yuan."""
    return np.minimum(cash, share * (stickiness * base_income + (1.0 - stickiness) * income))


def finance_expense(size: np.ndarray, able: np.ndarray, available: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How consumers pay an expense shock (medical bill, repair, family need) of ``size``:
    from cash above subsistence (``able``), then from their credit lines' available credit
    (``available``, (L, s) in order of preference), and what is left stays unpaid as arrears
    to the outside sector, which the consumer pays before anything else on later pay days
    (it crowds out platform repayments). Credit is insurance: a consumer whose limit was cut
    falls into arrears and then misses platform payments (Sullivan 2008; Braxton, Herkenhoff
    & Phillips 2020). Returns (cash, credit by line (L, s), arrears), yuan."""
    cash = np.minimum(size, able)
    credit = split_over_lines(size - cash, available)
    arrears = np.maximum(size - cash - credit.sum(axis=0), 0.0)
    return cash, credit, arrears


def pay_arrears(arrears: np.ndarray, able: np.ndarray, income: np.ndarray, share: float) -> np.ndarray:
    """Expense arrears paid on a pay day: up to ``share`` of the month's ``income``, as far as
    cash above subsistence (``able``) allows, yuan."""
    return np.minimum(np.minimum(arrears, able), share * income)


def payment_choice(desired: np.ndarray, cash: np.ndarray, income: np.ndarray, buffer_months: np.ndarray,
                   owed: np.ndarray, credit_first: np.ndarray, credit_total: np.ndarray,
                   p: ConsumerParams) -> tuple[np.ndarray, np.ndarray]:
    """How shoppers pay for ``desired``: returns (cash, credit), yuan.

    A pecking order over liquidity: most shoppers pay first from cash above their buffer
    target, then on credit, then from cash above the subsistence reserve; the credit-first
    habit (points, interest-free days) goes straight to credit, then cash above the reserve.
    Cash kept for known bills (``owed``, all lenders) is never spent on purchases. What is
    left unpaid is unmet demand (credit constraint)."""
    reserve = p.reserve_months * income + owed
    above_buffer = np.maximum(cash - buffer_months * income - owed, 0.0)
    above_reserve = np.maximum(cash - reserve, 0.0)
    cash1 = np.where(credit_first, 0.0, np.minimum(desired, above_buffer))
    credit = np.minimum(desired - cash1, credit_total)
    cash2 = np.minimum(desired - cash1 - credit, np.maximum(above_reserve - cash1, 0.0))
    return cash1 + cash2, credit


def split_over_lines(credit: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Credit spending spread over a shopper's lines in order of preference (rows of
    ``available``, (L, s)): each line takes what it can before the next is used."""
    by_line = np.empty_like(available)
    left = credit.copy()
    for j in range(available.shape[0]):
        by_line[j] = np.minimum(left, available[j])
        left -= by_line[j]
    return by_line


def in_preference_order(by_lender: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """Rows of ``by_lender`` (L, s) reordered per column: primary lender first, then the rest
    in rotation. :func:`in_lender_order` undoes it."""
    L = by_lender.shape[0]
    if L == 2:  # the common case, without the index arithmetic
        first = primary == 0
        return np.stack([np.where(first, by_lender[0], by_lender[1]), np.where(first, by_lender[1], by_lender[0])])
    order = (primary[None, :] + np.arange(L)[:, None]) % L
    return np.take_along_axis(by_lender, order, axis=0)


def in_lender_order(by_preference: np.ndarray, primary: np.ndarray) -> np.ndarray:
    L = by_preference.shape[0]
    if L == 2:  # with two lenders the rotation is its own inverse
        return in_preference_order(by_preference, primary)
    out = np.empty_like(by_preference)
    order = (primary[None, :] + np.arange(L)[:, None]) % L
    np.put_along_axis(out, order, by_preference, axis=0)
    return out


def primary_line(open_: np.ndarray, platform: int) -> np.ndarray:
    """Each consumer's first-choice line from ``open_`` (L, s): the platform's own credit if
    open (it is the default at checkout), else the first open one."""
    has_platform = open_[platform]
    first_open = np.argmax(open_, axis=0)
    return np.where(has_platform | ~open_.any(axis=0), platform, first_open)
