"""Measure chain failures under a credit crunch (docs/model.md 11.2, "Chain failures").

    python docs/chain_failures.py [--scenario tightening] [--seeds 4] [--workers 2]
                                  [--consumers 100000] [--merchants 2000]

Runs the scenario on seeds 1..N (one recorded year each, in parallel worker processes)
and prints (1) the failures by cause, for all merchants and for those that sell to other
merchants (only they can lose a customer), (2) the suppliers' failure rate by the share of
their customers that failed before them, pooled over the seeds
(:func:`sim.contagion.failure_by_customer_losses`), and (3) Arata (2018)'s contagion effect,
how many times as likely a supplier is to fail when half its customers failed, from a
logistic regression with the log number of customers as a control and an intercept per seed
(:func:`sim.contagion.customer_loss_effect`, with a 95% bootstrap interval). Suppliers and
customers are those of the network on the eve of the recorded window
(``model.supply.start_relations``). About a minute a seed at the research size.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim import CreditModel, load_config  # noqa: E402
from sim.contagion import customer_loss_effect, failure_by_customer_losses  # noqa: E402
from sim.outputs import failures_frame  # noqa: E402


def one_seed(scenario: str, seed: int, consumers: int, merchants: int):
    cfg = load_config(scenario, [f"population.consumers={consumers}", f"population.merchants={merchants}",
                                 f"run.seed={seed}"])
    model = CreditModel(cfg).run()
    return failures_frame(model), *model.supply.start_relations


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="tightening")
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--consumers", type=int, default=100_000)
    ap.add_argument("--merchants", type=int, default=2_000)
    args = ap.parse_args()
    seeds = range(1, args.seeds + 1)
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        runs = list(pool.map(one_seed, [args.scenario] * len(seeds), seeds, [args.consumers] * len(seeds),
                             [args.merchants] * len(seeds)))
    failures = pd.concat([f for f, _, _ in runs], ignore_index=True)
    sellers = failures[failures["tier"] != "retailer"]
    print(f"{args.scenario}, seeds 1-{args.seeds}, {args.consumers:,} consumers, {args.merchants:,} merchants")
    for label, table in (("all merchants", failures), ("merchants that sell to merchants", sellers)):
        counts = table["cause"].value_counts()
        shares = ", ".join(f"{cause} {counts.get(cause, 0)} ({counts.get(cause, 0) / max(len(table), 1):.1%})"
                           for cause in ("liquidity", "counterparty", "credit_line"))
        print(f"{label}: {len(table)} failures: {shares}")
    tables = [failure_by_customer_losses(*run) for run in runs]
    pooled = tables[0][["customers_failed"]].copy()
    pooled["suppliers"] = sum(t["suppliers"] for t in tables)
    pooled["failed"] = sum(t["failed"] for t in tables)
    pooled["failure_rate"] = pooled["failed"] / pooled["suppliers"]
    pooled["relative_rate"] = pooled["failure_rate"] / pooled["failure_rate"].iloc[0]
    print(pooled.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    effect = customer_loss_effect(runs, bootstrap=200)
    print(f"a supplier half of whose customers failed is {effect['ratio']:.2f} times as likely to fail "
          f"(95% interval {effect['ratio_low']:.2f}-{effect['ratio_high']:.2f}; {effect['suppliers']} suppliers, "
          f"{effect['failed']} failed)")


if __name__ == "__main__":
    main()
