"""Configuration: one parameter tree, scenario files with extends, clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import refuse_to_open, time_limit

from sim.config import Config, ConfigError, iter_params, load_config, params_table, with_flags


def write(tmp_path, name, text):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_baseline_resolves_with_defaults():
    cfg = load_config("baseline")
    assert cfg.name == "baseline"
    assert cfg.lender_names == ["baitiao", "huabei"]
    assert cfg.run.platform == "baitiao"
    # the baseline scenario chooses a longer burn-in than the parameter default
    assert cfg.run.burn_in_days == 1460 and Config().run.burn_in_days == 90


def test_every_parameter_is_documented():
    for path, field, _ in iter_params():
        assert field.metadata.get("doc"), f"{path} has no one-line meaning"
    table = params_table()
    assert "`consumers.propensity_mean`" in table and "`lenders.baitiao.anomaly_z`" in table


def test_extends_chain_and_overrides(tmp_path):
    write(tmp_path, "parent", 'extends = "baseline"\n[consumers]\npropensity_mean = 0.3\n')
    child = write(tmp_path, "child", 'extends = "parent"\n[lenders.huabei]\naccount_share = 0.5\n'
                                     '[[shocks]]\nkind = "income"\nstart = "2026-03-01"\ndays = 30\nsize = -0.1\n')
    cfg = load_config(child, ["consumers.credit_first_share=0.5"])
    assert cfg.consumers.propensity_mean == 0.3          # from the parent
    assert cfg.lenders["huabei"].account_share == 0.5    # from the child
    assert cfg.lenders["baitiao"].account_share == 0.8   # untouched default
    assert cfg.consumers.credit_first_share == 0.5       # from --set
    assert cfg.run.burn_in_days == 1460                   # from baseline, two levels up
    (shock,) = cfg.shocks
    assert (shock.kind, shock.start, shock.end, shock.size) == ("income", 59, 89, -0.1)


@pytest.mark.parametrize("override, words", [
    (["consumers.propensity_meen=0.3"], ["consumers.propensity_meen", "unknown key", "propensity_mean"]),
    (["consumers.propensity_mean=1.5"], ["consumers.propensity_mean", "out of range", "[0, 1]"]),
    (["population.consumers=ten"], ["population.consumers", "expected an integer"]),
    (["lenders.baitiao.anomaly_z=-1"], ["lenders.baitiao.anomaly_z", "out of range"]),
    (["lenders.baitiao.promotion_aware=1"], ["lenders.baitiao.promotion_aware", "true or false"]),
    (["run.platform=alipay"], ["run.platform", "alipay", "baitiao"]),
    (["run.start_date=2026-13-01"], ["run.start_date", "ISO date"]),
    (["noequals"], ["expected key.path=value"]),
    # a misspelt lender is not a new lender with default parameters
    (["lenders.jiebei.cut_hysteresis=0.3"], ["lenders.jiebei", "unknown name", "baitiao, huabei", "account_share"]),
    # NaN and infinity pass a range test (every comparison with NaN is false): refused by name
    (["macro.confidence_normal=nan"], ["macro.confidence_normal: nan is not a finite number"]),
    (["lenders.baitiao.anomaly_z=inf"], ["lenders.baitiao.anomaly_z: inf is not a finite number"]),
    (["consumers.target_utilisation_impatient=[0.5, -inf]"],
     ["consumers.target_utilisation_impatient[1]: -inf is not a finite number"]),
    # a promotion whose dates are out of order used to vanish
    (['promotions.618.end="06-10"'], ["promotions.618: start 06-01, peak 06-18 and end 06-10", "in that order"]),
    # a lender named like a cut cause overwrote the platform's limit_cuts_<cause> columns
    (["lenders.review.account_share=0.2"], ["lenders.review: a lender's name", "review", "suffix"]),
    (["lenders.Jie-bei.account_share=0.2"], ["lenders.Jie-bei: a lender's name must be lowercase letters"]),
])
def test_bad_overrides_name_the_key(override, words):
    with pytest.raises(ConfigError) as err:
        load_config("baseline", override)
    for word in words:
        assert word in str(err.value)


def test_unknown_scenario_lists_the_known_ones():
    with pytest.raises(ConfigError) as err:
        load_config("baselin")
    msg = str(err.value)
    assert "unknown scenario 'baselin'" in msg and "baseline" in msg and "tightening" in msg


def test_scenario_file_errors_name_file_and_key(tmp_path):
    bad = write(tmp_path, "bad", 'extends = "baseline"\n[tiers.retailer]\nmarkup = 0.5\n')
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    assert str(bad) in str(err.value) and "tiers.retailer.markup" in str(err.value)
    wholesale = write(tmp_path, "wholesale", 'extends = "baseline"\n[tiers.wholesaler]\nmarkup = 1.2\n')
    with pytest.raises(ConfigError, match="tiers.wholesaler: unknown name"):
        load_config(wholesale)
    broken = write(tmp_path, "broken", "[run\n")
    with pytest.raises(ConfigError) as err:
        load_config(broken)
    assert str(broken) in str(err.value) and "line 1" in str(err.value)
    missing = write(tmp_path, "orphan", 'extends = "nowhere"\n')
    with pytest.raises(ConfigError, match="extends: unknown scenario 'nowhere'"):
        load_config(missing)
    loop = write(tmp_path, "loop", 'extends = "loop"\n')
    with pytest.raises(ConfigError, match="cycle"):
        load_config(loop)


@pytest.mark.parametrize("table, words", [
    ('kind = "earthquake"\nstart = "2026-03-01"\ndays = 5\nsize = 1', ["shocks[0]", "earthquake", "unemployment"]),
    ('kind = "income"\nstart = "2025-12-01"\ndays = 5\nsize = -0.1', ["start = 2025-12-01", "outside the recorded window"]),
    ('kind = "income"\nstart = "2026-12-20"\nend = "2027-02-01"\nsize = -0.1', ["end = 2027-02-01"]),
    ('kind = "income"\nstart = "2026-03-01"\nsize = -0.1', ["missing end"]),
    ('kind = "income"\nstart = "2026-03-01"\ndays = 5\nsize = "big"', ["size = 'big'"]),
    ('kind = "credit_tightening"\nstart = "2026-03-01"\ndays = 5\nsize = -0.3\nlender = "ant"', ["lender = 'ant'"]),
    ('kind = "credit_limit_experiment"\nstart = "2026-03-01"\ndays = 5\nsize = 0.5', ["share"]),
    ('kind = "income"\nstart = "2026-03-01"\ndays = 5\nsize = -0.1\nwhen = 3', ["unknown key", "when"]),
    ('kind = "confidence"\nstart = "2026-03-01"\ndays = 5\nsize = nan', ["size = nan: expected a finite number"]),
    # an income shock of -2 made consumption negative and passed --check
    ('kind = "income"\nstart = "2026-03-01"\ndays = 5\nsize = -2', ["size = -2 is out of range [-0.9, 10]", "'income'"]),
    ('kind = "unemployment"\nstart = "2026-03-01"\ndays = 5\nsize = 1.01', ["out of range [-1, 1]"]),
    ('kind = "credit_tightening"\nstart = "2026-03-01"\ndays = 5\nsize = -1.5', ["out of range [-1, 1]"]),
])
def test_bad_shocks_name_file_and_position(tmp_path, table, words):
    path = write(tmp_path, "shock", f'extends = "baseline"\n[[shocks]]\n{table}\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize("tables, words", [
    # two unemployment shocks of 0.6 overlap from 10 March: 120% of the labour force
    ([("unemployment", "2026-03-01", 20, 0.6), ("unemployment", "2026-03-10", 20, 0.6)],
     ["shocks[0] and", "shocks[1]: these unemployment shocks add up to 1.2 on 2026-03-10", "[-1, 1]"]),
    # lender by lender: the platform's own -0.6 and an economy-wide -0.6
    ([("credit_tightening", "2026-03-01", 20, -0.6, "baitiao"), ("credit_tightening", "2026-03-05", 5, -0.6)],
     ["credit_tightening shocks for baitiao add up to -1.2 on 2026-03-05"]),
    # ... and for the banks; only the shocks running that day are named (not shocks[2], which
    # ended the day before, nor the rival's shocks[3])
    ([("credit_tightening", "2026-03-10", 20, -0.6, "banks"), ("credit_tightening", "2026-03-01", 20, -0.6),
      ("credit_tightening", "2026-03-05", 5, -0.1, "banks"), ("credit_tightening", "2026-03-01", 30, -0.2, "huabei")],
     ["shocks[0] and", "shocks[1]: these credit_tightening shocks for banks add up to -1.2 on 2026-03-10"]),
    ([("unemployment", "2026-03-01", 20, 0.6), ("unemployment", "2026-03-05", 5, 0.1),
      ("unemployment", "2026-03-10", 20, 0.6)],
     ["shocks[0] and", "shocks[2]: these unemployment shocks add up to 1.2 on 2026-03-10"]),
    # demand and income together take autonomous demand to zero (-1 is already too far)
    ([("income", "2026-03-01", 20, -0.5), ("demand", "2026-03-05", 20, -0.5)],
     ["shocks[0] and", "shocks[1]: these demand and income shocks add up to -1 on 2026-03-05", "more than -1"]),
    ([("demand", "2026-03-01", 20, -0.5), ("income", "2026-03-05", 20, -0.5)],
     ["these demand and income shocks add up to -1 on 2026-03-05"]),
    # settlement delays add up lender by lender (none named: the platform's)
    ([("settlement_delay", "2026-03-01", 20, 200), ("settlement_delay", "2026-03-03", 20, 200, "baitiao")],
     ["these settlement_delay shocks for baitiao add up to 400 on 2026-03-03", "[0, 365]"]),
    # an account is in one experiment at a time: two at one lender may not overlap
    ([("credit_limit_experiment", "2026-03-01", 20, 0.5), ("credit_limit_experiment", "2026-03-15", 20, -0.3)],
     ["shocks[0] and", "shocks[1]: two credit_limit_experiment shocks at baitiao overlap on 2026-03-15"]),
    ([("credit_limit_experiment", "2026-03-01", 20, 0.5), ("credit_limit_experiment", "2026-03-01", 5, -0.3)],
     ["two credit_limit_experiment shocks at baitiao overlap on 2026-03-01"]),
])
def test_overlapping_shocks_that_add_up_out_of_range_are_refused_naming_them(tmp_path, tables, words):
    text = 'extends = "baseline"\n'
    for kind, start, days, size, *lender in tables:
        text += f'[[shocks]]\nkind = "{kind}"\nstart = "{start}"\ndays = {days}\nsize = {size}\n'
        text += f'lender = "{lender[0]}"\n' if lender else ""
        text += 'share = 0.5\n' if kind == "credit_limit_experiment" else ""
    path = write(tmp_path, "overlap", text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    for word in words:
        assert word in str(err.value)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("shocks", [
    # the edges are allowed: 1.0 and -1.0 on the days they overlap
    '{kind="unemployment", start="2026-03-01", days=20, size=0.5}, '
    '{kind="unemployment", start="2026-03-10", days=20, size=0.5}',
    '{kind="credit_tightening", start="2026-03-01", days=20, size=-0.5}, '
    '{kind="credit_tightening", start="2026-03-10", days=20, size=-0.5}',
    # two lenders' own tightenings do not add up
    '{kind="credit_tightening", lender="baitiao", start="2026-03-01", days=20, size=-0.6}, '
    '{kind="credit_tightening", lender="huabei", start="2026-03-01", days=20, size=-0.6}',
    # experiments one after the other, or at two lenders, may share days with each other's ends
    '{kind="credit_limit_experiment", start="2026-03-01", days=20, size=5, share=0.5}, '
    '{kind="credit_limit_experiment", start="2026-03-21", days=20, size=6, share=0.5}, '
    '{kind="credit_limit_experiment", lender="huabei", start="2026-03-01", days=40, size=6, share=0.5}',
    # a settlement delay that names no lender is the platform's: it does not add to the rival's
    '{kind="settlement_delay", start="2026-03-01", days=20, size=200}, '
    '{kind="settlement_delay", lender="huabei", start="2026-03-01", days=20, size=200}',
])
def test_overlapping_shocks_inside_the_range_add_up_as_before(shocks):
    cfg = load_config("baseline", [f"shocks=[{shocks}]"])
    assert len(cfg.shocks) == shocks.count("kind=")


def test_a_new_lender_is_declared_by_its_account_share():
    cfg = load_config("baseline", ["lenders.jiebei.account_share=0.2", "lenders.jiebei.cut_hysteresis=0.3"])
    assert cfg.lender_names == ["baitiao", "huabei", "jiebei"]
    assert cfg.lenders["jiebei"].account_share == 0.2 and cfg.lenders["jiebei"].cut_hysteresis == 0.3


def test_a_shortcut_flag_and_a_set_of_the_same_key_must_agree():
    assert with_flags(["population.consumers=300", "run.seed=4"], {"population.consumers": 300, "run.days": None,
                                                                   "run.seed": None}) == \
        ["population.consumers=300", "run.seed=4", "population.consumers=300"]
    # --consumers used to win silently over --set population.consumers, whatever the order
    with pytest.raises(ConfigError, match="population.consumers: --set population.consumers=5000 and the flag's 300 "
                                          "disagree"):
        with_flags(["population.consumers=5000"], {"population.consumers": 300})


def test_the_cli_refuses_a_flag_that_disagrees_with_a_set(capsys):
    from sim.cli import main
    code = main(["run", "baseline", "--consumers", "300", "--set", "population.consumers=5000", "--days", "5"])
    assert code == 2 and "disagree" in capsys.readouterr().err


# --------------------------------------------------------------------------- robust inputs (issue 9)
# Every bad input is a ConfigError (a one-line message naming the file or key, never the
# content of a file) before the first simulated day; tests/test_inputs_fuzz.py fuzzes the
# same contract through the command line.


def config_error(*args, **kwargs) -> str:
    """The message of the ConfigError that ``load_config(*args, **kwargs)`` raises (one line)."""
    with time_limit(), pytest.raises(ConfigError) as err:
        load_config(*args, **kwargs)
    message = str(err.value)
    assert "\n" not in message and message.isprintable(), message
    return message


def test_a_scenario_path_that_is_a_directory_is_refused(tmp_path):
    """``mkdir d.toml; sim run d.toml`` used to raise IsADirectoryError."""
    (tmp_path / "d.toml").mkdir()
    assert config_error(tmp_path / "d.toml") == f"{tmp_path / 'd.toml'}: is a directory, not a scenario file"
    child = write(tmp_path, "child", 'extends = "d"\n')   # a parent that is a directory, too
    assert "is a directory, not a scenario file" in config_error(child)


def test_a_scenario_file_that_is_not_utf8_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('extends = "baseline"\ndescription = "caf\u00e9 CANARY"\n'.encode("latin-1"))
    message = config_error(path)
    assert message == f"{path}, line 2: the scenario file is not UTF-8 text"


@pytest.mark.parametrize("where", ["stat", "open"])
def test_an_unreadable_scenario_file_is_refused(tmp_path, monkeypatch, where):
    path = write(tmp_path, "secret", 'extends = "baseline"\n')
    if where == "open":
        refuse_to_open(monkeypatch, path)
    else:   # a file in a directory one may not search
        real_stat = os.stat

        def refuse_stat(file, *args, **kwargs):
            if os.fspath(file) == os.fspath(path):
                raise PermissionError(13, "Permission denied")
            return real_stat(file, *args, **kwargs)

        monkeypatch.setattr(os, "stat", refuse_stat)
    assert config_error(path) == f"{path}: cannot read the scenario file (permission denied)"


def test_a_fifo_is_refused_by_its_type_without_opening_it(tmp_path, monkeypatch):
    """Opening a FIFO blocks until a writer comes: it used to hang ``sim run``."""
    path = tmp_path / "pipe.toml"
    os.mkfifo(path)
    refuse_to_open(monkeypatch, path, AssertionError("the FIFO was opened"))
    message = config_error(path)
    assert message == f"{path}: not a regular file (a FIFO, device or socket); the scenario file must be a regular file"


def test_an_oversized_scenario_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from sim.config import MAX_SCENARIO_BYTES
    path = tmp_path / "huge.toml"
    with open(path, "wb") as handle:   # a sparse file: its size, without writing it
        handle.truncate(MAX_SCENARIO_BYTES + 1)
    refuse_to_open(monkeypatch, path, AssertionError("the oversized file was opened"))
    assert MAX_SCENARIO_BYTES == 1 << 20
    assert config_error(path) == f"{path}: the scenario file is 1,048,577 bytes, over the limit of 1,048,576 bytes"
    # at the limit it is read (and here refused for its content, not its size)
    monkeypatch.undo()
    with open(path, "r+b") as handle:
        handle.truncate(MAX_SCENARIO_BYTES)
    assert "invalid TOML" in config_error(path)


def chain(tmp_path, files: int) -> Path:
    """``files`` scenario files, each extending the next, the last one the baseline."""
    for i in range(files):
        parent = f"c{i + 1}" if i + 1 < files else "baseline"
        write(tmp_path, f"c{i}", f'extends = "{parent}"\n')
    return tmp_path / "c0.toml"


def test_a_long_extends_chain_is_refused_at_the_cap(tmp_path):
    """A chain of a thousand files used to raise RecursionError."""
    from sim.config import MAX_EXTENDS_DEPTH
    assert MAX_EXTENDS_DEPTH == 32
    message = config_error(chain(tmp_path, 1000))
    assert message.startswith(f"{tmp_path / 'c0.toml'}: its 'extends' chain is longer than 32 files")
    # the cap counts every file: 31 of ours and the baseline load, 32 and the baseline do not
    (tmp_path / "short").mkdir()
    assert load_config(chain(tmp_path / "short", MAX_EXTENDS_DEPTH - 1)).run.burn_in_days == 1460
    (tmp_path / "long").mkdir()
    assert "longer than 32 files" in config_error(chain(tmp_path / "long", MAX_EXTENDS_DEPTH))


@pytest.mark.parametrize("value, shown", [("5", "got 5"), ('"flood"', "got 'flood'"), ("true", "got True"),
                                          ("{kind = 'income'}", "got a table")])
def test_shocks_that_are_not_a_list_name_the_key(value, shown):
    """``--set shocks=5`` used to raise TypeError in parse_shocks."""
    message = config_error("baseline", [f"shocks={value}"])
    assert message.startswith("--set shocks: shocks: expected a list of shock tables") and shown in message


@pytest.mark.parametrize("value", ["[5]", '["income"]', "[[1, 2]]", "[true]", '[{kind = "income", start = "2026-03-01", days = 5}, 7]'])
def test_a_shock_that_is_not_a_table_names_its_position(value):
    message = config_error("baseline", [f"shocks={value}"])
    assert "expected a table with kind, start and end or days" in message and "shocks[" in message


def test_shocks_in_a_file_must_be_a_list_of_tables(tmp_path):
    assert "shocks must be a list of [[shocks]] tables" in config_error(write(tmp_path, "s", 'extends = "baseline"\nshocks = 5\n'))
    assert "shocks[1]: expected a table" in config_error(write(tmp_path, "t", 'extends = "baseline"\nshocks = [{kind = "income", start = 2026-03-01, days = 5, size = -0.1}, "x"]\n'))


SHOCK = 'start = "2026-03-01"\ndays = 10\n'


@pytest.mark.parametrize("table, words", [
    # the treated share of a credit-line experiment used to be compared unchecked: a TypeError
    (f'kind = "credit_limit_experiment"\n{SHOCK}size = 0.5\nshare = "half"', ["share = 'half': expected a number in (0, 1)"]),
    (f'kind = "credit_limit_experiment"\n{SHOCK}size = 0.5\nshare = true', ["share = True: expected a number in (0, 1)"]),
    (f'kind = "credit_limit_experiment"\n{SHOCK}size = 0.5\nshare = [0.5]', ["share = [0.5]: expected a number"]),
    (f'kind = "credit_limit_experiment"\n{SHOCK}size = 0.5\nshare = 1.5', ["share = 1.5: expected a number in (0, 1)"]),
    (f'kind = "credit_limit_experiment"\n{SHOCK}size = 0.5\nshare = 0', ["share = 0: expected a number in (0, 1)"]),
    (f'kind = "credit_limit_experiment"\n{SHOCK}size = 0.5\nshare = nan', ["share = nan: expected a number in (0, 1)"]),
    # an enormous duration used to raise OverflowError (date + timedelta)
    ('kind = "income"\nstart = "2026-03-01"\ndays = 1000000000000000\nsize = -0.1',
     ["days = 1000000000000000: expected a whole number of days in [1, 365] (run.days)"]),
    ('kind = "income"\nstart = "2026-03-01"\ndays = 1' + "0" * 400 + '\nsize = -0.1',
     ["days = a 401-digit integer: expected a whole number of days in [1, 365]"]),
    ('kind = "income"\nstart = "2026-03-01"\ndays = 1.5\nsize = -0.1', ["days = 1.5: expected a whole number"]),
    ('kind = "income"\nstart = "2026-03-01"\ndays = "ten"\nsize = -0.1', ["days = 'ten': expected a whole number"]),
    ('kind = "income"\nstart = 9999-12-31\ndays = 5\nsize = -0.1', ["start = 9999-12-31 is outside the recorded window"]),
    ('kind = "income"\nstart = 20260301\ndays = 5\nsize = -0.1', ["start = 20260301 is not a date"]),
    ('kind = "income"\nstart = ["2026-03-01"]\ndays = 5\nsize = -0.1', ["start = a list of 1 item is not a date"]),
    ('kind = "income"\nstart = "2026-03-01"\nend = {date = 1}\nsize = -0.1', ["end = a table is not a date"]),
    ('kind = "income"\nstart = "2026-02-29"\ndays = 5\nsize = -0.1', ["start = '2026-02-29' is not a date"]),
    (f'kind = "income"\n{SHOCK}size = [0.1]', ["size = [0.1]: expected a finite number"]),
    (f'kind = "scf_freeze"\n{SHOCK}size = 1' + "0" * 400, ["size = a 401-digit integer: expected a finite number"]),
    # lists and tables where names belong used to raise TypeError (unhashable)
    (f'kind = ["income"]\n{SHOCK}size = -0.1', ["kind = a list of 1 item is not a shock kind"]),
    (f'kind = {{a = 1}}\n{SHOCK}size = -0.1', ["kind = a table is not a shock kind"]),
    (f'kind = "credit_tightening"\n{SHOCK}size = -0.1\nlender = ["baitiao"]', ["lender = a list of 1 item: expected a lender's name"]),
    (f'kind = "credit_tightening"\n{SHOCK}size = -0.1\nlender = 5', ["lender = 5: expected a lender's name"]),
    (f'kind = "model_update"\n{SHOCK}feature = ["dpd_30"]\nweight = 1', ["feature = a list of 1 item is not a score feature"]),
    (f'kind = "model_update"\n{SHOCK}feature = "dpd_30"\nweight = "heavy"', ["weight = 'heavy': expected a finite number in [-100, 100]"]),
    (f'kind = "model_update"\n{SHOCK}feature = "dpd_30"\nweight = 1' + "0" * 400, ["weight = a 401-digit integer"]),
    (f'kind = "model_update"\n{SHOCK}feature = "dpd_30"\nweight = 1e300', ["weight = 1e+300: expected a finite number in [-100, 100]"]),
    (f'kind = "limit_hold"\n{SHOCK}cause = ["review"]', ["cause = a list of 1 item: expected one of review"]),
    (f'kind = "supplier_failure"\n{SHOCK}target = {{id = 3}}', ["target = a table: expected a merchant id"]),
    (f'kind = "supplier_failure"\n{SHOCK}target = 2.0', ["target = 2.0: expected a merchant id (a whole number >= 0)"]),
    (f'kind = "supplier_failure"\n{SHOCK}target = -1', ["target = -1: expected a merchant id"]),
    (f'kind = "supplier_failure"\n{SHOCK}target = "wholesaler"', ["target = 'wholesaler': expected a merchant id"]),
])
def test_shock_keys_of_a_wrong_type_or_range_name_the_key(tmp_path, table, words):
    path = write(tmp_path, "shock", f'extends = "baseline"\n[[shocks]]\n{table}\n')
    message = config_error(path)
    assert message.startswith(f"{path}: shocks[0]: ")
    for word in words:
        assert word in message


@pytest.mark.parametrize("target", [100, 99999, 10**30])
def test_a_supplier_failure_target_beyond_the_generated_merchants_is_refused_at_load(target):
    """It used to be a ValueError on the shock's day, after the burn-in."""
    message = config_error("baseline", [f'shocks=[{{kind="supplier_failure", start="2026-03-01", days=1, '
                                        f'target={target}}}]'])
    assert message == (f"shocks[0]: target = {target}: not a merchant id; the supply network has 100 merchants "
                       f"(ids 0 to 99)")
    assert load_config("baseline", ['shocks=[{kind="supplier_failure", start="2026-03-01", days=1, target=99}]'])


