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


# line panels: (row, column, title, [(series, label, scale, 7-day mean)])
LINE_PANELS = [
    (0, 0, "Platform spending (million yuan/day, 7-day mean)",
     [("consumption", "consumption", 1e-6, True), ("consumption_credit", "of which credit", 1e-6, True),
      ("unmet_demand", "unmet demand", 1e-6, True)]),
    (0, 1, "Platform credit (million yuan)",
     [("credit_outstanding", "credit outstanding", 1e-6, False), ("fixed_limit_total", "fixed limits", 1e-6, False),
      ("temp_limit_total", "temporary limits", 1e-6, False)]),
    (0, 2, "Platform delinquency (% of open accounts)",
     [("delinq_30_rate", "30+ DPD", 100, False), ("delinq_90_rate", "90+ DPD", 100, False)]),
    (1, 1, "Lender: risk appetite", [("risk_appetite", "risk appetite", 1, False)]),
    (1, 2, "Unemployment (%)",
     [("unemployment_rate", "unemployment", 100, False), ("target_unemployment", "target", 100, False)]),
    (2, 0, "Retailers (million yuan/day, 7-day mean)",
     [("retail_sales", "retail sales", 1e-6, True), ("stockout_loss", "stock-out loss", 1e-6, True)]),
    (2, 1, "Merchant liquidity (million yuan)",
     [("merchant_cash", "merchant cash", 1e-6, False), ("merchant_inventory", "inventory", 1e-6, False)]),
]


def plot_dashboard(ts: pd.DataFrame, changes: pd.DataFrame, info: dict, path: str | Path) -> None:
    fig, axes = plt.subplots(3, 3, figsize=(16, 11), constrained_layout=True)
    date = ts["date"]
    for row, col, title, series in LINE_PANELS:
        ax = axes[row, col]
        for name, label, scale, smooth in series:
            values = ts[name].rolling(7, min_periods=1).mean() if smooth else ts[name]
            ax.plot(date, values * scale, label=label)
        ax.set_title(title)
        ax.legend(fontsize=8)
    axes[0, 2].axhspan(1.1, 1.6, color="grey", alpha=0.15, label="Huabei 30+ 2017-19")
    axes[0, 2].legend(fontsize=8)
    ax2 = axes[2, 1].twinx()
    ax2.plot(date, ts["merchants_distressed"], color="red", alpha=0.5)
    ax2.set_ylabel("distressed merchants", color="red")
    ax2b = axes[1, 1].twinx()
    ax2b.plot(date, ts["pd_mean"], color="tab:orange", alpha=0.7)
    ax2b.set_ylabel("mean PD of open accounts", color="tab:orange")

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
