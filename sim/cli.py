"""Command line: ``sim run SCENARIO [...]`` and ``sim compare SCENARIO --against BASE [...]``
(names are a contract, docs/model.md 9), ``sim attribute SCENARIO [...]``, ``sim experiment
SCENARIO [...]``, ``sim scenarios`` and ``sim params``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sim.accounting import InvariantError
from sim.config import SCENARIO_DIR, ConfigError, load_config, params_table, strategy_names, with_flags


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="sim", description="Credit-limit contagion model (Mesa).")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario and write its outputs")
    run.add_argument("scenario", help="a name in scenarios/ or a path to a TOML file")
    run.add_argument("--out", help="output folder (default results/SCENARIO)")
    _run_flags(run, seed_help="root seed (run.seed)")
    run.add_argument("--check", action="store_true", help="check the accounting invariants every day")
    run.add_argument("--panel", choices=["monthly"], help="also write panel.parquet (account-month rows)")
    run.add_argument("--panel-sample", type=float, default=1.0, metavar="SHARE",
                     help="share of consumers in the panel (default 1)")
    run.add_argument("--no-dashboard", action="store_true", help="skip dashboard.png")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    cmp = sub.add_parser("compare", help="paired effect of a scenario against a base on the same seeds",
                         description="Run SCENARIO and BASE on the same seeds (common random numbers) "
                                     "and report the paired effect (scenario minus base) on the headline "
                                     "measures with 95% t-intervals over the seeds.")
    cmp.add_argument("scenario", help="a name in scenarios/ or a path to a TOML file")
    cmp.add_argument("--against", required=True, metavar="BASE", help="the base scenario (name or path)")
    cmp.add_argument("--seeds", type=int, default=5, metavar="N", help="number of seeds (default 5)")
    cmp.add_argument("--out", help="output folder (default results/compare_SCENARIO_vs_BASE)")
    cmp.add_argument("--workers", type=int, default=1, metavar="N",
                     help="worker processes for the runs (default 1; results do not depend on it)")
    _run_flags(cmp, seed_help="first seed (seeds are seed, seed+1, ...; default the base's run.seed)")
    cmp.add_argument("--from", dest="date_from", metavar="DATE",
                     help="first day of the measurement window (ISO date; default the first recorded day)")
    cmp.add_argument("--to", dest="date_to", metavar="DATE",
                     help="last day of the measurement window, inclusive (default the last recorded day)")
    cmp.add_argument("--quiet", action="store_true", help="no progress bar or table")
    att = sub.add_parser("attribute", help="split a downturn's effect into the part due to limit cuts and the rest",
                         description="Q1: run SCENARIO and BASE on the same seeds twice, once as they are and "
                                     "once with every lender's limit cuts held from the day they differ "
                                     "(a limit_hold shock), and split the effect of SCENARIO into the part "
                                     "with limits held (income, confidence, ...) and the part due to the "
                                     "limit cuts (the difference in differences), with 95% t-intervals.")
    att.add_argument("scenario", help="a name in scenarios/ or a path to a TOML file")
    att.add_argument("--against", default="baseline", metavar="BASE", help="the base scenario (default baseline)")
    att.add_argument("--seeds", type=int, default=5, metavar="N", help="number of seeds (default 5)")
    att.add_argument("--out", help="output folder (default results/attribute_SCENARIO_vs_BASE)")
    att.add_argument("--workers", type=int, default=1, metavar="N",
                     help="worker processes for the runs (default 1; results do not depend on it)")
    _run_flags(att, seed_help="first seed (seeds are seed, seed+1, ...; default the base's run.seed)")
    att.add_argument("--from", dest="date_from", metavar="DATE", help="first day of the measurement window")
    att.add_argument("--to", dest="date_to", metavar="DATE", help="last day of the measurement window, inclusive")
    att.add_argument("--quiet", action="store_true", help="no progress bar or table")
    exp = sub.add_parser("experiment", help="MPB and MPC by score band from a credit-line experiment",
                         description="Run SCENARIO (it must hold a credit_limit_experiment shock) on several "
                                     "seeds with the monthly panel, pool the experiment's accounts and "
                                     "estimate, by PD band and months after assignment, the marginal "
                                     "propensities to borrow and to spend per yuan of limit change "
                                     "(treated minus control, first differences, delta-method SEs).")
    exp.add_argument("scenario", help="a name in scenarios/ or a path to a TOML file")
    exp.add_argument("--seeds", type=int, default=5, metavar="N", help="number of seeds (default 5)")
    exp.add_argument("--out", help="output folder (default results/experiment_SCENARIO)")
    exp.add_argument("--workers", type=int, default=1, metavar="N",
                     help="worker processes for the runs (default 1; results do not depend on it)")
    exp.add_argument("--horizons", default="3,6,12", metavar="H,H,...",
                     help="months after assignment (default 3,6,12; those after the experiment's end are NaN)")
    exp.add_argument("--bands", type=int, default=5, metavar="N", help="PD quantile bands (default 5)")
    exp.add_argument("--panel-sample", type=float, default=1.0, metavar="SHARE",
                     help="share of consumers in each run's panel (default 1)")
    _run_flags(exp, seed_help="first seed (seeds are seed, seed+1, ...; default the scenario's run.seed)")
    exp.add_argument("--quiet", action="store_true", help="no progress bar or table")
    sub.add_parser("scenarios", help="list the scenarios in scenarios/ with their descriptions")
    sub.add_parser("params", help="print every parameter with default, unit, range and source")
    return ap


def _run_flags(parser: argparse.ArgumentParser, seed_help: str) -> None:
    """The flags that ``sim run`` and ``sim compare`` share."""
    parser.add_argument("--seed", type=int, help=seed_help)
    parser.add_argument("--days", type=int, help="recorded horizon after burn-in (run.days)")
    parser.add_argument("--consumers", type=int, help="number of consumers (population.consumers)")
    parser.add_argument("--merchants", type=int, help="number of merchants (population.merchants)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override any parameter by its key path (repeatable)")
    parser.add_argument("--strategy", dest="strategies", action="append", default=[], metavar="NAME",
                        help="lay a coping strategy over the scenario (repeatable; `sim scenarios` lists them)")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "scenarios":
        print(scenarios_text())
        return 0
    if args.command == "params":
        print(params_table())
        return 0
    if args.command == "compare":
        return _compare(args)
    if args.command == "experiment":
        return _experiment(args)
    if args.command == "attribute":
        return _attribute(args)
    return _run(args)


def _run(args) -> int:
    from sim.model import CreditModel
    from sim.outputs import write_outputs

    try:
        overrides = with_flags(args.overrides, {"run.seed": args.seed, "run.days": args.days,
                                                "population.consumers": args.consumers,
                                                "population.merchants": args.merchants})
        cfg = load_config(args.scenario, overrides, strategies=args.strategies)
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


def _checked(make_plan, workers: int):
    """The plan of a multi-run command, or None after printing the configuration error."""
    try:
        plan = make_plan()
        if workers < 1:
            raise ConfigError(f"--workers: {workers} must be at least 1")
    except ConfigError as err:
        print(f"sim: configuration error: {err}", file=sys.stderr)
        return None
    return plan


def _executed(run, errors):
    """The result of ``run()``, or None after printing a run error (``errors``)."""
    try:
        return run()
    except errors as err:
        print(f"sim: {err}", file=sys.stderr)
        return None


def _compare(args) -> int:
    from sim.compare import RunError, execute_plan, format_table, plan_comparison

    plan = _checked(lambda: plan_comparison(args.scenario, args.against, args.seeds, args.overrides, seed=args.seed,
                                            days=args.days, consumers=args.consumers, merchants=args.merchants,
                                            date_from=args.date_from, date_to=args.date_to,
                                            strategies=args.strategies,
                                            window_names=("--from", "--to")), args.workers)
    if plan is None:
        return 2
    out = Path(args.out) if args.out else Path("results") / f"compare_{plan.scenario}_vs_{plan.against}"
    comp = _executed(lambda: execute_plan(plan, args.workers, progress=not args.quiet), RunError)
    if comp is None:
        return 2
    comp.write(out)
    if not args.quiet:
        seeds = comp.seeds
        span = f"seeds {seeds[0]}..{seeds[-1]}" if seeds == list(range(seeds[0], seeds[0] + len(seeds))) \
            else "seeds " + ", ".join(map(str, seeds))
        print(f"{plan.scenario} minus {plan.against}: {len(seeds)} paired runs ({span}), "
              f"measured {comp.window[0]} to {comp.window[1]}, {2 * len(seeds)} runs in {comp.seconds:.1f}s")
        print(format_table(comp.table))
        if len(seeds) == 1:
            print("note: with one seed the 95% interval is undefined (NaN); use --seeds 2 or more")
        print(f"outputs in {out}/")
    return 0


def _attribute(args) -> int:
    from sim.attribution import execute_plan, format_table, plan_attribution
    from sim.compare import RunError

    plan = _checked(lambda: plan_attribution(args.scenario, args.against, args.seeds, args.overrides,
                                             seed=args.seed, days=args.days, consumers=args.consumers,
                                             merchants=args.merchants, date_from=args.date_from,
                                             date_to=args.date_to, strategies=args.strategies,
                                             window_names=("--from", "--to")), args.workers)
    if plan is None:
        return 2
    out = Path(args.out) if args.out else Path("results") / f"attribute_{plan.scenario}_vs_{plan.against}"
    att = _executed(lambda: execute_plan(plan, args.workers, progress=not args.quiet), RunError)
    if att is None:
        return 2
    att.write(out)
    if not args.quiet:
        print(f"{plan.scenario} minus {plan.against}, split by the limit cuts (held from {plan.hold_from}): "
              f"{len(plan.seeds)} seeds, 4 runs each, measured {att.window[0]} to {att.window[1]}, "
              f"in {att.seconds:.1f}s")
        print(format_table(att.table))
        print("total = without cuts + due to cuts; share: due to cuts over total")
        print(f"outputs in {out}/")
    return 0


def scenarios_text() -> str:
    """``sim scenarios``: every scenario with its description, strategies apart."""
    strategies = set(strategy_names())
    lines = {"scenarios": [], "strategies (combine with --strategy NAME)": []}
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        try:
            desc = load_config(path).description
        except ConfigError as err:
            desc = f"(invalid: {err})"
        key = "strategies (combine with --strategy NAME)" if path.stem in strategies else "scenarios"
        lines[key].append((path.stem, desc))
    width = max((len(n) for group in lines.values() for n, _ in group), default=0)
    out = []
    for title, group in lines.items():
        if group:
            out.append(f"{title}:")
            out.extend(f"  {n.ljust(width)}  {d}" for n, d in group)
    return "\n".join(out)


def _experiment(args) -> int:
    from sim.compare import RunError
    from sim.experiments import execute_plan, format_table, plan_experiment

    plan = _checked(lambda: plan_experiment(args.scenario, seeds=args.seeds, seed=args.seed, overrides=args.overrides,
                                            days=args.days, consumers=args.consumers, merchants=args.merchants,
                                            horizons=args.horizons, bands=args.bands,
                                            panel_sample=args.panel_sample), args.workers)
    if plan is None:
        return 2
    out = Path(args.out) if args.out else Path("results") / f"experiment_{plan.scenario}"
    # (the estimator raises ValueError, e.g. when no account entered the experiment)
    result = _executed(lambda: execute_plan(plan, args.workers, progress=not args.quiet), (RunError, ValueError))
    if result is None:
        return 2
    result.write(out)
    if not args.quiet:
        e, seeds = plan.experiment, plan.seeds
        span = f"seeds {seeds[0]}..{seeds[-1]}" if seeds == list(range(seeds[0], seeds[0] + len(seeds))) \
            else "seeds " + ", ".join(map(str, seeds))
        print(f"{plan.scenario}: {e.size:+.0%} fixed limit for {e.share:.0%} of {e.lender}'s accounts from "
              f"{e.start} to {e.end} (exclusive); assignment at the end of {e.assignment}; "
              f"{result.accounts:,} accounts over {len(seeds)} runs ({span}) in {result.seconds:.1f}s")
        print(format_table(result.table))
        print("MPB: change in balance, MPC: change in cumulative platform spending, per yuan of limit change "
              "(treated minus control); se: delta method; attr.: share of enrolled accounts lost by the horizon")
        print(f"outputs in {out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
