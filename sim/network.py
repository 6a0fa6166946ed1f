"""The supply-chain network: who buys from whom, and in what shares.

Merchants sit in three tiers. Manufacturers make goods (buying raw inputs from
the outside sector, which is not part of this network), distributors buy from
manufacturers, retailers buy from distributors and sell to consumers. An edge
``supplier -> buyer`` carries a **weight**: the share of the buyer's purchases
of goods that it places with that supplier. A buyer that restocks goods worth
``x`` yuan orders ``weight * x`` from each of its suppliers and owes each of them
that amount in trade payables; if a supplier fails, its buyers lose that share
of their supply. The weights of every buyer with suppliers sum to 1.

For the daily step the network is a sparse matrix (:meth:`SupplyNetwork.buyer_matrix`,
rows = buyers, columns = suppliers, value = weight):

- orders flowing upstream: ``orders_by_supplier = W.T @ purchases_by_buyer``;
- supply lost downstream: ``share_lost_by_buyer = W @ failed_supplier``.

A network comes from :func:`generate_network` (tiers, heavy-tailed sizes,
preferential attachment; seeded) or from a file via :func:`load_network`
(GraphML, or an edge-list CSV with a nodes CSV) and goes back to a file with
:func:`save_network`. File formats:

GraphML (``.graphml``)
    a directed graph; node attribute ``tier`` (``retailer``, ``distributor`` or
    ``manufacturer``), optional node attribute ``size`` (positive number); edge
    attribute ``weight`` (positive number), edges directed supplier -> buyer.
    Node ids are the merchants' labels.

Edge-list CSV (``.csv``)
    header ``supplier,buyer,weight``, one edge a line, suppliers and buyers named
    by their labels; plus a nodes CSV (by default ``<stem>.nodes.csv`` beside
    the edge file) with header ``id,tier`` and an optional ``size`` column.
    Surrounding whitespace of every field is ignored.

Weights in a file need not sum to 1: they are read as relative purchase
volumes and each buyer's weights are divided by their sum. Sizes are relative:
they are rescaled to mean 1 within each tier. Cycles (two distributors that
supply each other) are allowed.
"""

from __future__ import annotations

import csv
import math
import xml.etree.ElementTree as ElementTree
from xml.parsers import expat
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import scipy.sparse as sparse

from agents.merchant import DISTRIBUTOR, MANUFACTURER, RETAILER, TIER_NAMES
from sim.inputs import ConfigError, check_input_path, read_input_file

if TYPE_CHECKING:
    from mesa.discrete_space import Network

__all__ = [
    "ATTACHMENT_RULES", "DISTRIBUTOR", "MANUFACTURER", "MAX_NETWORK_BYTES", "RETAILER", "TIER_NAMES",
    "NetworkError", "SupplyNetwork",
    "check_network_files", "generate_network", "load_network", "save_network",
]

GRAPHML_NAMESPACE = "http://graphml.graphdrawing.org/xmlns"
_NORMALISED_TOLERANCE = 1e-12   # shares summing to 1 (sizes averaging 1) within this are left as they are
_SHOWN_PROBLEMS = 20            # problems listed in one error message
# a network file above 512 MiB is refused unread: 1,000,000 merchants (population.merchants at
# most) take about 100 MiB as an edge list and 350 MiB as GraphML
MAX_NETWORK_BYTES = 512 << 20
_TIER_CODES = {name: code for code, name in enumerate(TIER_NAMES)}
ATTACHMENT_RULES = ("multiplicative", "additive")


class NetworkError(ConfigError):
    """A supply network that cannot be built: a malformed or inconsistent file, or bad arguments."""


# --------------------------------------------------------------------------- the network


