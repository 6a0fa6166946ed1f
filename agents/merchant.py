"""Merchants: state store, Mesa view agent and vectorised behaviour.

Three tiers: retailers sell to consumers and buy from distributors; distributors
buy from manufacturers; manufacturers produce from raw inputs bought from the
outside sector, with labour, within capacity. Goods are valued at cost; a
merchant sells at cost times its tier's markup. Trade credit between merchants
lives in :class:`agents.trade.TradeBook`; the supply-chain phases of the day are
in :mod:`sim.supply_chain`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mesa.discrete_space.cell_agent import FixedCell

from agents.base import Column, ViewAgent
from agents.labour import DAYS_PER_MONTH

NEVER = -10**9
RETAILER, DISTRIBUTOR, MANUFACTURER = 0, 1, 2
TIER_NAMES = ("retailer", "distributor", "manufacturer")
ACTIVE, DISTRESSED, FAILED = 0, 1, 2


@dataclass(slots=True)
class MerchantState:
    """Columnar state of all merchants (row = merchant id)."""

    tier: np.ndarray              # int: RETAILER, DISTRIBUTOR or MANUFACTURER
    size: np.ndarray              # relative size within the tier (heavy-tailed, mean 1)
    cash: np.ndarray              # liquid balance, yuan
    inventory: np.ndarray         # goods at cost, yuan
    fixed_assets: np.ndarray      # premises fit-out and equipment at cost (illiquid), yuan
    markup: np.ndarray            # price over cost
    expected_sales: np.ndarray    # smoothed daily demand (revenue if nothing ran out), yuan/day
    trend_sales: np.ndarray       # the same without the promotion season (staff, credit lines), yuan/day
    settlement_due: np.ndarray    # (L, lag + 1, m) credit sales each lender will settle, ring buffer by day, yuan
    trade_receivables: np.ndarray  # invoices owed by buyers (own book), yuan
    trade_payables: np.ndarray    # invoices owed to suppliers (own book), yuan
    bank_access: np.ndarray       # bool: has a bank credit line at all
    bank_limit: np.ndarray        # bank credit line limit, yuan
    bank_drawn: np.ndarray        # bank line drawn (owed to the outside sector), yuan
    scf_enrolled: np.ndarray      # bool: in the platform's supply-chain-finance programme
    scf_limit: np.ndarray         # supply-chain-finance line limit (advance rate x receivables), yuan
    scf_drawn: np.ndarray         # supply-chain-finance loan (owed to the platform), yuan
    capacity: np.ndarray          # manufacturers: largest daily output at cost, yuan/day
    wage_bill: np.ndarray         # monthly wages of current staff, yuan/month
    wage: np.ndarray              # monthly wage the merchant pays a new hire, yuan/month
    staff: np.ndarray             # int: employees
    fixed_cost: np.ndarray        # daily fixed costs (rent, utilities), yuan/day
    status: np.ndarray            # int: ACTIVE, DISTRESSED or FAILED
    failed_day: np.ndarray        # int: day of the last failure (NEVER if none)
    loss_day: np.ndarray          # int: last day a failed counterparty imposed a loss (NEVER if none)
    shock_day: np.ndarray         # int: last day of an operating loss (the random loss process; NEVER if none)
    line_cut_day: np.ndarray      # int: last day a credit line was cut below its drawn amount
    overdraft_day: np.ndarray     # int: day the bank line was first overdrawn beyond its limit (NEVER if not)
    generation: np.ndarray        # int: cascade generation of the last failure (-1 if none)
    cascade: np.ndarray           # int: cascade id of the last failure (-1 if none)
    normal_sales: np.ndarray      # expected daily revenue at start (entrants start from half of it)
    normal_staff: np.ndarray      # int: staff at start
    staff_target: np.ndarray      # int: staff the merchant wants (set at the monthly review)
    sales_longrun: np.ndarray     # long-run level of trend sales, which staff follow fully, yuan/day
    sales_today: np.ndarray       # revenue booked today, yuan
    demand_today: np.ndarray      # orders received today at selling prices, filled or not, yuan
    payouts: np.ndarray           # cumulative payouts to owners (less their top-ups), yuan
    owner: np.ndarray             # int: the consumer who owns the business (a household business)
    owner_income: np.ndarray      # smoothed monthly payouts: the owner's business income, yuan/month
    buffer_days: np.ndarray       # cash buffer target, days of outflows
    appeal: np.ndarray            # retailers: log appeal to customers (mean-reverting), 0 = normal
    wage_arrears: np.ndarray      # wages due and unpaid (owed to staff and former staff), yuan
    wage_arrears_day: np.ndarray  # int: first pay day of the unpaid wages (NEVER if none)

    @property
    def m(self) -> int:
        return self.cash.size

    @classmethod
    def create(cls, tier: np.ndarray, size: np.ndarray, markup: np.ndarray, lag_slots: int,
               n_lenders: int) -> "MerchantState":
        m = tier.size
        z = lambda: np.zeros(m)  # noqa: E731
        never = lambda: np.full(m, NEVER, dtype=np.int64)  # noqa: E731
        return cls(tier=tier.astype(np.int8), size=size.astype(float), cash=z(), inventory=z(), fixed_assets=z(),
                   markup=markup.astype(float), expected_sales=z(), trend_sales=z(),
                   settlement_due=np.zeros((n_lenders, lag_slots, m)), trade_receivables=z(),
                   trade_payables=z(), bank_access=np.zeros(m, bool), bank_limit=z(), bank_drawn=z(), scf_enrolled=np.zeros(m, bool),
                   scf_limit=z(), scf_drawn=z(), capacity=z(), wage_bill=z(), wage=z(),
                   staff=np.zeros(m, dtype=np.int64), fixed_cost=z(), status=np.zeros(m, dtype=np.int8),
                   failed_day=never(), loss_day=never(), shock_day=never(), line_cut_day=never(), overdraft_day=never(),
                   generation=np.full(m, -1, dtype=np.int64), cascade=np.full(m, -1, dtype=np.int64),
                   normal_sales=z(), normal_staff=np.zeros(m, dtype=np.int64),
                   staff_target=np.zeros(m, dtype=np.int64), sales_longrun=z(), sales_today=z(), demand_today=z(),
                   payouts=z(), owner=np.full(m, -1, dtype=np.int64), owner_income=z(), buffer_days=z(),
                   appeal=z(), wage_arrears=z(), wage_arrears_day=never())

    def settlement_receivable(self) -> np.ndarray:
        """Credit sales not yet settled, per merchant, all lenders (yuan)."""
        return self.settlement_due.sum(axis=(0, 1))

    def net_worth(self) -> np.ndarray:
        """Assets less liabilities, from the merchant's own books (yuan)."""
        return (self.cash + self.inventory + self.fixed_assets + self.settlement_receivable() + self.trade_receivables
                - self.trade_payables - self.bank_drawn - self.scf_drawn - self.wage_arrears)


