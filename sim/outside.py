"""The outside sector: one account for everything outside the modelled economy
(docs/model.md section 2.6)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(slots=True)
class Outside:
    """The outside sector: employers, benefits, suppliers, landlords, owners, funders.

    Its cash starts at minus everyone else's, so total cash is zero and total net
    worth equals total inventory and fixed assets (docs/model.md section 8).
    """

    cash: float = 0.0
    funding_lent: np.ndarray | None = None   # wholesale funding lent to each lender, yuan
    bank_lent: float = 0.0                   # merchants' bank lines drawn, yuan
    trade_receivables: float = 0.0           # raw-input invoices and invoices bought from failed suppliers, yuan
    consumer_receivables: float = 0.0        # consumers' unpaid expense-shock bills (arrears), yuan
    # the outside sector's labour demand follows what it sells (agents/labour.py)
    labour_normal: float = 0.0               # desired employment in normal times, persons
    labour_target: float = 0.0               # desired employment today, persons
    turnover_vacancy_rate: float = 0.0       # vacancies kept open to replace turnover, share of staff
    month_consumer_sales: float = 0.0        # this month's off-platform consumer spending, yuan
    month_merchant_sales: float = 0.0        # this month's merchant purchases (raw inputs, fixed costs), yuan
    month_days: int = 0                      # days counted in this month
    sales_normal: dict = field(default_factory=dict)  # calendar month -> its sales in the burn-in's last year
    sales_ratio: float = 1.0                 # smoothed ratio of sales to their normal level
