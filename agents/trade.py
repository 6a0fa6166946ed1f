"""Trade credit along the supply chain: one row per supplier -> buyer relation (edge).

Every invoice is a loan from a supplier to a buyer, due ``trade_terms_days``
after the shipment. An edge holds what its buyer owes on it, by due day (a ring
buffer) plus arrears (overdue and unpaid). When a supplier fails, the invoices
its buyers still owe are sold to the outside sector (factoring): those edges
become ``outside_owned`` and are paid to the outside sector from then on, and
the buyer gets a new edge to a new supplier. Edges are never re-pointed, so an
invoice always stays with the creditor it was written to.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import scipy.sparse as sparse

NEVER = -10**9


@dataclass(slots=True)
class TradeBook:
    """Columnar state of all trade relations (row = edge; capacity grows on demand)."""

    supplier: np.ndarray        # int: supplying merchant
    buyer: np.ndarray           # int: buying merchant
    weight: np.ndarray          # buyer's purchase share from this supplier (0 on dead edges)
    due: np.ndarray             # (slots, E) invoices due on each day of the ring, yuan
    outstanding: np.ndarray     # invoices not yet due (the sum of ``due`` over the ring), yuan
    arrears: np.ndarray         # overdue and unpaid, yuan
    arrears_day: np.ndarray     # int: day the oldest unpaid arrears fell due (NEVER when none)
    outside_owned: np.ndarray   # bool: invoices sold to the outside sector (supplier failed)
    live: np.ndarray            # bool: goods flow on this edge (False after the supplier failed)
    backlog: np.ndarray         # back-orders: ordered, not yet shipped (value at the buyer's cost), yuan
    rationed_since: np.ndarray  # int: first day of the current run of rationed shipments (NEVER if none)
    n: int                      # edges in use
    _matrix: object = None      # cached purchase-share matrix (see :meth:`share_matrix`)

    @classmethod
    def create(cls, supplier: np.ndarray, buyer: np.ndarray, weight: np.ndarray, slots: int) -> "TradeBook":
        e = supplier.size
        cap = max(16, 2 * e)
        book = cls(supplier=np.zeros(cap, np.int64), buyer=np.zeros(cap, np.int64), weight=np.zeros(cap),
                   due=np.zeros((slots, cap)), outstanding=np.zeros(cap), arrears=np.zeros(cap), arrears_day=np.full(cap, NEVER, np.int64),
                   outside_owned=np.zeros(cap, bool), live=np.zeros(cap, bool), backlog=np.zeros(cap),
                   rationed_since=np.full(cap, NEVER, np.int64), n=0)
        book.add(supplier, buyer, weight)
        return book

    def add(self, supplier: np.ndarray, buyer: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Append edges; returns their ids."""
        k = np.asarray(supplier).size
        if self.n + k > self.supplier.size:
            self._grow(self.n + k)
        ids = np.arange(self.n, self.n + k)
        self.supplier[ids] = supplier
        self.buyer[ids] = buyer
        self.weight[ids] = weight
        self.live[ids] = True
        self.n += k
        self.changed()
        return ids

    def changed(self) -> None:
        """Relations or purchase shares changed: the share matrix is rebuilt when next needed."""
        self._matrix = None

    def share_matrix(self, m: int) -> sparse.csr_matrix:
        """Purchase shares as a sparse (m, m) matrix, rows = buyers, columns = suppliers, over
        the live relations (built COO then CSR, cached until the relations change). Suppliers'
        expected sales are ``share_matrix.T @ buyers' expected purchases``."""
        if self._matrix is None:
            n = self.n
            live = self.live[:n]
            self._matrix = sparse.coo_matrix(
                (self.weight[:n][live], (self.buyer[:n][live], self.supplier[:n][live])), shape=(m, m)).tocsr()
        return self._matrix

    def _grow(self, need: int) -> None:
        cap = max(need, 2 * self.supplier.size)
        for f in fields(self):
            if f.name in ("n", "_matrix"):
                continue
            old = getattr(self, f.name)
            shape = (*old.shape[:-1], cap)
            fill = NEVER if f.name in ("arrears_day", "rationed_since") else 0
            new = np.full(shape, fill, dtype=old.dtype)
            new[..., :old.shape[-1]] = old
            setattr(self, f.name, new)

    # views of the edges in use -------------------------------------------------
    def owed(self) -> np.ndarray:
        """Everything owed on each edge: invoices not yet due plus arrears (yuan)."""
        n = self.n
        return self.outstanding[:n] + self.arrears[:n]

    def payables(self, m: int) -> np.ndarray:
        """Trade payables of each merchant (as buyer), yuan."""
        return np.bincount(self.buyer[:self.n], self.owed(), minlength=m)

    def receivables(self, m: int) -> np.ndarray:
        """Trade receivables of each merchant (as supplier; invoices sold to the outside excluded)."""
        owed = np.where(self.outside_owned[:self.n], 0.0, self.owed())
        return np.bincount(self.supplier[:self.n], owed, minlength=m)

    def outside_receivable(self) -> float:
        """Invoices owned by the outside sector (bought from failed suppliers), yuan."""
        return float(self.owed()[self.outside_owned[:self.n]].sum())

    def arrears_by_buyer(self, m: int) -> np.ndarray:
        return np.bincount(self.buyer[:self.n], self.arrears[:self.n], minlength=m)

    def oldest_arrears_day(self, m: int) -> np.ndarray:
        """Per buyer, the day its oldest unpaid arrears fell due (NEVER when none)."""
        out = np.full(m, -NEVER, dtype=np.int64)
        has = self.arrears[:self.n] > 0
        np.minimum.at(out, self.buyer[:self.n][has], self.arrears_day[:self.n][has])
        out[out == -NEVER] = NEVER
        return out


