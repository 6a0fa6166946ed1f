"""Command line: ``sim run SCENARIO [...]`` (names are a contract, DESIGN section 6),
``sim scenarios`` and ``sim params``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sim.accounting import InvariantError
from sim.config import SCENARIO_DIR, ConfigError, load_config, params_table


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="sim", description="Credit-limit contagion model (Mesa).")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario and write its outputs")
    run.add_argument("scenario", help="a name in scenarios/ or a path to a TOML file")
    run.add_argument("--out", help="output folder (default results/SCENARIO)")
    run.add_argument("--seed", type=int, help="root seed (run.seed)")
    run.add_argument("--days", type=int, help="recorded horizon after burn-in (run.days)")
    run.add_argument("--consumers", type=int, help="number of consumers (population.consumers)")
    run.add_argument("--merchants", type=int, help="number of merchants (population.merchants)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                     help="override any parameter by its key path (repeatable)")
    run.add_argument("--check", action="store_true", help="check the accounting invariants every day")
    run.add_argument("--panel", choices=["monthly"], help="also write panel.parquet (account-month rows)")
    run.add_argument("--panel-sample", type=float, default=1.0, metavar="SHARE",
                     help="share of consumers in the panel (default 1)")
    run.add_argument("--no-dashboard", action="store_true", help="skip dashboard.png")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    sub.add_parser("scenarios", help="list the scenarios in scenarios/")
    sub.add_parser("params", help="print every parameter with default, unit, range and source")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "scenarios":
        for path in sorted(SCENARIO_DIR.glob("*.toml")):
            print(path.stem)
        return 0
    if args.command == "params":
        print(params_table())
        return 0
    return _run(args)


def _run(args) -> int:
    from sim.model import CreditModel
    from sim.outputs import write_outputs

    overrides = list(args.overrides)
    for flag, key in (("seed", "run.seed"), ("days", "run.days"), ("consumers", "population.consumers"),
                      ("merchants", "population.merchants")):
        value = getattr(args, flag)
        if value is not None:
            overrides.append(f"{key}={value}")
    try:
        cfg = load_config(args.scenario, overrides)
    except ConfigError as err:
        print(f"sim: configuration error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path("results") / cfg.name
    started = time.perf_counter()
    try:
        model = CreditModel(cfg, check=args.check, panel=args.panel, panel_sample=args.panel_sample)
    except ValueError as err:
        print(f"sim: {err}", file=sys.stderr)
        return 2
    try:
        model.run(progress=not args.quiet)
    except InvariantError as err:
        print(f"sim: {err}", file=sys.stderr)
        if model.recorder.n:
            partial = out / "partial"
            write_outputs(model, partial, dashboard=False)
            print(f"sim: the {model.recorder.n} days recorded before the breach are in {partial}",
                  file=sys.stderr)
        return 3
    info = write_outputs(model, out, dashboard=not args.no_dashboard)
    if not args.quiet:
        h = info["headline"]
        secs = time.perf_counter() - started
        print(f"{cfg.name}: {h['consumers']:,} consumers, {h['merchants']:,} merchants, {h['days']} days "
              f"in {secs:.1f}s{' (invariants checked every day)' if args.check else ''}")
        print(f"  credit share of platform spending  {100 * h['consumption_credit_share']:6.1f}%")
        print(f"  30+ DPD rate (mean)                {100 * h['delinq_30_rate_mean']:6.2f}%")
        print(f"  charge-offs (accounts a year)      {100 * h['charge_off_rate_annual']:6.2f}%")
        print(f"  accounts with a cut (a year)       {100 * h['accounts_cut_share_annual']:6.1f}%")
        print(f"  unemployment (mean)                {100 * h['unemployment_rate_mean']:6.2f}%")
        print("  cuts by cause: " + (", ".join(f"{k} {v:,}" for k, v in h["cuts_by_cause"].items()) or "none"))
        print(f"outputs in {out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