@dataclass(eq=False)
class SupplyNetwork:
    """Merchants (nodes) and their supply relations (edges supplier -> buyer).

    Node ``i`` is merchant ``i`` of the model. Edges are kept sorted by buyer,
    then supplier, so the edge arrays line up with the rows of
    :meth:`buyer_matrix`. On construction each buyer's weights are rescaled to
    sum to 1 and sizes to mean 1 within each tier (values that already do, to
    within 1e-12, are left untouched, so saving and loading gives back an equal
    network).
    """

    tier: np.ndarray       # int8 per node: RETAILER, DISTRIBUTOR or MANUFACTURER
    size: np.ndarray       # float64 per node: relative size (turnover), mean 1 within each tier
    names: np.ndarray      # str per node: label in the source file ("m0", "m1", ... when generated)
    supplier: np.ndarray   # int64 per edge: node index of the selling merchant
    buyer: np.ndarray      # int64 per edge: node index of the buying merchant
    weight: np.ndarray     # float64 per edge: share of the buyer's purchases bought from the supplier
    _buyer_matrix: sparse.csr_matrix | None = field(default=None, init=False, repr=False)
    _supplier_matrix: sparse.csr_matrix | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.tier = np.asarray(self.tier, dtype=np.int8)
        self.size = np.asarray(self.size, dtype=np.float64)
        self.names = np.asarray(self.names, dtype=str)
        self.supplier = np.asarray(self.supplier, dtype=np.int64)
        self.buyer = np.asarray(self.buyer, dtype=np.int64)
        self.weight = np.asarray(self.weight, dtype=np.float64)
        node_count = self.tier.size
        if self.size.shape != (node_count,) or self.names.shape != (node_count,):
            raise NetworkError("tier, size and names must be 1-d arrays of one length (one entry a node)")
        edge_count = self.supplier.size
        if self.buyer.shape != (edge_count,) or self.weight.shape != (edge_count,):
            raise NetworkError("supplier, buyer and weight must be 1-d arrays of one length (one entry an edge)")
        if node_count and (self.tier.min() < RETAILER or self.tier.max() > MANUFACTURER):
            raise NetworkError(f"tier codes must be {RETAILER}, {DISTRIBUTOR} or {MANUFACTURER}")
        if not np.all(np.isfinite(self.size) & (self.size > 0)):
            raise NetworkError("every node size must be a finite positive number")
        if np.unique(self.names).size != node_count:
            raise NetworkError("node names must be unique")
        if edge_count:
            if min(self.supplier.min(), self.buyer.min()) < 0 or \
                    max(self.supplier.max(), self.buyer.max()) >= node_count:
                raise NetworkError(f"edge endpoints must be node indices 0..{node_count - 1}")
            if not np.all(np.isfinite(self.weight) & (self.weight > 0)):
                raise NetworkError("every edge weight must be a finite positive number")
            if np.any(self.supplier == self.buyer):
                raise NetworkError("self-loops are not allowed (a merchant cannot supply itself)")
        order = np.lexsort((self.supplier, self.buyer))
        self.supplier, self.buyer, self.weight = self.supplier[order], self.buyer[order], self.weight[order]
        if np.any((np.diff(self.buyer) == 0) & (np.diff(self.supplier) == 0)):
            raise NetworkError("duplicate edges are not allowed (one weight per supplier and buyer)")
        self.weight = _normalise_shares(self.weight, self.buyer, node_count)
        self.size = _normalise_sizes(self.size, self.tier)

    # ----------------------------------------------------------------- basic facts

    @property
    def m(self) -> int:
        """Number of merchants (nodes)."""
        return int(self.tier.size)

    @property
    def edge_count(self) -> int:
        """Number of supply relations (edges)."""
        return int(self.supplier.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SupplyNetwork):
            return NotImplemented
        return all(np.array_equal(getattr(self, name), getattr(other, name))
                   for name in ("tier", "size", "names", "supplier", "buyer", "weight"))

    __hash__ = None  # mutable (caches), compared by value

    # ----------------------------------------------------------------- views

    def buyer_matrix(self) -> sparse.csr_matrix:
        """Sparse (m, m) matrix W: ``W[b, s]`` is buyer b's purchase share from supplier s.

        Row b sums to 1 if b has suppliers (0 for manufacturers). Built once and
        cached; treat it as read-only.
        """
        if self._buyer_matrix is None:
            self._buyer_matrix = sparse.coo_matrix(
                (self.weight, (self.buyer, self.supplier)), shape=(self.m, self.m)).tocsr()
        return self._buyer_matrix

    def supplier_matrix(self) -> sparse.csr_matrix:
        """The transpose of :meth:`buyer_matrix` in CSR form (rows = suppliers), cached.

        ``supplier_matrix() @ purchases`` is the value of the orders each supplier receives.
        """
        if self._supplier_matrix is None:
            self._supplier_matrix = sparse.coo_matrix(
                (self.weight, (self.supplier, self.buyer)), shape=(self.m, self.m)).tocsr()
        return self._supplier_matrix

    def suppliers_of(self, node: int) -> np.ndarray:
        """Indices of the merchants that ``node`` buys from (ascending)."""
        matrix = self.buyer_matrix()
        return matrix.indices[matrix.indptr[node]:matrix.indptr[node + 1]].astype(np.int64)

    def buyers_of(self, node: int) -> np.ndarray:
        """Indices of the merchants that buy from ``node`` (ascending)."""
        matrix = self.supplier_matrix()
        return matrix.indices[matrix.indptr[node]:matrix.indptr[node + 1]].astype(np.int64)

    def graph(self) -> nx.DiGraph:
        """A networkx DiGraph: nodes 0..m-1 with ``tier`` (name), ``size`` and ``name``;
        edges supplier -> buyer with ``weight`` (the buyer's purchase share)."""
        graph = nx.DiGraph()
        tier_names = np.asarray(TIER_NAMES)[self.tier].tolist()
        graph.add_nodes_from(
            (node, {"tier": tier_name, "size": size, "name": name})
            for node, (tier_name, size, name) in enumerate(zip(tier_names, self.size.tolist(),
                                                               self.names.tolist())))
        graph.add_weighted_edges_from(zip(self.supplier.tolist(), self.buyer.tolist(), self.weight.tolist()))
        return graph

    def mesa_space(self, random: Random | None) -> Network:
        """A Mesa network space with one cell per merchant (cell coordinate = node index).

        No spatial layout is computed (``layout=None``): Mesa's default spring
        layout takes about 34 s at 5,000 nodes. As the graph is directed, a
        cell's neighbours are its buyers.
        """
        from mesa.discrete_space import Network  # local: keep `import sim.network` light

        return Network(self.graph(), layout=None, random=random)

    def tier_counts(self) -> dict[str, int]:
        """Number of merchants in each tier, by tier name."""
        counts = np.bincount(self.tier, minlength=len(TIER_NAMES))
        return {name: int(count) for name, count in zip(TIER_NAMES, counts)}


