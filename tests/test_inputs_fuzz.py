"""Bad input of every kind is refused before the first simulated day (issue 9, "validation
before work"), as a :class:`sim.config.ConfigError` whose one-line message names the file or
key and never repeats a file's content; the command line turns it into exit status 2 and one
line ``sim: configuration error: ...`` on stderr, and writes nothing.

- ``CASES``: a table of malformed scenario files, ``--set`` values and network files, each run
  twice: through ``load_config`` and ``CreditModel`` (:func:`test_bad_input_is_a_config_error`,
  the guard of the validation) and through ``sim run`` in-process
  (:func:`test_bad_input_on_the_command_line`, the contract of the command line).
- Every leaf parameter of the tree (``iter_params``) refuses non-finite numbers, numbers out of
  its declared range and values of another type, by ``--set`` and in a scenario file, with a
  message that names its key path: exhaustively for a fixed set of values, and by
  property-based tests (hypothesis) for drawn ones; in-range values are accepted.

Every case runs under :func:`time_limit`, so a hang (the open of a FIFO) fails the test instead
of blocking the suite. The module takes about fifteen seconds.
"""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path

import pytest
from conftest import refuse_to_open, time_limit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.config import MAX_EXTENDS_DEPTH, MAX_SCENARIO_BYTES, ConfigError, iter_params, load_config
from sim.network import MAX_NETWORK_BYTES

CANARY = "CANARY-5eb1"   # planted in files' content: no message may repeat it
SMALL = ["--consumers", "200", "--merchants", "10", "--days", "5", "--set", "run.burn_in_days=0"]
SMALL_SETS = ["population.consumers=200", "population.merchants=10", "run.days=5", "run.burn_in_days=0"]
BASE = 'extends = "baseline"\n'
DATA = Path(__file__).parent / "data"
PROPERTY = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# --------------------------------------------------------------------------- making bad input
# A case's maker takes (tmp_path, monkeypatch) and returns (scenario, --set values).


def scenario(content: str | bytes, name: str = "bad.toml"):
    """A scenario file with ``content``."""
    def make(tmp, mp):
        path = tmp / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return str(path), []
    return make


def sets(*values: str, scenario_name: str = "baseline"):
    """The baseline with ``--set`` values."""
    def make(tmp, mp):
        return scenario_name, [v.replace("{tmp}", str(tmp)) for v in values]
    return make


def directory(name: str):
    def make(tmp, mp):
        (tmp / name).mkdir()
        return str(tmp / name), []
    return make


def fifo(name: str):
    def make(tmp, mp):
        os.mkfifo(tmp / name)
        return str(tmp / name), []
    return make


def sparse(name: str, size: int):
    """A file of ``size`` bytes that takes no room (a hole)."""
    def make(tmp, mp):
        with open(tmp / name, "wb") as handle:
            handle.truncate(size)
        return str(tmp / name), []
    return make


def unreadable(content: str, name: str = "locked.toml"):
    """A file that cannot be opened (simulated: the tests run as root, who may read anything)."""
    def make(tmp, mp):
        path = tmp / name
        path.write_text(content)
        refuse_to_open(mp, path)
        return str(path), []
    return make


def chain(files: int):
    """``files`` scenario files, each extending the next; the last one extends the baseline."""
    def make(tmp, mp):
        for i in range(files):
            parent = f"c{i + 1}" if i + 1 < files else "baseline"
            (tmp / f"c{i}.toml").write_text(f'extends = "{parent}"\n')
        return str(tmp / "c0.toml"), []
    return make


