"""Sensitivity analysis of a finished sweep: replicate means and noise, Sobol' indices and Morris
screening, each with intervals (:mod:`sim.analysis` puts the whole analysis together; its
docstring describes the table, design and spec these functions take).

References: Saltelli et al. (2010), Computer Physics Communications 181(2), 259-270 (Sobol'
estimators); Campolongo, Cariboni & Saltelli (2007), Environmental Modelling & Software 22(10),
1509-1518 (Morris mu*).
"""

from __future__ import annotations

import contextlib
import math
import re
import warnings
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

LEVEL = 0.95                 # confidence level of the intervals
BOOTSTRAP_RESAMPLES = 1000   # bootstrap resamples behind SALib's intervals (its default is 100)

# the columns of a sweep's table that are neither parameters nor outputs
RUN_COLUMNS = ("run", "point", "replicate", "seed", "status", "error", "traceback", "seconds", "code_version")
SUCCESS = ("ok",)            # the status of a successful run

SOBOL_COLUMNS = ["output", "parameter", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"]
SOBOL2_COLUMNS = ["output", "parameter_1", "parameter_2", "S2", "S2_low", "S2_high"]
MORRIS_COLUMNS = ["output", "parameter", "mu", "mu_star", "mu_star_low", "mu_star_high", "sigma"]
SPREAD_COLUMNS = ["output", "replicate_sd", "point_mean_sd", "noise_ratio", "points", "replicates",
                  "runs_used", "runs_failed", "runs_nan"]


class IncompleteDesign(ValueError):
    """Design points without a successful run: Sobol' and Morris need every point."""


# --------------------------------------------------------------------------- checks and helpers


def parameter_names(spec: dict) -> list[str]:
    """The swept parameters' names, in design column order."""
    return [p["name"] for p in spec.get("parameters", [])]


def _parameter(spec: dict, name: str) -> dict:
    for p in spec.get("parameters", []):
        if p["name"] == name:
            return p
    raise ValueError(f"unknown parameter {name!r}; the sweep's parameters are: "
                     f"{', '.join(parameter_names(spec)) or '(none)'}")


def _ok_runs(table: pd.DataFrame) -> pd.DataFrame:
    return table[_succeeded(table)]


def _succeeded(table: pd.DataFrame) -> pd.Series:
    """Whether each run succeeded (its ``status`` is one of :data:`SUCCESS`)."""
    if "status" not in table.columns:
        if len(table):
            raise ValueError("the sweep's table has no status column: which runs failed is unknown")
        return pd.Series(False, index=table.index)
    return table["status"].isin(SUCCESS)


def known_outputs(table: pd.DataFrame, spec: dict) -> list[str]:
    """The outputs of the sweep: ``spec["outputs"]`` when it lists them, else every numeric column
    of the table that is neither a run column nor a parameter."""
    listed = spec.get("outputs")
    if listed:
        return [o for o in listed if o in table.columns]
    skip = set(RUN_COLUMNS) | set(parameter_names(spec))
    return [c for c in table.columns if c not in skip and pd.api.types.is_numeric_dtype(table[c])]


def _check_outputs(table: pd.DataFrame, spec: dict, outputs: str | Iterable[str] | None) -> list[str]:
    known = known_outputs(table, spec)
    if outputs is None:
        if not known:
            raise ValueError("the sweep's table holds no output column")
        return known
    outputs = [outputs] if isinstance(outputs, str) else list(outputs)
    unknown = [o for o in outputs if o not in known]
    if unknown:
        raise ValueError(f"unknown output{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(repr(o) for o in unknown)}; the sweep's outputs are: "
                         f"{', '.join(known) or '(none)'}")
    return outputs


def _check_columns(table: pd.DataFrame, columns: Iterable[str]) -> list[str]:
    columns = [columns] if isinstance(columns, str) else list(columns)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"the table has no column {', '.join(repr(c) for c in missing)}; its columns are: "
                         f"{', '.join(map(str, table.columns))}")
    return columns


def _check_level(level: float) -> float:
    if not (isinstance(level, (int, float)) and math.isfinite(level) and 0 < level < 1):
        raise ValueError(f"level {level!r}: a confidence level is a number between 0 and 1 (e.g. 0.95)")
    return float(level)