class Merchant(ViewAgent, FixedCell):
    """A merchant (a view of row ``index`` of ``model.merchants``), fixed to its node of the
    supply network's Mesa space (``agent.cell``; neighbours are its buyers)."""

    leaves = ("a merchant leaves by failing (model.supply.force_failure({index}), or a supplier_failure shock) "
              "and stays on its cell as a failed node until entry refills the slot")

    cash = Column("merchants", "liquid balance, yuan")
    inventory = Column("merchants", "goods at cost, yuan")
    markup = Column("merchants", "price over cost")
    expected_sales = Column("merchants", "smoothed daily revenue, yuan/day")
    staff = Column("merchants", "employees")
    status = Column("merchants", "0 active, 1 distressed, 2 failed")
    bank_drawn = Column("merchants", "bank line drawn, yuan")
    trade_payables = Column("merchants", "invoices owed to suppliers, yuan")

    @property
    def merchant_id(self) -> int:
        """The merchant's id in the outputs (``merchant_id`` of failures.csv): its row and the node of
        the supply network. Mesa's ``unique_id`` is a different, model-wide number."""
        return self.index

    @property
    def tier(self) -> str:
        return TIER_NAMES[int(self.model.merchants.tier[self.index])]


# --------------------------------------------------------------------------- behaviour