def garbage(size: int, seed: int) -> bytes:
    """``size`` random bytes with the canary in the middle (the same every run)."""
    rng = random.Random(seed)
    data = bytes(rng.getrandbits(8) for _ in range(size))
    return data[:size // 2] + CANARY.encode() + data[size // 2:]


VALID_NODES = "id,tier,size\nshop_1,retailer,1.5\nshop_2,retailer,0.5\ndist_a,distributor,2\nmaker_x,manufacturer,3\n"
VALID_EDGES = "supplier,buyer,weight\ndist_a,shop_1,0.6\ndist_a,shop_2,1\nmaker_x,dist_a,2\n"


def csv_network(edges: str | bytes | None = VALID_EDGES, nodes: str | bytes | None = VALID_NODES, *extra: str,
                special: str = "", target: str = "net.csv"):
    """An edge list ``net.csv`` and its ``net.nodes.csv`` (None: absent) as network.path;
    ``special`` makes ``target`` a directory, a FIFO or an oversized file instead."""
    def make(tmp, mp):
        for name, content in (("net.csv", edges), ("net.nodes.csv", nodes)):
            if content is not None and not (special and name == target):
                (tmp / name).write_bytes(content.encode() if isinstance(content, str) else content)
        _special(tmp / target, special, MAX_NETWORK_BYTES)
        return "baseline", [f"network.path={tmp / 'net.csv'}", *extra]
    return make


def graphml(content: str | bytes = "", *extra: str, special: str = ""):
    def make(tmp, mp):
        path = tmp / "net.graphml"
        if not special:
            path.write_bytes(content.encode() if isinstance(content, str) else content)
        _special(path, special, MAX_NETWORK_BYTES)
        return "baseline", [f"network.path={path}", *extra]
    return make


def _special(path: Path, special: str, limit: int) -> None:
    if special == "directory":
        path.mkdir()
    elif special == "fifo":
        os.mkfifo(path)
    elif special == "oversized":
        with open(path, "wb") as handle:
            handle.truncate(limit + 1)


VALID_GRAPHML = (DATA / "valid.graphml").read_text()


def graphml_with(old: str, new: str) -> str:
    assert old in VALID_GRAPHML
    return VALID_GRAPHML.replace(old, new, 1)


def shock(table: str) -> str:
    """A scenario file with one [[shocks]] table (inside the five recorded days of SMALL)."""
    return f"{BASE}[[shocks]]\n{table}\n"


# --------------------------------------------------------------------------- the table of cases
# (id, maker, words the message must contain)

SECTIONS = ["run", "population", "consumers", "labour", "macro", "lenders", "promotions", "merchants", "tiers",
            "network", "banks"]

CASES = [
    # --- the scenario file itself
    ("file-directory", directory("d.toml"), ["is a directory, not a scenario file"]),
    ("file-fifo", fifo("pipe.toml"), ["not a regular file"]),
    ("file-not-utf8", scenario(BASE.encode() + b"# caf\xe9 " + CANARY.encode() + b"\n"), ["line 2", "not UTF-8"]),
    ("file-unreadable", unreadable(BASE), ["cannot read the scenario file (permission denied)"]),
    ("file-oversized", sparse("big.toml", MAX_SCENARIO_BYTES + 1), ["over the limit of 1,048,576 bytes"]),
    ("file-oversized-one-line", scenario(BASE + "x = " + "9" * MAX_SCENARIO_BYTES), ["over the limit"]),
    ("file-missing", lambda tmp, mp: (str(tmp / "absent.toml"), []), ["scenario file not found"]),
    ("file-extends-chain-1000", chain(1000), [f"longer than {MAX_EXTENDS_DEPTH} files"]),
    ("file-extends-cycle", scenario('extends = "bad"\n'), ["'extends' forms a cycle"]),
    ("file-extends-missing", scenario('extends = "nowhere"\n'), ["extends: unknown scenario 'nowhere'"]),
    ("file-extends-number", scenario("extends = 5\n"), ["extends must be a scenario name, got 5"]),
    ("file-extends-empty", scenario('extends = ""\n'), ["extends must be a scenario name"]),
    ("file-empty", scenario(""), ["the scenario file is empty"]),
    ("file-blank", scenario(" \n\t\n"), ["the scenario file is empty"]),
    ("file-bom", scenario(b"\xef\xbb\xbf" + BASE.encode()), ["byte-order mark"]),
    ("file-binary-garbage", scenario(garbage(4000, 1)), []),
    ("file-binary-garbage-utf8", scenario(garbage(4000, 2).decode("latin-1").encode("utf-8")), ["invalid TOML"]),
    ("file-nul-byte", scenario(BASE + f"# {CANARY}\x00\n"), ["invalid TOML"]),
    ("file-syntax-table", scenario(BASE + "[run\n"), ["invalid TOML", "line 2"]),
    ("file-syntax-string", scenario(BASE + f'description = "{CANARY}\n'), ["invalid TOML"]),
    ("file-syntax-duplicate", scenario(BASE + "[run]\nseed = 1\nseed = 2\n"), ["invalid TOML"]),
    ("file-syntax-bare-value", scenario(f"{CANARY} = {CANARY}\n"), ["invalid TOML"]),
    ("file-long-line", scenario(BASE + 'x = "' + "a" * 900_000 + "\n"), ["invalid TOML"]),
    ("file-long-number", scenario(BASE + "x = " + "1" * 900_000 + "\n"), ["a number with too many digits"]),
    ("file-long-key", scenario(BASE + "k" * 900_000 + " = 1\n"), ["unknown key"]),
    ("file-long-string", scenario(BASE + f'description = "{"d" * 900_000}"\nfoo = 1\n'), ["foo: unknown key"]),
    ("file-deep-nesting", scenario(BASE + "x = " + "[" * 200_000 + "\n"), ["nested too deeply"]),
    ("file-huge-integer", scenario(BASE + "[run]\nseed = " + "9" * 5000 + "\n"), ["too many digits"]),
    ("file-unknown-top-key", scenario(BASE + "foo = 1\n"), ["foo: unknown key"]),
    ("file-unknown-section", scenario(BASE + "[foo]\nbar = 1\n"), ["foo: unknown key"]),
    ("file-unknown-key", scenario(BASE + "[run]\nseeed = 1\n"), ["run.seeed: unknown key", "did you mean 'seed'"]),
    ("file-list-of-tables-for-a-table", scenario(BASE + "[[consumers]]\nincome_median = 5000\n"),
     ["consumers: expected a table"]),
    ("file-table-for-a-number", scenario(BASE + "[consumers.income_median]\nx = 1\n"),
     ["consumers.income_median: expected a number, got a table"]),
    ("file-list-for-a-number", scenario(BASE + "[consumers]\nincome_median = [5000]\n"),
     ["consumers.income_median: expected a number"]),
    ("file-string-for-a-number", scenario(BASE + '[run]\ndays = "365"\n'), ["run.days: expected an integer, got '365'"]),
    ("file-number-for-a-bool", scenario(BASE + "[lenders.baitiao]\nreminders = 1\n"),
     ["lenders.baitiao.reminders: expected true or false"]),
    ("file-list-for-lenders", scenario(BASE + "lenders = [1, 2]\n"), ["lenders: expected a table of named entries"]),
    ("file-number-for-a-lender", scenario(BASE + "[lenders]\nbaitiao = 5\n"), ["lenders.baitiao: expected a table"]),
    ("file-list-for-a-tier", scenario(BASE + "[tiers]\nretailer = [1]\n"), ["tiers.retailer: expected a table"]),
    ("file-unknown-tier", scenario(BASE + "[tiers.wholesaler]\nmarkup = 1.2\n"), ["tiers.wholesaler: unknown name"]),
    ("file-misspelt-lender", scenario(BASE + "[lenders.jiebei]\ncut_hysteresis = 0.3\n"), ["lenders.jiebei: unknown name"]),
    ("file-huge-consumers", scenario(BASE + "[population]\nconsumers = 1" + "0" * 400 + "\n"),
     ["population.consumers: a 401-digit integer is out of range [10, 50000000]"]),
    ("file-negative-merchants", scenario(BASE + "[population]\nmerchants = -3\n"), ["population.merchants: -3 is out of range"]),
    ("file-negative-seed", scenario(BASE + "[run]\nseed = -1\n"), ["run.seed: -1 is out of range"]),
    ("file-infinite-days", scenario(BASE + "[run]\ndays = 1e400\n"), ["run.days: expected an integer, got inf"]),
    ("file-infinite-float", scenario(BASE + "[consumers]\nincome_median = inf\n"), ["not a finite number"]),
    ("file-nan", scenario(BASE + "[macro]\nconfidence_normal = nan\n"), ["macro.confidence_normal: nan is not a finite"]),
    ("file-date-that-does-not-exist", scenario(BASE + '[run]\nstart_date = "2026-02-30"\n'),
     ["run.start_date: '2026-02-30' is not an ISO date"]),
    ("file-toml-date-that-does-not-exist", scenario(BASE + "[run]\nstart_date = 2026-02-30\n"), ["invalid TOML"]),
    ("file-date-far-away", scenario(BASE + '[run]\nstart_date = "9999-12-31"\n'), ["outside the years 1900 to 2200"]),
    ("file-promotion-on-29-february", scenario(BASE + '[promotions.618]\nstart = "02-29"\n'),
     ["promotions.618.start: '02-29' is not MM-DD"]),
    ("file-description-number", scenario(BASE + "description = 5\n"), ["description: expected a string"]),
    ("file-strategy-string", scenario(BASE + 'strategy = "yes"\n'), ["strategy must be true or false"]),
    # --- shocks
    ("shock-not-a-list", scenario(BASE + "shocks = 5\n"), ["shocks must be a list of [[shocks]] tables"]),
    ("shock-a-table", scenario(BASE + "[shocks]\nkind = 'income'\n"), ["shocks must be a list"]),
    ("shock-not-a-table", scenario(BASE + "shocks = [5]\n"), ["shocks[0]: expected a table"]),
    ("shock-no-kind", scenario(shock('start = "2026-01-02"\ndays = 2')), ["kind = None is not a shock kind"]),
    ("shock-unknown-kind", scenario(shock('kind = "earthquake"\nstart = "2026-01-02"\ndays = 2')),
     ["kind = 'earthquake' is not a shock kind"]),
    ("shock-no-start", scenario(shock('kind = "income"\ndays = 2\nsize = -0.1')), ["missing start"]),
    ("shock-no-end", scenario(shock('kind = "income"\nstart = "2026-01-02"\nsize = -0.1')), ["missing end"]),
    ("shock-end-and-days", scenario(shock('kind = "income"\nstart = "2026-01-02"\nend = "2026-01-03"\ndays = 1')),
     ["give either end or days"]),
    ("shock-extra-key", scenario(shock('kind = "income"\nstart = "2026-01-02"\ndays = 2\nwhen = 3')),
     ["unknown key(s) when"]),
    ("shock-start-29-february", scenario(shock('kind = "income"\nstart = "2026-02-29"\ndays = 2')),
     ["start = '2026-02-29' is not a date"]),
    ("shock-start-outside", scenario(shock('kind = "income"\nstart = "2026-03-01"\ndays = 2')),
     ["outside the recorded window"]),
    ("shock-share-a-string", scenario(shock('kind = "credit_limit_experiment"\nstart = "2026-01-02"\ndays = 2\n'
                                            'size = 0.5\nshare = "half"')), ["share = 'half': expected a number"]),
    ("shock-days-huge", scenario(shock('kind = "income"\nstart = "2026-01-02"\ndays = 1000000000000000')),
     ["days = 1000000000000000: expected a whole number of days in [1, 5]"]),
    ("shock-days-10**400", scenario(shock('kind = "income"\nstart = "2026-01-02"\ndays = 1' + "0" * 400)),
     ["days = a 401-digit integer"]),
    ("shock-size-a-list", scenario(shock('kind = "income"\nstart = "2026-01-02"\ndays = 2\nsize = [1]')),
     ["size = [1]: expected a finite number"]),
    ("shock-kind-a-list", scenario(shock('kind = ["income"]\nstart = "2026-01-02"\ndays = 2')), ["is not a shock kind"]),
    ("shock-lender-a-table", scenario(shock('kind = "credit_tightening"\nstart = "2026-01-02"\ndays = 2\nsize = -0.2\n'
                                            'lender = {name = "baitiao"}')), ["lender = a table"]),
    ("shock-target-not-a-merchant", scenario(shock('kind = "supplier_failure"\nstart = "2026-01-02"\ndays = 1\n'
                                                   'target = 99999')),
     ["target = 99999: not a merchant id; the supply network has 10 merchants"]),
    ("shock-target-negative", scenario(shock('kind = "supplier_failure"\nstart = "2026-01-02"\ndays = 1\ntarget = -1')),
     ["target = -1: expected a merchant id"]),
    ("shock-target-a-float", scenario(shock('kind = "supplier_failure"\nstart = "2026-01-02"\ndays = 1\ntarget = 1.5')),
     ["target = 1.5: expected a merchant id"]),
    ("shock-target-unknown-tier", scenario(shock('kind = "supplier_failure"\nstart = "2026-01-02"\ndays = 1\n'
                                                 'target = "wholesaler"')), ["target = 'wholesaler'"]),
    ("shock-weight-huge", scenario(shock('kind = "model_update"\nstart = "2026-01-02"\ndays = 1\nfeature = "dpd_30"\n'
                                         'weight = 1' + "0" * 400)), ["weight = a 401-digit integer"]),
    # --- --set values
    ("set-shocks-a-number", sets("shocks=5"), ["--set shocks: shocks: expected a list of shock tables"]),
    ("set-shocks-a-table", sets("shocks={kind='income'}"), ["expected a list of shock tables", "got a table"]),
    ("set-shocks-list-of-numbers", sets("shocks=[5, 6]"), ["shocks[0]: expected a table"]),
    ("set-no-equals", sets("run.seed"), ["expected key.path=value"]),
    ("set-empty-key", sets("=5"), ["unknown key"]),
    ("set-unknown-key", sets("run.seeed=5"), ["run.seeed: unknown key"]),
    ("set-a-word-for-a-number", sets("run.seed=abc"), ["run.seed: expected an integer, got 'abc'"]),
    ("set-a-fraction-for-an-integer", sets("run.seed=1.5"), ["run.seed: expected an integer, got 1.5"]),
    ("set-negative", sets("run.seed=-1"), ["run.seed: -1 is out of range"]),
    ("set-huge", sets("run.seed=1" + "0" * 400), ["run.seed: a 401-digit integer is out of range"]),
    ("set-too-many-digits", sets("run.seed=" + "9" * 5000), ["too many digits"]),
    ("set-infinite", sets("consumers.propensity_mean=inf"), ["consumers.propensity_mean: inf is not a finite"]),
    ("set-nan", sets("lenders.huabei.anomaly_z=nan"), ["lenders.huabei.anomaly_z: nan is not a finite"]),
    ("set-list-for-a-number", sets("consumers.propensity_mean=[0.2]"), ["expected a number, got [0.2]"]),
    ("set-table-for-a-number", sets("consumers.propensity_mean={a=1}"), ["expected a number, got a table"]),
    ("set-number-for-a-section", sets("run=5"), ["run: expected a table, got 5"]),
    ("set-number-for-lenders", sets("lenders=5"), ["lenders: expected a table of named entries"]),
    ("set-number-for-a-lender", sets("lenders.baitiao=5"), ["lenders.baitiao: expected a table"]),
    ("set-misspelt-lender", sets("lenders.jiebei.cut_hysteresis=0.3"), ["lenders.jiebei: unknown name"]),
    ("set-unknown-platform", sets("run.platform=alipay"), ["run.platform: 'alipay' is not a lender"]),
    ("set-date-that-does-not-exist", sets("run.start_date=2026-02-30"), ["run.start_date"]),
    ("set-date-far-away", sets("run.start_date=0001-01-01"), ["outside the years 1900 to 2200"]),
    ("set-promotion-on-29-february", sets('promotions.618.start="02-29"'), ["promotions.618.start"]),
    ("set-unknown-choice", sets("network.attachment=quadratic"), ["network.attachment: 'quadratic' is not one of"]),
    ("set-instalment-months", sets("consumers.instalment_months=[0]"), ["consumers.instalment_months"]),
    ("set-initial-weights", sets("lenders.baitiao.initial_weights=[1]"), ["lenders.baitiao.initial_weights"]),
    ("set-deep-nesting", sets("run.seed=" + "[" * 5000), ["nested too deeply"]),
    ("set-two-lines", sets("run.platform=huabei\nrun.seed=3"), ["the value must be on one line"]),
    ("set-unknown-tier", sets("tiers.wholesaler.markup=1.2"), ["tiers.wholesaler: unknown name"]),
    ("set-description-a-number", sets("description=5"), ["description: expected a string"]),
    # --- network files (network.path)
    ("network-missing", sets("network.path={tmp}/absent.csv"), ["edge list not found"]),
    ("network-unknown-type", sets("network.path={tmp}/net.json"), ["unknown network file type '.json'"]),
    ("network-missing-nodes-file", csv_network(VALID_EDGES, None), ["nodes file not found"]),
    ("network-csv-directory", csv_network(special="directory"), ["is a directory, not an edge list"]),
    ("network-nodes-directory", csv_network(special="directory", target="net.nodes.csv"), ["is a directory"]),
    ("network-csv-fifo", csv_network(special="fifo"), ["not a regular file"]),
    ("network-nodes-fifo", csv_network(special="fifo", target="net.nodes.csv"), ["not a regular file"]),
    ("network-csv-oversized", csv_network(special="oversized"), ["over the limit of"]),
    ("network-csv-not-utf8", csv_network(VALID_EDGES.encode() + b"maker_x,shop_1,1\xff\n"),
     ["line 5: the edge list is not UTF-8 text"]),
    ("network-nodes-not-utf8", csv_network(VALID_EDGES, VALID_NODES.encode() + b"\xfe" + CANARY.encode() + b"\n"),
     ["the nodes file is not UTF-8 text"]),
    ("network-csv-garbage", csv_network(garbage(3000, 3)), []),
    ("network-csv-empty", csv_network(""), ["empty edge list"]),
    ("network-csv-wrong-columns", csv_network(f"{CANARY},b,c\n1,2,3\n"), ["lacks supplier, buyer, weight"]),
    ("network-nodes-wrong-columns", csv_network(VALID_EDGES, f"name,{CANARY}\nshop_1,retailer\n"), ["lacks id, tier"]),
    ("network-csv-field-count", csv_network(VALID_EDGES + f"dist_a,{CANARY}\n"), ["line 5: expected 3 fields"]),
    ("network-csv-field-too-large", csv_network(VALID_EDGES + '"' + "x" * 200_000 + '",shop_1,1\n'),
     ["malformed CSV"]),
    ("network-unknown-tier", csv_network(VALID_EDGES, VALID_NODES.replace("shop_2,retailer", f"shop_2,{CANARY}")),
     ["line 3: the node's tier is unknown"]),
    ("network-negative-weight", csv_network(VALID_EDGES.replace("dist_a,shop_2,1", "dist_a,shop_2,-1")),
     ["line 3: the edge's weight is not positive"]),
    ("network-nan-weight", csv_network(VALID_EDGES.replace("dist_a,shop_2,1", "dist_a,shop_2,nan")),
     ["line 3: the edge's weight is not finite"]),
    ("network-word-weight", csv_network(VALID_EDGES.replace("dist_a,shop_2,1", f"dist_a,shop_2,{CANARY}")),
     ["line 3: the edge's weight is not a number"]),
    ("network-self-loop", csv_network(VALID_EDGES + "dist_a,dist_a,1\n"), ["line 5: the edge is a self-loop"]),
    ("network-unknown-node", csv_network(VALID_EDGES + f"{CANARY},shop_1,1\n"), ["line 5: the edge's supplier is not a node"]),
    ("network-target-beyond-it", csv_network(VALID_EDGES, VALID_NODES, 'shocks=[{kind="supplier_failure", '
                                             'start="2026-01-02", days=1, target=4}]'),
     ["target = 4: not a merchant id; the supply network", "has 4 merchants"]),
    ("graphml-directory", graphml(special="directory"), ["is a directory, not a GraphML file"]),
    ("graphml-fifo", graphml(special="fifo"), ["not a regular file"]),
    ("graphml-oversized", graphml(special="oversized"), ["over the limit of"]),
    ("graphml-empty", graphml(""), ["malformed GraphML"]),
    ("graphml-garbage", graphml(garbage(3000, 4)), []),
    ("graphml-not-utf8", graphml(VALID_GRAPHML.encode().replace(b"shop_2", b"shop\xff2")), ["not UTF-8 text"]),
    ("graphml-not-xml", graphml(f"{CANARY} is not XML"), ["malformed GraphML (XML error: syntax error: line 1"]),
    ("graphml-not-graphml", graphml(f"<{CANARY}><graph/></{CANARY}>"), ["the root element is not <graphml>"]),
    ("graphml-no-graph", graphml('<graphml xmlns="http://graphml.graphdrawing.org/xmlns"/>'), ["no <graph> element"]),
    ("graphml-malformed", graphml((DATA / "malformed.graphml").read_text()), ["mismatched tag: line 6"]),
    ("graphml-entity-expansion", graphml('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
                                         '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
                                         '<graphml><graph>&lol2;</graph></graphml>'), ["(DTD) is not allowed"]),
    ("graphml-external-entity", graphml('<?xml version="1.0"?>\n<!DOCTYPE g [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                                        '\n<graphml><graph>&x;</graph></graphml>'), ["(DTD) is not allowed"]),
    ("graphml-undefined-entity", graphml(graphml_with(">1.5</data>", ">&secret;</data>")), ["undefined entity"]),
    ("graphml-unknown-tier", graphml(graphml_with('<data key="d0">retailer</data>', f'<data key="d0">{CANARY}</data>')),
     ["the node's tier is unknown"]),
    ("graphml-negative-weight", graphml(graphml_with('<data key="d2">0.6</data>', '<data key="d2">-0.6</data>')),
     ["the edge's weight is not positive"]),
    ("graphml-nan-weight", graphml(graphml_with('<data key="d2">0.6</data>', '<data key="d2">NaN</data>')),
     ["the edge's weight is not finite"]),
    ("graphml-self-loop", graphml(graphml_with('source="dist_a" target="shop_1"', 'source="dist_a" target="dist_a"')),
     ["the edge is a self-loop"]),
    ("graphml-undirected", graphml(graphml_with('edgedefault="directed"', 'edgedefault="undirected"')),
     ["the edge is undirected"]),
    ("graphml-node-without-id", graphml(graphml_with('<node id="shop_2">', "<node>")), ["a <node> has no id attribute"]),
] + [(f"file-{section}-a-number", scenario(f"{BASE}{section} = 5\n"), [f"{section}: expected a table"])
     for section in SECTIONS] + [
    (f"file-{section}-a-string", scenario(f'{BASE}{section} = "text"\n'), [f"{section}: expected a table", "got 'text'"])
    for section in SECTIONS]
IDS = [case_id for case_id, _, _ in CASES]
assert len(set(IDS)) == len(IDS), "case ids must be unique"


def build(scenario_name: str, overrides: list[str]) -> None:
    """What ``sim run`` does before its first simulated day: resolve the configuration and
    build the model."""
    from sim import CreditModel
    CreditModel(load_config(scenario_name, [*SMALL_SETS, *overrides]))


def check_message(message: str, words: list[str], tmp_path: Path) -> None:
    assert "\n" not in message and message.isprintable(), message
    assert CANARY not in message.replace(str(tmp_path), ""), f"a file's content was repeated: {message[:300]}"
    assert len(message) < 2000, message[:300]
    for word in words:
        assert word in message, message[:500]


@pytest.mark.parametrize("make, words", [(make, words) for _, make, words in CASES], ids=IDS)
def test_bad_input_is_a_config_error(tmp_path, monkeypatch, make, words):
    """The guard of the validation: load_config, or at the latest CreditModel.__init__ (before
    the burn-in), raises ConfigError and nothing else."""
    monkeypatch.chdir(tmp_path)
    scenario_name, overrides = make(tmp_path, monkeypatch)
    with time_limit(), pytest.raises(ConfigError) as err:
        build(scenario_name, overrides)
    check_message(str(err.value), words, tmp_path)


@pytest.mark.parametrize("make, words", [(make, words) for _, make, words in CASES], ids=IDS)
def test_bad_input_on_the_command_line(tmp_path, monkeypatch, capsys, make, words):
    """The contract of ``sim run``: exit status 2, one line ``sim: ...`` on stderr (no
    traceback), nothing written."""
    from sim.cli import main
    monkeypatch.chdir(tmp_path)
    scenario_name, overrides = make(tmp_path, monkeypatch)
    out = tmp_path / "out"
    argv = ["run", scenario_name, "--quiet", "--out", str(out), *SMALL]
    for value in overrides:
        argv += ["--set", value]
    with time_limit():
        code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err[:500]
    assert err.startswith("sim: ") and err.endswith("\n") and err.count("\n") == 1, err[:500]
    assert "Traceback" not in err
    check_message(err.rstrip("\n"), words, tmp_path)
    assert not out.exists() or not any(out.iterdir())
    assert not (tmp_path / "results").exists()


# --------------------------------------------------------------------------- every parameter

PARAMS = [(path, field) for path, field, _ in iter_params()]
KINDS = {"bool": bool, "int": int, "float": float, "str": str, "list": list}


def kind_of(field) -> type:
    return KINDS[field.type] if isinstance(field.type, str) else field.type


def toml(value) -> str:
    """``value`` as a TOML literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(map(toml, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("params")


def refused(path: str, text: str, directory: Path, route: str) -> str:
    """The message of the ConfigError that setting ``path`` to the TOML ``text`` raises, by
    ``--set`` or in a scenario file (``route``)."""
    with time_limit(), pytest.raises(ConfigError) as err:
        if route == "set":
            load_config("baseline", [f"{path}={text}"])
        else:
            file = directory / "param.toml"
            file.write_text(f"{BASE}{path} = {text}\n", encoding="utf-8")
            load_config(file)
    message = str(err.value)
    assert path in message, message
    if route == "file":
        assert message.startswith(str(directory / "param.toml")), message
    return message


def bad_values(field) -> list[str]:
    """TOML texts of values that ``field`` must refuse: non-finite numbers, numbers outside
    its declared range, values of other types."""
    kind, meta = kind_of(field), field.metadata
    values: list[str] = []
    if kind in (int, float):
        values += ["nan", "inf", "-inf"]
        lo, hi = meta.get("lo"), meta.get("hi")
        if lo is not None:
            values += [toml(lo - 1), toml(-(10 ** 400))]
            if kind is float:
                values.append(toml(math.nextafter(float(lo), -math.inf)))
        if hi is not None:
            values += [toml(hi + 1), toml(10 ** 400)]
            if kind is float:
                values.append(toml(math.nextafter(float(hi), math.inf)))
        values += ['"0.5"', "true", "[1]", "{a = 1}"]
        if kind is int:
            values.append("0.5")
    elif kind is bool:
        values += ["1", "0", '"true"', "[true]", "{a = true}"]
    elif kind is str:
        values += ["5", "1.5", "true", '["a"]', '{a = "b"}']
    elif kind is list:
        values += ["5", '"a"', "true", "{a = 1}"]
    if meta.get("choices"):
        values.append('"not-a-choice"')
    return values


@pytest.mark.parametrize("path, field", PARAMS, ids=[path for path, _ in PARAMS])
def test_every_parameter_refuses_bad_values_by_key_path(path, field, scenario_dir):
    for text in bad_values(field):
        for route in ("set", "file"):
            refused(path, text, scenario_dir, route)


NUMERIC = [(path, field) for path, field in PARAMS if kind_of(field) in (int, float)]
BOUNDED = [(path, field, bound) for path, field in NUMERIC for bound in ("lo", "hi")
           if field.metadata.get(bound) is not None]
# parameters whose accepted values depend on others (the consistency checks of load_config)
CROSS_CHECKED = ("big_ticket_min", "big_ticket_max", "hardship_min", "hardship_max", "limit_min", "limit_max",
                 "retailer_share", "distributor_share", "population.merchants")
ACCEPTABLE = [(path, field) for path, field in NUMERIC
              if field.metadata.get("lo") is not None and not any(c in path for c in CROSS_CHECKED)]


@PROPERTY
@given(param=st.sampled_from(NUMERIC), value=st.sampled_from([math.nan, math.inf, -math.inf]),
       route=st.sampled_from(["set", "file"]))
def test_non_finite_numbers_are_refused_by_key_path(scenario_dir, param, value, route):
    path, field = param
    message = refused(path, toml(value), scenario_dir, route)
    assert "not a finite number" in message or "expected an integer" in message


@st.composite
def out_of_range(draw):
    """A parameter with a declared bound and a value beyond it (ints up to 10**400)."""
    path, field, bound = draw(st.sampled_from(BOUNDED))
    limit = field.metadata[bound]
    if kind_of(field) is int:
        value = draw(st.integers(max_value=limit - 1, min_value=-(10 ** 400)) if bound == "lo"
                     else st.integers(min_value=limit + 1, max_value=10 ** 400))
    elif bound == "lo":
        value = draw(st.floats(max_value=limit, allow_nan=False, allow_infinity=False).filter(lambda x: x < limit))
    else:
        value = draw(st.floats(min_value=limit, allow_nan=False, allow_infinity=False).filter(lambda x: x > limit))
    return path, value


@PROPERTY
@given(case=out_of_range(), route=st.sampled_from(["set", "file"]))
def test_numbers_out_of_range_are_refused_by_key_path(scenario_dir, case, route):
    path, value = case
    assert "is out of range [" in refused(path, toml(value), scenario_dir, route)


SCALARS = st.one_of(st.booleans(), st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.text(st.characters(min_codepoint=32, max_codepoint=0x9FFF, exclude_categories=("Cs", "Cc")),
                            max_size=12))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3),
                   st.dictionaries(st.sampled_from(["a", "b", "kind"]), SCALARS, min_size=1, max_size=2))


def wrong_type(kind: type, value) -> bool:
    """Whether ``value`` is not a value of ``kind`` (ints are numbers; an integral float is an
    integer)."""
    if kind is bool:
        return not isinstance(value, bool)
    if isinstance(value, bool):
        return True
    if kind is int:
        return not (isinstance(value, int) or (isinstance(value, float) and value.is_integer()))
    if kind is float:
        return not isinstance(value, (int, float))
    return not isinstance(value, kind)


@PROPERTY
@given(param=st.sampled_from(PARAMS), value=VALUES, route=st.sampled_from(["set", "file"]))
def test_values_of_a_wrong_type_are_refused_by_key_path(scenario_dir, param, value, route):
    path, field = param
    if not wrong_type(kind_of(field), value):
        return
    assert "expected " in refused(path, toml(value), scenario_dir, route)


@st.composite
def in_range(draw):
    path, field = draw(st.sampled_from(ACCEPTABLE))
    lo, hi = field.metadata["lo"], field.metadata.get("hi")
    if kind_of(field) is int:
        return path, draw(st.integers(min_value=lo, max_value=hi if hi is not None else lo + 10 ** 6))
    return path, draw(st.floats(min_value=lo, max_value=hi if hi is not None else lo + 1e6))


@PROPERTY
@given(case=in_range(), route=st.sampled_from(["set", "file"]))
def test_finite_values_in_range_are_accepted(scenario_dir, case, route):
    path, value = case
    with time_limit():
        if route == "set":
            cfg = load_config("baseline", [f"{path}={toml(value)}"])
        else:
            file = scenario_dir / "ok.toml"
            file.write_text(f"{BASE}{path} = {toml(value)}\n", encoding="utf-8")
            cfg = load_config(file)
    assert cfg.get(path) == value
