"""The credit-line experiment estimator (sim/experiments.py) and ``sim experiment``.

The estimator is checked on hand-made panels with known responses by band, against
values and standard errors worked out here from the definitions; the command on a tiny
model."""

from __future__ import annotations

import json
import math
import statistics

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.config import ConfigError, load_config
from sim.experiments import TABLE_COLUMNS, Experiment, as_experiment, estimate, run_experiment

MONTHS = ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
ASSIGNMENT = 1                                  # MONTHS[1] = 2025-12, the month-end before the start
EXPERIMENT = {"start": "2026-01-01", "end": "2026-05-15", "size": 0.5, "lender": "baitiao"}
MPB = [0.0, 0.15, 0.3, 0.45, 0.6]               # by band: balance response per yuan of limit change
MPC_MONTHLY = [0.02, 0.04, 0.06, 0.08, 0.1]     # by band: extra spending a month per yuan
BALANCE_NOISE = {True: [-20, -10, 10, 20], False: [-30, -10, 10, 30]}
SPENDING_NOISE = {True: [-6, -2, 2, 6], False: [-9, -3, 3, 9]}
TREND = 25.0                                    # every account's balance rises by 25 a month


def account(i: int) -> dict:
    """Account ``i`` of 40: band ``i // 8 + 1``, treated for the first four of each band."""
    band, j = i // 8, i % 8
    treated = j < 4
    return {"id": i, "band": band, "treated": treated, "limit": 1000.0 * (band + 1), "pd": 0.01 + 0.001 * i,
            "balance_noise": BALANCE_NOISE[treated][j % 4], "spending_noise": SPENDING_NOISE[treated][j % 4]}


def synthetic_panel(size: float = 0.5) -> pd.DataFrame:
    """40 experiment accounts at baitiao (treated on 2026-01-01, ``size`` x limit), 5 not in
    the experiment, and every consumer's huabei account (not in it either)."""
    rows = []
    for i in range(40):
        acc = account(i)
        b, t, limit = acc["band"], acc["treated"], acc["limit"]
        change = size * limit if t else 0.0
        balance0 = 200.0 + 7.0 * i + (300.0 if t else 0.0)        # arms differ in levels, not changes
        for k, month in enumerate(MONTHS):
            h = k - ASSIGNMENT
            after = h >= 1
            rows.append({
                "month": month, "consumer_id": i, "lender": "baitiao",
                "fixed_limit": limit + (change if after else 0.0), "temp_limit": 0.0,
                "balance": balance0 + TREND * h + ((acc["balance_noise"] + MPB[b] * change) if after else 0.0),
                # the assignment month's spending differs by arm: it must not count
                "spending": (100.0 + 50.0 * b + acc["spending_noise"] + MPC_MONTHLY[b] * change) if after
                else 700.0 + (500.0 if t else 0.0),
                "credit_spending": 0.0, "dpd": 0,
                # later PDs (here in reverse order) must not move an account's band
                "pd": acc["pd"] if h <= 0 else 0.5 - 0.001 * i,
                "income": 3000.0, "employed": True,
                "treated": t if after else None,
            })
            rows.append({**rows[-1], "lender": "huabei", "balance": 1e6 * (i + 1), "spending": rows[-1]["spending"],
                         "fixed_limit": 5000.0, "treated": None})
    for i in range(100, 105):                                  # open accounts outside the experiment
        for month in MONTHS:
            rows.append({"month": month, "consumer_id": i, "lender": "baitiao", "fixed_limit": 900.0,
                         "temp_limit": 0.0, "balance": 1e5 * i, "spending": 1e5, "credit_spending": 0.0,
                         "dpd": 0, "pd": 0.0001, "income": 3000.0, "employed": True, "treated": None})
    panel = pd.DataFrame(rows)
    panel["treated"] = panel["treated"].astype("boolean")
    return panel


def row(table: pd.DataFrame, horizon: int, band) -> pd.Series:
    hit = table[(table["horizon"] == horizon) & (table["band"] == band)]
    assert len(hit) == 1
    return hit.iloc[0]


def two_sample_se(treated, control, change: float) -> float:
    """SE of (mean T - mean C) / change with the change the same for every treated account."""
    return math.sqrt(statistics.variance(treated) / len(treated)
                     + statistics.variance(control) / len(control)) / abs(change)


# --------------------------------------------------------------------------- the estimator