@pytest.mark.parametrize("target, words", [
    ("7", "target = 7: not a merchant id; the supply network {path} has 7 merchants (ids 0 to 6)"),
    ("123456", "target = 123456: not a merchant id"),
    ('"distributor"', "target = 'distributor': the supply network {path} has no distributor"),
])
def test_a_supplier_failure_target_not_in_a_loaded_network_is_refused_before_any_day(tmp_path, target, words):
    """With network.path the merchants are known once the network is read: the model refuses
    the shock when it is built, before the burn-in."""
    from sim import CreditModel
    path = tmp_path / "net.csv"
    (tmp_path / "net.nodes.csv").write_text("id,tier\n" + "".join(f"r{i},retailer\n" for i in range(6))
                                            + "maker,manufacturer\n")
    path.write_text("supplier,buyer,weight\n" + "".join(f"maker,r{i},1\n" for i in range(6)))
    cfg = load_config("baseline", ["population.consumers=100", "run.days=5", "run.burn_in_days=0",
                                   f"network.path={path}",
                                   f'shocks=[{{kind="supplier_failure", start="2026-01-03", days=1, target={target}}}]'])
    with pytest.raises(ConfigError) as err:
        CreditModel(cfg)
    assert words.format(path=path) in str(err.value)


def test_every_integer_parameter_has_an_upper_bound():
    """An enormous count or number of days is a range error naming the key, not a MemoryError
    or an OverflowError in numpy's int64 arithmetic."""
    unbounded = [path for path, f, _ in iter_params() if f.type == "int" and f.metadata.get("hi") is None]
    assert unbounded == []


