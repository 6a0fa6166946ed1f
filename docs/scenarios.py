"""Regenerate the results of docs/scenarios.md: ``python docs/scenarios.py`` (or ``make
scenarios``).

It runs, on common random numbers over the same seeds,

1. every scenario of ``scenarios/`` (strategies and experiments apart) against the baseline;
2. Q1: the attribution of ``credit_crunch``, ``macro_downturn`` and ``covid_like``
   (:mod:`sim.attribution`);
3. Q2: the four causes of cuts in the baseline (:func:`sim.research.run_causes`);
4. Q4: every strategy against ``credit_crunch`` (:func:`sim.research.run_strategies`);
5. the 618 case: ``case_618`` against the baseline with and without ``remedies_618``
   (:func:`sim.research.run_remedies`),

writes each table to ``docs/results/NAME.csv`` and a figure to ``docs/figures/NAME.png``, and
fills the generated blocks of docs/scenarios.md from the CSV files, each stamped with the
commit and the command that made it. ``--render`` refills the blocks (and redraws the figures) from the committed CSV
files without running anything (a test checks that the committed page equals that).
``--only NAME,...`` reruns some of the five (scenarios, q1, q2, q4, case618).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "scenarios.md"
RESULTS = ROOT / "docs" / "results"
FIGURES = ROOT / "docs" / "figures"
PARTS = ("scenarios", "q1", "q2", "q4", "case618")
ATTRIBUTED = ("credit_crunch", "macro_downturn", "covid_like")
SKIP = ("baseline", "limit_experiment", "limit_experiment_12m", "limit_cut_experiment")   # experiments: sim experiment


# --------------------------------------------------------------------------- formatting


def fmt(x, kind: str = "num") -> str:
    """A number for a Markdown table: yuan in millions, rates in points or percent."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if kind == "myuan":
        return f"{x / 1e6:,.2f}"
    if kind == "pct":
        return f"{100 * x:+.1f}%"
    if kind == "share":
        return f"{100 * x:.0f}%"
    if kind == "pts":
        return f"{100 * x:+.2f}"
    if kind == "int":
        return f"{x:,.0f}"
    if kind == "signed":
        return f"{x:+,.1f}"
    return f"{x:,.3g}"


def ci(row, key: str, kind: str) -> str:
    return f"{fmt(row[key], kind)} [{fmt(row[key + '_low'], kind)}, {fmt(row[key + '_high'], kind)}]"


def stamp(meta: dict) -> str:
    return (f"*Made at commit `{meta['commit']}` by `{meta['command']}`: {meta['consumers']:,} consumers, "
            f"{meta['merchants']:,} merchants, seeds {meta['seeds'][0]}–{meta['seeds'][-1]}; 95% t-intervals "
            f"over the seeds in brackets.*")


# --------------------------------------------------------------------------- the five parts


def run_scenarios(args) -> pd.DataFrame:
    from sim.compare import run_comparison
    from sim.config import scenario_files, strategy_names

    names = [p.stem for p in scenario_files() if p.stem not in SKIP
             and p.stem not in strategy_names()]
    rows = []
    for name in names:
        comp = run_comparison(name, "baseline", seeds=args.seeds, workers=args.workers, consumers=args.consumers,
                              merchants=args.merchants, progress=True)
        t = comp.table.set_index("measure")
        row = {"scenario": name}
        for m in ("retail_sales", "merchant_failures", "contagion_failures", "unemployment_rate_mean",
                  "delinq_30_rate_mean", "limit_cuts", "accounts_cut"):
            for col in ("base_mean", "diff_mean", "ci_low", "ci_high", "rel_diff"):
                row[f"{m}_{col}"] = t.loc[m, col]
        rows.append(row)
        print(f"  {name}: done in {comp.seconds:.0f}s", flush=True)
    return pd.DataFrame(rows)