def test_recovers_the_responses_by_band_and_their_standard_errors():
    table = estimate(synthetic_panel(), EXPERIMENT, horizons=(1, 3, 4))
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert len(table) == 3 * 6 and list(table["band"][:6]) == [1, 2, 3, 4, 5, "all"]
    for h in (1, 3, 4):
        for b in range(5):
            r = row(table, h, b + 1)
            change = 0.5 * 1000.0 * (b + 1)
            assert r["mpb"] == pytest.approx(MPB[b], abs=1e-12)
            assert r["mpc"] == pytest.approx(MPC_MONTHLY[b] * h, abs=1e-12)
            # within a band every treated account has the same change: the plain two-sample SE
            assert r["mpb_se"] == pytest.approx(two_sample_se(BALANCE_NOISE[True], BALANCE_NOISE[False], change),
                                                rel=1e-12)
            assert r["mpb_se"] == pytest.approx(math.sqrt(250.0) / change, rel=1e-12)
            assert r["mpc_se"] == pytest.approx(h * math.sqrt(80 / 3 / 4 + 60 / 4) / change, rel=1e-12)
            assert r["limit_change"] == pytest.approx(change)
            assert r["first_stage"] == pytest.approx(1.0)
            assert (r["n_treated"], r["n_control"], r["enrolled_treated"], r["enrolled_control"]) == (4, 4, 4, 4)
            assert r["attrition_treated"] == 0 and r["attrition_control"] == 0
            assert r["pd_low"] == pytest.approx(0.01 + 0.008 * b) and r["pd_high"] == pytest.approx(0.017 + 0.008 * b)
            assert r["month"] == MONTHS[ASSIGNMENT + h] and r["note"] == ""
    assert table.attrs["accounts"] == 40


def test_all_bands_row_uses_the_delta_method():
    """Limits differ across bands, so the treated mean change is itself random: the all-bands
    SE counts its variance and its covariance with the outcome (written out term by term here)."""
    table = estimate(synthetic_panel(), EXPERIMENT, horizons=(3,))
    r = row(table, 3, "all")
    accounts = [account(i) for i in range(40)]
    t = [a for a in accounts if a["treated"]]
    c = [a for a in accounts if not a["treated"]]
    y_t = [a["balance_noise"] + TREND * 3 + MPB[a["band"]] * 0.5 * a["limit"] for a in t]
    d_t = [0.5 * a["limit"] for a in t]
    y_c = [a["balance_noise"] + TREND * 3 for a in c]
    d_bar = statistics.mean(d_t)
    beta = (statistics.mean(y_t) - statistics.mean(y_c)) / d_bar
    assert beta == pytest.approx(sum(m * 500 * (k + 1) for k, m in enumerate(MPB)) / sum(500 * (k + 1)
                                                                                          for k in range(5)))
    n_t, n_c = len(t), len(c)
    var = (statistics.variance(y_t) / n_t + statistics.variance(y_c) / n_c
           - 2 * beta * statistics.covariance(y_t, d_t) / n_t + beta ** 2 * statistics.variance(d_t) / n_t)
    assert r["mpb"] == pytest.approx(beta, rel=1e-12)
    assert r["mpb_se"] == pytest.approx(math.sqrt(var) / d_bar, rel=1e-10)
    # here the limit changes explain much of the treated outcomes' spread: a fixed-denominator
    # two-sample SE would overstate the noise
    assert r["mpb_se"] < 0.6 * two_sample_se(y_t, y_c, d_bar)
    assert (r["n_treated"], r["n_control"]) == (20, 20)


def test_a_cut_gives_the_response_per_yuan_removed():
    table = estimate(synthetic_panel(size=-0.4), {**EXPERIMENT, "size": -0.4}, horizons=(2,))
    for b in range(5):
        r = row(table, 2, b + 1)
        change = -0.4 * 1000.0 * (b + 1)
        assert r["limit_change"] == pytest.approx(change)
        assert r["d_balance_treated"] - r["d_balance_control"] == pytest.approx(MPB[b] * change, abs=1e-9)
        assert r["mpb"] == pytest.approx(MPB[b], abs=1e-12)      # balance falls by mpb per yuan cut
        assert r["mpc"] == pytest.approx(2 * MPC_MONTHLY[b], abs=1e-12)
        assert r["mpb_se"] == pytest.approx(math.sqrt(250.0) / abs(change), rel=1e-12)
        assert r["first_stage"] == pytest.approx(1.0)