def fill_rates(ms: MerchantState, demand: np.ndarray) -> np.ndarray:
    """Share of each retailer's demand (at retail prices) its stock can serve."""
    stock_value = np.maximum(ms.inventory, 0.0) * ms.markup
    return np.where(demand > stock_value, stock_value / np.maximum(demand, 1e-12), 1.0)


def daily_outflows(ms: MerchantState) -> np.ndarray:
    """Cost of goods, fixed costs and wages of a day at expected sales (yuan/day)."""
    return ms.expected_sales / ms.markup + ms.fixed_cost + ms.wage_bill / 30.0


def cash_target(ms: MerchantState) -> np.ndarray:
    """The cash each merchant aims to hold: ``buffer_days`` of outflows (yuan)."""
    return ms.buffer_days * daily_outflows(ms)


def owner_available(ms: MerchantState, owner_cash: np.ndarray, owner_reserve: np.ndarray) -> np.ndarray:
    """What each owner will put into the business now: their cash above their own reserve, and
    nothing while the business's net worth is negative (good money after bad)."""
    spare = np.maximum(owner_cash - owner_reserve, 0.0)
    return np.where((ms.status != FAILED) & (ms.net_worth() >= 0), spare, 0.0)


def cash_budget_gap(ms: MerchantState, payables_due: np.ndarray, receivables_due: np.ndarray) -> np.ndarray:
    """The cash a prudent owner keeps back beyond the buffer for known invoices (yuan, >= 0):
    the deepest point of the cumulative net cash flow over the coming days (a cash budget,
    e.g. for the invoices of stock bought for a promotion, due after the promotion's sales
    have come in).

    ``payables_due`` and ``receivables_due`` are (m, H) invoices due to suppliers and from
    buyers on each of the next H days. Inflows a day are a retailer's expected sales, or a
    supplier's invoices due from its buyers; outflows are the invoices due to suppliers (a
    manufacturer's to its raw-input suppliers), fixed costs and wages."""
    retail = (ms.tier == RETAILER)[:, None]
    inflow = np.where(retail, ms.expected_sales[:, None], receivables_due)
    net = payables_due + (ms.fixed_cost + ms.wage_bill / 30.0)[:, None] - inflow
    return np.maximum(np.cumsum(net, axis=1).max(axis=1), 0.0)


