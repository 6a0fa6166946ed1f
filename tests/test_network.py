"""The supply-chain network: generator, sparse views, Mesa space, files and their validation."""

from __future__ import annotations

import random
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from sim.config import ConfigError
from sim.network import (DISTRIBUTOR, MANUFACTURER, RETAILER, TIER_NAMES, NetworkError, SupplyNetwork,
                         _adopt_unpicked, generate_network, load_network, save_network)
from sim.rng import Streams

DATA = Path(__file__).parent / "data"

VALID_NODES = """id,tier,size
shop_1,retailer,1.5
shop_2,retailer,0.5
shop 3,retailer,1.0
dist_a,distributor,2.0
dist_b,distributor,1.0
maker_x,manufacturer,3.0
maker_y,manufacturer,1.0
"""
VALID_EDGES = """supplier,buyer,weight
dist_a,shop_1,0.6
dist_b,shop_1,0.4
dist_a,shop_2,1
dist_b,shop 3,30
dist_a,shop 3,70
maker_x,dist_a,2
maker_y,dist_a,1
maker_x,dist_b,1
"""


def network(m: int, seed: int = 7, **options) -> SupplyNetwork:
    return generate_network(m, rng=Streams(seed).generator("network"), **options)


def write_csv(directory: Path, edges: str, nodes: str = VALID_NODES) -> Path:
    """An edge file ``net.csv`` with its ``net.nodes.csv`` in ``directory``."""
    (directory / "net.nodes.csv").write_text(nodes)
    edge_path = directory / "net.csv"
    edge_path.write_text(edges)
    return edge_path


def supplier_degrees(net: SupplyNetwork) -> np.ndarray:
    return np.bincount(net.supplier, minlength=net.m)


# --------------------------------------------------------------------------- generator


def test_tier_counts_follow_shares_and_every_tier_is_present():
    assert network(1000).tier_counts() == {"retailer": 700, "distributor": 200, "manufacturer": 100}
    assert network(3).tier_counts() == {"retailer": 1, "distributor": 1, "manufacturer": 1}
    for m in range(3, 60):
        counts = network(m, retailer_share=0.9, distributor_share=0.1).tier_counts()
        assert sum(counts.values()) == m and min(counts.values()) >= 1
    net = network(50)
    assert net.tier.dtype == np.int8 and list(np.unique(net.tier)) == [RETAILER, DISTRIBUTOR, MANUFACTURER]
    assert np.all(np.diff(net.tier) >= 0)   # retailers, then distributors, then manufacturers
    assert net.names[:3].tolist() == ["m0", "m1", "m2"]


@pytest.mark.parametrize("per_retailer, per_distributor", [(2, 2), (3, 1), (1, 4)])
def test_each_buyer_has_the_required_distinct_suppliers_of_the_next_tier(per_retailer, per_distributor):
    net = network(2000, suppliers_per_retailer=per_retailer, suppliers_per_distributor=per_distributor)
    assert net.supplier.dtype == np.int64 and net.buyer.dtype == np.int64
    assert np.all(net.tier[net.supplier] == net.tier[net.buyer] + 1)   # the next tier up
    in_degree = np.bincount(net.buyer, minlength=net.m)
    # at least the suppliers asked for; adopting a supplier nobody picked adds one more
    assert np.all(in_degree[net.tier == RETAILER] >= per_retailer)
    assert np.all(in_degree[net.tier == DISTRIBUTOR] >= per_distributor)
    assert np.all(in_degree[net.tier == MANUFACTURER] == 0)             # raw inputs come from outside
    extra = np.concatenate((in_degree[net.tier == RETAILER] - per_retailer,
                            in_degree[net.tier == DISTRIBUTOR] - per_distributor))
    adopted = np.sum(supplier_degrees(net)[net.tier != RETAILER] == 1)
    assert 0 < extra.sum() <= adopted                                   # each extra relation adopts a supplier
    pairs = net.buyer * net.m + net.supplier
    assert np.unique(pairs).size == pairs.size                         # distinct suppliers