def test_attrition_keeps_survivors_and_is_reported_by_arm():
    panel = synthetic_panel()
    # band 5: treated account 35 is charged off after February (gone from the March panel on);
    # control account 39 closes and reopens in February (a new account, outside the experiment)
    panel = panel[~((panel["consumer_id"] == 35) & (panel["lender"] == "baitiao") & (panel["month"] >= "2026-03"))]
    panel.loc[(panel["consumer_id"] == 39) & (panel["lender"] == "baitiao") & (panel["month"] >= "2026-02"),
              "treated"] = pd.NA
    # band 4: control account 31 misses the February month-end only (not a survivor after it)
    panel = panel[~((panel["consumer_id"] == 31) & (panel["lender"] == "baitiao") & (panel["month"] == "2026-02"))]
    table = estimate(panel, EXPERIMENT, horizons=(1, 2, 3))
    assert [row(table, h, 4)["n_control"] for h in (1, 2, 3)] == [4, 3, 3]
    assert row(table, 1, 5)[["n_treated", "n_control"]].tolist() == [4, 4]
    assert row(table, 2, 5)[["n_treated", "n_control"]].tolist() == [4, 3]
    r = row(table, 3, 5)
    assert r[["n_treated", "n_control", "enrolled_treated", "enrolled_control"]].tolist() == [3, 3, 4, 4]
    assert r["attrition_treated"] == pytest.approx(0.25) and r["attrition_control"] == pytest.approx(0.25)
    change = 2500.0
    e_t, e_c = [-20, -10, 10], [-30, -10, 10]                 # the survivors' noise
    assert r["mpb"] == pytest.approx(0.6 + (statistics.mean(e_t) - statistics.mean(e_c)) / change, rel=1e-12)
    assert r["mpb_se"] == pytest.approx(two_sample_se(e_t, e_c, change), rel=1e-12)
    assert row(table, 3, 1)["attrition_treated"] == 0
    assert row(table, 3, "all")[["n_treated", "n_control"]].tolist() == [19, 18]


def test_horizons_after_the_end_are_not_estimated():
    table = estimate(synthetic_panel(), EXPERIMENT, horizons=(4, 5))   # 2026-05-31 is after 2026-05-15
    late = table[table["horizon"] == 5]
    assert len(late) == 6 and late["mpb"].isna().all() and late["mpc_se"].isna().all()
    assert late["note"].str.contains("after the experiment's end").all()
    assert (late["n_treated"] == 0).all()
    assert row(table, 4, 5)["mpb"] == pytest.approx(0.6)
    with pytest.raises(ValueError, match="no horizon .* ends before the experiment's end"):
        estimate(synthetic_panel(), EXPERIMENT, horizons=(5, 6))
    # the end is exclusive: limits last through 2026-04-30 when it ends on 2026-05-01
    assert row(estimate(synthetic_panel(), {**EXPERIMENT, "end": "2026-05-01"}, horizons=(4,)), 4, 1)["note"] == ""
    with pytest.raises(ValueError, match="no horizon"):
        estimate(synthetic_panel(), {**EXPERIMENT, "end": "2026-04-30"}, horizons=(4,))
    # an experiment without a known end: every recorded horizon counts
    open_ended = {k: v for k, v in EXPERIMENT.items() if k != "end"}
    assert row(estimate(synthetic_panel(), open_ended, horizons=(5,)), 5, 2)["mpb"] == pytest.approx(0.15)


def test_bad_inputs_are_clear_errors():
    panel = synthetic_panel()
    with pytest.raises(ValueError, match="no experiment accounts"):
        estimate(panel.assign(treated=pd.array([pd.NA] * len(panel), dtype="boolean")), EXPERIMENT)
    with pytest.raises(ValueError, match="no experiment accounts at lender 'huabei'"):
        estimate(panel, EXPERIMENT, lender="huabei")
    with pytest.raises(ValueError, match="lacks the assignment month 2025-12"):
        estimate(panel[panel["month"] != "2025-12"], EXPERIMENT, horizons=(3,))
    with pytest.raises(ValueError, match=r"lacks month\(s\) 2026-03 for horizon\(s\) \[3, 4\]"):
        estimate(panel[panel["month"] != "2026-03"], EXPERIMENT, horizons=(1, 2, 3, 4))   # a gap
    with pytest.raises(ValueError, match=r"lacks month\(s\) 2026-04 for horizon\(s\) \[4\]"):
        estimate(panel[panel["month"] < "2026-04"], EXPERIMENT, horizons=(2, 4))          # too short
    with pytest.raises(ValueError, match="lacks column"):
        estimate(panel.drop(columns="spending"), EXPERIMENT)
    with pytest.raises(ValueError, match="duplicate rows"):
        estimate(pd.concat([panel, panel]), EXPERIMENT, horizons=(1,))
    with pytest.raises(ValueError, match="horizons"):
        estimate(panel, EXPERIMENT, horizons=(0, 3))
    with pytest.raises(ValueError, match="size"):
        estimate(panel, {**EXPERIMENT, "size": 0.0})