@pytest.mark.parametrize("key", ["population.consumers", "population.merchants", "run.burn_in_days", "run.seed",
                                 "lenders.baitiao.reestimate_sample", "merchants.entry_delay_days",
                                 "lenders.huabei.raise_cooldown_days"])
@pytest.mark.parametrize("digits", [19, 30, 401])
def test_huge_integers_are_range_errors(tmp_path, key, digits):
    huge = "9" * digits
    assert "is out of range [" in config_error("baseline", [f"{key}={huge}"])
    section, name = key.rsplit(".", 1)
    path = write(tmp_path, "huge", f'extends = "baseline"\n[{section}]\n{name} = {huge}\n')
    message = config_error(path)
    assert message.startswith(f"{path}: {key}: ") and "is out of range [" in message


@pytest.mark.parametrize("override, words", [
    # more digits than Python reads (4300) used to be a ValueError from tomllib
    ("population.consumers=" + "9" * 5000, ["--set population.consumers: the value has too many digits"]),
    ("consumers.income_median=1" + "0" * 400, ["consumers.income_median: a 401-digit integer is not a finite number"]),
    ("run.days=1e400", ["run.days: expected an integer, got inf"]),
    ("run.seed=" + "[" * 3000, ["--set run.seed: the value is nested too deeply"]),
    ("run.platform=huabei\nrun.seed=3", ["--set run.platform: the value must be on one line"]),
    # the calendar used to overflow (OverflowError) or fail on 29 February of a common year
    ("run.start_date=9999-12-31", ["run.start_date: 9999-12-31 puts the simulated calendar", "1900 to 2200"]),
    ("run.start_date=1899-06-01", ["outside the years 1900 to 2200"]),
    ('promotions.618.start="02-29"', ["promotions.618.start: '02-29' is not MM-DD, a day of every year"]),
    ('promotions.618.start="6-01"', ["promotions.618.start: '6-01' is not MM-DD"]),
    ("consumers.instalment_months=[3, 1" + "0" * 400 + "]", ["consumers.instalment_months: expected a list of 1 to 12"]),
    ("consumers.instalment_months=[3, true]", ["consumers.instalment_months: expected a list"]),
    ('lenders.baitiao.initial_weights=["a", 1, 1, 1, 1, 1, 1, 1, 1]', ["lenders.baitiao.initial_weights: expected 9 numbers"]),
    ("lenders.baitiao.initial_weights=[1e300, 1, 1, 1, 1, 1, 1, 1, 1]", ["expected 9 numbers in [-100, 100]"]),
    ("consumers.target_utilisation_impatient=[true, true]", ["consumers.target_utilisation_impatient: expected [low, high]"]),
])
def test_values_that_used_to_escape_as_other_exceptions(override, words):
    message = config_error("baseline", [override])
    for word in words:
        assert word in message


