"""Mesa agents of the model and the columnar state stores behind them.

Each agent type keeps its state in one store of parallel numpy arrays owned by
the model (:class:`ConsumerState`, :class:`Accounts`, :class:`LenderState`,
:class:`MerchantState`); an agent object is a thin view of its row.
"""

from agents.consumer import Consumer, ConsumerState
from agents.lender import Accounts, Lender, LenderState
from agents.merchant import Merchant, MerchantState

__all__ = ["Accounts", "Consumer", "ConsumerState", "Lender", "LenderState", "Merchant",
           "MerchantState"]