def test_every_supplier_sells_to_someone():
    """Preferential attachment alone leaves about a quarter of suppliers without a buyer."""
    for seed in (1, 2, 3):
        net = network(2000, seed=seed)
        degrees = supplier_degrees(net)
        assert np.all(degrees[net.tier != RETAILER] >= 1)


def test_an_unpicked_supplier_is_adopted_by_one_buyer_as_an_extra_supplier():
    chosen = np.array([[0, 1], [1, 0], [0, 1]])          # three buyers pick suppliers 0 and 1; 2 and 3 unpicked
    buyer, supplier = _adopt_unpicked(chosen, 4, np.random.default_rng(5))
    assert supplier.tolist()[:6] == [0, 1, 1, 0, 0, 1] and buyer.tolist()[:6] == [0, 0, 1, 1, 2, 2]
    assert sorted(supplier.tolist()[6:]) == [2, 3]           # each unpicked supplier once
    assert all(0 <= b < 3 for b in buyer.tolist()[6:])
    # any buyer can adopt, about equally often
    buyer, supplier = _adopt_unpicked(np.zeros((4, 1), dtype=np.int64), 401, np.random.default_rng(6))
    assert supplier.tolist() == [0, 0, 0, 0, *range(1, 401)]
    assert np.bincount(buyer[4:], minlength=4).min() > 70


def test_small_upper_tiers_cap_the_number_of_suppliers():
    net = network(8, suppliers_per_retailer=3)          # 6 retailers, 1 distributor, 1 manufacturer
    assert net.tier_counts() == {"retailer": 6, "distributor": 1, "manufacturer": 1}
    assert np.all(np.bincount(net.buyer, minlength=net.m)[:7] == 1)


def test_weights_are_purchase_shares_proportional_to_supplier_size():
    net = network(3000)
    totals = np.bincount(net.buyer, weights=net.weight, minlength=net.m)
    buys = np.isin(net.tier, (RETAILER, DISTRIBUTOR))
    np.testing.assert_allclose(totals[buys], 1.0, rtol=0, atol=1e-12)
    assert np.all(totals[~buys] == 0)
    supplier_size_total = np.bincount(net.buyer, weights=net.size[net.supplier], minlength=net.m)
    np.testing.assert_allclose(net.weight, net.size[net.supplier] / supplier_size_total[net.buyer], rtol=1e-12)


def test_sizes_are_heavy_tailed_with_mean_one_per_tier():
    net = network(20_000)
    for tier in (RETAILER, DISTRIBUTOR, MANUFACTURER):
        sizes = net.size[net.tier == tier]
        assert sizes.mean() == pytest.approx(1.0, rel=1e-12)
        assert sizes.max() > 10 * np.median(sizes)