def render_scenarios(df: pd.DataFrame) -> str:
    rows = ["| Scenario | Retail sales | Merchant failures | of them contagion | Unemployment (mean, points) | "
            "30+ DPD (mean, points) | Limit cuts | Accounts cut |", "|---|---|---|---|---|---|---|---|"]
    for r in df.to_dict("records"):
        def cell(m, kind):
            return (f"{fmt(r[m + '_diff_mean'], kind)} [{fmt(r[m + '_ci_low'], kind)}, "
                    f"{fmt(r[m + '_ci_high'], kind)}]")
        sales = (f"{fmt(r['retail_sales_rel_diff'], 'pct')} ({fmt(r['retail_sales_diff_mean'], 'myuan')} "
                 f"[{fmt(r['retail_sales_ci_low'], 'myuan')}, {fmt(r['retail_sales_ci_high'], 'myuan')}] m yuan)")
        rows.append(f"| `{r['scenario']}` | {sales} | {cell('merchant_failures', 'signed')} | "
                    f"{cell('contagion_failures', 'signed')} | {cell('unemployment_rate_mean', 'pts')} | "
                    f"{cell('delinq_30_rate_mean', 'pts')} | {cell('limit_cuts', 'int')} | "
                    f"{cell('accounts_cut', 'int')} |")
    first = df.iloc[0]
    rows.append("")
    rows.append(f"Baseline over the year (means over the seeds): retail sales "
                f"{fmt(first['retail_sales_base_mean'], 'myuan')} million yuan, "
                f"{fmt(first['merchant_failures_base_mean'], 'int')} merchant failures, unemployment "
                f"{100 * first['unemployment_rate_mean_base_mean']:.2f}%, 30+ DPD "
                f"{100 * first['delinq_30_rate_mean_base_mean']:.2f}%, "
                f"{fmt(first['limit_cuts_base_mean'], 'int')} platform limit cuts.")
    return "\n".join(rows)