def test_pooled_seeds_are_separate_accounts():
    panel = synthetic_panel()
    pooled = pd.concat([panel.assign(seed=0), panel.assign(seed=1)], ignore_index=True)
    one, two = estimate(panel, EXPERIMENT, horizons=(2,)), estimate(pooled, EXPERIMENT, horizons=(2,))
    assert (two["n_treated"] == 2 * one["n_treated"]).all()
    np.testing.assert_allclose(two["mpb"], one["mpb"], atol=1e-12)
    # the same responses on twice the accounts: the SE shrinks by about sqrt(2)
    np.testing.assert_allclose(two.loc[two["band"] != "all", "mpb_se"] * math.sqrt(2),
                               one.loc[one["band"] != "all", "mpb_se"], rtol=0.2)


def test_shocks_configs_and_tables_describe_the_same_experiment():
    cfg = load_config("limit_experiment_12m")
    from_cfg = as_experiment(cfg)
    assert from_cfg == Experiment(pd.Timestamp("2026-02-01").date(), 0.5, pd.Timestamp("2027-02-15").date(),
                                  "baitiao", 0.5)
    assert as_experiment(cfg.shocks[0], start_date=cfg.run.start_date) == from_cfg
    assert str(from_cfg.assignment) == "2026-01"
    with pytest.raises(ValueError, match="start_date"):
        as_experiment(cfg.shocks[0])


# --------------------------------------------------------------------------- runs and the command

TINY = ["--consumers", "300", "--merchants", "6", "--set", "run.burn_in_days=30", "--days", "100"]


@pytest.fixture(scope="module")
def short_scenario(tmp_path_factory):
    path = tmp_path_factory.mktemp("exp") / "short_experiment.toml"
    path.write_text('extends = "baseline"\n[[shocks]]\nkind = "credit_limit_experiment"\n'
                    'start = "2026-02-01"\nend = "2026-04-10"\nsize = 0.5\nshare = 0.5\n')
    return path


def test_cli_writes_the_table_json_and_figure(short_scenario, tmp_path, capsys):
    out = tmp_path / "exp"
    code = main(["experiment", str(short_scenario), "--seeds", "2", "--seed", "3", "--horizons", "1,2,3",
                 "--out", str(out), *TINY])
    assert code == 0
    for name in ("experiment.csv", "experiment.json", "experiment.png"):
        assert (out / name).stat().st_size > 0, name
    table = pd.read_csv(out / "experiment.csv")
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert table["horizon"].tolist() == [1] * 6 + [2] * 6 + [3] * 6
    assert table["band"].astype(str).tolist()[:6] == ["1", "2", "3", "4", "5", "all"]
    est = table[table["horizon"] < 3]
    assert est["mpb"].notna().all() and (est["n_treated"] > 0).all() and (est["n_control"] > 0).all()
    assert table.loc[table["horizon"] == 3, "mpb"].isna().all()          # 2026-04-30 is after the end
    all_rows = est[est["band"] == "all"]
    bands = est[est["band"] != "all"]
    for h in (1, 2):
        assert all_rows.loc[all_rows["horizon"] == h, "n_treated"].item() == \
            bands.loc[bands["horizon"] == h, "n_treated"].sum()
    assert (all_rows["first_stage"] > 0.9).all()    # the treated got the increase and kept it
    info = json.loads((out / "experiment.json").read_text())
    assert info["seeds"] == [3, 4] and info["horizons"] == [1, 2, 3] and len(info["table"]) == 18
    assert info["experiment"]["assignment_month"] == "2026-01" and info["config"]["population"]["consumers"] == 300
    printed = capsys.readouterr().out
    assert "MPB" in printed and "after the experiment's end" in printed


def test_runs_pool_the_same_way_whatever_the_workers(short_scenario):
    flags = dict(seeds=2, overrides=["run.burn_in_days=30"], days=100, consumers=300, merchants=6,
                 horizons=(1, 2), progress=False)
    one = run_experiment(str(short_scenario), workers=1, **flags)
    two = run_experiment(str(short_scenario), workers=2, **flags)
    pd.testing.assert_frame_equal(one, two)


def test_cli_rejects_scenarios_without_an_experiment_or_estimable_horizons(short_scenario, capsys):
    assert main(["experiment", "baseline", *TINY]) == 2
    err = capsys.readouterr().err
    assert "baseline.toml" in err and "credit_limit_experiment" in err
    assert main(["experiment", str(short_scenario), "--horizons", "4,5", *TINY]) == 2
    assert "none ends before the experiment's end" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="panel-sample"):
        run_experiment(str(short_scenario), panel_sample=0.0, progress=False)