def wage_waterfall(due: np.ndarray, cash: np.ndarray, credit_room: np.ndarray,
                   owner_room: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Wages due today (or wage arrears), per merchant, paid in the order of the payment
    waterfall: cash, then the undrawn credit lines, then what the owner will put in; the rest
    is unpaid: wage arrears (欠薪), owed to the staff until paid or the estate is shared.

    Returns ``(from_cash, from_credit, from_owner, unpaid)``, yuan, each per merchant."""
    from_cash = np.minimum(due, np.maximum(cash, 0.0))
    left = due - from_cash
    from_credit = np.minimum(left, np.maximum(credit_room, 0.0))
    left = left - from_credit
    from_owner = np.minimum(left, np.maximum(owner_room, 0.0))
    return from_cash, from_credit, from_owner, left - from_owner


def owner_flows(ms: MerchantState, topup_share: float, available: np.ndarray,
                keep_back: np.ndarray) -> np.ndarray:
    """The month-end cash flow between each merchant and its owner (positive: a payout to the
    owner; negative: a top-up from the owner).

    Cash above the buffer target and the ``keep_back`` of :func:`cash_budget_gap` is paid out
    (profits the business does not need); below the buffer target, the owner puts back
    ``topup_share`` of the shortfall, at most ``available`` (their own cash above their
    reserve; nothing while the business's net worth is negative)."""
    target = cash_target(ms)
    surplus = ms.cash - target - keep_back
    shortfall = np.maximum(target - ms.cash, 0.0)
    flow = np.where(surplus > 0, surplus, -np.minimum(topup_share * shortfall, available))
    flow[ms.status == FAILED] = 0.0
    return flow


def desired_staff(ms: MerchantState, wage_share: np.ndarray, elasticity: float, distress_cut: float,
                  wage_floor: float) -> np.ndarray:
    """Staff each merchant wants: the staff its long-run sales pay for at its tier's wage share,
    moved by trend sales relative to that long-run level with a short-run ``elasticity``
    (labour hoarding: a 10% fall in trend sales cuts desired staff by about ``elasticity`` x
    10% at first, by 10% in the long run). Distressed merchants want ``distress_cut`` fewer.
    At least one employee while active; none when failed."""
    wage = np.maximum(ms.wage, wage_floor)
    longrun = np.maximum(ms.sales_longrun, 1e-9)
    ratio = np.maximum(ms.trend_sales, 0.0) / longrun
    staff = wage_share[ms.tier] * longrun * 30.0 / wage * ratio ** elasticity
    staff *= np.where(ms.status == DISTRESSED, 1.0 - distress_cut, 1.0)
    return np.where(ms.status == FAILED, 0, np.maximum(1, np.rint(staff))).astype(np.int64)


def layoffs_due(staff: np.ndarray, target: np.ndarray, share: float, draw: np.ndarray) -> np.ndarray:
    """Staff each merchant lays off at its monthly review: ``share`` of the excess over
    ``target``, rounded up or down at random (``draw`` uniform per merchant) so that small
    firms lay off ``share`` of their excess on average."""
    excess = np.maximum(staff - target, 0)
    return np.floor(share * excess + draw).astype(np.int64).clip(0, excess)


def drift_appeal(appeal: np.ndarray, persistence: float, sigma: float, shock: np.ndarray) -> np.ndarray:
    """A month of retailers' log appeal: ``persistence x appeal + sigma x shock`` (an AR(1)
    with stationary sd ``sigma / sqrt(1 - persistence^2)``): idiosyncratic demand, so that
    in calm times some retailers drift toward break-even while others thrive."""
    return persistence * appeal + sigma * shock


def scf_limits(enrolled: np.ndarray, status: np.ndarray, trade_receivables: np.ndarray,
               settlement_receivable: np.ndarray, limit_now: np.ndarray, drawn: np.ndarray,
               advance_rate: float, appetite: float, frozen) -> tuple[np.ndarray, np.ndarray]:
    """The day's supply-chain-finance limits and which of them the lender cut.

    The normal limit is ``advance_rate`` x (trade receivables + settlement receivables) for
    merchants enrolled in the programme and not failed (else 0); the limit is the normal limit
    scaled by the platform's risk appetite, at most 1 (lines shrink in tightening), and 0 while
    an ``scf_freeze`` shock runs (``frozen``).

    Parameters
    ----------
    enrolled, status : per merchant, bool in the SCF programme; ACTIVE, DISTRESSED or FAILED
    trade_receivables, settlement_receivable : per merchant, yuan
    limit_now, drawn : per merchant, the current SCF limit and the amount drawn, yuan
    advance_rate : share of receivables lent against
    appetite : the platform's risk appetite (1 = normal)
    frozen : bool, an ``scf_freeze`` shock runs today

    Returns
    -------
    limit : per merchant, the new SCF limit, yuan
    cut : per merchant, bool: a line cut by the lender's decision
    """
    appetite = min(appetite, 1.0)
    base = trade_receivables + settlement_receivable
    normal = np.where(enrolled & (status != FAILED), advance_rate * base, 0.0)
    limit = np.where(frozen, 0.0, normal * appetite)
    # a cut is the lender's decision (lower appetite, a freeze) when the line at normal
    # appetite would still cover the loan; receivables shrinking is not contagion
    cut = (limit < limit_now) & (limit < drawn - 1e-9) & (normal >= drawn - 1e-9)
    return limit, cut


def line_repayments(cash: np.ndarray, target: np.ndarray, scf_drawn: np.ndarray, bank_drawn: np.ndarray,
                    working_cash_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Cash above working needs repays the SCF loan first (the dearer line), then the bank line.

    Parameters
    ----------
    cash, target : per merchant, cash and the cash target (:func:`cash_target`), yuan
    scf_drawn, bank_drawn : per merchant, the SCF loan and the bank line drawn, yuan
    working_cash_share : share of the cash target kept as working cash

    Returns
    -------
    scf, bank : per merchant, the repayments of the SCF loan and of the bank line, yuan
    """
    spare = np.maximum(cash - working_cash_share * target, 0.0)
    scf = np.minimum(spare, scf_drawn)
    bank = np.minimum(spare - scf, bank_drawn)
    return scf, bank


def failure_due(status: np.ndarray, trade_day: np.ndarray, overdraft_day: np.ndarray, wage_day: np.ndarray,
                t: int, trade_unpaid: np.ndarray, overdraft: np.ndarray, wage_arrears: np.ndarray,
                expected_sales: np.ndarray, net_worth: np.ndarray, owner_funds: np.ndarray,
                arrears_days: int, arrears_months: float) -> np.ndarray:
    """Which merchants fail today (PRC Enterprise Bankruptcy Law art. 2): unable to pay debts
    due, and assets insufficient or clearly lacking the ability to pay (the owner will not or
    cannot put in more).

    A merchant is illiquid when its oldest unpaid debt (trade arrears, an overdraft beyond the
    bank line, wage arrears) is at least ``arrears_days`` old, or when its unpaid debts exceed
    ``arrears_months`` of revenue (30 days of expected sales); it fails when it is illiquid,
    not already failed, and its net worth is negative or its owner's funds are exhausted.

    Parameters
    ----------
    status : per merchant, ACTIVE, DISTRESSED or FAILED (failed merchants never fail again)
    trade_day, overdraft_day, wage_day : per merchant, the day the oldest trade arrears fell due,
        the bank line was first overdrawn, the first unpaid pay day (``NEVER`` if none), days
    t : today, day
    trade_unpaid : per merchant, trade arrears beyond the stretch window, yuan
    overdraft : per merchant, the bank line drawn beyond its limit, yuan
    wage_arrears : per merchant, wages due and unpaid, yuan
    expected_sales : per merchant, yuan/day
    net_worth, owner_funds : per merchant, net worth and what the owner would put in now, yuan
    arrears_days : age of unpaid debts that makes a merchant illiquid, days
    arrears_months : unpaid debts that make a merchant illiquid, months of revenue

    Returns
    -------
    per merchant, bool: fails today
    """
    active = status != FAILED
    oldest = np.where(overdraft_day == NEVER, -NEVER, overdraft_day)
    oldest = np.minimum(oldest, np.where(trade_day == NEVER, -NEVER, trade_day))
    oldest = np.minimum(oldest, np.where(wage_day == NEVER, -NEVER, wage_day))
    too_old = (oldest != -NEVER) & (t - oldest >= arrears_days)
    arrears = trade_unpaid + overdraft + wage_arrears
    monthly_revenue = DAYS_PER_MONTH * np.maximum(expected_sales, 1e-9)
    too_big = arrears > arrears_months * monthly_revenue
    # PRC Enterprise Bankruptcy Law art. 2: unable to pay debts due, and assets insufficient
    # or clearly lacking the ability to pay (the owner will not or cannot put in more)
    illiquid = too_old | too_big
    return active & illiquid & ((net_worth < 0) | (owner_funds <= 1e-9))
