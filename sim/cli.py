"""Command line: ``sim run SCENARIO [...]`` and ``sim compare SCENARIO --against BASE [...]``
(names are a contract, docs/model.md 9), ``sim attribute SCENARIO [...]``, ``sim experiment
SCENARIO [...]``, ``sim sweep SWEEP.toml [...]`` and ``sim analyze DIR`` (docs/sweeps.md),
``sim scenarios`` and ``sim params``.

Every expected failure ends in a one-line message and an exit status (README, "Exit
statuses"): 2 bad input (arguments, configuration, an unusable ``--out``), 3 an invariant
breach under ``--check``, 4 results that could not be written, 70 an internal error (a bug;
``--debug`` shows its traceback), 130 an interrupt (SIGINT), 143 a termination (SIGTERM).
Inputs and the output folder are checked before the first simulated day; results are
written atomically (:mod:`sim.results`), so a failure never leaves a mixture behind.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sim.accounting import InvariantError
from sim.config import Config, ConfigError, load_config, params_table, scenario_files, strategy_names, with_flags
from sim.results import OutputError, check_target, partial_path

# exit statuses (README, "Exit statuses")
OK, BAD_INPUT, BREACH, WRITE_FAILED, BUG, INTERRUPTED, TERMINATED = 0, 2, 3, 4, 70, 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that it stops as cleanly as on Ctrl-C."""


