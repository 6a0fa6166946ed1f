"""``sim compare``: paired counterfactual runs on common random numbers, their table,
intervals, files and errors."""

from __future__ import annotations

import dataclasses
import math
import sys

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.compare import (MEASURES, Comparison, measures_for, monthly_ratio, paired_interval, peak_ratio,
                         run_comparison, summarise)
from sim.config import ConfigError
from sim.outputs import COLUMNS

SETS = ["run.burn_in_days=30"]
KW = dict(overrides=SETS, consumers=300, merchants=6, days=90)
SMALL = ["--consumers", "300", "--merchants", "6", "--set", "run.burn_in_days=30", "--days", "90"]
TABLE_COLUMNS = ["measure", "label", "unit", "base_mean", "scenario_mean", "diff_mean", "ci_low", "ci_high",
                 "rel_diff", "seeds"]
SHOCK_START = "2026-02-01"


@pytest.fixture(scope="module")
def tightened(tmp_path_factory) -> str:
    """A scenario that differs from the baseline only by a strong credit tightening from February."""
    path = tmp_path_factory.mktemp("scenarios") / "tightened.toml"
    path.write_text(f'extends = "baseline"\n[[shocks]]\nkind = "credit_tightening"\n'
                    f'start = "{SHOCK_START}"\ndays = 59\nsize = -0.6\n')
    return str(path)


@pytest.fixture(scope="module")
def six_seeds(tightened):
    return run_comparison(tightened, "baseline", seeds=6, **KW)


@pytest.fixture(scope="module")
def three_seeds(tightened):
    return sim.compare(tightened, "baseline", seeds=3, **KW)


def row(table: pd.DataFrame, measure: str) -> pd.Series:
    match = table[table["measure"] == measure]
    assert len(match) == 1, measure
    return match.iloc[0]


# --------------------------------------------------------------------------- statistics