def _check_design(design: pd.DataFrame, spec: dict) -> list[str]:
    """The parameter names after checking that ``design`` has one column per parameter, in order,
    and the index ``0..P-1``."""
    names = parameter_names(spec)
    if list(design.columns) != names:
        raise ValueError(f"the design's columns ({', '.join(map(str, design.columns))}) are not the "
                         f"sweep's parameters in order ({', '.join(names)})")
    if not design.index.equals(pd.RangeIndex(len(design))):
        raise ValueError("the design is not indexed by point 0..P-1 in order (SALib's analyzers rely "
                         "on the sampler's row order)")
    return names


def _problem(spec: dict) -> dict:
    """SALib's problem dict: names and bounds (``lo``, ``hi``) of the parameters."""
    names, bounds = [], []
    for p in spec.get("parameters", []):
        lo, hi = p.get("lo"), p.get("hi")
        if lo is None or hi is None or not (math.isfinite(float(lo)) and math.isfinite(float(hi))
                                            and float(lo) < float(hi)):
            raise ValueError(f"parameter {p['name']!r}: a sampled design needs a range lo < hi, "
                             f"not lo={lo!r}, hi={hi!r}")
        names.append(p["name"])
        bounds.append([float(lo), float(hi)])
    if not names:
        raise ValueError("the sweep has no parameters")
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def _bootstrap_seed(spec: dict, method: str) -> int:
    """A fixed seed for SALib's bootstrap, from the sweep's root seed and the method's name, so
    the intervals are the same at every call. Never 0 (SALib's Sobol' takes 0 for no seed)."""
    root = int(spec.get("seed", 0) or 0)
    state = np.random.SeedSequence([abs(root), zlib.crc32(method.encode())]).generate_state(1)
    return int(state[0]) + 1


def _points_without_ok_run(table: pd.DataFrame, points: int) -> list[int]:
    ok = set(_ok_runs(table)["point"].astype(int))
    return [p for p in range(points) if p not in ok]


def _refuse_incomplete(table: pd.DataFrame, points: int, method: str) -> None:
    missing = _points_without_ok_run(table, points)
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
        plural = "s" if len(missing) > 1 else ""
        raise IncompleteDesign(f"{method} needs a successful run at every point of the design: "
                               f"{len(missing)} of {points} points have none (point{plural} {shown}); "
                               f"rerun them, or add replicates")


def _points_in_design(table: pd.DataFrame, design: pd.DataFrame) -> None:
    points = table["point"].astype(int)
    if len(points) and (points.min() < 0 or points.max() >= len(design)):
        raise ValueError(f"the table has points outside the design's 0..{len(design) - 1}")


def _with_notes(frame: pd.DataFrame, notes: list[str], **attrs) -> pd.DataFrame:
    frame.attrs = {"notes": list(notes), **attrs}
    return frame


def _notes(frame: pd.DataFrame | None) -> list[str]:
    return [] if frame is None else list(frame.attrs.get("notes", []))


