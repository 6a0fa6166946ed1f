"""The command line (a contract, docs/model.md 9) and the files it writes."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from sim.cli import main
from sim.outputs import COLUMNS

REQUIRED = ["date", "day", "consumption", "consumption_credit", "consumption_cash", "unmet_demand",
            "credit_outstanding", "fixed_limit_total", "temp_limit_total", "limit_cuts", "limit_cut_amount",
            "limit_raises", "delinq_30_rate", "delinq_90_rate", "charge_offs", "charge_off_amount",
            "multi_borrower_share", "unemployment_rate", "risk_appetite", "retail_sales", "merchant_cash",
            "merchants_active", "merchants_distressed", "merchant_failures", "contagion_failures",
            "trade_arrears", "scf_drawn", "lender_equity", "late_payables", "bank_drawn", "bank_limit",
            "bank_appetite", "failures_retailer", "failures_distributor", "failures_manufacturer",
            "cash_days_retailer", "cash_days_distributor", "cash_days_manufacturer"]
SMALL = ["--consumers", "300", "--merchants", "6", "--set", "run.burn_in_days=30", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(["run", "baseline", "--out", str(out), "--days", "70", "--seed", "11", "--check",
                 "--panel", "monthly", "--panel-sample", "0.5", *SMALL])
    assert code == 0
    return out


def test_run_writes_every_output(run_dir):
    for name in ("timeseries.parquet", "limit_changes.parquet", "failures.parquet", "panel.parquet",
                 "summary.json", "dashboard.png"):
        assert (run_dir / name).stat().st_size > 0, name
    ts = pd.read_parquet(run_dir / "timeseries.parquet")
    assert list(ts.columns[:2]) == ["date", "day"]
    assert set(REQUIRED) <= set(ts.columns)
    assert "credit_outstanding_huabei" in ts.columns and "delinq_30_rate_huabei" in ts.columns
    assert set(ts.columns) - {c for c in ts.columns if c.endswith("_huabei")} == set(COLUMNS)
    assert len(ts) == 70 and ts["date"].iloc[0] == pd.Timestamp("2026-01-01")
    assert (ts["consumption"] > 0).all()


def test_limit_changes_and_panel_schema(run_dir):
    changes = pd.read_parquet(run_dir / "limit_changes.parquet")
    assert list(changes.columns) == ["date", "consumer_id", "lender", "old_limit", "new_limit", "cause",
                                     "dpd", "pd"]
    assert set(changes["cause"].cat.categories) == {"review", "anomaly", "macro", "promo_expiry",
                                                    "promo_reversion", "freeze", "raise", "experiment",
                                                    "charge_off"}
    assert changes["date"].min() >= pd.Timestamp("2026-01-01")  # burn-in is not recorded
    panel = pd.read_parquet(run_dir / "panel.parquet")
    assert list(panel.columns) == ["month", "consumer_id", "lender", "fixed_limit", "temp_limit", "balance",
                                   "spending", "credit_spending", "dpd", "pd", "income", "employed",
                                   "treated"]
    assert set(panel["month"]) == {"2026-01", "2026-02"}     # month ends inside 70 days
    assert panel["treated"].isna().all()                      # no experiment in the baseline
    share = panel["consumer_id"].nunique() / 300
    assert 0.3 < share < 0.7                                  # --panel-sample 0.5


def test_summary_has_config_seed_and_versions(run_dir):
    info = json.loads((run_dir / "summary.json").read_text())
    assert info["seed"] == 11 and info["scenario"] == "baseline"
    assert info["config"]["population"]["consumers"] == 300
    assert info["config"]["run"]["burn_in_days"] == 30
    assert {"mesa", "numpy", "python"} <= set(info["versions"])
    assert info["code_version"]
    assert 0 < info["headline"]["consumption_credit_share"] < 1


def test_bad_input_exits_with_a_clear_message(capsys, tmp_path):
    assert main(["run", "no_such_scenario", "--out", str(tmp_path)]) == 2
    assert "unknown scenario 'no_such_scenario'" in capsys.readouterr().err
    assert main(["run", "baseline", "--set", "consumers.propensity_mean=7", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "consumers.propensity_mean" in err and "out of range" in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_python_dash_m_and_scenario_list():
    out = subprocess.run([sys.executable, "-m", "sim", "scenarios"], capture_output=True, text=True, check=True)
    assert "baseline" in out.stdout.split()
    out = subprocess.run([sys.executable, "-m", "sim", "params"], capture_output=True, text=True, check=True)
    assert "`lenders.baitiao.late_fee_daily`" in out.stdout


def test_params_shows_a_scenarios_resolved_values(capsys, tmp_path):
    """sim params --scenario NAME: the value each parameter takes in the scenario (with --set and
    --strategy laid over it) beside the code's default, marked where they differ; --changed
    keeps only those rows. Without --scenario, the table of defaults docs/model.md holds."""
    from sim.config import params_table
    assert main(["params", "--scenario", "platform_tightening", "--set", "merchants.cash_buffer_days=13",
                 "--changed"]) == 0
    rows = [r for r in capsys.readouterr().out.splitlines() if r.startswith("| `")]
    assert [r.split(" | ")[:3] for r in rows] == [["| `run.burn_in_days`", "1460 *", "90"],
                                                  ["| `merchants.cash_buffer_days`", "13.0 *", "27.0"]]
    assert main(["params", "--scenario", "baseline", "--strategy", "reminders"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "| key | value | default | unit | range | meaning | source |"
    assert len(out.splitlines()) == len(params_table().splitlines())   # every parameter, one row each
    # a lender the scenario adds has rows of its own (its values against a lender's defaults)
    (tmp_path / "mine.toml").write_text('extends = "baseline"\n[lenders.jiebei]\naccount_share = 0.2\n'
                                        'pd_max = 0.15\n')
    assert main(["params", "--scenario", str(tmp_path / "mine.toml"), "--changed"]) == 0
    rows = [r.split(" | ")[0] for r in capsys.readouterr().out.splitlines() if r.startswith("| `lenders.jiebei")]
    assert "| `lenders.jiebei.pd_max`" in rows and "| `lenders.jiebei.account_share`" in rows
    assert main(["params"]) == 0
    assert capsys.readouterr().out.strip() == params_table()
    assert main(["params", "--scenario", "nope"]) == 2
    assert "unknown scenario 'nope'" in capsys.readouterr().err
