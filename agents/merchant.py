"""Merchants: state store, Mesa view agent and vectorised behaviour.

At this stage every merchant is a retailer that restocks from the outside sector
at cost and pays cash; the supply chain (distributors, manufacturers, trade
credit, failures) comes on top of this store.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.base import Column, ViewAgent
from sim.config import MerchantParams

RETAILER, DISTRIBUTOR, MANUFACTURER = 0, 1, 2
TIER_NAMES = ("retailer", "distributor", "manufacturer")
ACTIVE, DISTRESSED, FAILED = 0, 1, 2


@dataclass(slots=True)
class MerchantState:
    """Columnar state of all merchants (row = merchant id)."""

    tier: np.ndarray              # int: RETAILER, DISTRIBUTOR or MANUFACTURER
    size: np.ndarray              # relative size (heavy-tailed), drives consumer links
    cash: np.ndarray              # liquid balance, yuan (negative = overdraft at the outside bank)
    inventory: np.ndarray         # goods at cost, yuan
    markup: np.ndarray            # price over cost
    expected_sales: np.ndarray    # smoothed daily revenue, yuan/day
    settlement_due: np.ndarray    # (L, lag + 1, m) credit sales each lender will settle, ring buffer by day, yuan
    wage_bill: np.ndarray         # monthly wages of current staff, yuan/month
    staff: np.ndarray             # int: employees
    fixed_cost: np.ndarray        # daily fixed costs (rent, utilities), yuan/day
    status: np.ndarray            # int: ACTIVE, DISTRESSED or FAILED
    sales_today: np.ndarray       # revenue booked today, yuan
    month_profit: np.ndarray      # profit since the last payout (for the record), yuan
    payouts: np.ndarray           # cumulative payouts to owners, yuan

    @property
    def m(self) -> int:
        return self.cash.size

    @classmethod
    def create(cls, m: int, p: MerchantParams, g: np.random.Generator, lag_slots: int,
               n_lenders: int) -> "MerchantState":
        size = (1.0 + g.pareto(p.size_pareto_alpha, m))
        z = np.zeros(m)
        return cls(tier=np.zeros(m, dtype=np.int8), size=size, cash=z.copy(), inventory=z.copy(),
                   markup=np.full(m, p.markup), expected_sales=z.copy(),
                   settlement_due=np.zeros((n_lenders, lag_slots, m)), wage_bill=z.copy(),
                   staff=np.zeros(m, dtype=np.int64), fixed_cost=z.copy(),
                   status=np.zeros(m, dtype=np.int8), sales_today=z.copy(), month_profit=z.copy(),
                   payouts=z.copy())

    def settlement_receivable(self) -> np.ndarray:
        """Credit sales not yet settled, per merchant, all lenders (yuan)."""
        return self.settlement_due.sum(axis=(0, 1))


class Merchant(ViewAgent):
    """A merchant (a view of row ``index`` of ``model.merchants``)."""

    cash = Column("merchants", "liquid balance, yuan")
    inventory = Column("merchants", "goods at cost, yuan")
    markup = Column("merchants", "price over cost")
    expected_sales = Column("merchants", "smoothed daily revenue, yuan/day")
    staff = Column("merchants", "employees")
    status = Column("merchants", "0 active, 1 distressed, 2 failed")

    @property
    def tier(self) -> str:
        return TIER_NAMES[int(self.model.merchants.tier[self.index])]


# --------------------------------------------------------------------------- behaviour


def fill_rates(ms: MerchantState, demand: np.ndarray) -> np.ndarray:
    """Share of each retailer's demand (at retail prices) its stock can serve."""
    stock_value = np.maximum(ms.inventory, 0.0) * ms.markup
    return np.where(demand > stock_value, stock_value / np.maximum(demand, 1e-12), 1.0)


def restock(ms: MerchantState, p: MerchantParams, season_ahead: float) -> np.ndarray:
    """Orders toward target cover, paid in cash (what cash allows). Returns the order at cost."""
    expected_cogs = ms.expected_sales / ms.markup
    target = p.cover_days * expected_cogs * season_ahead
    want = np.maximum(target - ms.inventory, 0.0) * p.restock_speed
    order = np.minimum(want, np.maximum(ms.cash, 0.0))
    order[ms.status == FAILED] = 0.0
    return order


def payout(ms: MerchantState, p: MerchantParams) -> np.ndarray:
    """Cash above the reserve target (months of costs) paid to owners."""
    monthly_costs = 30.0 * (ms.expected_sales / ms.markup + ms.fixed_cost) + ms.wage_bill
    excess = np.maximum(ms.cash - p.reserve_months * monthly_costs, 0.0)
    excess[ms.status == FAILED] = 0.0
    return excess
