"""Contagion analytics: DebtRank on the trade-credit network and cascade statistics.

Two views of how distress travels up the supply chain: how far it goes, and where the
tipping points are (the research questions Q3 and Q5 of docs/model.md section 1):

* **Ex ante, on a balance-sheet snapshot** -- DebtRank (Battiston, Puliga,
  Kaushik, Tasca & Caldarelli 2012, "DebtRank: too central to fail? Financial
  networks, the FED and systemic risk", *Scientific Reports* 2:541), written in
  the balance-sheet notation of Bardoscia, Battiston, Caccioli & Caldarelli
  (2015, "DebtRank: a microscopic foundation for shock propagation", *PLoS ONE*
  10(6): e0130406). Given who is owed what by whom and each merchant's capital
  buffer, it measures how much of the system's equity a shock to some merchants
  would destroy, counting knock-on losses at suppliers, their suppliers, and so
  on. :func:`debtrank` runs one shock; :func:`systemic_importance` runs "this
  merchant alone defaults" for every merchant, the "too central to fail" ranking.
* **Ex post, on the simulated failures** -- :func:`cascade_statistics` summarises
  the cascades recorded in ``failures.parquet`` (docs/model.md 7.24: sizes, depth,
  contagion share, causes, tiers), and :func:`assign_generations` is the
  bookkeeping that gives each new failure its generation and cascade
  (docs/model.md 7.22, "Cascades").

Conventions. ``exposures[i, j]`` is what merchant ``i`` is owed by merchant
``j``: ``i``'s asset on ``j``, e.g. the trade receivables of supplier ``i`` from
buyer ``j`` (Bardoscia et al.'s interbank asset ``A_ij``). Rows are creditors,
columns debtors, so distress flows from a column to the rows holding claims on
it: from buyers up to their suppliers. ``equity[i]`` is ``i``'s capital buffer
``E_i(0)`` (net worth, or whatever loss-absorbing buffer the caller chooses), in
yuan like the exposures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike

# causes of a merchant failure (docs/model.md 7.22 and 9, failures.parquet `cause`)
FAILURE_CAUSES = ("liquidity", "counterparty", "credit_line")

# columns of failures.parquet that the cascade statistics read
_FAILURE_COLUMNS = ("generation", "cascade_id", "cause", "tier")

# systemic_importance: entries of the (nodes x batch) working arrays per batch;
# 8 million entries is about 72 MB (a float64 and a bool array)
_BATCH_ENTRIES = 8_000_000

Exposures = ArrayLike | sp.sparray | sp.spmatrix


# --------------------------------------------------------------------------
# DebtRank
# --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DebtRankResult:
    """Outcome of one DebtRank run (Battiston et al. 2012)."""

    h: np.ndarray          # final relative equity loss per node, in [0, 1] (1 = default)
    h_initial: np.ndarray  # relative equity loss before propagation: the shock, plus 1 where equity <= 0
    rounds: int            # propagation rounds run (each had at least one distressed node)
    converged: bool        # False when max_rounds stopped the run with distressed nodes left
    value: float           # DebtRank R = sum_i h_i v_i - sum_i h_i(initial) v_i (induced loss only)
    total_loss: float      # equity destroyed, initial shock included: sum_i h_i max(E_i, 0), yuan
    induced_loss: float    # equity destroyed by propagation alone: sum_i (h_i - h_i(initial)) max(E_i, 0), yuan
    weights: np.ndarray    # economic weights v_i used for `value`


def exposure_matrix(creditor: ArrayLike, debtor: ArrayLike, amount: ArrayLike, n: int) -> sp.csr_array:
    """Build the (n, n) exposure matrix from a table of claims.

    ``creditor[k]`` is owed ``amount[k]`` by ``debtor[k]`` (one row per invoice,
    loan or aggregated edge); duplicate pairs are summed, as in a scatter-add.
    The result has ``exposures[creditor, debtor] = sum of amounts``.
    """
    creditor = np.asarray(creditor, dtype=np.intp)
    debtor = np.asarray(debtor, dtype=np.intp)
    amount = np.asarray(amount, dtype=np.float64)
    if not creditor.shape == debtor.shape == amount.shape:
        raise ValueError("creditor, debtor and amount must have the same shape")
    return sp.csr_array(sp.coo_array((amount, (creditor, debtor)), shape=(n, n)))


def impact_matrix(exposures: Exposures, equity: ArrayLike) -> sp.csr_array:
    """The DebtRank impact matrix ``W[i, j] = min(1, exposures[i, j] / equity[i])``.

    ``W[i, j]`` is the share of creditor ``i``'s equity lost if debtor ``j``
    defaults and the claim is worth nothing: Bardoscia et al.'s (2015) leverage
    ``Lambda_ij = A_ij / E_i(0)``, capped at 1 as in Battiston et al. (2012),
    since a node cannot lose more than its equity. (Battiston et al. index the
    transpose: their ``W_ij`` is the impact *of* ``i`` *on* ``j``.)

    A creditor with ``equity[i] <= 0`` has no buffer: any claim on a
    distressed debtor wipes it out, so its row is 1 wherever it has an
    exposure. Self-exposures (the diagonal) are dropped; duplicate entries of a
    sparse input are summed before dividing. Exposures must be finite and
    non-negative.
    """
    equity = np.asarray(equity, dtype=np.float64)
    if equity.ndim != 1:
        raise ValueError("equity must be a 1-D array")
    m = equity.size
    if not np.all(np.isfinite(equity)):
        raise ValueError("equity must be finite")
    coo = sp.coo_array(exposures, dtype=np.float64, copy=True)
    if coo.shape != (m, m):
        raise ValueError(f"exposures has shape {coo.shape}, expected ({m}, {m}) to match equity")
    coo.sum_duplicates()
    if not np.all(np.isfinite(coo.data)) or np.any(coo.data < 0):
        raise ValueError("exposures must be finite and non-negative")
    keep = (coo.row != coo.col) & (coo.data > 0)
    row, col, amount = coo.row[keep], coo.col[keep], coo.data[keep]
    buffer = equity[row]
    impact = np.divide(amount, buffer, out=np.ones_like(amount), where=buffer > 0)
    np.minimum(impact, 1.0, out=impact)
    return sp.csr_array((impact, (row, col)), shape=(m, m))


def economic_weights(equity: ArrayLike) -> np.ndarray:
    """Default DebtRank weights ``v_i = E_i / sum_j E_j`` (Battiston et al. 2012).

    Each node counts in proportion to its capital, so R is a share of the
    system's equity. Non-positive equity counts as zero (nothing left to lose);
    if no node has positive equity all weights are zero.
    """
    buffer = np.maximum(np.asarray(equity, dtype=np.float64), 0.0)
    total = buffer.sum()
    return buffer / total if total > 0 else np.zeros_like(buffer)


def debtrank(exposures: Exposures, equity: ArrayLike, shocked: ArrayLike, shock: float = 1.0, *,
             weights: ArrayLike | None = None, max_rounds: int | None = None) -> DebtRankResult:
    """DebtRank of a shock to ``shocked`` nodes (Battiston et al. 2012, original algorithm).

    Economics. ``h_i`` is merchant ``i``'s relative equity loss
    ``(E_i(0) - E_i(t)) / E_i(0)``: 0 undamaged, 1 defaulted. When a buyer
    ``j`` loses a share ``h_j`` of its equity, its suppliers mark their
    receivables on it down by the same share (Bardoscia et al. 2015 derive
    DebtRank from exactly this linear valuation of claims), so supplier ``i``
    loses ``W[i, j] * h_j`` of its own equity, with ``W`` from
    :func:`impact_matrix`. Those suppliers in turn pass the loss to their own
    suppliers, and so on up the chain.

    Algorithm (the 2012 dynamics, implemented exactly). Each node has a level
    ``h_i(t)`` and a state ``s_i(t)`` in {U undistressed, D distressed,
    I inactive}. At ``t = 0``: ``h_i = shock`` and ``s_i = D`` for shocked
    nodes (if ``shock > 0``), ``h_i = 0`` and ``s_i = U`` for the rest. Each
    round ``t = 1, 2, ...``::

        h_i(t) = min(1, h_i(t-1) + sum_{j : s_j(t-1) = D} W[i, j] h_j(t-1))
        s_i(t) = I  if s_i(t-1) = D
                 D  if s_i(t-1) = U and h_i(t) > 0
                 s_i(t-1) otherwise

    A node therefore passes on its distress exactly once, in the round after it
    becomes distressed, with the level it had then; later losses it suffers
    raise its own ``h`` but are not passed on. This is what makes the process
    stop on cycles (a node is distressed at most once and every round has a
    distressed node, so there are at most ``m`` rounds), and why the 2012
    DebtRank can understate losses compared with the "differential"
    propagation of Bardoscia et al. (2015), in which every increment of ``h``
    propagates and losses reverberate around loops. The run ends when no
    node is distressed (or after ``max_rounds``). Each round is one sparse
    matrix-vector product ``W @ (h * [s == D])``; there is no loop over nodes.

    Non-positive equity: such a node is insolvent before the shock, so it
    starts at ``h_i = 1`` and inactive: its default is part of the baseline,
    not of the shock, and is not propagated (unless the node is itself in
    ``shocked``, in which case it is distressed at level 1 and propagates).
    It has weight 0 by default and contributes nothing to the losses.

    Parameters
    ----------
    exposures : (m, m) sparse matrix or dense array
        ``exposures[i, j]`` = what ``i`` is owed by ``j`` (yuan).
    equity : (m,) array
        Capital buffers ``E_i(0)`` (yuan).
    shocked : index array or (m,) boolean mask
        Initially distressed nodes.
    shock : float in [0, 1]
        Initial relative equity loss of the shocked nodes (1 = default).
    weights : (m,) array, optional
        Economic weights ``v_i``; default :func:`economic_weights` (shares of
        total equity, summing to 1). Used as given.
    max_rounds : int, optional
        Stop after this many rounds (to inspect the dynamics round by round).

    Returns
    -------
    DebtRankResult
        ``value`` is the DebtRank ``R = sum_i h_i v_i - sum_i h_i(0) v_i``:
        the loss induced by propagation, excluding the initial shock, as a
        share of system equity under the default weights.
    """
    impact = impact_matrix(exposures, equity)
    equity = np.asarray(equity, dtype=np.float64)
    m = equity.size
    weights = _check_weights(weights, equity)
    if not 0.0 <= shock <= 1.0:
        raise ValueError(f"shock must lie in [0, 1], got {shock}")
    if max_rounds is not None and max_rounds < 0:
        raise ValueError("max_rounds must be non-negative")
    start = _as_indices(shocked, m)

    insolvent = equity <= 0
    h = insolvent.astype(np.float64)
    h[start] = np.maximum(h[start], shock)
    distressed = np.zeros(m, dtype=bool)
    distressed[start] = shock > 0
    spent = insolvent & ~distressed          # inactive: has propagated, or never will
    h_initial = h.copy()

    rounds = 0
    while distressed.any() and (max_rounds is None or rounds < max_rounds):
        rounds += 1
        h = np.minimum(1.0, h + impact @ np.where(distressed, h, 0.0))
        spent |= distressed
        distressed = (h > 0.0) & ~spent

    buffer = np.maximum(equity, 0.0)
    return DebtRankResult(
        h=h, h_initial=h_initial, rounds=rounds, converged=not distressed.any(),
        value=float(weights @ (h - h_initial)),
        total_loss=float(h @ buffer),
        induced_loss=float((h - h_initial) @ buffer),
        weights=weights,
    )


def systemic_importance(exposures: Exposures, equity: ArrayLike, *, weights: ArrayLike | None = None,
                        batch_size: int | None = None) -> np.ndarray:
    """DebtRank of each node when it alone defaults (``shock = 1``).

    ``result[k] = debtrank(exposures, equity, [k]).value``: the share of system
    equity (under the default weights) that merchant ``k``'s default would
    destroy elsewhere through the trade-credit network -- the "too central to
    fail" ranking of Battiston et al. (2012). It ranks merchants by systemic
    footprint rather than size: a mid-sized distributor whose many small
    suppliers depend on it can outrank a large manufacturer that owes nobody.

    Computation. The same 2012 dynamics as :func:`debtrank`, run for a batch
    of ``b`` starting nodes at once: column ``c`` of an ``(m, b)`` array holds
    the levels ``h`` of the run started at node ``k_c``. Each round multiplies
    ``W`` by the sparse ``(m, b)`` matrix of the distressed entries (a
    sparse-sparse product: every run's pressure ``sum_j W[i, j] h_j`` at
    once), adds the result only where it touched, and moves the distressed
    entries to inactive. A run ends when nothing in it is distressed. Nodes
    whose default reaches no creditor (an empty column of ``W``) score 0
    without a run.

    Complexity. Memory ``O(m * b)`` per batch, with ``b`` chosen so the
    working arrays stay near 72 MB (or ``batch_size``). Time: ``O(m^2)``
    to allocate and weight the batches, plus the edges leaving each node that
    becomes distressed, summed over all ``m`` runs, which is at most
    ``m * nnz(W)`` since a node propagates once per run. DebtRank has no
    threshold: any positive loss travels on, so on a well-connected network
    each run reaches the whole giant component and the bound is attained.
    Measured (two cores): a random network with cycles and three edges per
    node takes about 0.4 s at m = 2,000 and 40-50 s at m = 20,000 (1.2e9
    edge propagations); a three-tier supply chain of 20,000 merchants with
    three suppliers per buyer, where distress climbs two tiers and stops,
    takes under a second.
    """
    impact = impact_matrix(exposures, equity)
    equity = np.asarray(equity, dtype=np.float64)
    m = equity.size
    weights = _check_weights(weights, equity)
    result = np.zeros(m, dtype=np.float64)
    reaches = np.flatnonzero(np.bincount(impact.indices, minlength=m) > 0)   # nodes with a creditor
    if reaches.size == 0:
        return result
    if batch_size is None:
        batch_size = max(1, _BATCH_ENTRIES // m)
    if batch_size < 1:
        raise ValueError("batch_size must be positive")

    insolvent = equity <= 0
    baseline = float(weights[insolvent].sum())   # insolvent nodes start at h = 1 in every run
    for first in range(0, reaches.size, batch_size):
        starts = reaches[first:first + batch_size]
        levels = _propagate_batch(impact, insolvent, starts)
        # R = v . (h - h(0)); h(0) is 1 on insolvent nodes and on the start node
        own = np.where(insolvent[starts], 0.0, weights[starts])
        result[starts] = weights @ levels - baseline - own
    return result


def _propagate_batch(impact: sp.csr_array, insolvent: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Final levels ``h`` (m, b) of the 2012 dynamics, one column per start node defaulting.

    The distressed set is kept as a frontier of (node, run) pairs sorted by
    node, so a round costs work proportional to the edges leaving it, not
    ``m * b``, and reads and writes ``levels`` in increasing address order.
    """
    m, b = insolvent.size, starts.size
    runs = np.arange(b)
    levels = np.zeros((m, b), dtype=np.float64)
    levels[insolvent] = 1.0
    levels[starts, runs] = 1.0
    spent = np.zeros((m, b), dtype=bool)
    spent[insolvent] = True
    spent[starts, runs] = False                       # an insolvent start node is shocked: it propagates
    flat_levels, flat_spent = levels.reshape(-1), spent.reshape(-1)   # views: index = node * b + run
    index_type = np.int32 if m * b < 2**31 else np.int64                # narrow indices: less memory traffic
    row_offset = np.arange(m, dtype=index_type) * index_type(b)
    order = np.argsort(starts, kind="stable")
    distressed = row_offset[starts[order]] + runs[order].astype(index_type)   # flat indices, by node
    indptr = np.zeros(m + 1, dtype=index_type)
    while distressed.size:
        node, run = np.divmod(distressed, index_type(b))
        np.cumsum(np.bincount(node, minlength=m), out=indptr[1:])
        frontier = sp.csr_array((flat_levels[distressed], run, indptr), shape=(m, b))
        pressure = impact @ frontier                      # [i, c] = sum_j W[i, j] h_j over distressed j
        flat_spent[distressed] = True                     # D -> I
        touched = np.repeat(row_offset, np.diff(pressure.indptr)) + pressure.indices.astype(index_type)
        flat_levels[touched] = np.minimum(1.0, flat_levels[touched] + pressure.data)
        # U -> D: touched nodes have h > 0 (W > 0, distressed h > 0; an underflow to 0 would only
        # propagate zeros); grouped by node
        distressed = touched[~flat_spent[touched]]
    return levels