@pytest.mark.parametrize("text, words", [
    ("", ["the scenario file is empty"]),
    ("  \n\n", ["the scenario file is empty"]),
    ('\ufeffextends = "baseline"\n', ["starts with a byte-order mark"]),
    ('extends = "baseline"\nx = ' + "[" * 100_000, ["arrays or tables nested too deeply"]),
    ('extends = "baseline"\n[run]\nseed = ' + "9" * 5000 + "\n", ["a number with too many digits"]),
    ('extends = "baseline"\ndescription = 5\n', ["description: expected a string, got 5"]),
    ('extends = ""\n', ["extends must be a scenario name, got ''"]),
    ('extends = ["baseline"]\n', ["extends must be a scenario name, got a list of 1 item"]),
    # a quoted key may hold a line break; a long one is cut short
    ('extends = "baseline"\n"a\\nb" = 1\n', ["'a\\nb': unknown key"]),
    ('extends = "baseline"\n' + "k" * 100_000 + " = 1\n", ["'kkkkkkkkkk", "...': unknown key"]),
    ('extends = "baseline"\n' + "k" * 100_000 + " = \n", ["invalid TOML: Invalid value (at line 2, column 100004)"]),
])
def test_malformed_scenario_files_give_one_line_messages(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    message = config_error(path)
    assert message.startswith(str(path)) and len(message) < 600
    for word in words:
        assert word in message


def test_a_config_error_is_always_one_line():
    assert str(ConfigError("a\nb\x00c\u2028d 中文")) == "a\\nb\\x00c\\u2028d 中文"
    path = "a\nb.toml"
    assert "\n" not in config_error(path)


# ------------------------------------------------------------ the input-file reader, edge by edge


def test_the_reader_names_the_line_of_a_bad_byte_counting_from_the_top(tmp_path):
    from sim.inputs import read_input_file
    path = tmp_path / "s.toml"
    path.write_bytes(b"\nx = 1\ny = '\xff'\nz = 2\nw = 3\n")   # a blank first line; lines after the bad one
    with pytest.raises(ConfigError, match=r"s.toml, line 3: the scenario file is not UTF-8 text$"):
        read_input_file(path, "scenario file", 100)


def test_the_reader_reads_a_file_of_exactly_the_limit_whole(tmp_path):
    from sim.inputs import read_input_file
    path = tmp_path / "s.toml"
    path.write_text("x = 12345\n")   # 10 bytes
    assert read_input_file(path, "scenario file", 10) == "x = 12345\n"
    with pytest.raises(ConfigError, match="is 10 bytes, over the limit of 9 bytes"):
        read_input_file(path, "scenario file", 9)


def test_the_reader_checks_again_what_it_opened(tmp_path, monkeypatch):
    """A file that grows, or is swapped for a folder, between the check and the read (the
    check is skipped here to stand for that race) is still refused, by name."""
    import sim.inputs
    from sim.inputs import read_input_file
    monkeypatch.setattr(sim.inputs, "check_input_path", lambda *args: None)
    path = tmp_path / "s.toml"
    path.write_text("x = 123456789\n")
    with pytest.raises(ConfigError, match=r"s.toml: the scenario file is over the limit of 5 bytes$"):
        read_input_file(path, "scenario file", 5)
    fifo = tmp_path / "f.toml"
    os.mkfifo(fifo)
    with time_limit(), pytest.raises(ConfigError, match=f"^{fifo}: not a regular file .*; the scenario file must "
                                                        "be a regular file$"):
        read_input_file(fifo, "scenario file", 5)   # opened without blocking, refused by its type
    monkeypatch.undo()
    folder = tmp_path / "d.toml"
    folder.mkdir()
    with pytest.raises(ConfigError, match=f"^{folder}: is a directory, not a scenario file$"):
        read_input_file(folder, "scenario file", 5)
    with pytest.raises(ConfigError, match=f"^{folder}: is a directory, not an input file$"):
        read_input_file(folder, "input file", 5)


def test_the_reader_words_the_system_refusals(tmp_path):
    import errno
    from sim.inputs import _reason, check_input_path
    assert _reason(PermissionError(errno.EACCES, "Permission denied")) == "permission denied"
    assert _reason(OSError(errno.EIO, "Input/output error")) == "input/output error"
    assert _reason(OSError()) == "oserror"
    with pytest.raises(ConfigError, match=r"a\\x00b.toml: not a valid file path for the scenario file$"):
        check_input_path(tmp_path / "a\x00b.toml", "scenario file", 100)