def _normalise_shares(weight: np.ndarray, buyer: np.ndarray, node_count: int) -> np.ndarray:
    """Each buyer's weights divided by their sum (left alone if they already sum to 1)."""
    totals = np.bincount(buyer, weights=weight, minlength=node_count)
    scale = np.where(np.abs(totals - 1.0) <= _NORMALISED_TOLERANCE, 1.0, totals)
    return weight / scale[buyer] if weight.size else weight.copy()


def _normalise_sizes(size: np.ndarray, tier: np.ndarray, tier_count: int = len(TIER_NAMES)) -> np.ndarray:
    """Sizes divided by their tier's mean (left alone in tiers whose mean is already 1)."""
    counts = np.bincount(tier, minlength=tier_count)
    means = np.bincount(tier, weights=size, minlength=tier_count) / np.maximum(counts, 1)
    scale = np.where((counts == 0) | (np.abs(means - 1.0) <= _NORMALISED_TOLERANCE), 1.0, means)
    return size / scale[tier]


# --------------------------------------------------------------------------- generator


def generate_network(m: int, *, retailer_share: float = 0.7, distributor_share: float = 0.2,
                     suppliers_per_retailer: int = 2, suppliers_per_distributor: int = 2,
                     pareto_alpha: float = 1.5, attachment: str = "additive",
                     rng: np.random.Generator) -> SupplyNetwork:
    """A random three-tier supply network of ``m`` merchants.

    - Tiers: ``round(m * share)`` retailers and distributors (largest
      remainder), the rest manufacturers, at least one of each tier; node
      indices run retailers, then distributors, then manufacturers.
    - Sizes: ``1 + Pareto(pareto_alpha)`` (heavy-tailed), rescaled to mean 1
      within each tier.
    - Supply relations: each retailer picks ``suppliers_per_retailer`` distinct
      distributors and each distributor ``suppliers_per_distributor`` distinct
      manufacturers (fewer if the tier above is smaller) by preferential
      attachment: buyers are processed one by one in a random order, and a
      supplier is picked with probability proportional to
      ``size * (1 + buyers it already has)`` (``attachment="multiplicative"``)
      or ``size + buyers it already has`` (``"additive"``; sizes have mean 1),
      so big, well-connected suppliers collect most buyers (heavy-tailed
      out-degrees). Beware: in the multiplicative rule a big supplier gains
      weight faster with every buyer than a small one, so the largest supplier
      tends to capture nearly all buyers as ``m`` grows (at 20,000 merchants
      one distributor serves 75-95% of the retailers and over 80% of the
      distributors sell to nobody). The additive rule keeps a heavy tail
      without this condensation (largest distributor: 2-7% of retailers).
    - Every supplier sells to someone: a supplier no buyer picked is adopted
      by a buyer drawn uniformly, as an extra supplier (so a buyer may have one
      more supplier than asked, and the adopted supplier has one customer).
    - Purchase shares: a buyer splits its purchases among its suppliers in
      proportion to their sizes.
    - Manufacturers have no suppliers in the network: they buy raw inputs from
      the outside sector.

    The same state of ``rng`` gives the same network.
    """
    _check_generator_arguments(m, retailer_share, distributor_share, suppliers_per_retailer,
                               suppliers_per_distributor, pareto_alpha, rng)
    if attachment not in ATTACHMENT_RULES:
        raise NetworkError(f"attachment must be one of {', '.join(ATTACHMENT_RULES)}, got {attachment!r}")
    counts = _tier_counts(m, (retailer_share, distributor_share, 1.0 - retailer_share - distributor_share))
    tier = np.repeat(np.arange(len(TIER_NAMES), dtype=np.int8), counts)
    size = _normalise_sizes(1.0 + rng.pareto(pareto_alpha, m), tier)
    first = np.concatenate(([0], np.cumsum(counts)))  # first node index of each tier
    suppliers, buyers, weights = [], [], []
    for buyer_tier, per_buyer in ((RETAILER, suppliers_per_retailer), (DISTRIBUTOR, suppliers_per_distributor)):
        supplier_tier = buyer_tier + 1
        supplier_size = size[first[supplier_tier]:first[supplier_tier + 1]]
        chosen = _preferential_attachment(supplier_size, int(counts[buyer_tier]), per_buyer,
                                          attachment == "multiplicative", rng)
        buyer_of, supplier_of = _adopt_unpicked(chosen, supplier_size.size, rng)
        order = np.lexsort((supplier_of, buyer_of))
        buyer_of, supplier_of = buyer_of[order], supplier_of[order]
        suppliers.append(supplier_of + first[supplier_tier])
        buyers.append(buyer_of + first[buyer_tier])
        chosen_size = supplier_size[supplier_of]
        weights.append(chosen_size / np.bincount(buyer_of, chosen_size, minlength=int(counts[buyer_tier]))[buyer_of])
    names = np.char.add("m", np.arange(m).astype(str))
    return SupplyNetwork(tier=tier, size=size, names=names, supplier=np.concatenate(suppliers),
                         buyer=np.concatenate(buyers), weight=np.concatenate(weights))