def split_orders(book: TradeBook, order_by_buyer: np.ndarray, credit_stop: np.ndarray) -> np.ndarray:
    """Each buyer's order (value at its cost) split over its live suppliers by purchase share.
    No goods go where the buyer is in arrears on that edge (suppliers stop trade credit)."""
    n = book.n
    orders = order_by_buyer[book.buyer[:n]] * book.weight[:n]
    orders[~book.live[:n] | credit_stop] = 0.0
    return orders


def ration(stock_value: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Pro-rata rationing: the share of each supplier's orders its stock can fill."""
    return np.where(demand > stock_value, stock_value / np.maximum(demand, 1e-12), 1.0)


def pay_invoices(payable: np.ndarray, buyer: np.ndarray, pressing: np.ndarray, cash: np.ndarray,
                 credit_room: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How much of each edge's ``payable`` (invoices due today plus arrears) its buyer pays
    today: the payment waterfall of a merchant short of cash.

    1. ``cash`` (what the buyer can spend without going below its buffer target) pays every
       supplier the same share of what it is owed (pro rata).
    2. What cash cannot pay is stretched: left unpaid, late, on the supplier (firms pass more
       than a quarter of a liquidity shock to their suppliers: Boissay & Gropp 2013) -- except
       on ``pressing`` edges, whose arrears are old enough that the supplier is about to stop
       shipping; those are paid from ``credit_room`` (bank line, SCF line, the buffer itself,
       the owner's funds), pro rata again.
    3. The rest stays in arrears.

    ``cash`` and ``credit_room`` are per merchant; failed merchants (``~active``) pay nothing
    (their estate is settled by the failure rule). Returns the payments per edge from cash and
    from credit."""
    m = cash.size
    need = np.bincount(buyer, payable, minlength=m)
    cash_ratio = np.where(need > 0, np.minimum(1.0, np.maximum(cash, 0.0) / np.maximum(need, 1e-12)), 1.0)
    cash_ratio[~active] = 0.0
    paid = payable * cash_ratio[buyer]
    rest = np.where(pressing, payable - paid, 0.0)
    need_credit = np.bincount(buyer, rest, minlength=m)
    credit_ratio = np.where(need_credit > 0, np.minimum(1.0, np.maximum(credit_room, 0.0) /
                                                       np.maximum(need_credit, 1e-12)), 1.0)
    credit_ratio[~active] = 0.0
    return paid, rest * credit_ratio[buyer]


def place_orders(book: TradeBook, gap_by_buyer: np.ndarray, credit_stop: np.ndarray) -> np.ndarray:
    """Each buyer's new orders, by edge: its restocking gap less what it already has on
    back-order, split over its live suppliers by purchase share (nothing where the supplier has
    stopped trade credit). Back-orders count as stock on the way, so a rationed buyer does not
    order the same goods twice."""
    n = book.n
    waiting = np.bincount(book.buyer[:n], book.backlog[:n], minlength=gap_by_buyer.size)
    return split_orders(book, np.maximum(gap_by_buyer - waiting, 0.0), credit_stop)


def serve_orders(book: TradeBook, new: np.ndarray, stock_value: np.ndarray, credit_stop: np.ndarray,
                 today: int, cancel_days: float, rationed_fill: float) -> tuple[np.ndarray, np.ndarray]:
    """Suppliers ship back-orders and today's orders together, pro rata, from stock (at selling
    prices ``stock_value``); what they cannot ship stays on back-order, of which ``1 / cancel_days``
    is cancelled a day (buyers give up on old orders). An edge shipped less than
    ``rationed_fill`` of what was asked starts (or continues) a run of rationing. Returns the
    shipments and each supplier's demand today, by edge and by supplier."""
    n = book.n
    asked = np.where(book.live[:n] & ~credit_stop, book.backlog[:n] + new, 0.0)
    demand = np.bincount(book.supplier[:n], asked, minlength=stock_value.size)
    fill = ration(stock_value, demand)[book.supplier[:n]]
    ship = asked * fill
    left = np.where(book.live[:n], book.backlog[:n] + new - ship, 0.0)
    book.backlog[:n] = left * (1.0 - 1.0 / max(cancel_days, 1.0))
    rationed = (asked > 0) & (fill < rationed_fill)
    book.rationed_since[:n] = np.where(rationed, np.where(book.rationed_since[:n] == NEVER, today,
                                                          book.rationed_since[:n]),
                                       np.where(asked > 0, NEVER, book.rationed_since[:n]))
    return ship, demand
