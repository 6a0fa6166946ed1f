"""The baseline is stationary over three years and its delinquency is realistic.

Reference: Huabei's 30+ DPD ran at about 1.1-1.6% in 2017-2019 (Ant Group IPO
prospectus, 2020); we accept 0.8-2.0% for the platform's mean 30+ DPD rate.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_model

from sim.config import load_config

STOCKS = ["credit_outstanding", "fixed_limit_total", "consumer_cash", "lender_equity", "accounts_open",
          "multi_borrower_share", "credit_outstanding_huabei", "trade_payables", "merchant_inventory",
          "merchant_cash"]
FLOWS = ["consumption", "consumption_credit", "retail_sales", "unmet_demand"]
RATES = ["delinq_30_rate", "unemployment_rate", "risk_appetite"]


@pytest.fixture(scope="module")
def three_years():
    burn_in = load_config("baseline").run.burn_in_days    # the baseline's own burn-in (four years)
    model = make_model(consumers=20000, merchants=400, days=3 * 365, burn_in=burn_in)
    model.run()
    ts = model.results()["timeseries"]
    ts["year"] = ts["day"] // 365
    return ts


@pytest.mark.slow
@pytest.mark.parametrize("column", STOCKS + FLOWS)
def test_no_drift_in_levels(three_years, column):
    yearly = three_years.groupby("year")[column].mean()
    first, last = yearly.iloc[0], yearly.iloc[-1]
    assert abs(last / first - 1) < 0.06, f"{column}: year 1 {first:,.0f}, year 3 {last:,.0f}"


@pytest.mark.slow
@pytest.mark.parametrize("column", RATES)
def test_no_drift_in_rates(three_years, column):
    yearly = three_years.groupby("year")[column].mean()
    assert abs(yearly.iloc[-1] - yearly.iloc[0]) < 0.004 + 0.02 * (column == "risk_appetite")


@pytest.mark.slow
def test_no_trend_beyond_noise(three_years):
    """Monthly means of the key aggregates show no significant linear trend (|t| < 3)."""
    monthly = three_years.groupby(three_years["day"] // 30)[["consumption", "credit_outstanding",
                                                             "delinq_30_rate"]].mean().iloc[:-1]
    x = np.arange(len(monthly)) - (len(monthly) - 1) / 2
    for column in monthly:
        y = monthly[column].to_numpy()
        slope = (x @ (y - y.mean())) / (x @ x)
        resid = y - y.mean() - slope * x
        se = np.sqrt(resid @ resid / (len(y) - 2) / (x @ x))
        # seasonality (618, Double 11) is in the residual; a real drift would dominate it
        assert abs(slope * len(y)) < 0.06 * abs(y.mean()) or abs(slope / se) < 3, column


@pytest.mark.slow
def test_merchant_failures_in_realistic_range(three_years):
    """About 2-6% of merchants fail a year in the baseline (US establishment exits run at about
    8% a year, young firms included: Census Business Dynamics Statistics)."""
    merchants = 400
    rate = three_years["merchant_failures"].sum() / merchants / 3
    assert 0.015 <= rate <= 0.07, f"merchant failures {rate:.3f} a year"
    assert three_years["merchants_active"].min() >= 0.9 * merchants


@pytest.mark.slow
def test_delinquency_in_realistic_range(three_years):
    rate = three_years["delinq_30_rate"].mean()
    assert 0.008 <= rate <= 0.020, f"mean 30+ DPD {rate:.4f}"
    assert 0.03 <= three_years["unemployment_rate"].mean() <= 0.07