def barh_panels(names, panels, path: Path, title: str, width: float = 12) -> None:
    """Horizontal bars with 95% intervals, one panel per ``(title, mean, low, high, good)``
    (arrays over ``names``; ``good`` colours a bar green where true, red where false, grey where
    None)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, 0.45 * len(names) + 1.8), layout="constrained")
    axes = fig.subplots(1, len(panels), sharey=True)
    y = np.arange(len(names))
    for ax, (panel_title, mean, lo, hi, good) in zip(axes, panels):
        mean, lo, hi = (np.asarray(v, float) for v in (mean, lo, hi))
        colour = "tab:grey" if good is None else np.where(good, "tab:green", "tab:red")
        ax.barh(y, mean, xerr=np.vstack([mean - lo, hi - mean]), color=colour, capsize=3)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(panel_title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, names)
    axes[0].invert_yaxis()
    fig.suptitle(title, fontsize=11)
    fig.savefig(path, dpi=110)


def _panel(df, m, scale, title, good_if_up: bool | None):
    mean = df[f"{m}_diff_mean"].to_numpy() * scale
    good = None if good_if_up is None else (mean > 0 if good_if_up else mean < 0)
    return title, mean, df[f"{m}_ci_low"].to_numpy() * scale, df[f"{m}_ci_high"].to_numpy() * scale, good


def plot_scenarios(df: pd.DataFrame, path: Path) -> None:
    panels = [_panel(df, "retail_sales", 1e-6, "Retail sales, million yuan", True),
              _panel(df, "merchant_failures", 1.0, "Merchant failures", False),
              _panel(df, "unemployment_rate_mean", 100.0, "Unemployment, mean, points", False)]
    barh_panels(df["scenario"], panels, path,
                "Each scenario minus the baseline over 2026 (paired by seed, 95% intervals)")


def run_q1(args) -> pd.DataFrame:
    from sim.attribution import run_attribution
    frames = []
    for name in ATTRIBUTED:
        att = run_attribution(name, "baseline", seeds=args.seeds, workers=args.workers, consumers=args.consumers,
                              merchants=args.merchants, progress=True)
        t = att.table
        t.insert(0, "scenario", name)
        t.insert(1, "hold_from", att.hold_from)
        frames.append(t)
        print(f"  attribution of {name}: done in {att.seconds:.0f}s", flush=True)
    return pd.concat(frames, ignore_index=True)


def render_q1(df: pd.DataFrame) -> str:
    rows = ["| Scenario | Measure | Total effect | With limits held | Due to the cuts | Share due to the cuts |",
            "|---|---|---|---|---|---|"]
    shown = {"retail_sales": ("retail sales, million yuan", "myuan"), "merchant_failures": ("merchant failures", "signed"),
             "unemployment_rate_mean": ("unemployment, mean, points", "pts"),
             "delinq_30_rate_mean": ("30+ DPD, mean, points", "pts")}
    for r in df.to_dict("records"):
        if r["measure"] not in shown:
            continue
        label, kind = shown[r["measure"]]
        rows.append(f"| `{r['scenario']}` (held from {r['hold_from']}) | {label} | {ci(r, 'total', kind)} | "
                    f"{ci(r, 'without_cuts', kind)} | {ci(r, 'due_to_cuts', kind)} | "
                    f"{share(r)} |")
    return "\n".join(rows)


def share(r) -> str:
    """The share of the total due to the cuts, where the total is clearly not zero."""
    if not (r["total_low"] > 0 or r["total_high"] < 0):
        return "n/a (total not distinct from 0)"
    return fmt(r["share_due_to_cuts"], "share")


def plot_q1(df: pd.DataFrame, path: Path) -> None:
    from matplotlib.figure import Figure
    sales = df[df["measure"] == "retail_sales"].reset_index(drop=True)
    fig = Figure(figsize=(8, 3.8), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(sales))
    lost_held = -sales["without_cuts"].to_numpy() / 1e6
    lost_cuts = -sales["due_to_cuts"].to_numpy() / 1e6
    ax.bar(x, lost_held, color="tab:blue", label="with limits held (income, confidence, ...)")
    ax.bar(x, lost_cuts, bottom=lost_held, color="tab:red", label="due to the limit cuts")
    total = -sales["total"].to_numpy() / 1e6
    err = np.vstack([total - (-sales["total_high"].to_numpy() / 1e6), (-sales["total_low"].to_numpy() / 1e6) - total])
    ax.errorbar(x, total, yerr=err, fmt="none", color="black", capsize=4, label="total, 95% interval")
    ax.set_xticks(x, sales["scenario"])
    ax.set_ylabel("lost retail sales over 2026, million yuan")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Q1: merchants' lost sales in a downturn, by cause", fontsize=11)
    fig.savefig(path, dpi=110)


def run_q2(args) -> pd.DataFrame:
    from sim.research import run_causes
    q = run_causes("baseline", seeds=args.seeds, workers=args.workers, consumers=args.consumers,
                   merchants=args.merchants, progress=True)
    print(f"  causes: done in {q.seconds:.0f}s", flush=True)
    return q.table


def render_q2(df: pd.DataFrame) -> str:
    from sim.research import PD_BANDS
    bands = [f"PD {100 * a:g}–{100 * b:g}%" for a, b in zip(PD_BANDS[:-1], PD_BANDS[1:])]
    rows = ["| Cause | Cuts | Accounts cut (share of open) | Mean PD at the cut | " + " | ".join(bands) +
            " | Lowest income fifth | Highest income fifth | Past due at the cut | Cost to merchants: retail "
            "sales, million yuan | Merchant failures |",
            "|---|---|---|---|" + "---|" * len(bands) + "---|---|---|---|---|"]
    for r in df.to_dict("records"):
        band_cells = " | ".join(fmt(r[f"pd_band_{k}"], "share") for k in range(len(bands)))
        rows.append(f"| {r['label']} | {fmt(r['cuts'], 'int')} | {fmt(r['accounts'], 'int')} "
                    f"({100 * r['account_share']:.1f}%) | {100 * r['pd_mean']:.1f}% | {band_cells} | "
                    f"{fmt(r['income_q1'], 'share')} | {fmt(r['income_q5'], 'share')} | {fmt(r['past_due'], 'share')} | "
                    f"{ci(r, 'sales_cost', 'myuan')} | {ci(r, 'failures_cost', 'signed')} |")
    return "\n".join(rows)


def plot_q2(df: pd.DataFrame, path: Path) -> None:
    from matplotlib.figure import Figure

    from sim.research import PD_BANDS
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    x = np.arange(len(df))
    bottom = np.zeros(len(df))
    for k in range(len(PD_BANDS) - 1):
        part = df["accounts"].to_numpy() * df[f"pd_band_{k}"].fillna(0).to_numpy()
        ax1.bar(x, part, bottom=bottom, label=f"PD {100 * PD_BANDS[k]:g}–{100 * PD_BANDS[k + 1]:g}%")
        bottom += part
    labels = [str(v).replace(" ", "\n", 1) for v in df["label"]]
    ax1.set_xticks(x, labels, fontsize=8)
    ax1.set_ylabel("platform accounts cut over the year")
    ax1.legend(fontsize=8)
    ax1.set_title("Whom each cause cuts, by PD at the cut", fontsize=10)
    cost = df["sales_cost"].to_numpy() / 1e6
    err = np.vstack([cost - df["sales_cost_low"].to_numpy() / 1e6, df["sales_cost_high"].to_numpy() / 1e6 - cost])
    ax2.bar(x, cost, yerr=err, capsize=4, color="tab:red")
    ax2.axhline(0, color="black", lw=0.8)
    ax2.set_xticks(x, labels, fontsize=8)
    ax2.set_ylabel("million yuan")
    ax2.set_title("What each cause costs merchants: retail sales lost", fontsize=10)
    for ax in (ax1, ax2):
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Q2: the four causes of cuts in the baseline year", fontsize=11)
    fig.savefig(path, dpi=110)


def run_q4(args) -> pd.DataFrame:
    from sim.research import run_strategies
    q = run_strategies("credit_crunch", seeds=args.seeds, workers=args.workers, consumers=args.consumers,
                       merchants=args.merchants, progress=True)
    print(f"  strategies: done in {q.seconds:.0f}s", flush=True)
    wide = q.table.pivot(index="strategy", columns="measure")
    out = pd.DataFrame(index=wide.index)
    for m in ("retail_sales", "merchant_failures", "contagion_failures", "unemployment_rate_mean", "charge_offs"):
        for col in ("crisis_mean", "diff_mean", "ci_low", "ci_high", "rel_diff"):
            out[f"{m}_{col}"] = wide[(col, m)]
    costs = q.costs.set_index("strategy")
    out["cost"], out["payer"] = costs["cost"], costs["payer"]
    out["cost_mean"], out["cost_low"], out["cost_high"] = costs["cost_mean"], costs["ci_low"], costs["ci_high"]
    for col in ("exposure", "exposure_mean", "exposure_losses"):
        if col in costs:
            out[col] = costs[col]
    return out.reset_index()


def render_q4(df: pd.DataFrame) -> str:
    rows = ["| Strategy | Retail sales | Merchant failures | of them contagion | Unemployment (mean, points) | "
            "Charge-offs | Cost, million yuan | Borne by |", "|---|---|---|---|---|---|---|---|"]
    for r in df.to_dict("records"):
        def cell(m, kind):
            return f"{fmt(r[m + '_diff_mean'], kind)} [{fmt(r[m + '_ci_low'], kind)}, {fmt(r[m + '_ci_high'], kind)}]"
        sales = (f"{fmt(r['retail_sales_rel_diff'], 'pct')} ({fmt(r['retail_sales_diff_mean'], 'myuan')} "
                 f"[{fmt(r['retail_sales_ci_low'], 'myuan')}, {fmt(r['retail_sales_ci_high'], 'myuan')}] m)")
        exposure = ""
        if isinstance(r.get("exposure"), str):
            exposure = (f"; the platform lends {fmt(r['exposure_mean'], 'myuan')} million on average and loses "
                        f"{fmt(r['exposure_losses'], 'myuan')} million")
        rows.append(f"| `{r['strategy']}` | {sales} | {cell('merchant_failures', 'signed')} | "
                    f"{cell('contagion_failures', 'signed')} | {cell('unemployment_rate_mean', 'pts')} | "
                    f"{cell('charge_offs', 'signed')} | {fmt(r['cost_mean'], 'myuan')} [{fmt(r['cost_low'], 'myuan')}, "
                    f"{fmt(r['cost_high'], 'myuan')}] ({r['cost']}{exposure}) | "
                    f"{r['payer']} |")
    r = df.iloc[0]
    rows.append("")
    rows.append(f"`credit_crunch` without a strategy (means over the seeds): retail sales "
                f"{fmt(r['retail_sales_crisis_mean'], 'myuan')} million yuan over 2026, "
                f"{fmt(r['merchant_failures_crisis_mean'], 'int')} merchant failures "
                f"({fmt(r['contagion_failures_crisis_mean'], 'int')} contagion), unemployment "
                f"{100 * r['unemployment_rate_mean_crisis_mean']:.2f}% on average, "
                f"{fmt(r['charge_offs_crisis_mean'], 'int')} charge-offs.")
    return "\n".join(rows)


def plot_q4(df: pd.DataFrame, path: Path) -> None:
    panels = [_panel(df, "retail_sales", 1e-6, "Retail sales, million yuan", True),
              _panel(df, "merchant_failures", 1.0, "Merchant failures", False),
              ("Cost, million yuan", df["cost_mean"] * 1e-6, df["cost_low"] * 1e-6, df["cost_high"] * 1e-6, None)]
    barh_panels(df["strategy"], panels, path,
                "Q4: each strategy in credit_crunch, minus credit_crunch without it (95% intervals)", width=11)


def run_case618(args) -> pd.DataFrame:
    from sim.research import run_remedies
    r = run_remedies("case_618", "baseline", seeds=args.seeds, workers=args.workers, consumers=args.consumers,
                     merchants=args.merchants, date_from="2026-06-01", date_to="2026-06-30", progress=True)
    without, with_ = r.comparisons
    # the daily retail-sales loss (case minus baseline), mean over the seeds, in both worlds
    daily = pd.DataFrame({"date": pd.to_datetime(without.dates).strftime("%Y-%m-%d")})
    for name, comp in (("without", without), ("with", with_)):
        d = comp.daily["retail_sales"]
        daily[f"sales_diff_{name}"] = (d["scenario"] - d["base"]).mean(axis=0)
        daily[f"cuts_diff_{name}"] = (comp.daily["limit_cuts"]["scenario"] - comp.daily["limit_cuts"]["base"]).mean(axis=0)
    daily.to_csv(RESULTS / "case618_daily.csv", index=False)
    return r.table


def render_case618(df: pd.DataFrame) -> str:
    rows = ["| Measure (June 2026) | The cut's effect without the remedies | With the remedies | Saved by the remedies |",
            "|---|---|---|---|"]
    shown = {"retail_sales": ("retail sales, million yuan", "myuan"),
             "limit_cuts": ("platform limit cuts", "signed"),
             "limit_cuts_anomaly": ("of them by the anomaly monitor", "signed"),
             "accounts_cut": ("platform accounts cut", "signed"),
             "merchant_cash_mean": ("merchants' cash, mean, million yuan", "myuan"),
             "merchant_failures": ("merchant failures", "signed")}
    for r in df.to_dict("records"):
        if r["measure"] in shown:
            label, kind = shown[r["measure"]]
            rows.append(f"| {label} | {ci(r, 'without', kind)} | {ci(r, 'with', kind)} | {ci(r, 'saved', kind)} |")
    return "\n".join(rows)


def plot_case618(df: pd.DataFrame, path: Path) -> None:
    from matplotlib.figure import Figure
    daily = pd.read_csv(RESULTS / "case618_daily.csv", parse_dates=["date"])
    daily = daily[(daily["date"] >= "2026-05-20") & (daily["date"] <= "2026-07-15")]
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, sharex=True)
    for name, colour, label in (("without", "tab:red", "without the remedies"), ("with", "tab:green", "with the remedies")):
        ax1.plot(daily["date"], daily[f"sales_diff_{name}"] / 1e3, color=colour, label=label)
        ax2.plot(daily["date"], daily[f"cuts_diff_{name}"], color=colour, label=label)
    for ax in (ax1, ax2):
        ax.axvspan(pd.Timestamp("2026-06-01"), pd.Timestamp("2026-06-21"), color="tab:orange", alpha=0.12, lw=0,
                   label="618 window, monitor tightened")
        ax.axhline(0, color="black", lw=0.8)
        ax.grid(alpha=0.3)
        import matplotlib.dates as mdates
        locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax1.set_title("Retail sales, case_618 minus the baseline", fontsize=10)
    ax1.set_ylabel("thousand yuan a day")
    ax2.set_title("Platform limit cuts, case_618 minus the baseline", fontsize=10)
    ax2.set_ylabel("accounts a day")
    ax1.legend(fontsize=8)
    fig.suptitle("The 618 case: a mass cut in the sale, with and without the remedies (mean over seeds)", fontsize=11)
    fig.savefig(path, dpi=110)


STEPS = {"scenarios": (run_scenarios, render_scenarios, plot_scenarios),
         "q1": (run_q1, render_q1, plot_q1), "q2": (run_q2, render_q2, plot_q2),
         "q4": (run_q4, render_q4, plot_q4), "case618": (run_case618, render_case618, plot_case618)}


# --------------------------------------------------------------------------- the page


def put(text: str, tag: str, body: str) -> str:
    pat = re.compile(r"(<!-- BEGIN " + re.escape(tag) + r"[^>]*-->)(.*?)(<!-- END " + re.escape(tag) + r" -->)", re.S)
    if not pat.search(text):
        raise SystemExit(f"docs/scenarios.md has no block {tag!r}")
    return pat.sub(lambda m: m.group(1) + "\n" + body + "\n" + m.group(3), text)


def render_page(text: str) -> str:
    """docs/scenarios.md with every results block refilled from docs/results/ (no runs)."""
    for name, (_, render, _) in STEPS.items():
        csv, meta = RESULTS / f"{name}.csv", RESULTS / f"{name}.json"
        if not csv.exists():
            continue
        df = pd.read_csv(csv)
        body = stamp(json.loads(meta.read_text())) + "\n\n" + render(df) + \
            f"\n\n![{name}](figures/{name}.png)"
        text = put(text, f"results-{name}", body)
    return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--consumers", type=int, default=20_000)
    ap.add_argument("--merchants", type=int, default=400)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", default=",".join(PARTS), help="comma-separated parts: " + ", ".join(PARTS))
    ap.add_argument("--render", action="store_true", help="refill the page from docs/results/ only")
    args = ap.parse_args(argv)
    if not args.render:
        parts = [p.strip() for p in args.only.split(",") if p.strip()]
        bad = [p for p in parts if p not in STEPS]
        if bad:
            raise SystemExit(f"--only: unknown part(s) {bad}; parts: {', '.join(PARTS)}")
        RESULTS.mkdir(parents=True, exist_ok=True)
        FIGURES.mkdir(parents=True, exist_ok=True)
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        command = (f"python docs/scenarios.py --consumers {args.consumers} --merchants {args.merchants} "
                   f"--seeds {args.seeds} --only {','.join(parts)}")
        for name in parts:
            run, _, plot = STEPS[name]
            print(f"{name} ...", flush=True)
            df = run(args)
            df.to_csv(RESULTS / f"{name}.csv", index=False)
            meta = {"commit": commit + ("+changes" if dirty else ""), "command": command,
                    "consumers": args.consumers, "merchants": args.merchants,
                    "seeds": list(range(20260101, 20260101 + args.seeds))}
            (RESULTS / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")
            plot(df, FIGURES / f"{name}.png")
    else:   # redraw the figures from the committed tables
        for name, (_, _, plot) in STEPS.items():
            if (RESULTS / f"{name}.csv").exists():
                plot(pd.read_csv(RESULTS / f"{name}.csv"), FIGURES / f"{name}.png")
    DOC.write_text(render_page(DOC.read_text()))
    print("docs/scenarios.md refilled")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