class WriteFailed(Exception):
    """Results that could not be written (the target keeps what it held)."""


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="sim", description="Credit-limit contagion model (Mesa).",
                                 epilog="exit statuses: 0 done, 2 bad input, 3 invariant breach (--check), 4 "
                                        "results not written, 70 internal error (a bug), 130 interrupted")
    ap.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    sub = ap.add_subparsers(dest="command", required=True)
    debug = argparse.ArgumentParser(add_help=False)   # --debug after the command too
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the traceback of an internal error")

    def command(name: str, **kw) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[debug], **kw)

    run = command("run", help="run a scenario and write its outputs")
    run.add_argument("scenario", help="a name in scenarios/ or a path to a TOML file")
    run.add_argument("--out", help="output folder (default results/SCENARIO)")
    _run_flags(run, seed_help="root seed (run.seed)")
    run.add_argument("--check", action="store_true", help="check the accounting invariants every day")
    run.add_argument("--panel", choices=["monthly"], help="also write panel.parquet (account-month rows)")
    run.add_argument("--panel-sample", type=float, default=1.0, metavar="SHARE",
                     help="share of consumers in the panel (default 1)")
    run.add_argument("--no-dashboard", action="store_true", help="skip dashboard.png")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    cmp = command("compare", help="paired effect of a scenario against a base on the same seeds",
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
    att = command("attribute", help="split a downturn's effect into the part due to limit cuts and the rest",
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
    exp = command("experiment", help="MPB and MPC by score band from a credit-line experiment",
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
    swp = command("sweep", help="run a batch of runs over a parameter design (resumable)",
                  description="Run the base scenario of SWEEP.toml at every point of its design (grid, lhs, sobol "
                              "or morris), each point on the same replicate seeds, and keep each run's outputs in "
                              "its own file under --out. Rerunning the same command resumes: only missing runs "
                              "are run. See docs/sweeps.md.")
    swp.add_argument("sweep", help="a sweep file (*_sweep.toml: a name in scenarios/ or a path)")
    swp.add_argument("--out", help="output folder (default results/SWEEP)")
    how = swp.add_mutually_exclusive_group()
    how.add_argument("--workers", type=int, default=1, metavar="N",
                     help="local worker processes (default 1; results do not depend on it)")
    how.add_argument("--scheduler", metavar="ADDRESS", help="run on an existing Dask cluster (tcp://HOST:8786)")
    how.add_argument("--dask-local", type=int, metavar="N", help="run on a local Dask cluster of N workers")
    swp.add_argument("--samples", type=int, metavar="N", help="the design's sample size instead of the file's")
    swp.add_argument("--replicates", type=int, metavar="R", help="replicates per point instead of the file's")
    _layer_flags(swp, "add to the sweep file's set (repeatable), e.g. --set population.consumers=1000",
                 strategy=False)
    swp.add_argument("--force", action="store_true",
                     help="start again when --out holds this sweep's runs from another version of its file")
    swp.add_argument("--retry-failed", action="store_true", help="run again the runs recorded as failed")
    swp.add_argument("--quiet", action="store_true", help="no progress bar or report")
    ana = command("analyze", help="sensitivity indices, heat maps and PRIM boxes of a finished sweep",
                  description="Analyse the sweep in DIR: Sobol indices (sobol design) or Morris screening (morris "
                              "design) with confidence intervals, a heat map of each output over two parameters "
                              "with the contour where runs turn systemic, and PRIM boxes of the parameter regions "
                              "with systemic outcomes. Writes CSV and PNG files (default DIR/analysis).")
    ana.add_argument("folder", metavar="DIR", help="a sweep folder (sim sweep --out)")
    ana.add_argument("--out", help="output folder (default DIR/analysis)")
    ana.add_argument("--outputs", metavar="NAME,NAME,...", help="outputs to analyse (default all kept)")
    ana.add_argument("--systemic", metavar="RULE",
                     help="when a run counts as systemic, e.g. 'merchant_failure_share >= 0.05' "
                          "(default the sweep file's analysis.systemic)")
    ana.add_argument("--heatmap", metavar="X,Y", help="the two parameters of the heat maps (default the sweep "
                                                      "file's analysis.heatmap, else its first two parameters)")
    ana.add_argument("--partial", action="store_true", help="analyse an unfinished sweep's runs")
    ana.add_argument("--quiet", action="store_true", help="no report")
    app = command("app", help="serve the Solara app: watch contagion in a browser",
                  description="Serve the Solara app (sim/app/) on HOST:PORT: the supply network and time series as "
                              "the model steps, live shocks, an inspector and a with/without-strategy comparison. "
                              "It renders with no internet (Solara's assets are installed with the package).")
    app.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 opens it to the "
                          "network, with no authentication)")
    app.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    app.add_argument("--scenario", default="baseline", metavar="NAME", help="the scenario a session starts from")
    app.add_argument("--seed", type=int, help="the first seed (run.seed)")
    _layer_flags(app, "start from this parameter value (repeatable), e.g. --set population.merchants=200")
    command("scenarios", help="list the scenarios in scenarios/ with their descriptions")
    par = command("params", help="print every parameter with default, unit, range and source",
                  description="Print every parameter with its default, unit, range, meaning and source; with "
                              "--scenario (and --set, --strategy), the scenario's resolved value beside the default "
                              "(marked * where it differs).")
    par.add_argument("--scenario", metavar="NAME", help="show this scenario's values (a name in scenarios/ or a path)")
    _layer_flags(par)
    par.add_argument("--changed", action="store_true", help="only the parameters whose value is not the default")
    return ap


def _run_flags(parser: argparse.ArgumentParser, seed_help: str) -> None:
    """The flags that ``sim run`` and ``sim compare`` share."""
    parser.add_argument("--seed", type=int, help=seed_help)
    parser.add_argument("--days", type=int, help="recorded horizon after burn-in (run.days)")
    parser.add_argument("--consumers", type=int, help="number of consumers (population.consumers)")
    parser.add_argument("--merchants", type=int, help="number of merchants (population.merchants)")
    _layer_flags(parser)


def _layer_flags(parser: argparse.ArgumentParser, set_help: str = "override any parameter by its key path "
                 "(repeatable)", strategy: bool = True) -> None:
    """``--set KEY.PATH=VALUE`` (and ``--strategy NAME``): what is laid over a scenario."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help=set_help)
    if strategy:
        parser.add_argument("--strategy", dest="strategies", action="append", default=[], metavar="NAME",
                            help="lay a coping strategy over the scenario (repeatable; `sim scenarios` lists them)")


def main(argv: list[str] | None = None) -> int:
    """``sim``: the exit status of the command (module docstring); never a traceback unless
    ``--debug`` asks for that of an internal error."""
    args = _parser().parse_args(argv)
    try:
        with _sigterm_raises():
            return _dispatch(args)
    except KeyboardInterrupt as stop:
        status = TERMINATED if isinstance(stop, Terminated) else INTERRUPTED
        print(f"sim: {_stop_reason(stop)}; no results were written", file=sys.stderr)
        return status
    except (ConfigError, OutputError) as err:
        print(f"sim: configuration error: {err}" if isinstance(err, ConfigError) else f"sim: {err}",
              file=sys.stderr)
        return BAD_INPUT
    except WriteFailed as err:
        print(f"sim: {err}", file=sys.stderr)
        return WRITE_FAILED
    except Exception as err:   # a bug: say so, briefly, and how to see more
        if args.debug:
            raise
        print(f"sim: internal error ({type(err).__name__}: {_one_line(err)}); this is a bug: please rerun "
              f"with --debug and report the traceback; no results were written", file=sys.stderr)
        return BUG


def _dispatch(args) -> int:
    if args.command == "scenarios":
        print(scenarios_text())
        return OK
    if args.command == "params":
        given = args.scenario is not None or args.overrides or args.strategies
        cfg = load_config(args.scenario or "baseline", args.overrides, strategies=args.strategies) if given \
            else Config() if args.changed else None   # (the code's defaults: nothing differs)
        print(params_table(cfg, changed=args.changed))
        return OK
    if args.command == "compare":
        return _compare(args)
    if args.command == "experiment":
        return _experiment(args)
    if args.command == "attribute":
        return _attribute(args)
    if args.command == "sweep":
        return _sweep(args)
    if args.command == "analyze":
        return _analyze(args)
    if args.command == "app":
        return _app(args)
    return _run(args)


def app_settings(args):
    """The settings a session of ``sim app`` starts from, checked before the server starts."""
    from sim.app.state import Settings
    from sim.config import parse_override

    return Settings.chosen(args.scenario, args.strategies, args.seed,
                           dict(parse_override(text) for text in args.overrides))


def app_command(host: str, port: int) -> list[str]:
    """The command that serves the app: Solara's server in production mode (its assets from
    the installed package, not a CDN) on ``host``:``port``."""
    return [sys.executable, "-m", "solara", "run", "sim.app.page", "--production", "--host", host,
            "--port", str(port), "--no-open"]


def _app(args) -> int:
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port: {args.port} is not a port (1..65535)")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"sim app: listening on {args.host}: anyone who reaches this machine can use the app", file=sys.stderr)
    from sim.app.state import ENV

    env = {**os.environ, ENV: app_settings(args).to_json()}
    print(f"sim app: serving on http://{args.host}:{args.port}/ (Ctrl-C stops it)", file=sys.stderr)
    try:
        return subprocess.call(app_command(args.host, args.port), env=env)
    except KeyboardInterrupt:
        return OK


def _one_line(err: BaseException, limit: int = 300) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _stop_reason(stop: KeyboardInterrupt) -> str:
    return "terminated (SIGTERM)" if isinstance(stop, Terminated) else "interrupted (SIGINT)"


@contextlib.contextmanager
def _sigterm_raises():
    """While the command runs, SIGTERM raises :class:`Terminated` (in the main thread only)."""
    def handler(signum, frame):
        raise Terminated()
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:   # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _written(write, out: Path):
    """``write()``, with an OS error (a full disk, a folder made read-only meanwhile) as
    :class:`WriteFailed`: the target keeps what it held (:func:`sim.results.publish`)."""
    try:
        return write()
    except OSError as err:
        raise WriteFailed(f"could not write the results to {out} ({err.strerror or err}); "
                          f"what it held before is untouched") from None


def _run(args) -> int:
    from sim.model import CreditModel
    from sim.outputs import write_outputs

    overrides = with_flags(args.overrides, {"run.seed": args.seed, "run.days": args.days,
                                            "population.consumers": args.consumers,
                                            "population.merchants": args.merchants})
    cfg = load_config(args.scenario, overrides, strategies=args.strategies)
    out = check_target(args.out if args.out else Path("results") / cfg.name)
    started = time.perf_counter()
    model = CreditModel(cfg, check=args.check, panel=args.panel, panel_sample=args.panel_sample)
    try:
        model.run(progress=not args.quiet)
    except InvariantError as err:
        print(f"sim: {_one_line(err, 2000)}", file=sys.stderr)
        _keep_partial(model, out, f"invariant breach under --check: {_one_line(err, 2000)}")
        return BREACH
    except KeyboardInterrupt as stop:
        reason = _stop_reason(stop)
        print(f"sim: {reason}", file=sys.stderr)
        _keep_partial(model, out, reason)
        return TERMINATED if isinstance(stop, Terminated) else INTERRUPTED
    info = _written(lambda: write_outputs(model, out, dashboard=not args.no_dashboard), out)
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
    return OK


def _keep_partial(model, out: Path, reason: str) -> None:
    """Keep the days a stopped run recorded in ``OUT.partial`` (never in the results' place),
    with the reason; say where, or that there was nothing to keep."""
    from sim.outputs import write_outputs

    if not model.recorder.n:
        print("sim: no day was recorded (stopped in the burn-in); nothing kept", file=sys.stderr)
        return
    partial = partial_path(out)
    last = model.calendar.dates[model.calendar.pos(model.recorder.n - 1)]
    note = f"{reason}; {model.recorder.n} days recorded, the last {last}"
    _written(lambda: write_outputs(model, partial, dashboard=False, stopped=note), partial)
    print(f"sim: the {model.recorder.n} days recorded before it stopped are in {partial}/ (partial results; "
          f"{out} is untouched)", file=sys.stderr)


def _checked(make_plan, workers: int):
    """The plan of a multi-run command (a configuration error propagates)."""
    plan = make_plan()
    if workers < 1:
        raise ConfigError(f"--workers: {workers} must be at least 1")
    return plan


def _executed(run, errors):
    """The result of ``run()``; a run error (``errors``: a configuration the model refuses, an
    estimate with no data) is bad input."""
    try:
        return run()
    except errors as err:
        raise ConfigError(str(err)) from None


def _compare(args) -> int:
    from sim.compare import RunError, execute_plan, format_table, plan_comparison

    plan = _checked(lambda: plan_comparison(args.scenario, args.against, args.seeds, args.overrides, seed=args.seed,
                                            days=args.days, consumers=args.consumers, merchants=args.merchants,
                                            date_from=args.date_from, date_to=args.date_to,
                                            strategies=args.strategies,
                                            window_names=("--from", "--to")), args.workers)
    out = check_target(args.out if args.out else Path("results") / f"compare_{plan.scenario}_vs_{plan.against}")
    comp = _executed(lambda: execute_plan(plan, args.workers, progress=not args.quiet), RunError)
    _written(lambda: comp.write(out), out)
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
    return OK


def _attribute(args) -> int:
    from sim.attribution import execute_plan, format_table, plan_attribution
    from sim.compare import RunError

    plan = _checked(lambda: plan_attribution(args.scenario, args.against, args.seeds, args.overrides,
                                             seed=args.seed, days=args.days, consumers=args.consumers,
                                             merchants=args.merchants, date_from=args.date_from,
                                             date_to=args.date_to, strategies=args.strategies,
                                             window_names=("--from", "--to")), args.workers)
    out = check_target(args.out if args.out else Path("results") / f"attribute_{plan.scenario}_vs_{plan.against}")
    att = _executed(lambda: execute_plan(plan, args.workers, progress=not args.quiet), RunError)
    _written(lambda: att.write(out), out)
    if not args.quiet:
        print(f"{plan.scenario} minus {plan.against}, split by the limit cuts (held from {plan.hold_from}): "
              f"{len(plan.seeds)} seeds, 4 runs each, measured {att.window[0]} to {att.window[1]}, "
              f"in {att.seconds:.1f}s")
        print(format_table(att.table))
        print("total = without cuts + due to cuts; share: due to cuts over total")
        print(f"outputs in {out}/")
    return OK


def scenarios_text() -> str:
    """``sim scenarios``: every scenario with its description, strategies apart."""
    strategies = set(strategy_names())
    lines = {"scenarios": [], "strategies (combine with --strategy NAME)": []}
    for path in scenario_files():
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


def _sweep(args) -> int:
    from sim.config import resolve_scenario
    from sim.sweeps import SweepAborted, read_sweep, run_sweep

    spec = read_sweep(resolve_scenario(args.sweep), samples=args.samples, replicates=args.replicates,
                      overrides=args.overrides)
    out = Path(args.out) if args.out else Path("results") / spec.name
    if not args.quiet:
        print(f"sweep {spec.name}: {spec.design} design, {spec.n_points():,} points x {spec.replicates} "
              f"replicates = {spec.n_runs():,} runs of {spec.scenario.stem} (checked)")
    try:
        report = run_sweep(spec, out, workers=args.workers, scheduler=args.scheduler, dask_local=args.dask_local,
                           force=args.force, retry_failed=args.retry_failed, progress=not args.quiet)
    except KeyboardInterrupt as stop:
        print(f"sim: {_stop_reason(stop)}; the runs finished so far are kept in {out}/: rerun the same command "
              f"to resume", file=sys.stderr)
        return TERMINATED if isinstance(stop, Terminated) else INTERRUPTED
    except SweepAborted as err:
        raise WriteFailed(str(err)) from None
    except OSError as err:
        raise WriteFailed(f"could not write to {out} ({err.strerror or err}); the runs finished so far are "
                          f"kept: rerun the same command to resume") from None
    if not args.quiet:
        print(report.text())
    return OK


def _analyze(args) -> int:
    from sim.analysis import analyze_folder
    from sim.sweeps import ANALYSIS

    outputs = [o.strip() for o in args.outputs.split(",") if o.strip()] if args.outputs else None
    heatmap = [h.strip() for h in args.heatmap.split(",")] if args.heatmap else None
    out = check_target(args.out if args.out else Path(args.folder) / ANALYSIS)
    try:
        result = analyze_folder(args.folder, outputs=outputs, systemic=args.systemic, heatmap=heatmap,
                                partial=args.partial)
    except ValueError as err:   # (an output or parameter the sweep has not, a design without indices)
        raise ConfigError(str(err)) from None
    _written(lambda: result.write(out), out)
    if not args.quiet:
        print(result.report())
        print(f"outputs in {out}/")
    return OK


def _experiment(args) -> int:
    from sim.compare import RunError
    from sim.experiments import execute_plan, format_table, plan_experiment

    plan = _checked(lambda: plan_experiment(args.scenario, seeds=args.seeds, seed=args.seed, overrides=args.overrides,
                                            days=args.days, consumers=args.consumers, merchants=args.merchants,
                                            horizons=args.horizons, bands=args.bands,
                                            panel_sample=args.panel_sample), args.workers)
    out = check_target(args.out if args.out else Path("results") / f"experiment_{plan.scenario}")
    # (the estimator raises ValueError, e.g. when no account entered the experiment)
    result = _executed(lambda: execute_plan(plan, args.workers, progress=not args.quiet), (RunError, ValueError))
    _written(lambda: result.write(out), out)
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
    return OK


if __name__ == "__main__":
    raise SystemExit(main())
