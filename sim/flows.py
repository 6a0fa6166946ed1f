"""Today's flows: what one day moved, kept for the record and reset each morning."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(slots=True)
class DayFlows:
    """Today's flows, reset each morning (per-lender figures are arrays of length L)."""

    lenders: int
    consumption: float = 0.0
    consumption_cash: float = 0.0
    consumption_offplatform: float = 0.0
    unmet_demand: float = 0.0
    stockout_loss: float = 0.0
    unmet_demand_cut: float = 0.0
    expense_credit: float = 0.0
    expense_arrears: float = 0.0
    merchant_failures: int = 0
    contagion_failures: int = 0
    layoffs: int = 0
    hires: int = 0
    vacancies: int = 0
    shortfall_upstream: float = 0.0
    instalment_subsidy: float = 0.0
    scf_losses: float = 0.0
    credit_purchases: tuple | None = None
    consumption_credit_by_lender: np.ndarray = field(init=False)
    repayments: np.ndarray = field(init=False)
    charge_off_amount: np.ndarray = field(init=False)
    reminder_cost: np.ndarray = field(init=False)
    charge_offs: np.ndarray = field(init=False)
    missed_payments: np.ndarray = field(init=False)
    anomaly_flags: np.ndarray = field(init=False)
    accounts_opened: np.ndarray = field(init=False)
    dpd30_count: np.ndarray = field(init=False)
    dpd90_count: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        for name in ("consumption_credit_by_lender", "repayments", "charge_off_amount", "reminder_cost"):
            setattr(self, name, np.zeros(self.lenders))
        for name in ("charge_offs", "missed_payments", "anomaly_flags", "accounts_opened", "dpd30_count",
                     "dpd90_count"):
            setattr(self, name, np.zeros(self.lenders, dtype=np.int64))
