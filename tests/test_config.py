"""Configuration: one parameter tree, scenario files with extends, clear errors."""

from __future__ import annotations

import pytest

from sim.config import Config, ConfigError, iter_params, load_config, params_table


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
])
def test_bad_shocks_name_file_and_position(tmp_path, table, words):
    path = write(tmp_path, "shock", f'extends = "baseline"\n[[shocks]]\n{table}\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    for word in words:
        assert word in str(err.value)


def test_a_new_lender_is_declared_by_its_account_share():
    cfg = load_config("baseline", ["lenders.jiebei.account_share=0.2", "lenders.jiebei.cut_hysteresis=0.3"])
    assert cfg.lender_names == ["baitiao", "huabei", "jiebei"]
    assert cfg.lenders["jiebei"].account_share == 0.2 and cfg.lenders["jiebei"].cut_hysteresis == 0.3