def _check_generator_arguments(m: int, retailer_share: float, distributor_share: float,
                               suppliers_per_retailer: int, suppliers_per_distributor: int,
                               pareto_alpha: float, rng: np.random.Generator) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy Generator (e.g. Streams(seed).generator('network'))")
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 3:
        raise NetworkError(f"a supply network needs at least 3 merchants (one per tier), got m={m!r}")
    if not (0 <= retailer_share <= 1 and 0 <= distributor_share <= 1
            and retailer_share + distributor_share <= 1):
        raise NetworkError(f"tier shares must lie in [0, 1] and sum to at most 1, got retailer_share="
                           f"{retailer_share!r}, distributor_share={distributor_share!r}")
    for name, value in (("suppliers_per_retailer", suppliers_per_retailer),
                        ("suppliers_per_distributor", suppliers_per_distributor)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise NetworkError(f"{name} must be a whole number >= 1, got {value!r}")
    if not pareto_alpha > 0:
        raise NetworkError(f"pareto_alpha must be positive, got {pareto_alpha!r}")


def _tier_counts(m: int, shares: tuple[float, float, float]) -> np.ndarray:
    """Merchants per tier: largest-remainder rounding of ``m * shares``, at least one each."""
    exact = m * np.clip(np.asarray(shares, dtype=np.float64), 0.0, None)
    counts = np.floor(exact).astype(np.int64)
    remainders = np.round(exact - counts, 9)   # ties (up to float noise) go to the lower tier code
    for tier in np.argsort(-remainders, kind="stable")[: m - counts.sum()]:
        counts[tier] += 1
    for tier in range(len(counts)):
        if counts[tier] < 1:
            counts[np.argmax(counts)] -= 1
            counts[tier] += 1
    return counts


def _adopt_unpicked(chosen: np.ndarray, supplier_count: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The relations of :func:`_preferential_attachment`'s picks, plus one for every supplier
    no buyer picked: a buyer drawn uniformly adopts it as an extra supplier.

    A supplier exists because it sells to someone: without this step about a quarter of
    the distributors and manufacturers of a generated network have no buyer (no sales, no
    cash, only the owner's job). An adopted supplier has one customer and its fate hangs on
    that buyer, like the many small suppliers that sell most of their output to one firm.

    Returns ``(buyer, supplier)``: local indices, one entry per relation.
    """
    buyer_count, per_buyer = chosen.shape
    unpicked = np.flatnonzero(np.bincount(chosen.ravel(), minlength=supplier_count) == 0)
    adopters = rng.integers(0, buyer_count, unpicked.size)
    buyer = np.concatenate((np.repeat(np.arange(buyer_count), per_buyer), adopters))
    return buyer, np.concatenate((chosen.ravel(), unpicked))


def _preferential_attachment(supplier_size: np.ndarray, buyer_count: int, per_buyer: int,
                             multiplicative: bool, rng: np.random.Generator) -> np.ndarray:
    """Suppliers (local indices) chosen by each buyer: an array of shape (buyer_count, k).

    Buyers are processed one at a time in a random order. Each picks ``k =
    min(per_buyer, number of suppliers)`` distinct suppliers one after another,
    each with probability proportional to ``size * (1 + buyers so far)``
    (multiplicative) or ``size / mean size + buyers so far`` (additive) among
    those not yet picked; then the picked suppliers' buyer counts go up.

    The weights live in a Fenwick (binary indexed) tree of integers (sizes in
    units of 2**-40 of the tier's total size), so one pick costs O(log n) and
    the arithmetic is exact (bit-for-bit reproducible): 20,000 merchants take
    a fraction of a second.
    """
    supplier_count = supplier_size.size
    per_buyer = min(per_buyer, supplier_count)
    processing_order = rng.permutation(buyer_count).tolist()
    # 53-bit integer uniforms, one per buyer and pick, drawn for every buyer at once
    draws = np.floor(rng.random((buyer_count, per_buyer)) * 2.0**53).astype(np.int64).tolist()
    unit = np.maximum(1, np.rint(supplier_size / supplier_size.sum() * 2.0**40)).astype(np.int64).tolist()
    # what one more buyer adds to a supplier's weight: its own size, or the mean size
    increment = unit if multiplicative else [max(1, round(2.0**40 / supplier_count))] * supplier_count
    weight = list(unit)                 # current attachment weight
    tree = [0, *weight]                 # Fenwick tree over weight (1-based)
    for position in range(1, supplier_count + 1):
        parent = position + (position & -position)
        if parent <= supplier_count:
            tree[parent] += tree[position]
    total = sum(weight)
    top_step = 1 << (supplier_count.bit_length() - 1)
    chosen: list[list[int]] = [[]] * buyer_count
    for buyer in processing_order:
        picked = []
        for draw in draws[buyer]:
            target = (draw * total) >> 53          # uniform integer in [0, total)
            index, step = 0, top_step
            while step:                            # descend to the supplier whose interval holds target
                probe = index + step
                if probe <= supplier_count and tree[probe] <= target:
                    index = probe
                    target -= tree[probe]
                step >>= 1
            picked.append(index)
            removed = weight[index]                # take it out of the urn until this buyer is done
            total -= removed
            position = index + 1
            while position <= supplier_count:
                tree[position] -= removed
                position += position & -position
        for index in picked:                       # put back, one more buyer
            weight[index] += increment[index]
            total += weight[index]
            position = index + 1
            while position <= supplier_count:
                tree[position] += weight[index]
                position += position & -position
        chosen[buyer] = picked
    return np.array(chosen, dtype=np.int64).reshape(buyer_count, per_buyer)


# --------------------------------------------------------------------------- loading


class _Problems:
    """Collects the problems found in a file; raises one NetworkError listing them (on one
    line: a message names files, lines and columns, never the files' content)."""

    def __init__(self, path: Path):
        self.path = path
        self.messages: list[str] = []

    def add(self, message: str, line: int | None = None, path: Path | None = None) -> None:
        where = f"{path or self.path}" + (f", line {line}" if line is not None else "")
        self.messages.append(f"{where}: {message}")

    def raise_if_any(self) -> None:
        if not self.messages:
            return
        if len(self.messages) == 1:
            raise NetworkError(self.messages[0])
        shown = self.messages[:_SHOWN_PROBLEMS]
        more = len(self.messages) - len(shown)
        raise NetworkError(f"{len(self.messages)} problems in the supply network {self.path}: "
                           + "; ".join(shown) + (f"; and {more} more" if more else ""))


@dataclass
class _RawNetwork:
    """A network as read from a file, before validation: labels, not indices."""

    names: list[str] = field(default_factory=list)
    tiers: list[str | None] = field(default_factory=list)
    sizes: list[str | None] = field(default_factory=list)      # raw text, None when absent
    node_lines: list[int | None] = field(default_factory=list)
    node_path: Path | None = None
    suppliers: list[str] = field(default_factory=list)
    buyers: list[str] = field(default_factory=list)
    weights: list[str | None] = field(default_factory=list)
    edge_lines: list[int | None] = field(default_factory=list)
    edge_path: Path | None = None
    has_sizes: bool = False


def _files(path: Path, nodes_path: str | Path | None) -> list[tuple[Path, str]]:
    """The files of a network at ``path`` with what they are: the GraphML file, or the edge
    list and its nodes file."""
    suffix = path.suffix.lower()
    if suffix == ".graphml":
        return [(path, "GraphML file")]
    if suffix == ".csv":
        nodes = Path(nodes_path) if nodes_path is not None else path.with_name(f"{path.stem}.nodes.csv")
        return [(path, "edge list"), (nodes, "nodes file")]
    raise NetworkError(f"{path}: unknown network file type {path.suffix!r} (expected .graphml or .csv)")


def check_network_files(path: str | Path, nodes_path: str | Path | None = None) -> None:
    """What :func:`load_network` checks of its files before reading them (a known type; files
    that exist, are regular files and not over :data:`MAX_NETWORK_BYTES`), without reading
    them: a :class:`NetworkError` when the configuration is loaded, before a model is built."""
    for file, what in _files(Path(path), nodes_path):
        try:
            check_input_path(file, what, MAX_NETWORK_BYTES)
        except ConfigError as error:
            raise NetworkError(str(error)) from None


def load_network(path: str | Path, nodes_path: str | Path | None = None) -> SupplyNetwork:
    """Read a supply network from GraphML (``.graphml``) or an edge-list CSV (``.csv``).

    For CSV the node table comes from ``nodes_path``, by default
    ``<stem>.nodes.csv`` beside the edge file. Nodes are numbered in the
    order of the node table (GraphML: document order). Raises
    :class:`NetworkError`, naming the file and the line (and for CSV the column), never
    the file's content, when a file is missing, not a regular file (a directory, a FIFO),
    over :data:`MAX_NETWORK_BYTES`, unreadable, not UTF-8 or malformed (GraphML with a
    DTD included), a node has a missing or unknown tier, a retailer or distributor has no
    supplier, a weight is missing, non-numeric or not positive, an edge names an unknown
    node, an edge is a self-loop or a duplicate, or there is no retailer or no manufacturer
    at all.
    """
    path = Path(path)
    files = _files(path, nodes_path)
    if len(files) == 1:
        raw = _read_graphml(path)
    else:
        raw = _read_csv(path, files[1][0])
    return _build(raw, path)


def _read_text(path: Path, what: str) -> str:
    """The text of a network file (:func:`sim.inputs.read_input_file`; a leading byte-order
    mark is dropped)."""
    try:
        return read_input_file(path, what, MAX_NETWORK_BYTES, bom=True)
    except ConfigError as error:
        raise NetworkError(str(error)) from None


def _csv_rows(path: Path, what: str, required: tuple[str, ...], optional: tuple[str, ...] = ()):
    """Yield (line number, {column: stripped text}) for the data rows of a CSV file."""
    text = _read_text(path, what)
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = next(reader, None)
        if header is None:
            raise NetworkError(f"{path}, line 1: empty {what}; expected a header {','.join(required + optional)}")
        header = [column.strip().lower() for column in header]
        missing = [column for column in required if column not in header]
        if missing:   # (the header read is not shown: the file may be anything)
            raise NetworkError(f"{path}, line 1: the {what}'s header lacks {', '.join(missing)} "
                               f"(expected {','.join(required + optional)})")
        columns = {column: header.index(column) for column in required + optional if column in header}
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise NetworkError(f"{path}, line {reader.line_num}: expected {len(header)} fields (as many as "
                                   f"the header), found {len(row)}")
            yield reader.line_num, {column: row[index].strip() for column, index in columns.items()}
    except csv.Error as error:
        raise NetworkError(f"{path}, line {reader.line_num}: malformed CSV: {error}") from None


def _read_csv(edge_path: Path, nodes_path: Path) -> _RawNetwork:
    raw = _RawNetwork(node_path=nodes_path, edge_path=edge_path)
    node_rows = list(_csv_rows(nodes_path, "nodes file", ("id", "tier"), ("size",)))
    raw.has_sizes = any("size" in row for _, row in node_rows)
    for line, row in node_rows:
        raw.names.append(row["id"])
        raw.tiers.append(row["tier"] or None)
        raw.sizes.append(row.get("size") or None)
        raw.node_lines.append(line)
    for line, row in _csv_rows(edge_path, "edge list", ("supplier", "buyer", "weight")):
        raw.suppliers.append(row["supplier"])
        raw.buyers.append(row["buyer"])
        raw.weights.append(row["weight"] or None)
        raw.edge_lines.append(line)
    return raw


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@dataclass
class _Element:
    """A <key>, <node> or <edge> of a GraphML file: its attributes, the line of its start tag,
    and the text of its <default> (a key) or of its <data> children by key id."""

    attributes: dict[str, str]
    line: int
    data: dict[str, str] = field(default_factory=dict)
    default: str | None = None


def _parse_graphml(text: str, path: Path) -> tuple[str, list[_Element], _Element | None, list[_Element]]:
    """The root element's name, the <key> elements, the first <graph> and its <node> and
    <edge> children (in document order, each with its line), by a streaming XML parser
    (expat). A DTD is refused: GraphML needs none, and entities defined in one can expand a
    small file into a huge one."""
    root: list[str] = []
    keys: list[_Element] = []
    graphs: list[_Element] = []
    items: list[tuple[str, _Element]] = []
    stack: list[str] = []
    current: dict[str, _Element | None] = {"key": None, "item": None}
    text_of: list[tuple[_Element, str | None, int]] = []   # whose text is read: element, data key, depth
    chunks: list[str] = []
    parser = expat.ParserCreate(namespace_separator="}")

    def start(name: str, attributes: dict[str, str]) -> None:
        local, depth = _local_name(name), len(stack)
        stack.append(local)
        line = parser.CurrentLineNumber
        if depth == 0:
            root.append(local)
        elif depth == 1 and local == "key":
            current["key"] = _Element(attributes, line)
            keys.append(current["key"])
        elif depth == 1 and local == "graph":
            graphs.append(_Element(attributes, line))
        elif depth == 2 and stack[1] == "key" and local == "default" and current["key"] is not None \
                and current["key"].default is None:
            text_of.append((current["key"], None, depth))
        elif depth == 2 and stack[1] == "graph" and len(graphs) == 1 and local in ("node", "edge"):
            current["item"] = _Element(attributes, line)
            items.append((local, current["item"]))
        elif depth == 3 and stack[1] == "graph" and local == "data" and current["item"] is not None:
            text_of.append((current["item"], attributes.get("key", ""), depth))
        chunks.clear()

    def end(name: str) -> None:
        depth = len(stack) - 1
        stack.pop()
        if text_of and text_of[-1][2] == depth:
            element, key, _ = text_of.pop()
            if key is None:
                element.default = "".join(chunks)
            else:
                element.data[key] = "".join(chunks).strip()
        elif depth == 2:
            current["item"] = None
        chunks.clear()

    def refuse_dtd(*_) -> None:
        raise NetworkError(f"{path}, line {parser.CurrentLineNumber}: malformed GraphML: a document type "
                           f"declaration (DTD) is not allowed")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chunks.append
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    try:
        parser.Parse(text, True)
    except expat.ExpatError as error:
        raise NetworkError(f"{path}: malformed GraphML (XML error: {expat.ErrorString(error.code)}: line "
                           f"{error.lineno}, column {error.offset})") from None
    return (root[0] if root else ""), keys, (graphs[0] if graphs else None), items


def _read_graphml(path: Path) -> _RawNetwork:
    text = _read_text(path, "GraphML file")
    root, key_elements, graph, items = _parse_graphml(text, path)
    if root != "graphml":
        raise NetworkError(f"{path}: malformed GraphML: the root element is not <graphml>")
    keys: dict[str, tuple[str, str, str | None]] = {}   # key id -> (domain, attribute name, default)
    for key in key_elements:
        key_id = key.attributes.get("id", "")
        keys[key_id] = (key.attributes.get("for", "all"), key.attributes.get("attr.name", key_id), key.default)
    if graph is None:
        raise NetworkError(f"{path}: malformed GraphML: no <graph> element")
    edge_default = graph.attributes.get("edgedefault", "directed")

    def attributes(element: _Element, domain: str) -> dict[str, str | None]:
        values = {name: default for dom, name, default in keys.values() if dom in (domain, "all")}
        for key_id, value in element.data.items():
            values[keys[key_id][1] if key_id in keys else key_id] = value
        return values

    raw = _RawNetwork(node_path=path, edge_path=path)
    raw.has_sizes = any(name == "size" and domain in ("node", "all") for domain, name, _ in keys.values())
    problems = _Problems(path)
    for kind, element in items:
        if kind == "node":
            name = element.attributes.get("id")
            if name is None:
                problems.add("a <node> has no id attribute", element.line)
                continue
            values = attributes(element, "node")
            raw.names.append(name)
            raw.tiers.append(values.get("tier") or None)
            raw.sizes.append(values.get("size") or None)
            raw.node_lines.append(element.line)
        else:
            supplier, buyer = element.attributes.get("source"), element.attributes.get("target")
            if supplier is None or buyer is None:
                problems.add("an <edge> lacks a source or target attribute", element.line)
                continue
            if element.attributes.get("directed", "true" if edge_default == "directed" else "false") != "true":
                problems.add("the edge is undirected; supply edges must be directed supplier -> buyer "
                             "(edgedefault=\"directed\")", element.line)
                continue
            raw.suppliers.append(supplier)
            raw.buyers.append(buyer)
            raw.weights.append(attributes(element, "edge").get("weight") or None)
            raw.edge_lines.append(element.line)
    problems.raise_if_any()
    return raw


def _parse_positive(text: str | None) -> tuple[float | None, str]:
    """(value, complaint): a finite positive number, or None and what is wrong with it (the
    text itself is not repeated: it is the file's content)."""
    if text is None:
        return None, "missing"
    try:
        value = float(text)
    except ValueError:
        return None, "not a number"
    if not math.isfinite(value):
        return None, "not finite"
    if value <= 0:
        return None, "not positive"
    return value, ""


def _build(raw: _RawNetwork, path: Path) -> SupplyNetwork:
    """Validate a raw network and turn labels into indices. Problems name the file and the
    line of the node or edge, and the column (the files' own text is never repeated)."""
    problems = _Problems(path)
    node_path, edge_path = raw.node_path or path, raw.edge_path or path
    index: dict[str, int] = {}
    tier_codes: list[int] = []
    sizes: list[float] = []
    for number, (name, tier_text, size_text, line) in enumerate(
            zip(raw.names, raw.tiers, raw.sizes, raw.node_lines)):
        if name == "":
            problems.add("a node has an empty id", line, node_path)
        elif name in index:
            problems.add(f"duplicate node id{_first_at(raw.node_lines[index[name]])}", line, node_path)
        index.setdefault(name, number)
        if tier_text is None:
            problems.add(f"the node has no tier (expected one of {', '.join(TIER_NAMES)})", line, node_path)
            tier_codes.append(RETAILER)
        elif tier_text.lower() not in _TIER_CODES:
            problems.add(f"the node's tier is unknown (expected one of {', '.join(TIER_NAMES)})", line, node_path)
            tier_codes.append(RETAILER)
        else:
            tier_codes.append(_TIER_CODES[tier_text.lower()])
        size = 1.0
        if raw.has_sizes:
            size, complaint = _parse_positive(size_text)
            if size is None:
                problems.add(f"the node's size is {complaint} (expected a positive number)", line, node_path)
                size = 1.0
        sizes.append(size)

    suppliers: list[int] = []
    buyers: list[int] = []
    weights: list[float] = []
    first_line: dict[tuple[int, int], int | None] = {}
    for supplier_name, buyer_name, weight_text, line in zip(raw.suppliers, raw.buyers, raw.weights, raw.edge_lines):
        unknown = [role for role, name in (("supplier", supplier_name), ("buyer", buyer_name)) if name not in index]
        if unknown:
            problems.add(f"the edge's {' and '.join(unknown)} {'is not a node' if len(unknown) == 1 else 'are not nodes'}"
                         f" of {node_path}", line, edge_path)
        weight, complaint = _parse_positive(weight_text)
        if weight is None:
            problems.add(f"the edge's weight is {complaint} (expected a positive purchase share)", line, edge_path)
        if supplier_name == buyer_name:
            problems.add("the edge is a self-loop (a merchant cannot supply itself)", line, edge_path)
        if unknown or weight is None or supplier_name == buyer_name:
            continue
        pair = (index[supplier_name], index[buyer_name])
        if pair in first_line:
            problems.add(f"duplicate edge (the same supplier and buyer){_first_at(first_line[pair])}", line,
                         edge_path)
            continue
        first_line[pair] = line
        suppliers.append(pair[0])
        buyers.append(pair[1])
        weights.append(weight)
    problems.raise_if_any()

    tier = np.asarray(tier_codes, dtype=np.int8)
    has_supplier = np.bincount(np.asarray(buyers, dtype=np.int64), minlength=tier.size) > 0
    for node in np.flatnonzero(~has_supplier & (tier != MANUFACTURER)):
        kind = "isolated retailer" if tier[node] == RETAILER else "distributor"
        problems.add(f"{kind} without a supplier (every retailer and distributor must buy from at least one "
                     f"merchant)", raw.node_lines[node], node_path)
    for code in (RETAILER, MANUFACTURER):
        if not np.any(tier == code):
            problems.add(f"the network has no {TIER_NAMES[code]} at all", None, node_path)
    problems.raise_if_any()
    return SupplyNetwork(tier=tier, size=np.asarray(sizes), names=np.asarray(raw.names, dtype=str),
                         supplier=np.asarray(suppliers, dtype=np.int64), buyer=np.asarray(buyers, dtype=np.int64),
                         weight=np.asarray(weights, dtype=np.float64))


def _first_at(line: int | None) -> str:
    return f" (first at line {line})" if line is not None else ""


# --------------------------------------------------------------------------- saving


def save_network(net: SupplyNetwork, path: str | Path, nodes_path: str | Path | None = None) -> list[Path]:
    """Write ``net`` as GraphML (``.graphml``) or edge-list CSV plus nodes CSV (``.csv``).

    The nodes CSV goes to ``nodes_path``, by default ``<stem>.nodes.csv``
    beside the edge file, where :func:`load_network` looks for it. Numbers
    are written exactly (shortest round-trip form), so
    ``load_network(path) == net``. Returns the paths written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".graphml":
        _write_graphml(net, path)
        return [path]
    if suffix == ".csv":
        nodes_path = Path(nodes_path) if nodes_path is not None else path.with_name(f"{path.stem}.nodes.csv")
        bad = [name for name in net.names.tolist() if name != name.strip() or name == ""]
        if bad:
            raise NetworkError(f"{path}: node names with surrounding whitespace or empty names cannot be "
                               f"written to CSV (e.g. {bad[0]!r}); use GraphML")
        _write_csv(net, path, nodes_path)
        return [path, nodes_path]
    raise NetworkError(f"{path}: unknown network file type {path.suffix!r} (expected .graphml or .csv)")


def _write_csv(net: SupplyNetwork, edge_path: Path, nodes_path: Path) -> None:
    names = net.names.tolist()
    tier_names = np.asarray(TIER_NAMES)[net.tier].tolist()
    with open(nodes_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("id", "tier", "size"))
        writer.writerows(zip(names, tier_names, map(repr, net.size.tolist())))
    with open(edge_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("supplier", "buyer", "weight"))
        writer.writerows(zip((names[node] for node in net.supplier.tolist()),
                             (names[node] for node in net.buyer.tolist()),
                             map(repr, net.weight.tolist())))


def _write_graphml(net: SupplyNetwork, path: Path) -> None:
    root = ElementTree.Element("graphml", {"xmlns": GRAPHML_NAMESPACE})   # default namespace, no prefixes
    for key_id, domain, kind in (("tier", "node", "string"), ("size", "node", "double"),
                                 ("weight", "edge", "double")):
        ElementTree.SubElement(root, "key", {"id": key_id, "for": domain, "attr.name": key_id,
                                             "attr.type": kind})
    graph = ElementTree.SubElement(root, "graph", {"id": "supply_network", "edgedefault": "directed"})
    names = net.names.tolist()
    for name, tier_code, size in zip(names, net.tier.tolist(), net.size.tolist()):
        node = ElementTree.SubElement(graph, "node", {"id": name})
        ElementTree.SubElement(node, "data", {"key": "tier"}).text = TIER_NAMES[tier_code]
        ElementTree.SubElement(node, "data", {"key": "size"}).text = repr(size)
    for supplier, buyer, weight in zip(net.supplier.tolist(), net.buyer.tolist(), net.weight.tolist()):
        edge = ElementTree.SubElement(graph, "edge", {"source": names[supplier], "target": names[buyer]})
        ElementTree.SubElement(edge, "data", {"key": "weight"}).text = repr(weight)
    ElementTree.indent(root)
    ElementTree.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