def _check_weights(weights: ArrayLike | None, equity: np.ndarray) -> np.ndarray:
    if weights is None:
        return economic_weights(equity)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != equity.shape:
        raise ValueError(f"weights has shape {weights.shape}, expected {equity.shape}")
    return weights


def _as_indices(shocked: ArrayLike, m: int) -> np.ndarray:
    """Node indices from an index array or a boolean mask."""
    shocked = np.asarray(shocked)
    if shocked.dtype == bool:
        if shocked.shape != (m,):
            raise ValueError(f"a boolean mask must have shape ({m},), got {shocked.shape}")
        return np.flatnonzero(shocked)
    if shocked.size == 0:
        return np.empty(0, dtype=np.intp)
    if not np.issubdtype(shocked.dtype, np.integer):
        raise TypeError("shocked must be integer indices or a boolean mask")
    index = shocked.reshape(-1).astype(np.intp)
    if np.any((index < 0) | (index >= m)):
        raise IndexError(f"shocked indices must lie in [0, {m})")
    return np.unique(index)


# --------------------------------------------------------------------------
# Cascades in the simulated failures
# --------------------------------------------------------------------------

def assign_generations(merchant_ids: Sequence[int] | np.ndarray, parents: Sequence[Sequence[int]],
                       failures: pd.DataFrame | None = None, *,
                       next_cascade_id: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Generation and cascade of today's new failures, from their parents.

    A failure with no known parent is a root: generation 0, a new cascade.
    Otherwise its generation is 1 + the highest generation among its parents
    and it joins its parents' cascade (the lowest cascade id when the parents
    belong to different cascades: the cascades merge into the oldest).

    Parents are looked up first among today's failures (a failure can cause
    another on the same day; order does not matter) and then in ``failures``,
    the table recorded so far (merchant ids can be reused after entry, so a
    parent is its latest recorded failure; the table is in recording order).
    Unknown parents are ignored: a parent that failed during the unrecorded
    burn-in makes its child a root of a recorded cascade. Parent cycles within
    one day (which the failure rule should not produce) are broken by treating
    the unresolved parents as unknown.

    New cascade ids count up from ``next_cascade_id``, by default one more than
    the largest id in ``failures`` (0 for an empty table).

    This loops over today's failures in Python: failures are rare events and a
    day has few of them, unlike the daily per-merchant rules.
    """
    merchant_ids = [int(x) for x in merchant_ids]
    if len(parents) != len(merchant_ids):
        raise ValueError("merchant_ids and parents must have the same length")
    known: dict[int, tuple[int, int]] = {}   # merchant -> (generation, cascade_id) of its latest failure
    if failures is not None and len(failures):
        latest = failures.drop_duplicates("merchant_id", keep="last")
        known = dict(zip(latest["merchant_id"].astype(int),
                         zip(latest["generation"].astype(int), latest["cascade_id"].astype(int))))
        if next_cascade_id is None:
            next_cascade_id = int(failures["cascade_id"].max()) + 1
    if next_cascade_id is None:
        next_cascade_id = 0

    count = len(merchant_ids)
    generation = np.zeros(count, dtype=np.int64)
    cascade = np.zeros(count, dtype=np.int64)
    parent_lists = [[int(p) for p in _as_list(ps) if int(p) != merchant_ids[k]] for k, ps in enumerate(parents)]
    pending = list(range(count))
    while pending:
        unresolved = {merchant_ids[k] for k in pending}
        ready = [k for k in pending if not unresolved.intersection(parent_lists[k])]
        if not ready:                           # a same-day cycle: break it at the first failure
            ready = [pending[0]]
        for k in ready:
            links = [known[p] for p in parent_lists[k] if p in known and p not in unresolved]
            if links:
                generation[k] = 1 + max(g for g, _ in links)
                cascade[k] = min(c for _, c in links)
            else:
                generation[k], cascade[k] = 0, next_cascade_id
                next_cascade_id += 1
        for k in ready:
            known[merchant_ids[k]] = (int(generation[k]), int(cascade[k]))
        done = set(ready)
        pending = [k for k in pending if k not in done]
    return generation, cascade


def cascade_statistics(failures: pd.DataFrame) -> dict:
    """Summary of the failure cascades in a ``failures.parquet`` table: how far up the chain distress travels.

    A cascade is the set of failures sharing a ``cascade_id``: one root
    (generation 0, a failure of the merchant's own liquidity) and the failures
    it set off through trade-credit losses or cut credit lines. Its size is its
    number of failures and its depth is ``max generation + 1`` (a lone root has
    depth 1). Heavy-tailed sizes and growing depth as a parameter moves are the
    signs of a tipping point (Q5).

    Returns a JSON-ready dict (plain ints and floats):
    ``n_failures``, ``n_cascades``, ``n_contagion`` (failures caused by a
    counterparty's loss or a cut credit line), ``contagion_share`` (``n_contagion / n_failures``),
    ``size_distribution`` (size -> number of cascades), ``mean_cascade_size``,
    ``max_cascade_size``, ``depth_distribution`` (depth -> number of cascades),
    ``max_depth``, ``by_cause`` (each of ``liquidity``, ``counterparty``,
    ``credit_line`` plus any other cause seen -> failures), ``by_tier`` (tier ->
    failures), ``arrears`` and ``creditor_losses`` (totals, yuan, when the
    columns are present). An empty table gives zeros and empty distributions.
    """
    by_cause = dict.fromkeys(FAILURE_CAUSES, 0)
    stats = {
        "n_failures": 0, "n_cascades": 0, "n_contagion": 0, "contagion_share": 0.0,
        "size_distribution": {}, "mean_cascade_size": 0.0, "max_cascade_size": 0,
        "depth_distribution": {}, "max_depth": 0,
        "by_cause": by_cause, "by_tier": {}, "arrears": 0.0, "creditor_losses": 0.0,
    }
    if len(failures) == 0:
        return stats
    missing = [c for c in _FAILURE_COLUMNS if c not in failures.columns]
    if missing:
        raise KeyError(f"failures table lacks columns {missing}")

    per_cascade = failures.groupby("cascade_id")["generation"]
    sizes = per_cascade.size()
    depths = per_cascade.max() + 1
    # contagion as docs/model.md 7.22 defines it: a loss from a failed counterparty or a cut credit line
    n_contagion = int(np.count_nonzero(failures["cause"].isin(["counterparty", "credit_line"]).to_numpy()))
    for cause, count in failures["cause"].value_counts(sort=False).items():
        by_cause[str(cause)] = int(count)
    stats.update(
        n_failures=len(failures),
        n_cascades=int(sizes.size),
        n_contagion=n_contagion,
        contagion_share=n_contagion / len(failures),
        size_distribution=_distribution(sizes),
        mean_cascade_size=float(sizes.mean()),
        max_cascade_size=int(sizes.max()),
        depth_distribution=_distribution(depths),
        max_depth=int(depths.max()),
        by_tier={_plain(tier): int(count) for tier, count in failures["tier"].value_counts().sort_index().items()},
    )
    for column in ("arrears", "creditor_losses"):
        if column in failures.columns:
            stats[column] = float(failures[column].sum())
    return stats


CUSTOMER_LOSS_BINS = (0.0, 0.25, 0.5, 1.0)   # edges of the shares of customers failed (0 is its own bin)


def failure_by_customer_losses(failures: pd.DataFrame, supplier: ArrayLike, buyer: ArrayLike,
                               bins: Sequence[float] = CUSTOMER_LOSS_BINS) -> pd.DataFrame:
    """How a supplier's chance of failing rises with the share of its customers that failed
    before it (Arata 2018, on Japanese firms: about three times as likely when half its
    customers failed).

    ``supplier`` and ``buyer`` are the supply relations (one entry per relation, merchant
    ids): those of the eve of the recorded window, ``model.supply.start_relations`` (the
    network generated before the burn-in has been re-linked since). ``failures`` is a
    ``failures.parquet`` table (``date``, ``merchant_id``). Each merchant with at least one
    customer counts once: its first failure in the table (or none), and the share of its
    distinct customers whose first failure came strictly before that date (or at any time, if
    it survived). Suppliers are grouped by that share: none, then the intervals
    ``(bins[k], bins[k + 1]]``.

    Returns one row per group: ``customers_failed`` (a label), ``suppliers``, ``failed``,
    ``failure_rate`` (``failed / suppliers``, NaN for an empty group) and ``relative_rate``
    (``failure_rate`` over that of the suppliers with no customer failed).
    """
    per = _supplier_outcomes(failures, supplier, buyer)
    share, failed = per["share"].to_numpy(), per["failed"].to_numpy()
    labels = ["none"] + [f"({lo:.0%}, {hi:.0%}]" for lo, hi in zip(bins[:-1], bins[1:])]
    group = np.searchsorted(np.asarray(bins), share, side="left")   # a share of 0 is bins[0]: "none"
    rows = []
    for k, label in enumerate(labels):
        mine = group == k
        n, f = int(mine.sum()), int((mine & failed).sum())
        rows.append({"customers_failed": label, "suppliers": n, "failed": f, "failure_rate": f / n if n else np.nan})
    out = pd.DataFrame(rows)
    out["relative_rate"] = out["failure_rate"] / out["failure_rate"].iloc[0]
    return out


def customer_loss_effect(runs: Sequence[tuple[pd.DataFrame, ArrayLike, ArrayLike]], at: float = 0.5,
                         bootstrap: int = 0, seed: int = 0) -> dict:
    """Arata (2018)'s contagion effect: how many times as likely a supplier is to fail when a
    share ``at`` of its customers failed before it, as against none, from a logistic
    regression of failure on that share with the log of its number of customers as a control
    (suppliers with many customers are bigger and safer, and more often see one fail) and one
    intercept per run.

    ``runs`` holds one ``(failures, supplier, buyer)`` triple per run, as for
    :func:`failure_by_customer_losses`, e.g. the seeds of one scenario. The ratio is of the
    predicted probabilities at the mean controls. ``bootstrap`` resamples of the suppliers
    (seeded by ``seed``) give a 95% interval.

    Returns ``ratio``, ``share_coefficient`` (log-odds per unit share), ``suppliers``,
    ``failed``, and with ``bootstrap`` also ``ratio_low`` and ``ratio_high``.
    """
    from agents.lender import fit_logistic   # the lender's IRLS fit, with a negligible ridge

    if not runs:
        raise ValueError("customer_loss_effect needs at least one run")
    tables = [_supplier_outcomes(*run) for run in runs]
    run_of = np.concatenate([np.full(len(t), k) for k, t in enumerate(tables)])
    data = pd.concat(tables, ignore_index=True)
    columns = [np.ones(len(data)), data["share"].to_numpy(), np.log(data["customers"].to_numpy())]
    columns += [(run_of == k).astype(float) for k in range(1, len(tables))]
    X, y = np.column_stack(columns), data["failed"].to_numpy(dtype=np.float64)

    def ratio(rows: np.ndarray) -> tuple[float, float]:
        w = fit_logistic(X[rows], y[rows], np.zeros(X.shape[1]), ridge=1e-6, iterations=50)
        point = X[rows].mean(axis=0)
        point[1] = 0.0
        hit = point.copy()
        hit[1] = at
        return float(_logistic(hit @ w) / _logistic(point @ w)), float(w[1])

    everyone = np.arange(len(data))
    out = dict(zip(("ratio", "share_coefficient"), ratio(everyone)))
    out.update(suppliers=int(len(data)), failed=int(y.sum()))
    if bootstrap:
        rng = np.random.default_rng(seed)
        draws = [ratio(rng.integers(0, len(data), len(data)))[0] for _ in range(bootstrap)]
        out["ratio_low"], out["ratio_high"] = (float(v) for v in np.percentile(draws, [2.5, 97.5]))
    return out


def _logistic(z: float) -> float:
    return 1.0 / (1.0 + np.exp(-z))


def _supplier_outcomes(failures: pd.DataFrame, supplier: ArrayLike, buyer: ArrayLike) -> pd.DataFrame:
    """One row per merchant with a customer: ``customers`` (distinct), ``failed_before`` (those
    whose first failure came strictly before its own, or at any time if it survived), ``share``
    and ``failed`` (it is in ``failures``)."""
    supplier, buyer = np.asarray(supplier, dtype=np.int64), np.asarray(buyer, dtype=np.int64)
    if supplier.shape != buyer.shape:
        raise ValueError(f"supplier and buyer must have one entry per relation ({supplier.size} != {buyer.size})")
    edges = pd.DataFrame({"supplier": supplier, "buyer": buyer}).drop_duplicates()
    days = np.asarray(failures["date"], dtype="datetime64[D]").astype(np.int64) if len(failures) else np.zeros(0)
    first = pd.Series(days, index=np.asarray(failures["merchant_id"], dtype=np.int64)).groupby(level=0).min()
    never = np.iinfo(np.int64).max
    fail_day = lambda ids: ids.map(first).fillna(never).to_numpy(dtype=np.float64)  # noqa: E731
    edges["before"] = fail_day(edges["buyer"]) < fail_day(edges["supplier"])
    per = edges.groupby("supplier").agg(customers=("buyer", "size"), failed_before=("before", "sum"))
    per["share"] = per["failed_before"] / per["customers"]
    per["failed"] = per.index.isin(first.index)
    return per


def _distribution(values: pd.Series) -> dict[int, int]:
    """value -> count, sorted by value, with plain ints."""
    counts = values.value_counts().sort_index()
    return {int(value): int(count) for value, count in counts.items()}


def _plain(value):
    """A numpy scalar as the matching Python scalar (for JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def _as_list(parents) -> list:
    """A parents cell (list, tuple, numpy array or missing) as a list."""
    if parents is None:
        return []
    if isinstance(parents, float) and np.isnan(parents):
        return []
    return list(parents)