@pytest.mark.parametrize("attachment", ["multiplicative", "additive"])
def test_preferential_attachment_gives_heavy_tailed_supplier_degrees(attachment):
    net = network(5000, attachment=attachment)
    for tier in (DISTRIBUTOR, MANUFACTURER):
        degrees = np.sort(supplier_degrees(net)[net.tier == tier])[::-1]
        top_one_percent = degrees[: max(1, degrees.size // 100)]
        assert top_one_percent.mean() > 5 * degrees.mean()
        assert degrees[0] > 10 * degrees.mean()


def test_multiplicative_attachment_condenses_where_additive_does_not():
    """Documented behaviour: size * (1 + buyers) lets the biggest supplier take most buyers."""
    multiplicative = network(20_000, seed=1, attachment="multiplicative")
    additive = network(20_000, seed=1, attachment="additive")
    retailers = 14_000
    largest_share = {name: supplier_degrees(net)[net.tier == DISTRIBUTOR].max() / retailers
                     for name, net in (("multiplicative", multiplicative), ("additive", additive))}
    assert largest_share["multiplicative"] > 0.5
    assert largest_share["additive"] < 0.2


def test_big_suppliers_attract_more_buyers():
    net = network(5000, attachment="additive")
    distributors = np.flatnonzero(net.tier == DISTRIBUTOR)
    big = net.size[distributors] > np.quantile(net.size[distributors], 0.9)
    degrees = supplier_degrees(net)[distributors]
    assert degrees[big].mean() > 2 * degrees[~big].mean()


def test_same_seed_same_network_other_seed_other_network():
    assert network(20_000, seed=3) == network(20_000, seed=3)
    first, other = network(500, seed=3), network(500, seed=4)
    assert first != other
    assert not np.array_equal(first.supplier, other.supplier)
    rng = np.random.default_rng(11)
    state = rng.bit_generator.state
    once = generate_network(400, rng=rng)
    rng.bit_generator.state = state
    assert generate_network(400, rng=rng) == once


@pytest.mark.parametrize("arguments", [
    {"m": 2}, {"m": 100, "retailer_share": 0.9, "distributor_share": 0.2},
    {"m": 100, "retailer_share": -0.1}, {"m": 100, "suppliers_per_retailer": 0},
    {"m": 100, "suppliers_per_distributor": 1.5}, {"m": 100, "pareto_alpha": 0.0},
    {"m": 100, "attachment": "quadratic"},
])
def test_generator_rejects_bad_arguments(arguments):
    with pytest.raises(NetworkError):
        generate_network(rng=np.random.default_rng(0), **arguments)


def test_generator_needs_an_explicit_generator():
    with pytest.raises(TypeError):
        generate_network(100)                               # no hidden default stream
    with pytest.raises(TypeError, match="numpy Generator"):
        generate_network(100, rng=42)


# --------------------------------------------------------------------------- views


def test_buyer_matrix_matches_the_edges():
    net = network(600)
    matrix = net.buyer_matrix()
    assert matrix.format == "csr" and matrix.shape == (net.m, net.m)
    assert matrix is net.buyer_matrix()                    # built once
    dense = np.zeros((net.m, net.m))
    dense[net.buyer, net.supplier] = net.weight
    np.testing.assert_array_equal(matrix.toarray(), dense)
    np.testing.assert_array_equal(matrix.data, net.weight)  # edges are stored in row order
    row_sums = np.asarray(matrix.sum(axis=1)).ravel()
    np.testing.assert_allclose(row_sums[net.tier != MANUFACTURER], 1.0, atol=1e-12)
    # purchases flow upstream as orders: total orders equal total purchases
    purchases = np.where(net.tier == MANUFACTURER, 0.0, net.size)
    orders = matrix.T @ purchases
    assert orders.sum() == pytest.approx(purchases.sum())
    np.testing.assert_allclose(net.supplier_matrix() @ purchases, orders)


def test_suppliers_of_and_buyers_of_agree_with_the_edges():
    net = network(300)
    for node in range(net.m):
        np.testing.assert_array_equal(net.suppliers_of(node), np.sort(net.supplier[net.buyer == node]))
        np.testing.assert_array_equal(net.buyers_of(node), np.sort(net.buyer[net.supplier == node]))
    assert net.suppliers_of(net.m - 1).size == 0           # a manufacturer
    assert net.suppliers_of(0).dtype == np.int64


def test_graph_carries_tiers_sizes_names_and_weights():
    net = load_network(DATA / "valid.csv")
    graph = net.graph()
    assert isinstance(graph, nx.DiGraph) and list(graph.nodes) == list(range(net.m))
    assert graph.nodes[0] == {"tier": "retailer", "size": 1.5, "name": "shop_1"}
    assert graph.nodes[5]["tier"] == "manufacturer" and graph.nodes[5]["name"] == "maker_x"
    assert graph.number_of_edges() == net.edge_count == 8
    assert graph.edges[3, 2]["weight"] == pytest.approx(0.7)   # dist_a -> shop 3
    for supplier, buyer, weight in zip(net.supplier, net.buyer, net.weight):
        assert graph.edges[int(supplier), int(buyer)]["weight"] == weight


def test_mesa_space_has_one_cell_per_merchant():
    net = network(5000)
    space = net.mesa_space(random.Random(5))               # layout=None: no spring layout
    assert len(space.all_cells) == net.m
    manufacturer = int(np.flatnonzero(net.tier == MANUFACTURER)[0])
    neighbours = sorted(cell.coordinate for cell in space[manufacturer].neighborhood)
    assert neighbours == net.buyers_of(manufacturer).tolist()


# --------------------------------------------------------------------------- files


def test_valid_csv_and_graphml_load_to_the_same_network():
    from_csv = load_network(DATA / "valid.csv")
    from_graphml = load_network(DATA / "valid.graphml")
    assert from_csv == from_graphml
    assert from_csv.names.tolist() == ["shop_1", "shop_2", "shop 3", "dist_a", "dist_b", "maker_x", "maker_y"]
    assert [TIER_NAMES[t] for t in from_csv.tier] == ["retailer"] * 3 + ["distributor"] * 2 + ["manufacturer"] * 2
    np.testing.assert_allclose(from_csv.size, [1.5, 0.5, 1.0, 4 / 3, 2 / 3, 1.5, 0.5])   # mean 1 per tier
    shares = {(from_csv.names[s], from_csv.names[b]): w
              for s, b, w in zip(from_csv.supplier, from_csv.buyer, from_csv.weight)}
    assert shares["dist_a", "shop 3"] == pytest.approx(0.7)       # volumes 70 and 30 become shares
    assert shares["maker_x", "dist_a"] == pytest.approx(2 / 3)
    assert shares["dist_a", "shop_2"] == 1.0


def test_nodes_path_can_be_given_explicitly(tmp_path):
    (tmp_path / "firms.csv").write_text(VALID_NODES)
    (tmp_path / "links.csv").write_text(VALID_EDGES)
    assert load_network(tmp_path / "links.csv", tmp_path / "firms.csv") == load_network(DATA / "valid.csv")


def test_a_cycle_between_distributors_loads():
    net = load_network(DATA / "cycle.graphml")
    north, south = 1, 2
    assert north in net.suppliers_of(south) and south in net.suppliers_of(north)
    assert not nx.is_directed_acyclic_graph(net.graph())
    np.testing.assert_allclose(net.size, 1.0)                   # no sizes in the file
    assert net.buyer_matrix()[north, 3] == pytest.approx(0.75)  # factory 3 of 4 units


@pytest.mark.parametrize("suffix", [".graphml", ".csv"])
def test_round_trip(tmp_path, suffix):
    for net in (network(400, seed=2), load_network(DATA / "valid.csv"), load_network(DATA / "cycle.graphml")):
        written = save_network(net, tmp_path / f"net{suffix}")
        assert written[0] == tmp_path / f"net{suffix}"
        assert load_network(tmp_path / f"net{suffix}") == net


@pytest.mark.parametrize("suffix", [".graphml", ".csv"])
def test_round_trip_keeps_awkward_labels(tmp_path, suffix):
    net = SupplyNetwork(tier=[RETAILER, DISTRIBUTOR, MANUFACTURER],
                        size=[1.0, 1.0, 1.0], names=['Shop "A", Ltd.', "<dist> & co", "工厂 1"],
                        supplier=[1, 2], buyer=[0, 1], weight=[1.0, 1.0])
    save_network(net, tmp_path / f"net{suffix}")
    assert load_network(tmp_path / f"net{suffix}") == net


def test_graphml_interoperates_with_networkx(tmp_path):
    net = network(200)
    save_network(net, tmp_path / "ours.graphml")
    theirs = nx.read_graphml(tmp_path / "ours.graphml")
    assert theirs.is_directed() and theirs.number_of_edges() == net.edge_count
    assert theirs.nodes["m0"]["tier"] == "retailer"
    by_name = nx.relabel_nodes(net.graph(), dict(enumerate(net.names.tolist())))
    for _, attributes in by_name.nodes(data=True):
        del attributes["name"]
    nx.write_graphml(by_name, tmp_path / "theirs.graphml")
    assert load_network(tmp_path / "theirs.graphml") == net


def test_network_error_is_a_config_error():
    assert issubclass(NetworkError, ConfigError)


# --------------------------------------------------------------------------- malformed files


def load_error(path: Path, nodes_path: Path | None = None) -> str:
    with pytest.raises(NetworkError) as caught:
        load_network(path, nodes_path)
    return str(caught.value)


def test_missing_file(tmp_path):
    message = load_error(tmp_path / "absent.graphml")
    assert "absent.graphml" in message and "not found" in message


def test_missing_nodes_file(tmp_path):
    (tmp_path / "net.csv").write_text(VALID_EDGES)
    message = load_error(tmp_path / "net.csv")
    assert "net.nodes.csv" in message and "not found" in message


def test_unknown_file_type(tmp_path):
    (tmp_path / "net.json").write_text("{}")
    assert "unknown network file type '.json'" in load_error(tmp_path / "net.json")


def test_malformed_graphml():
    message = load_error(DATA / "malformed.graphml")
    assert "malformed.graphml" in message and "malformed GraphML" in message and "line 6" in message


def test_not_graphml(tmp_path):
    (tmp_path / "net.graphml").write_text("<svg></svg>")
    message = load_error(tmp_path / "net.graphml")
    assert "root element is not <graphml>" in message and "svg" not in message   # the file's content is not shown


def test_undirected_graphml():
    message = load_error(DATA / "undirected.graphml")
    assert "undirected.graphml, line 8: the edge is undirected" in message
    assert "factory" not in message


def test_csv_header_without_weight(tmp_path):
    path = write_csv(tmp_path, "supplier,buyer\ndist_a,shop_1\n")
    message = load_error(path)
    assert f"{path}, line 1" in message and "lacks weight" in message


def test_a_malformed_header_is_not_echoed(tmp_path):
    """Any file can be named as a nodes file: its first line used to be printed in the error."""
    path = write_csv(tmp_path, VALID_EDGES, "admin:x:0:0:CANARY-first-line\nshop_1,retailer\n")
    message = load_error(path)
    assert f"{tmp_path / 'net.nodes.csv'}, line 1: the nodes file's header lacks id, tier" in message
    assert "CANARY" not in message and "admin" not in message


def test_csv_row_with_wrong_field_count(tmp_path):
    path = write_csv(tmp_path, VALID_EDGES + "dist_a,shop_2\n")
    assert f"{path}, line 10: expected 3 fields (as many as the header), found 2" in load_error(path)


def test_csv_not_utf8(tmp_path):
    path = write_csv(tmp_path, VALID_EDGES)
    path.write_bytes(b"supplier,buyer,weight\n\xff\xfe,shop_1,1\n")
    assert f"{path}, line 2: the edge list is not UTF-8 text" in load_error(path)


def test_a_byte_order_mark_is_skipped(tmp_path):
    path = write_csv(tmp_path, VALID_EDGES)
    path.write_bytes(b"\xef\xbb\xbf" + VALID_EDGES.encode())
    assert load_network(path) == load_network(DATA / "valid.csv")


@pytest.mark.parametrize("make", ["directory", "fifo", "oversized"])
@pytest.mark.parametrize("which", ["net.csv", "net.nodes.csv", "net.graphml"])
def test_network_files_must_be_regular_files_of_bounded_size(tmp_path, make, which):
    """A directory used to raise IsADirectoryError; a FIFO would block the open forever; a
    huge file would be read whole. Each is refused by its os.stat, before it is opened."""
    import os
    from sim.network import MAX_NETWORK_BYTES, check_network_files
    write_csv(tmp_path, VALID_EDGES)
    (tmp_path / "net.graphml").write_text((DATA / "valid.graphml").read_text())
    target = tmp_path / which
    target.unlink()
    if make == "directory":
        target.mkdir()
        words = "is a directory"
    elif make == "fifo":
        os.mkfifo(target)
        words = "not a regular file"
    else:
        with open(target, "wb") as handle:   # a sparse file: its size, without writing it
            handle.truncate(MAX_NETWORK_BYTES + 1)
        words = "over the limit of"
    path = tmp_path / ("net.graphml" if which == "net.graphml" else "net.csv")
    for check in (load_network, check_network_files):
        with pytest.raises(NetworkError) as caught:
            check(path)
        assert f"{target}: " in str(caught.value) and words in str(caught.value)


def test_an_unreadable_network_file(tmp_path, monkeypatch):
    """(The tests run as root, who may read anything: the refusal is simulated.)"""
    import os
    path = write_csv(tmp_path, VALID_EDGES)
    real_open = os.open

    def refuse(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    assert f"{path}: cannot read the edge list (permission denied)" in load_error(path)


def test_missing_tier_names_line(tmp_path):
    path = write_csv(tmp_path, VALID_EDGES, VALID_NODES.replace("dist_b,distributor,", "dist_b,,"))
    message = load_error(path)
    assert f"{tmp_path / 'net.nodes.csv'}, line 6: the node has no tier" in message


def test_unknown_tier_names_line(tmp_path):
    path = write_csv(tmp_path, VALID_EDGES, VALID_NODES.replace("shop_2,retailer", "shop_2,kiosk"))
    message = load_error(path)
    assert f"{tmp_path / 'net.nodes.csv'}, line 3: the node's tier is unknown (expected one of retailer" in message
    assert "kiosk" not in message and "shop_2" not in message


def test_missing_and_unknown_tiers_in_graphml():
    message = load_error(DATA / "unknown_tier.graphml")
    assert "unknown_tier.graphml, line 7: the node's tier is unknown" in message
    assert "unknown_tier.graphml, line 8: the node has no tier" in message
    assert "wholesaler" not in message and "warehouse" not in message


def test_isolated_retailer(tmp_path):
    path = write_csv(tmp_path, VALID_EDGES.replace("dist_a,shop_2,1\n", ""))
    message = load_error(path)
    assert f"{tmp_path / 'net.nodes.csv'}, line 3: isolated retailer without a supplier" in message


def test_distributor_without_supplier(tmp_path):
    path = write_csv(tmp_path, VALID_EDGES.replace("maker_x,dist_b,1\n", ""))
    assert "line 6: distributor without a supplier" in load_error(path)


@pytest.mark.parametrize("weight, complaint", [("0", "not positive"), ("-0.5", "not positive"),
                                               ("", "missing"), ("lots", "not a number"),
                                               ("nan", "not finite"), ("inf", "not finite")])
def test_bad_weight_names_the_line(tmp_path, weight, complaint):
    path = write_csv(tmp_path, VALID_EDGES.replace("dist_b,shop 3,30", f"dist_b,shop 3,{weight}"))
    message = load_error(path)
    assert f"{path}, line 5: the edge's weight is {complaint} (expected a positive purchase share)" in message
    assert "dist_b" not in message and "lots" not in message


def test_missing_weight_in_graphml(tmp_path):
    text = (DATA / "valid.graphml").read_text().replace('<data key="d2">0.4</data>', "")
    (tmp_path / "net.graphml").write_text(text)
    message = load_error(tmp_path / "net.graphml")
    line = 1 + text[:text.index('<edge source="dist_b" target="shop_1"')].count("\n")
    assert f"net.graphml, line {line}: the edge's weight is missing" in message


def test_unknown_node_reference(tmp_path):
    path = write_csv(tmp_path, VALID_EDGES + "dist_c,shop_2,1\n")
    message = load_error(path)
    assert f"{path}, line 10: the edge's supplier is not a node of {tmp_path / 'net.nodes.csv'}" in message


def test_unknown_node_reference_in_graphml(tmp_path):
    text = (DATA / "valid.graphml").read_text().replace('source="maker_y"', 'source="maker_z"')
    (tmp_path / "net.graphml").write_text(text)
    message = load_error(tmp_path / "net.graphml")
    assert "the edge's supplier is not a node of" in message and "maker_z" not in message


def test_self_loop(tmp_path):
    path = write_csv(tmp_path, VALID_EDGES + "dist_a,dist_a,1\n")
    assert f"{path}, line 10: the edge is a self-loop" in load_error(path)


def test_duplicate_edge(tmp_path):
    path = write_csv(tmp_path, VALID_EDGES + "dist_b,shop_1,0.1\n")
    assert f"{path}, line 10: duplicate edge (the same supplier and buyer) (first at line 3)" in load_error(path)


def test_duplicate_edge_in_graphml(tmp_path):
    text = (DATA / "valid.graphml").read_text().replace(
        "</graph>", '<edge source="maker_x" target="dist_b"><data key="d2">5</data></edge></graph>')
    (tmp_path / "net.graphml").write_text(text)
    assert "duplicate edge (the same supplier and buyer) (first at line" in load_error(tmp_path / "net.graphml")


def test_duplicate_node(tmp_path):
    path = write_csv(tmp_path, VALID_EDGES, VALID_NODES + "shop_1,retailer,1\n")
    assert "line 9: duplicate node id (first at line 2)" in load_error(path)


def test_a_dtd_is_refused(tmp_path):
    """Entities defined in a DTD can expand a small file into a huge one (a billion laughs)."""
    text = (DATA / "valid.graphml").read_text().replace(
        '<graphml', '<!DOCTYPE graphml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n<graphml', 1)
    (tmp_path / "net.graphml").write_text(text)
    assert "a document type declaration (DTD) is not allowed" in load_error(tmp_path / "net.graphml")


def test_no_retailer(tmp_path):
    nodes = "id,tier\ndist_a,distributor\nmaker_x,manufacturer\n"
    path = write_csv(tmp_path, "supplier,buyer,weight\nmaker_x,dist_a,1\n", nodes)
    assert "the network has no retailer at all" in load_error(path)


def test_no_manufacturer(tmp_path):
    nodes = "id,tier\nshop,retailer\nnorth,distributor\nsouth,distributor\n"
    edges = "supplier,buyer,weight\nnorth,shop,1\nsouth,north,1\nnorth,south,1\n"
    path = write_csv(tmp_path, edges, nodes)
    assert "the network has no manufacturer at all" in load_error(path)


def test_bad_size(tmp_path):
    path = write_csv(tmp_path, VALID_EDGES, VALID_NODES.replace("maker_y,manufacturer,1.0", "maker_y,manufacturer,-2"))
    assert "line 8: the node's size is not positive" in load_error(path)


def test_several_problems_are_reported_together_on_one_line(tmp_path):
    edges = VALID_EDGES + "dist_a,dist_a,1\nghost,shop_1,1\n"
    path = write_csv(tmp_path, edges.replace("dist_a,shop_2,1", "dist_a,shop_2,zero"))
    message = load_error(path)
    assert message.startswith("3 problems in the supply network")
    assert "line 4" in message and "line 10" in message and "line 11" in message
    assert "\n" not in message


def test_direct_construction_is_validated():
    with pytest.raises(NetworkError, match="self-loops"):
        SupplyNetwork(tier=[0, 2], size=[1, 1], names=["a", "b"], supplier=[0], buyer=[0], weight=[1])
    with pytest.raises(NetworkError, match="duplicate edges"):
        SupplyNetwork(tier=[0, 2], size=[1, 1], names=["a", "b"], supplier=[1, 1], buyer=[0, 0], weight=[1, 1])
    with pytest.raises(NetworkError, match="node names must be unique"):
        SupplyNetwork(tier=[0, 2], size=[1, 1], names=["a", "a"], supplier=[1], buyer=[0], weight=[1])
    with pytest.raises(NetworkError, match="node indices"):
        SupplyNetwork(tier=[0, 2], size=[1, 1], names=["a", "b"], supplier=[5], buyer=[0], weight=[1])