@contextlib.contextmanager
def _recorded_warnings(notes: list[str], where: str):
    """Run a third-party call with its warnings recorded as notes (our pytest turns warnings into
    errors; a researcher should read them, once each)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for message in dict.fromkeys(str(w.message).strip() for w in caught):
        notes.append(f"{where}: {message}")


def _fmt(value: float, digits: int = 3) -> str:
    return "nan" if value is None or not np.isfinite(value) else f"{value:.{digits}g}"


def _runs(count: int) -> str:
    return f"{count} successful run{'' if count == 1 else 's'}"


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _masked(values) -> np.ndarray:
    return np.asarray(np.ma.filled(np.ma.asarray(values, dtype=float), np.nan), dtype=float)


# --------------------------------------------------------------------------- replicates


def replicate_means(table: pd.DataFrame, outputs: str | Iterable[str], points: int | None = None) -> pd.DataFrame:
    """The mean of each output over each point's successful replicates.

    Indexed by ``point``, reindexed to every point of the design: ``0..points-1``, by default
    ``0..`` the largest point in the table (failed runs included, so a point whose runs all
    failed is there). A point with no successful run, or whose successful runs all have a NaN
    output, is NaN. Failed runs (``status`` not ``"ok"``) are left out; NaN outputs of successful
    runs are skipped.
    """
    outputs = _check_columns(table, outputs)
    if points is None:
        points = int(table["point"].max()) + 1 if len(table) else 0
    ok = _ok_runs(table)
    means = ok[["point", *outputs]].astype({o: float for o in outputs}).groupby("point")[outputs].mean()
    means.index = means.index.astype(int)
    return means.reindex(pd.RangeIndex(points, name="point"))


def replicate_spread(table: pd.DataFrame, outputs: str | Iterable[str]) -> pd.DataFrame:
    """How much of the spread of an output between points is replicate noise, one row per output.

    - ``replicate_sd``: the mean over points (with at least two successful replicates) of the
      standard deviation (ddof 1) of the output across a point's replicates: the noise of one run;
    - ``point_mean_sd``: the standard deviation (ddof 1) of the point means across points: the
      spread the parameters (and the remaining noise) make;
    - ``noise_ratio``: ``replicate_sd / point_mean_sd``. Near 0: the parameters drive the output.
      The point means still carry noise of about ``replicate_sd / sqrt(R)``, so a ratio near
      ``sqrt(R)`` says the points differ no more than noise alone would make them;
    - ``points`` (with a value), ``replicates`` (most successful replicates at a point),
      ``runs_used`` (successful runs with a value), ``runs_failed`` (failed runs, left out) and
      ``runs_nan`` (successful runs with a NaN output, left out).

    With one replicate per point the replicate spread cannot be measured: ``replicate_sd`` and
    ``noise_ratio`` are NaN, and a note says so (``attrs["notes"]``).
    """
    outputs = _check_columns(table, outputs)
    ok = _ok_runs(table)
    failed = int(len(table) - len(ok))
    rows, notes = [], []
    for output in outputs:
        values = ok[["point", output]].astype({output: float})
        finite = values[np.isfinite(values[output])]
        by_point = finite.groupby("point")[output]
        counts = by_point.count()
        sds = by_point.std(ddof=1)[counts >= 2]
        means = by_point.mean()
        replicate_sd = float(sds.mean()) if len(sds) else math.nan
        point_mean_sd = float(means.std(ddof=1)) if len(means) >= 2 else math.nan
        ratio = replicate_sd / point_mean_sd if point_mean_sd > 0 else math.nan
        if len(means) >= 2 and point_mean_sd == 0:
            notes.append(f"replicates: {output} has the same mean at every point (no spread to share out)")
        rows.append({"output": output, "replicate_sd": replicate_sd, "point_mean_sd": point_mean_sd,
                     "noise_ratio": ratio, "points": int(len(means)),
                     "replicates": int(counts.max()) if len(counts) else 0, "runs_used": int(len(finite)),
                     "runs_failed": failed, "runs_nan": int(len(values) - len(finite))})
    spread = pd.DataFrame(rows, columns=SPREAD_COLUMNS)
    if len(spread) and (spread["replicates"] <= 1).all():
        notes.append("replicates: one successful replicate per point, so the replicate noise cannot be "
                     "measured (replicate_sd and noise_ratio are NaN), and each point's value carries a "
                     "run's whole noise")
    return _with_notes(spread, notes)


# --------------------------------------------------------------------------- Sobol'


def _prepared(table: pd.DataFrame, design: pd.DataFrame, spec: dict, outputs, level: float, method: str,
              needs: str, block, wrong_size) -> tuple[list[str], float, list[str], dict, pd.DataFrame]:
    """What Sobol' and Morris both check and take: the sweep's design is ``method``'s (else
    ``needs``), its size a whole number of blocks (``block(d)`` points; else ``wrong_size(d,
    points)``), every point has a successful run; returns the outputs, the level, the parameter
    names, SALib's problem and the replicate means in design order."""
    if spec.get("design") != method:
        other = {"sobol": "morris", "morris": "sobol"}[method]
        hint = f"; use {other}() for a {other} design" if spec.get("design") == other else ""
        raise ValueError(f"{needs}; this sweep's design is {spec.get('design')!r}{hint}")
    outputs = _check_outputs(table, spec, outputs)
    level = _check_level(level)
    names = _check_design(design, spec)
    problem = _problem(spec)
    points, d = len(design), len(names)
    if points == 0 or points % block(d):
        raise ValueError(wrong_size(d, points))
    _points_in_design(table, design)
    _refuse_incomplete(table, points, "Sobol' analysis" if method == "sobol" else "Morris analysis")
    return outputs, level, names, problem, replicate_means(table, outputs, points=points)


