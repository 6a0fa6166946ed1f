"""``dashboard.png``: one page that tells what happened in a run."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

CAUSE_COLOURS = {"review": "#1f77b4", "macro": "#d62728", "anomaly": "#ff7f0e", "promo_reversion": "#9467bd",
                 "freeze": "#8c564b", "charge_off": "#7f7f7f", "experiment": "#2ca02c",
                 "promo_expiry": "#e377c2"}


def plot_dashboard(ts: pd.DataFrame, changes: pd.DataFrame, info: dict, path: str | Path) -> None:
    fig, axes = plt.subplots(3, 3, figsize=(16, 11), constrained_layout=True)
    date = ts["date"]
    week = lambda s: s.rolling(7, min_periods=1).mean()  # noqa: E731

    ax = axes[0, 0]
    ax.plot(date, week(ts["consumption"]) / 1e6, label="consumption")
    ax.plot(date, week(ts["consumption_credit"]) / 1e6, label="of which credit")
    ax.plot(date, week(ts["unmet_demand"]) / 1e6, label="unmet demand")
    ax.set_title("Platform spending (million yuan/day, 7-day mean)")
    ax.legend(fontsize=8)

    ax = axes[0, 1]
    ax.plot(date, ts["credit_outstanding"] / 1e6, label="credit outstanding")
    ax.plot(date, ts["fixed_limit_total"] / 1e6, label="fixed limits")
    ax.plot(date, ts["temp_limit_total"] / 1e6, label="temporary limits")
    ax.set_title("Platform credit (million yuan)")
    ax.legend(fontsize=8)

    ax = axes[0, 2]
    ax.plot(date, 100 * ts["delinq_30_rate"], label="30+ DPD")
    ax.plot(date, 100 * ts["delinq_90_rate"], label="90+ DPD")
    ax.axhspan(1.1, 1.6, color="grey", alpha=0.15, label="Huabei 30+ 2017-19")
    ax.set_title("Platform delinquency (% of open accounts)")
    ax.legend(fontsize=8)

    ax = axes[1, 0]
    cuts = changes[(changes["new_limit"] < changes["old_limit"]) &
                   (changes["lender"] == info["config"]["run"]["platform"]) &
                   (changes["cause"] != "promo_expiry")]
    if len(cuts):
        monthly = cuts.groupby([cuts["date"].dt.to_period("M"), "cause"], observed=True).size().unstack(
            fill_value=0)
        bottom = None
        x = monthly.index.to_timestamp()
        for cause in monthly.columns:
            ax.bar(x, monthly[cause], width=25, bottom=bottom, label=str(cause),
                   color=CAUSE_COLOURS.get(str(cause)))
            bottom = monthly[cause] if bottom is None else bottom + monthly[cause]
        ax.legend(fontsize=8)
    ax.set_title("Platform limit cuts by cause (per month)")

    ax = axes[1, 1]
    ax.plot(date, ts["risk_appetite"], label="risk appetite")
    ax.plot(date, ts["pd_mean"] / max(ts["pd_mean"].max(), 1e-9), label="mean PD (scaled)")
    ax.set_title("Lender: risk appetite and scores")
    ax.legend(fontsize=8)

    ax = axes[1, 2]
    ax.plot(date, 100 * ts["unemployment_rate"], label="unemployment")
    ax.plot(date, 100 * ts["target_unemployment"], "--", label="target")
    ax.set_title("Unemployment (%)")
    ax.legend(fontsize=8)

    ax = axes[2, 0]
    ax.plot(date, week(ts["retail_sales"]) / 1e6, label="retail sales")
    ax.plot(date, week(ts["stockout_loss"]) / 1e6, label="stock-out loss")
    ax.set_title("Retailers (million yuan/day, 7-day mean)")
    ax.legend(fontsize=8)

    ax = axes[2, 1]
    ax.plot(date, ts["merchant_cash"] / 1e6, label="merchant cash")
    ax.plot(date, ts["merchant_inventory"] / 1e6, label="inventory")
    ax.set_title("Merchant liquidity (million yuan)")
    ax.legend(fontsize=8)
    ax2 = ax.twinx()
    ax2.plot(date, ts["merchants_distressed"], color="red", alpha=0.5, label="distressed")
    ax2.set_ylabel("distressed merchants", color="red")

    ax = axes[2, 2]
    ax.axis("off")
    h = info["headline"]
    lines = [f"scenario: {info['scenario']}   seed: {info['seed']}",
             f"{h['consumers']:,} consumers, {h['merchants']:,} merchants, {h['days']} days",
             f"credit share of spending: {100 * h['consumption_credit_share']:.1f}%",
             f"unmet demand share: {100 * h['unmet_demand_share']:.2f}%",
             f"30+ DPD mean: {100 * h['delinq_30_rate_mean']:.2f}%",
             f"charge-offs: {100 * h['charge_off_rate_annual']:.2f}% of accounts a year",
             f"accounts cut: {100 * h['accounts_cut_share_annual']:.1f}% a year",
             f"unemployment mean: {100 * h['unemployment_rate_mean']:.2f}%",
             f"lowest risk appetite: {h['risk_appetite_min']:.2f}",
             "cuts by cause: " + ", ".join(f"{k} {v}" for k, v in h["cuts_by_cause"].items())]
    ax.text(0, 1, "\n".join(lines), va="top", family="monospace", fontsize=9, wrap=True)
    fig.suptitle(f"Credit-limit contagion: {info['scenario']}", fontsize=14)
    fig.savefig(path, dpi=90)
    plt.close(fig)
