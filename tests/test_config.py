"""Configuration: one parameter tree, scenario files with extends, clear errors."""

from __future__ import annotations

import pytest

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