def _sobol_tables(table: pd.DataFrame, design: pd.DataFrame, spec: dict, outputs, level: float
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both Sobol' tables (first and total order; second order, empty when not sampled)."""
    from SALib.analyze import sobol as salib_sobol

    second = bool(spec.get("second_order", False))
    step = (lambda d: 2 * d + 2) if second else (lambda d: d + 2)
    outputs, level, names, problem, means = _prepared(
        table, design, spec, outputs, level, "sobol", "Sobol' indices need a sobol design (SALib's Saltelli/Sobol' "
        "sampler)", step, lambda d, points: f"a Sobol' design of {d} parameters{' with' if second else ' without'} "
        f"second order has a multiple of {step(d)} points, not {points}: is second_order right?")
    points, d = len(design), len(names)
    seed = _bootstrap_seed(spec, "sobol")
    first_rows, second_rows, notes = [], [], []
    for output in outputs:
        y = means[output].to_numpy(dtype=float)
        result = None
        if not np.isfinite(y).all():
            bad = np.flatnonzero(~np.isfinite(y))
            notes.append(f"sobol: {output} is NaN at {len(bad)} of {points} points whose runs succeeded "
                         f"(e.g. point {bad[0]}): its indices are not computed (NaN)")
        elif np.ptp(y) == 0:
            notes.append(f"sobol: {output} is the same at every point ({_fmt(y[0])}): no variance to "
                         f"share out, its indices are undefined (NaN)")
        else:
            with _recorded_warnings(notes, f"sobol ({output})"):
                result = salib_sobol.analyze(problem, y, calc_second_order=second,
                                             num_resamples=BOOTSTRAP_RESAMPLES, conf_level=level, seed=seed)
        nan = np.full(d, np.nan)
        s1, s1c = (nan, nan) if result is None else (result["S1"], result["S1_conf"])
        st, stc = (nan, nan) if result is None else (result["ST"], result["ST_conf"])
        for j, name in enumerate(names):
            first_rows.append({"output": output, "parameter": name,
                               "S1": s1[j], "S1_low": s1[j] - s1c[j], "S1_high": s1[j] + s1c[j],
                               "ST": st[j], "ST_low": st[j] - stc[j], "ST_high": st[j] + stc[j]})
        if second:
            s2 = np.full((d, d), np.nan) if result is None else result["S2"]
            s2c = np.full((d, d), np.nan) if result is None else result["S2_conf"]
            for j in range(d):
                for k in range(j + 1, d):
                    second_rows.append({"output": output, "parameter_1": names[j], "parameter_2": names[k],
                                        "S2": s2[j, k], "S2_low": s2[j, k] - s2c[j, k],
                                        "S2_high": s2[j, k] + s2c[j, k]})
    attrs = {"level": level, "bootstrap_seed": seed, "resamples": BOOTSTRAP_RESAMPLES}
    first = _with_notes(pd.DataFrame(first_rows, columns=SOBOL_COLUMNS).astype(
        {c: float for c in SOBOL_COLUMNS[2:]}), notes, **attrs)
    second_table = _with_notes(pd.DataFrame(second_rows, columns=SOBOL2_COLUMNS).astype(
        {c: float for c in SOBOL2_COLUMNS[3:]}), notes, **attrs)
    return first, second_table


def sobol(table: pd.DataFrame, design: pd.DataFrame, spec: dict, outputs: str | Iterable[str] | None = None,
          level: float = LEVEL) -> pd.DataFrame:
    """First-order and total Sobol' indices of each output, with their intervals.

    The indices are those of the replicate means (:func:`replicate_means`), in design order,
    estimated by SALib's ``SALib.analyze.sobol.analyze`` with the estimators of Saltelli et al.
    (2010) (first order: their eq. (b) of table 2; total: Jansen's, eq. (f)). The problem's
    bounds are the parameters' ``lo`` and ``hi``; ``calc_second_order`` is the design's
    ``second_order``. The intervals are SALib's at ``level``: the index -/+ ``z`` times the
    standard deviation of the index over :data:`BOOTSTRAP_RESAMPLES` bootstrap resamples of the
    base rows, drawn with a seed fixed by the sweep's root seed (so the same sweep always gives
    the same intervals). Averaging the replicates removes most of the runs' noise from the
    variance decomposed; what is left (about ``replicate_sd / sqrt(R)``, see
    :func:`replicate_spread`) counts as unexplained variance and lowers the first-order indices.

    Returns one row per (output, parameter): ``S1``, ``S1_low``, ``S1_high``, ``ST``, ``ST_low``,
    ``ST_high``. An output that is the same at every point, or NaN at a point, has NaN indices
    and a note in ``attrs["notes"]``.

    Raises :class:`ValueError` when the design is not ``sobol``, an output is unknown, or the
    design does not match the spec; :class:`IncompleteDesign` (a ``ValueError``) when a point has
    no successful run (the estimators need every row of the design).
    """
    return _sobol_tables(table, design, spec, outputs, level)[0]


def sobol_second_order(table: pd.DataFrame, design: pd.DataFrame, spec: dict,
                       outputs: str | Iterable[str] | None = None, level: float = LEVEL) -> pd.DataFrame:
    """Second-order Sobol' indices (Saltelli 2002, as SALib computes them), one row per output
    and pair of parameters: ``S2``, ``S2_low``, ``S2_high``. Needs a design sampled with
    ``second_order``; otherwise as :func:`sobol`."""
    if not spec.get("second_order", False):
        raise ValueError("second-order Sobol' indices need a design sampled with second_order = true; "
                         "this sweep's was sampled without")
    return _sobol_tables(table, design, spec, outputs, level)[1]


# --------------------------------------------------------------------------- Morris


def morris(table: pd.DataFrame, design: pd.DataFrame, spec: dict, outputs: str | Iterable[str] | None = None,
           level: float = LEVEL) -> pd.DataFrame:
    """Morris elementary effects of each output: ``mu``, ``mu*`` with its interval, and ``sigma``.

    SALib's ``SALib.analyze.morris.analyze`` with ``X`` the raw design (the sampler's trajectories,
    in order) and ``Y`` the replicate means, ``num_levels`` the design's ``levels``. An elementary
    effect is the change in the output over a step of the trajectory divided by the step in the
    unit hypercube (``levels / (2 (levels - 1))``), so it is in output units per whole range of the
    parameter. ``mu*``, the mean absolute effect, ranks the parameters (Campolongo, Cariboni &
    Saltelli 2007); ``sigma`` (their standard deviation) flags non-linearity or interactions;
    ``mu`` far below ``mu*`` means effects of both signs. The interval on ``mu*`` is SALib's:
    ``mu*`` -/+ ``z`` times the bootstrap standard deviation (seed fixed by the sweep's root seed).

    Returns one row per (output, parameter): ``mu``, ``mu_star``, ``mu_star_low``,
    ``mu_star_high``, ``sigma``. Refuses as :func:`sobol` does (a design that is not ``morris``,
    an unknown output, a point without a successful run).
    """
    from SALib.analyze import morris as salib_morris

    outputs, level, names, problem, means = _prepared(
        table, design, spec, outputs, level, "morris", "Morris elementary effects need a morris design (SALib's "
        "Morris sampler)", lambda d: d + 1, lambda d, points: f"a Morris design of {d} parameters has trajectories "
        f"of {d + 1} points: {points} points is not a whole number of them")
    points, d = len(design), len(names)
    levels = int(spec.get("levels", 4))
    x = design.to_numpy(dtype=float)
    seed = _bootstrap_seed(spec, "morris")
    rows, notes = [], []
    for output in outputs:
        y = means[output].to_numpy(dtype=float)
        result = None
        if not np.isfinite(y).all():
            bad = np.flatnonzero(~np.isfinite(y))
            notes.append(f"morris: {output} is NaN at {len(bad)} of {points} points whose runs succeeded "
                         f"(e.g. point {bad[0]}): its effects are not computed (NaN)")
        else:
            if np.ptp(y) == 0:
                notes.append(f"morris: {output} is the same at every point ({_fmt(y[0])}): every effect is 0")
            with _recorded_warnings(notes, f"morris ({output})"):
                result = salib_morris.analyze(problem, x, y, num_resamples=BOOTSTRAP_RESAMPLES,
                                              conf_level=level, num_levels=levels, seed=seed)
        nan = np.full(d, np.nan)
        mu = nan if result is None else _masked(result["mu"])
        mu_star = nan if result is None else _masked(result["mu_star"])
        conf = nan if result is None else _masked(result["mu_star_conf"])
        sigma = nan if result is None else _masked(result["sigma"])
        for j, name in enumerate(names):
            rows.append({"output": output, "parameter": name, "mu": mu[j], "mu_star": mu_star[j],
                         "mu_star_low": mu_star[j] - conf[j], "mu_star_high": mu_star[j] + conf[j],
                         "sigma": sigma[j]})
    frame = pd.DataFrame(rows, columns=MORRIS_COLUMNS).astype({c: float for c in MORRIS_COLUMNS[2:]})
    return _with_notes(frame, notes, level=level, bootstrap_seed=seed, resamples=BOOTSTRAP_RESAMPLES,
                       levels=levels)



def plot_indices(indices: pd.DataFrame, output: str, path: str | Path, level: float = LEVEL) -> None:
    """Save a bar chart of one output's indices with error bars: S1 and ST per parameter for a
    :func:`sobol` table, ``mu*`` (with its interval) and ``sigma`` for a :func:`morris` table."""
    from matplotlib.figure import Figure

    rows = indices[indices["output"] == output]
    sobol_table = "S1" in rows.columns
    if sobol_table:
        bars = (("S1", "S1_low", "S1_high", "first order S1"), ("ST", "ST_low", "ST_high", "total ST"))
    else:
        bars = (("mu_star", "mu_star_low", "mu_star_high", "mu*"), ("sigma", None, None, "sigma"))
    params = list(rows["parameter"])
    fig = Figure(figsize=(max(5.0, 1.1 * len(params) + 2.0), 4.4), layout="constrained")
    ax = fig.subplots()
    at = np.arange(len(params), dtype=float)
    for k, (col, low, high, label) in enumerate(bars):
        value = rows[col].to_numpy(dtype=float)
        shown = np.nan_to_num(value)
        err = None
        if low is not None:
            err = np.nan_to_num(np.vstack([value - rows[low].to_numpy(dtype=float),
                                           rows[high].to_numpy(dtype=float) - value]))
            err = np.clip(err, 0, None)
        ax.bar(at + (k - 0.5) * 0.38, shown, width=0.38, yerr=err, capsize=3, label=label,
               color=("tab:blue", "tab:orange")[k])
    if not np.isfinite(rows[bars[0][0]].to_numpy(dtype=float)).any():
        ax.text(0.5, 0.5, "indices undefined (see analysis.json notes)", transform=ax.transAxes,
                ha="center", va="center")
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_xticks(at, params, rotation=30 if len(params) > 4 else 0, ha="right" if len(params) > 4 else "center")
    ax.set_xlabel("parameter")
    ax.set_ylabel("Sobol' index (share of variance)" if sobol_table else f"elementary effect ({output} per range)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    what = ("Sobol' indices (Saltelli et al. 2010)" if sobol_table
            else "Morris mu* and sigma (Campolongo et al. 2007)")
    whiskers = "S1 and ST" if sobol_table else "mu*"
    ax.set_title(f"{output}: {what}\nerror bars: {level:.0%} bootstrap intervals on {whiskers}", fontsize=10)
    fig.savefig(path, dpi=110)