def test_paired_interval_is_the_t_interval_of_the_differences():
    mean, low, high = paired_interval([0.5, 1.5, -0.5, 2.5])
    # mean 1, sample sd sqrt(5/3), n 4, t(0.975, 3) = 3.182446305284263 (tables)
    half = 3.182446305284263 * math.sqrt(5 / 3) / 2
    assert mean == 1.0
    assert low == pytest.approx(1.0 - half, rel=1e-12) and high == pytest.approx(1.0 + half, rel=1e-12)
    assert high - low == pytest.approx(4.108521, abs=1e-6)
    _, low90, high90 = paired_interval([0.5, 1.5, -0.5, 2.5], level=0.90)   # t(0.95, 3) = 2.353363434801823
    assert high90 - 1.0 == pytest.approx(2.353363434801823 * math.sqrt(5 / 3) / 2, rel=1e-12)
    assert paired_interval([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)                 # no variance, no width
    one = paired_interval([3.5])
    assert one[0] == 3.5 and math.isnan(one[1]) and math.isnan(one[2])        # one seed: undefined
    with pytest.raises(ValueError):
        paired_interval([])


def test_table_from_hand_made_paired_runs():
    per_seed = pd.DataFrame({
        "measure": ["sales"] * 3 + ["cuts"] * 3, "label": ["s"] * 3 + ["c"] * 3,
        "unit": ["yuan"] * 3 + ["count"] * 3, "seed": [1, 2, 3] * 2,
        "base": [100.0, 110.0, 90.0, 0.0, 0.0, 0.0], "scenario": [90.0, 102.0, 78.0, 4.0, 6.0, 5.0],
    })
    table = summarise(per_seed)
    assert list(table.columns) == TABLE_COLUMNS and list(table["measure"]) == ["sales", "cuts"]
    sales = row(table, "sales")
    # differences -10, -8, -12: mean -10, sd 2, t(0.975, 2) = 4.302652729749464
    half = 4.302652729749464 * 2 / math.sqrt(3)
    assert sales["base_mean"] == 100.0 and sales["scenario_mean"] == 90.0 and sales["diff_mean"] == -10.0
    assert sales["ci_low"] == pytest.approx(-10 - half, rel=1e-12)
    assert sales["ci_high"] == pytest.approx(-10 + half, rel=1e-12)
    assert sales["rel_diff"] == pytest.approx(-0.1, rel=1e-12) and sales["seeds"] == 3
    assert math.isnan(row(table, "cuts")["rel_diff"])          # base mean 0: no relative difference


def hand_made_comparison() -> Comparison:
    """Two seeds over four days that straddle a month end (30 and 31 January, 1 and 2 February)."""
    dates = pd.date_range("2026-01-30", periods=4).to_numpy()
    daily = {"delinq_30_rate": {"base": np.array([[1.0, 3.0, 2.0, 2.0], [1.0, 1.0, 1.0, 1.0]]),
                                "scenario": np.array([[2.0, 2.0, 6.0, 2.0], [1.0, 1.0, 1.5, 1.5]])}}
    return Comparison("s", "b", [7, 8], ("2026-01-30", "2026-02-02"), ("2026-01-30", "2026-02-02"), [],
                      pd.DataFrame(), pd.DataFrame(), dates, daily, [])


def test_monthly_and_peak_ratio_compare_each_seed_with_its_own_base_month_by_month():
    ratios = monthly_ratio(hand_made_comparison(), "delinq_30_rate")
    # seed 7: January 2/2, February 4/2; seed 8: January 1/1, February 1.5/1
    assert [str(m) for m in ratios.index] == ["2026-01", "2026-02"] and list(ratios.columns) == [7, 8]
    assert ratios[7].tolist() == [1.0, 2.0] and ratios[8].tolist() == [1.0, 1.5]
    peak = peak_ratio(hand_made_comparison(), "delinq_30_rate")
    # peaks 2.0 and 1.5: mean 1.75, sd sqrt(0.125), t(0.975, 1) = 12.706204736174694
    half = 12.706204736174694 * math.sqrt(0.125) / math.sqrt(2)
    assert peak["peak_ratio"] == 1.75 and peak["per_seed"] == [2.0, 1.5] and peak["month"] == "2026-02"
    assert peak["ci_low"] == pytest.approx(1.75 - half, rel=1e-12)
    assert peak["ci_high"] == pytest.approx(1.75 + half, rel=1e-12)
    assert peak["ratios"].equals(ratios)
    # another confidence level: t(0.75, 1) = 1
    narrow = peak_ratio(hand_made_comparison(), "delinq_30_rate", level=0.5)
    assert narrow["ci_low"] == pytest.approx(1.75 - math.sqrt(0.125) / math.sqrt(2), rel=1e-12)
    comp = hand_made_comparison()
    comp.daily["retail_sales"] = comp.daily["delinq_30_rate"]
    with pytest.raises(KeyError, match="no daily series 'charge_offs' \\(kept: delinq_30_rate, retail_sales\\)"):
        monthly_ratio(comp, "charge_offs")


def test_measure_table_expands_causes_and_skips_missing_optional_columns():
    columns = ["date", "retail_sales", "unemployment_rate", "delinq_30_rate", "charge_offs", "limit_cuts",
               "limit_cuts_review", "limit_cuts_macro", "limit_cuts_huabei", "layoffs"]
    names = [m.name for m in measures_for(columns)]
    assert "limit_cuts_review" in names and "limit_cuts_macro" in names
    assert "limit_cuts_huabei" not in names                    # another lender's column, not a cause
    assert "layoffs" in names and "hires" not in names and "vacancies" not in names
    with pytest.raises(KeyError, match="retail_sales"):
        measures_for([c for c in columns if c != "retail_sales"])   # a required column is missing
    assert {"hires", "vacancies", "layoffs"} <= {m.name for m in MEASURES if m.optional}


# --------------------------------------------------------------------------- paired runs


def test_identical_scenarios_differ_by_exactly_zero():
    table = sim.compare("baseline", "baseline", seeds=2, **KW)   # the package attribute is callable
    assert list(table.columns) == TABLE_COLUMNS
    assert (table["diff_mean"] == 0).all() and (table["ci_low"] == 0).all() and (table["ci_high"] == 0).all()
    assert (table["base_mean"] == table["scenario_mean"]).all() and (table["seeds"] == 2).all()
    assert row(table, "retail_sales")["base_mean"] > 0
    assert row(table, "limit_cuts_review")["base_mean"] > 0    # the zeros are not empty measures
    expected_causes = {c for c in COLUMNS if c.startswith("limit_cuts_")}
    assert expected_causes <= set(table["measure"])
    for optional in ("layoffs", "hires", "vacancies"):
        assert (optional in set(table["measure"])) == (optional in COLUMNS)
    assert callable(sim.compare) and sim.compare is sys.modules["sim.compare"]


def test_a_tightening_adds_macro_cuts(six_seeds):
    table, per_seed = six_seeds.table, six_seeds.per_seed
    macro = row(table, "limit_cuts_macro")
    assert macro["diff_mean"] > 0 and macro["ci_low"] > 0 and macro["scenario_mean"] > macro["base_mean"]
    assert row(table, "limit_cuts")["diff_mean"] > 0
    assert row(table, "accounts_cut")["diff_mean"] > 0
    assert six_seeds.seeds == [20260101 + k for k in range(6)]        # from the base's run.seed
    cuts = per_seed[per_seed["measure"] == "limit_cuts_macro"]
    assert list(cuts["seed"]) == six_seeds.seeds
    assert (cuts["diff"] == cuts["scenario"] - cuts["base"]).all()
    assert macro["diff_mean"] == cuts["diff"].mean()
    # the daily series of the figure: identical before the shock (common random numbers)
    dates = pd.to_datetime(six_seeds.dates)
    before = dates < pd.Timestamp(SHOCK_START)
    cut_days = six_seeds.daily["limit_cuts"]
    assert np.array_equal(cut_days["base"][:, before], cut_days["scenario"][:, before])
    assert (cut_days["scenario"][:, ~before].sum() > cut_days["base"][:, ~before].sum())


def test_intervals_shrink_with_more_seeds(six_seeds, three_seeds):
    half3 = ((three_seeds["ci_high"] - three_seeds["ci_low"]) / 2).to_numpy()
    half6 = ((six_seeds.table["ci_high"] - six_seeds.table["ci_low"]) / 2).to_numpy()
    assert list(three_seeds["measure"]) == list(six_seeds.table["measure"])
    sales = list(three_seeds["measure"]).index("retail_sales")
    assert half3[sales] > 0 and half6[sales] > 0   # (one measure's interval may widen by chance)
    # t(0.975, 5)/sqrt(6) is 0.42 times t(0.975, 2)/sqrt(3): the sd of a small sample varies, but
    # most measures with any variance get a narrower interval from the three extra seeds
    varying = (half3 > 0) & (half6 > 0)
    assert varying.sum() >= 5 and np.median(half6[varying] / half3[varying]) < 1
    assert (three_seeds["seeds"] == 3).all() and (six_seeds.table["seeds"] == 6).all()
    # the three-seed runs are the first three of the six: the same table from their rows
    first3 = six_seeds.per_seed[six_seeds.per_seed["seed"].isin(six_seeds.seeds[:3])]
    pd.testing.assert_frame_equal(summarise(first3), three_seeds, check_exact=True)


def test_two_workers_give_the_same_table_bit_for_bit(tightened, three_seeds):
    parallel = sim.compare(tightened, "baseline", seeds=3, workers=2, **KW)
    pd.testing.assert_frame_equal(parallel, three_seeds, check_exact=True)


def test_measurement_window(tightened, six_seeds):
    before = sim.compare(tightened, "baseline", seeds=2, date_to="2026-01-31", **KW)
    assert (before["diff_mean"] == 0).all()                   # nothing differs before the shock
    assert row(before, "retail_sales")["base_mean"] > 0
    after = sim.compare(tightened, "baseline", seeds=2, date_from=SHOCK_START, **KW)
    assert row(after, "limit_cuts_macro")["diff_mean"] > 0
    # the two windows split the horizon: their totals add up to the whole run's (same seeds)
    whole = summarise(six_seeds.per_seed[six_seeds.per_seed["seed"].isin(six_seeds.seeds[:2])])
    for measure in ("limit_cuts", "limit_cuts_review", "charge_offs"):
        for col in ("base_mean", "scenario_mean"):
            assert row(before, measure)[col] + row(after, measure)[col] == row(whole, measure)[col]
    for col in ("base_mean", "scenario_mean"):
        assert row(before, "retail_sales")[col] + row(after, "retail_sales")[col] == \
            pytest.approx(row(whole, "retail_sales")[col], rel=1e-12)
    with pytest.raises(ConfigError, match=r"date_from 2026-05-01: outside .* 2026-01-01 to 2026-03-31"):
        sim.compare(tightened, "baseline", seeds=2, date_from="2026-05-01", **KW)
    with pytest.raises(ConfigError, match="date_from 2026-03-01 is after date_to 2026-02-01"):
        sim.compare(tightened, "baseline", seeds=2, date_from="2026-03-01", date_to="2026-02-01", **KW)
    with pytest.raises(ConfigError, match="date_to 'March': not an ISO date"):
        sim.compare(tightened, "baseline", seeds=2, date_to="March", **KW)


def test_scenarios_on_different_calendars_are_refused(tmp_path):
    other = tmp_path / "later.toml"
    other.write_text('extends = "baseline"\n[run]\nstart_date = "2026-02-01"\n')
    with pytest.raises(ConfigError, match="run.start_date"):
        sim.compare(str(other), "baseline", seeds=2, **KW)


# --------------------------------------------------------------------------- command line


def test_cli_writes_table_seeds_and_figure(tightened, six_seeds, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", tightened, "--against", "baseline", "--seeds", "2", "--out", str(out), *SMALL]) == 0
    printed = capsys.readouterr().out
    assert "tightened minus baseline: 2 paired runs" in printed
    assert "limit_cuts_macro" in printed and "95% CI" in printed
    table = pd.read_csv(out / "compare.csv")
    first2 = six_seeds.per_seed[six_seeds.per_seed["seed"].isin(six_seeds.seeds[:2])]
    pd.testing.assert_frame_equal(table, summarise(first2), check_exact=True)   # same runs, same table
    seeds = pd.read_csv(out / "compare_seeds.csv")
    assert list(seeds.columns) == ["measure", "label", "unit", "seed", "base", "scenario", "diff"]
    assert len(seeds) == 2 * len(table) and set(seeds["seed"]) == set(six_seeds.seeds[:2])
    png = (out / "compare.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 30_000


def test_cli_with_one_seed_prints_nan(tmp_path, capsys):
    out = tmp_path / "one"
    code = main(["compare", "baseline", "--against", "baseline", "--seeds", "1", "--out", str(out),
                 "--consumers", "300", "--merchants", "6", "--set", "run.burn_in_days=30", "--days", "45"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "NaN" in printed and "undefined" in printed
    table = pd.read_csv(out / "compare.csv")
    assert table["ci_low"].isna().all() and table["ci_high"].isna().all() and (table["seeds"] == 1).all()
    assert (out / "compare.png").stat().st_size > 0


def test_cli_errors_exit_2_before_any_run(tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["compare", "no_such_scenario", "--against", "baseline", "--out", str(out), *SMALL]) == 2
    assert "unknown scenario 'no_such_scenario'" in capsys.readouterr().err
    assert main(["compare", "baseline", "--against", "no_such_base", "--out", str(out), *SMALL]) == 2
    assert "unknown scenario 'no_such_base'" in capsys.readouterr().err
    assert main(["compare", "baseline", "--against", "baseline", "--from", "2027-01-01", "--out", str(out),
                 *SMALL]) == 2
    err = capsys.readouterr().err
    assert "--from 2027-01-01" in err and "2026-01-01 to 2026-03-31" in err
    assert main(["compare", "baseline", "--against", "baseline", "--set", "consumers.propensity_mean=7",
                 "--out", str(out), *SMALL]) == 2
    err = capsys.readouterr().err
    assert "consumers.propensity_mean" in err and "out of range" in err
    assert main(["compare", "baseline", "--against", "baseline", "--seeds", "0", "--out", str(out), *SMALL]) == 2
    assert "--seeds" in capsys.readouterr().err
    assert main(["compare", "baseline", "--against", "baseline", "--workers", "0", "--out", str(out),
                 *SMALL]) == 2
    assert "--workers" in capsys.readouterr().err
    assert not out.exists()                                   # nothing ran, nothing written


# --------------------------------------------------------------------------- shared days (fork)


def _fingerprint(model) -> tuple:
    frames = model.results()
    return (frames["timeseries"].to_csv(), frames["limit_changes"].to_csv(),
            repr(model.supply.failure_rows))


FORK_SETS = ["population.consumers=2000", "population.merchants=30", "run.days=300", "run.burn_in_days=60"]


@pytest.mark.parametrize("scenario", ["platform_tightening", "tightening"])
def test_a_fork_before_the_first_shock_is_the_scenario_run_itself(scenario):
    from sim.model import CreditModel
    from sim.shocks import divergence_day

    base = CreditModel(sim.load_config("baseline", FORK_SETS))
    cfg = sim.load_config(scenario, FORK_SETS)
    day = divergence_day(base.cfg.shocks, cfg.shocks)
    assert day == 59                                   # 1 March, the shocks' start
    base.run(until=day)
    assert base.t == day
    twin = base.fork(cfg)
    assert twin.cfg.name == cfg.name and twin.cfg.shocks == cfg.shocks
    base.run()
    assert _fingerprint(twin.run()) == _fingerprint(CreditModel(cfg).run())
    assert _fingerprint(base) == _fingerprint(CreditModel(sim.load_config("baseline", FORK_SETS)).run())


def test_a_fork_that_would_change_the_past_or_more_than_shocks_is_refused(tmp_path):
    from sim.model import CreditModel

    base = CreditModel(sim.load_config("baseline", FORK_SETS))
    base.run(until=70)
    with pytest.raises(ValueError, match="differ from day 59, before today"):
        base.fork(sim.load_config("platform_tightening", FORK_SETS))
    with pytest.raises(ValueError, match="more than its shocks"):
        base.fork(sim.load_config("baseline", [*FORK_SETS, "consumers.propensity_mean=0.25"]))
    promo = tmp_path / "promo.toml"
    promo.write_text('extends = "baseline"\n[[shocks]]\nkind = "promotion"\nstart = "2026-09-01"\ndays = 3\n'
                     'size = 0.5\n')
    with pytest.raises(ValueError, match="promotion"):
        base.fork(sim.load_config(str(promo), FORK_SETS))


def test_divergence_day_is_the_first_start_of_a_shock_only_one_schedule_has():
    from sim.shocks import Shock, divergence_day, shares_early_days

    a = Shock("credit_tightening", 40, 80, -0.4, "baitiao")
    b = Shock("unemployment", 20, 60, 0.02)
    c = Shock("credit_tightening", 40, 80, -0.4, "huabei")
    assert divergence_day([a], [a]) is None
    assert divergence_day([a], [a, b]) == 20
    assert divergence_day([a, b], [b, c]) == 40
    assert divergence_day([a], [a, a]) == 40            # a second, stacked shock counts
    assert divergence_day([a], [Shock("credit_tightening", 40, 80, -0.4, "baitiao", where="x.toml")]) is None
    assert shares_early_days([a], [a, b])
    assert not shares_early_days([a], [a, Shock("settlement_delay", 90, 100, 2.0)])


def test_paired_runs_that_share_their_early_days_give_the_same_comparison(tightened):
    from sim.compare import execute_plan, plan_comparison

    plan = plan_comparison(tightened, "baseline", 2, SETS, consumers=300, merchants=6, days=90)
    assert plan.fork_day == 31                          # 1 February
    shared = execute_plan(plan)
    apart = execute_plan(dataclasses.replace(plan, fork_day=None))
    pd.testing.assert_frame_equal(shared.per_seed, apart.per_seed)
    same = plan_comparison("baseline", "baseline", 1, SETS, consumers=300, merchants=6, days=90)
    assert same.fork_day == 90                          # nothing differs: the scenario is a copy at the end


def test_paired_runs_of_configurations_that_differ_in_a_parameter_run_apart(tmp_path):
    from sim.compare import plan_comparison

    path = tmp_path / "spender.toml"
    path.write_text('extends = "baseline"\n[consumers]\npropensity_mean = 0.25\n')
    assert plan_comparison(str(path), "baseline", 1, SETS, consumers=300, merchants=6, days=90).fork_day is None
