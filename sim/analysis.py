"""The analysis of a finished sweep: sensitivity indices, heat maps and scenario discovery.

A sweep runs the model at ``P`` parameter points of a design, ``R`` replicates at each (replicate
``r`` uses seed ``root + r`` at every point: common random numbers). Its results reach this module
as three objects, which :mod:`sim.sweeps` loads from a sweep folder:

``table``
    one row per run: ``run``, ``point``, ``replicate``, ``seed``, one column per swept parameter
    (the value the model got, integers rounded), one float column per output (NaN for a failed
    run), ``status`` (``"ok"`` or ``"done"`` for a successful run, ``"failed"``), ``error`` and
    ``seconds``. Failed runs are left out of every statistic here, and counted; so are runs an
    unfinished sweep has not made (no row at all).
``design``
    the raw design matrix as the sampler produced it, indexed by point ``0..P-1`` in order, one
    float column per parameter (SALib's analyzers need that order: Sobol's estimators read the
    rows in blocks, Morris's read the steps of each trajectory).
``spec``
    the sweep's manifest: ``design`` (``grid``, ``lhs``, ``sobol`` or ``morris``), ``parameters``
    (``name``, ``lo``, ``hi``, ``values``, ``type``, in design column order), ``second_order``,
    ``levels``, ``replicates``, ``seed``, ``outputs`` and ``analysis`` (optional ``systemic`` rule
    and ``heatmap`` pair).

What is computed, and from what:

- :func:`replicate_means` and :func:`replicate_spread`: the mean of each output over a point's
  successful replicates, and how much of the spread between points is replicate noise.
- :func:`sobol`: first-order and total Sobol' indices of the replicate means, with SALib's
  estimators (Saltelli et al. 2010), for a ``sobol`` design; :func:`sobol_second_order` the
  second-order indices when the design was sampled for them.
- :func:`morris`: Morris elementary effects, ``mu*`` (Campolongo, Cariboni & Saltelli 2007) and
  ``sigma``, for a ``morris`` design.
- :func:`heatmap`: the mean of an output over a grid of two parameters, with the line where the
  share of systemic runs crosses one half ("where cascades turn systemic").
- :func:`prim_boxes`: scenario discovery (Bryant & Lempert 2010) with PRIM (Friedman & Fisher
  1999), from the EMA workbench: boxes of parameter space where runs are systemic, by a rule such
  as ``"merchant_failure_share >= 0.05"`` (:func:`parse_systemic`, :func:`is_systemic`).
- :func:`analyze` runs what the design allows and returns an :class:`Analysis`, which writes its
  folder (:meth:`Analysis.write`) and prints a summary (:meth:`Analysis.report`);
  :func:`analyze_folder` does the same for a sweep folder.

The Python API::

    from sim.analysis import analyze_folder, sobol, heatmap, prim_boxes
    result = analyze_folder("results/sweep_buffers", systemic="merchant_failure_share >= 0.05")
    print(result.report())
    result.write("results/sweep_buffers/analysis")

References:

- Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M. & Tarantola, S. (2010). Variance
  based sensitivity analysis of model output. Design and estimator for the total sensitivity
  index. Computer Physics Communications 181(2), 259-270. doi:10.1016/j.cpc.2009.09.018
- Campolongo, F., Cariboni, J. & Saltelli, A. (2007). An effective screening design for
  sensitivity analysis of large models. Environmental Modelling & Software 22(10), 1509-1518.
  doi:10.1016/j.envsoft.2006.10.004
- Friedman, J. H. & Fisher, N. I. (1999). Bump hunting in high-dimensional data. Statistics and
  Computing 9(2), 123-143. doi:10.1023/A:1008894516817
- Bryant, B. P. & Lempert, R. J. (2010). Thinking inside the box: a participatory,
  computer-assisted approach to scenario discovery. Technological Forecasting and Social Change
  77(1), 34-49. doi:10.1016/j.techfore.2009.08.002
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import operator
import re
import warnings
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.sweep_file import parse_systemic

LEVEL = 0.95                 # confidence level of the intervals
BOOTSTRAP_RESAMPLES = 1000   # bootstrap resamples behind SALib's intervals (its default is 100)
HEATMAP_BINS = 8             # cells a side of a heat map over a continuous parameter
PRIM_THRESHOLD = 0.8         # least density of a PRIM box (share of its runs that are systemic)
PRIM_MAX_BOXES = 5           # boxes PRIM looks for at most
PRIM_MIN_RUNS = 20           # fewer successful runs than this: no PRIM
INDEX = "analysis.json"      # the index of an analysis folder (sim.results)

# the columns of a sweep's table that are neither parameters nor outputs
RUN_COLUMNS = ("run", "point", "replicate", "seed", "status", "error", "traceback", "seconds", "code_version")
SUCCESS = ("ok", "done")     # the statuses of a successful run
DESIGNS = ("grid", "lhs", "sobol", "morris")

SOBOL_COLUMNS = ["output", "parameter", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"]
SOBOL2_COLUMNS = ["output", "parameter_1", "parameter_2", "S2", "S2_low", "S2_high"]
MORRIS_COLUMNS = ["output", "parameter", "mu", "mu_star", "mu_star_low", "mu_star_high", "sigma"]
SPREAD_COLUMNS = ["output", "replicate_sd", "point_mean_sd", "noise_ratio", "points", "replicates",
                  "runs_used", "runs_failed", "runs_nan"]
PRIM_COLUMNS = ["box", "coverage", "density", "mass", "runs", "systemic_runs", "restricted", "limits"]

OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
METHODS = {
    "sobol": "first-order (S1) and total (ST) Sobol' indices of the replicate means, SALib's "
             "estimators (Saltelli et al. 2010); intervals: index -/+ z * bootstrap SD",
    "morris": "Morris elementary effects of the replicate means: mu, mu* (Campolongo, Cariboni & "
              "Saltelli 2007) and sigma; interval on mu*: -/+ z * bootstrap SD",
    "heatmap": "mean of the output over ok runs in each cell of two parameters (exact values, or "
               "equal-width bins); line: where the share of systemic runs crosses 0.5",
    "prim": "PRIM (Friedman & Fisher 1999) for scenario discovery (Bryant & Lempert 2010), EMA "
            "workbench; per box the last point of the peeling trajectory with density >= threshold",
}


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
    output, is NaN. Failed runs (``status`` not ``"ok"``/``"done"``) are left out; NaN outputs of successful
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


def _sobol_tables(table: pd.DataFrame, design: pd.DataFrame, spec: dict, outputs, level: float
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both Sobol' tables (first and total order; second order, empty when not sampled)."""
    from SALib.analyze import sobol as salib_sobol

    if spec.get("design") != "sobol":
        hint = "; use morris() for a morris design" if spec.get("design") == "morris" else ""
        raise ValueError(f"Sobol' indices need a sobol design (SALib's Saltelli/Sobol' sampler); this "
                         f"sweep's design is {spec.get('design')!r}{hint}")
    outputs = _check_outputs(table, spec, outputs)
    level = _check_level(level)
    names = _check_design(design, spec)
    problem = _problem(spec)
    second = bool(spec.get("second_order", False))
    points, d = len(design), len(names)
    step = 2 * d + 2 if second else d + 2
    if points == 0 or points % step:
        raise ValueError(f"a Sobol' design of {d} parameters{' with' if second else ' without'} second order "
                         f"has a multiple of {step} points, not {points}: is second_order right?")
    _points_in_design(table, design)
    _refuse_incomplete(table, points, "Sobol' analysis")
    means = replicate_means(table, outputs, points=points)
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

    if spec.get("design") != "morris":
        hint = "; use sobol() for a sobol design" if spec.get("design") == "sobol" else ""
        raise ValueError(f"Morris elementary effects need a morris design (SALib's Morris sampler); this "
                         f"sweep's design is {spec.get('design')!r}{hint}")
    outputs = _check_outputs(table, spec, outputs)
    level = _check_level(level)
    names = _check_design(design, spec)
    problem = _problem(spec)
    points, d = len(design), len(names)
    if points == 0 or points % (d + 1):
        raise ValueError(f"a Morris design of {d} parameters has trajectories of {d + 1} points: "
                         f"{points} points is not a whole number of them")
    _points_in_design(table, design)
    _refuse_incomplete(table, points, "Morris analysis")
    levels = int(spec.get("levels", 4))
    means = replicate_means(table, outputs, points=points)
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


# --------------------------------------------------------------------------- systemic runs


def is_systemic(table: pd.DataFrame, text: str) -> pd.Series:
    """Whether each run of ``table`` is systemic by the rule ``text`` (:func:`parse_systemic`): a
    boolean Series aligned on the table. A NaN output (a failed run) is never systemic; callers
    that compute shares leave failed runs out first."""
    output = _rule_output(table, text)
    _, op, threshold = parse_systemic(text)
    values = table[output].astype(float)
    return OPERATORS[op](values, threshold).fillna(False).astype(bool).rename("systemic")


def _rule_output(table: pd.DataFrame, text: str) -> str:
    """The output a systemic rule reads, after checking the rule's form and that the table has it."""
    output = parse_systemic(text)[0]
    if output not in table.columns:
        numeric = [c for c in table.columns if c not in RUN_COLUMNS and pd.api.types.is_numeric_dtype(table[c])]
        raise ValueError(f"systemic rule {text!r}: the table has no output {output!r}; its numeric "
                         f"columns are: {', '.join(map(str, numeric))}")
    return output


def _systemic_runs(table: pd.DataFrame, text: str, notes: list[str], where: str) -> tuple[pd.DataFrame, pd.Series]:
    """The successful runs whose rule output is known, and whether each is systemic."""
    output = parse_systemic(text)[0]
    ok = _ok_runs(table)
    flags = is_systemic(ok, text)
    known = ok[output].astype(float).notna()
    if (~known).any():
        notes.append(f"{where}: {_runs(int((~known).sum()))} without a value of {output} left out")
    return ok[known], flags[known]


# --------------------------------------------------------------------------- heat map


def _axis(values: pd.Series, parameter: dict, exact: bool, bins: int) -> tuple[np.ndarray, pd.DataFrame]:
    """The cell of each run along one parameter, and the cells (``value``, ``low``, ``high``): one per
    distinct value when ``exact``, else ``bins`` equal-width bins over the parameter's range."""
    v = values.to_numpy(dtype=float)
    if exact:
        levels = np.unique(v[np.isfinite(v)])
        return np.searchsorted(levels, v), pd.DataFrame({"value": levels, "low": levels, "high": levels})
    lo = min(float(np.nanmin(v)), float(parameter["lo"]) if parameter.get("lo") is not None else math.inf)
    hi = max(float(np.nanmax(v)), float(parameter["hi"]) if parameter.get("hi") is not None else -math.inf)
    edges = np.linspace(lo, hi, bins + 1)
    codes = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, bins - 1)
    return codes, pd.DataFrame({"value": (edges[:-1] + edges[1:]) / 2, "low": edges[:-1], "high": edges[1:]})


def heatmap(table: pd.DataFrame, spec: dict, output: str, x: str, y: str, systemic: str | None = None,
            bins: int = HEATMAP_BINS, path: str | Path | None = None) -> pd.DataFrame:
    """The mean of ``output`` over cells of two parameters ``x`` and ``y``.

    A parameter's cells are its exact values in a ``grid`` design, or when it takes at most
    ``bins`` distinct values; otherwise ``bins`` equal-width bins over its range (``lo``..``hi``,
    widened to the values seen). A cell's mean is over every successful run in it, so over the
    replicates and the other parameters (equal weight per run; a NaN output is skipped). With a
    ``systemic`` rule (:func:`parse_systemic`), ``share_systemic`` is the share of the cell's
    successful runs that are systemic, and the picture draws the line where it crosses 0.5:
    where cascades turn systemic.

    Returns the cell table, one row per cell of the product (``runs`` 0 and NaN where no run
    fell): columns ``x`` and ``y`` (named by the parameters; the exact value or the bin's
    midpoint), ``<x>_low``, ``<x>_high``, ``<y>_low``, ``<y>_high`` (a bin's edges; the value
    itself for exact cells), ``mean``, ``share_systemic`` (NaN without a rule) and ``runs``. With
    ``path``, the heat map is saved there as a PNG (:func:`plot_heatmap`).
    """
    cells = _heatmap(table, spec, output, x, y, systemic=systemic, bins=bins)
    if path is not None:
        plot_heatmap(cells, path)
    return cells


def _heatmap(table: pd.DataFrame, spec: dict, output: str, x: str, y: str, systemic: str | None = None,
             bins: int = HEATMAP_BINS) -> pd.DataFrame:
    """The cell table of :func:`heatmap` (a function of its own: :func:`analyze` has a ``heatmap``
    argument)."""
    if not (isinstance(bins, (int, np.integer)) and bins >= 1):
        raise ValueError(f"bins {bins!r}: a heat map needs a whole number of bins, at least 1")
    output = _check_outputs(table, spec, [output])[0]
    px, py = _parameter(spec, x), _parameter(spec, y)
    if x == y:
        raise ValueError(f"a heat map needs two different parameters, not {x!r} twice")
    notes: list[str] = []
    ok = _ok_runs(table)
    if not len(ok):
        raise ValueError("a heat map needs at least one successful run; this sweep has none")
    flags = np.full(len(ok), np.nan)   # 1 systemic, 0 not, NaN unknown (the rule's output is NaN)
    if systemic is not None:
        known = ok[_rule_output(table, systemic)].astype(float).notna().to_numpy()
        flags = np.where(known, is_systemic(ok, systemic).to_numpy(dtype=float), np.nan)
        if not known.all():
            notes.append(f"heat map: {_runs(int((~known).sum()))} without a value of "
                         f"{parse_systemic(systemic)[0]} left out of the systemic shares")
    grid = spec.get("design") == "grid"
    axes = {}
    for name, p in ((x, px), (y, py)):
        exact = grid or ok[name].nunique() <= bins
        axes[name] = _axis(ok[name], p, exact, bins)
    xc, xcells = axes[x]
    yc, ycells = axes[y]
    runs = pd.DataFrame({"xc": xc, "yc": yc, "value": ok[output].astype(float).to_numpy(),
                         "systemic": flags})
    stats = runs.groupby(["xc", "yc"]).agg(mean=("value", "mean"), share_systemic=("systemic", "mean"),
                                           runs=("value", "size"))
    full = pd.MultiIndex.from_product([range(len(xcells)), range(len(ycells))], names=["xc", "yc"])
    stats = stats.reindex(full)
    stats["runs"] = stats["runs"].fillna(0).astype(int)
    cells = pd.DataFrame({
        x: xcells["value"].to_numpy()[full.get_level_values("xc")],
        y: ycells["value"].to_numpy()[full.get_level_values("yc")],
        f"{x}_low": xcells["low"].to_numpy()[full.get_level_values("xc")],
        f"{x}_high": xcells["high"].to_numpy()[full.get_level_values("xc")],
        f"{y}_low": ycells["low"].to_numpy()[full.get_level_values("yc")],
        f"{y}_high": ycells["high"].to_numpy()[full.get_level_values("yc")],
        "mean": stats["mean"].to_numpy(dtype=float),
        "share_systemic": stats["share_systemic"].to_numpy(dtype=float),
        "runs": stats["runs"].to_numpy()})
    cells = _with_notes(cells, notes, output=output, x=x, y=y, systemic=systemic,
                        binned=[name for name, (_, c) in axes.items() if not (c["low"] == c["high"]).all()])
    return cells


def plot_heatmap(cells: pd.DataFrame, path: str | Path) -> None:
    """Save the heat map of a :func:`heatmap` cell table as a PNG: the mean per cell, a colour bar
    named by the output, and (with a systemic rule) the line where the systemic share crosses 0.5."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    output, x, y, rule = (cells.attrs[k] for k in ("output", "x", "y", "systemic"))
    xs = np.sort(cells[x].unique())
    ys = np.sort(cells[y].unique())
    mean = cells.pivot(index=y, columns=x, values="mean").reindex(index=ys, columns=xs).to_numpy(dtype=float)
    share = cells.pivot(index=y, columns=x, values="share_systemic").reindex(index=ys, columns=xs
                                                                               ).to_numpy(dtype=float)
    fig = Figure(figsize=(6.8, 5.4), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(mean), origin="lower", aspect="auto", cmap="viridis",
                      interpolation="nearest")
    fig.colorbar(image, ax=ax).set_label(output)
    binned = set(cells.attrs.get("binned", []))
    ax.set_xticks(range(len(xs)), [_fmt(v) for v in xs], rotation=45 if len(xs) > 6 else 0)
    ax.set_yticks(range(len(ys)), [_fmt(v) for v in ys])
    ax.set_xlabel(x + (" (bin midpoints)" if x in binned else ""))
    ax.set_ylabel(y + (" (bin midpoints)" if y in binned else ""))
    subtitle = "mean over replicates and the other parameters"
    if rule is not None:
        finite = share[np.isfinite(share)]
        if len(xs) >= 2 and len(ys) >= 2 and len(finite) and finite.min() < 0.5 < finite.max():
            ax.contour(np.arange(len(xs)), np.arange(len(ys)), np.ma.masked_invalid(share), levels=[0.5],
                       colors="white", linewidths=2.2)
            ax.legend(handles=[Line2D([], [], color="white", lw=2.2)], labels=[f"half the runs systemic ({rule})"],
                      loc="upper right", fontsize=8, facecolor="0.35", labelcolor="white", framealpha=0.8)
            subtitle += "; line: where cascades turn systemic"
        else:
            subtitle += f"; the systemic share ({rule}) does not cross 0.5 here"
    ax.set_title(f"{output} by {x} and {y}\n{subtitle}", fontsize=10)
    fig.savefig(path, dpi=110)


# --------------------------------------------------------------------------- PRIM


@contextlib.contextmanager
def _quiet_ema():
    """The EMA workbench's PRIM, imported quietly, with its logging held at warnings."""
    with warnings.catch_warnings():
        # it warns on import (ipyparallel, altair missing): our pytest turns warnings into errors
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim as ema_prim
    logger = logging.getLogger("EMA")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield ema_prim
    finally:
        logger.setLevel(level)


def _box_limits(lims: pd.DataFrame, init: pd.DataFrame, names: Sequence[str]) -> tuple[str, dict, int]:
    """The readable limits, the numeric ones (NaN on a side not restricted) and the number of
    restricted parameters of a PRIM box."""
    texts, numeric, restricted = [], {}, 0
    for name in names:
        low, high = float(lims.loc[0, name]), float(lims.loc[1, name])
        low_cut = low != float(init.loc[0, name])
        high_cut = high != float(init.loc[1, name])
        numeric[f"{name}_low"] = low if low_cut else math.nan
        numeric[f"{name}_high"] = high if high_cut else math.nan
        if low_cut and high_cut:
            texts.append(f"{_fmt(low)} <= {name} <= {_fmt(high)}")
        elif low_cut:
            texts.append(f"{name} >= {_fmt(low)}")
        elif high_cut:
            texts.append(f"{name} <= {_fmt(high)}")
        restricted += low_cut or high_cut
    return "; ".join(texts) or "(no restriction: the whole sample)", numeric, restricted


def prim_boxes(table: pd.DataFrame, spec: dict, systemic: str, threshold: float = PRIM_THRESHOLD,
               peel_alpha: float = 0.05, mass_min: float = 0.05, max_boxes: int = PRIM_MAX_BOXES) -> pd.DataFrame:
    """Scenario discovery: boxes of parameter space where runs are systemic.

    PRIM, the patient rule induction method (Friedman & Fisher 1999), as the EMA workbench
    implements it for scenario discovery (Bryant & Lempert 2010): ``x`` is the parameter values
    of the successful runs (each run one case: replicates are cases too, so a point's noise shows
    as a lower density), ``y`` whether each run is systemic by the rule ``systemic``
    (:func:`is_systemic`). PRIM peels slices of ``peel_alpha`` of the box's runs off one side of
    one parameter at a time, the slice that raises the share of systemic runs most per run
    removed, until no slice helps or the box would hold less than ``mass_min`` of all runs, then
    pastes back what helps; each step is a point of the box's peeling trajectory.

    Which point is kept: the EMA workbench 3.0's ``find_box`` has no density threshold (it always
    returns a box); here each box keeps the **last point of its trajectory whose density is at
    least** ``threshold``. That is where peeling and pasting stopped (PRIM's own choice, the
    densest box it reached) whenever that box is dense enough, else the latest box on the way
    that was; it favours tight, dense boxes over wide ones that just meet the threshold (the
    point with most coverage at the threshold would push the limits outwards, towards
    non-systemic runs). The runs in the kept box are then removed and the next box is sought
    among the others, until a box's trajectory never reaches ``threshold``, no runs are left, or
    ``max_boxes`` boxes were found. To pick another point of a trajectory, run the workbench's
    ``Prim`` directly and inspect ``box.peeling_trajectory``.

    Returns one row per box: ``box`` (1, 2, ...), ``coverage`` (share of all systemic runs that are
    in the box), ``density`` (share of the box's runs that are systemic, among the runs left when
    it was found), ``mass`` (share of all runs in the box), ``runs``, ``systemic_runs``,
    ``restricted`` (number of parameters restricted), ``limits`` (readable, e.g.
    ``"0.2 <= a <= 0.5; b >= 40"``), and ``<parameter>_low``, ``<parameter>_high`` for every
    parameter (NaN on a side that is not restricted). The limits are those of the runs' values
    (rounded integers for integer parameters). With nothing to discover (no run or every run
    systemic), or too few runs (< :data:`PRIM_MIN_RUNS`), the table is empty and
    ``attrs["notes"]`` says why.
    """
    for name, value, lo, hi in (("threshold", threshold, 0, 1), ("peel_alpha", peel_alpha, 0, 0.5),
                                ("mass_min", mass_min, 0, 1)):
        if not (isinstance(value, (int, float)) and lo < value <= hi):
            raise ValueError(f"{name} {value!r}: must be a number in ({lo}, {hi}]")
    if not (isinstance(max_boxes, (int, np.integer)) and max_boxes >= 1):
        raise ValueError(f"max_boxes {max_boxes!r}: must be a whole number, at least 1")
    names = parameter_names(spec)
    _check_columns(table, names)
    notes: list[str] = []
    columns = PRIM_COLUMNS + [f"{n}_{side}" for n in names for side in ("low", "high")]
    ok, flags = _systemic_runs(table, systemic, notes, "prim")
    y = flags.to_numpy(dtype=int)
    share = float(y.mean()) if len(y) else math.nan
    attrs = {"systemic": systemic, "threshold": threshold, "runs": int(len(y)), "share_systemic": share}
    empty = pd.DataFrame({c: pd.Series(dtype=object if c == "limits" else float) for c in columns})
    if len(y) < PRIM_MIN_RUNS:
        notes.append(f"prim: {len(y)} successful runs, too few for PRIM (at least {PRIM_MIN_RUNS}); no boxes")
        return _with_notes(empty, notes, **attrs)
    if share in (0.0, 1.0):
        notes.append(f"prim: {'no run is' if share == 0 else 'every run is'} systemic by {systemic!r} "
                     f"({len(y)} runs): nothing to discover, no boxes")
        return _with_notes(empty, notes, **attrs)
    x = pd.DataFrame(index=range(len(ok)))
    for p in spec["parameters"]:
        values = ok[p["name"]].to_numpy(dtype=float)
        integral = p.get("type") == "int" and np.all(values == np.round(values))
        x[p["name"]] = values.astype(np.int64) if integral else values
    rows = []
    with _quiet_ema() as ema_prim, warnings.catch_warnings():
        warnings.simplefilter("ignore")   # pandas deprecations inside the workbench are not the researcher's
        prim = ema_prim.Prim(x, y, peel_alpha=peel_alpha, paste_alpha=peel_alpha, mass_min=mass_min)
        for number in range(1, max_boxes + 1):
            box = prim.find_box()
            if box is None:
                break
            density = box.peeling_trajectory["density"].to_numpy(dtype=float)
            dense = np.flatnonzero(density >= threshold)
            if not len(dense):
                if number == 1:
                    notes.append(f"prim: no box reaches density {threshold:g} (the densest has "
                                 f"{np.nanmax(density):.2f}): no region where runs are mostly systemic")
                else:
                    notes.append(f"prim: {number - 1} box{'es' if number > 2 else ''}; the next one found "
                                 f"reaches density {np.nanmax(density):.2f} at most, below {threshold:g}")
                break
            i = int(dense[-1])
            box.select(i)
            stats = box.peeling_trajectory.iloc[i]
            text, limits, restricted = _box_limits(box.box_lims[i], prim.box_init, names)
            rows.append({"box": number, "coverage": float(stats["coverage"]), "density": float(stats["density"]),
                         "mass": float(stats["mass"]), "runs": int(stats["n"]), "systemic_runs": int(stats["k"]),
                         "restricted": restricted, "limits": text, **limits})
    if not rows:
        return _with_notes(empty, notes, **attrs)
    frame = pd.DataFrame(rows, columns=columns)
    return _with_notes(frame, notes, **attrs)


# --------------------------------------------------------------------------- the whole analysis


@dataclasses.dataclass
class Analysis:
    """What :func:`analyze` computed from a sweep, and its notes."""

    spec: dict
    level: float
    outputs: list[str]
    means: pd.DataFrame                      # replicate means per point (replicate_means)
    replicates: pd.DataFrame                 # replicate noise per output (replicate_spread)
    runs: int = 0                            # runs in the sweep
    runs_failed: int = 0                     # of which failed (left out of every statistic)
    sobol: pd.DataFrame | None = None        # first-order and total indices (sobol design)
    sobol_second_order: pd.DataFrame | None = None
    morris: pd.DataFrame | None = None       # elementary effects (morris design)
    heatmap_parameters: tuple[str, str] | None = None
    heatmaps: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict)   # output -> cells
    systemic: str | None = None              # the rule, e.g. "merchant_failure_share >= 0.05"
    prim: pd.DataFrame | None = None         # PRIM boxes (with a systemic rule)
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def computed(self) -> list[str]:
        done = ["replicates"]
        done += ["sobol"] if self.sobol is not None else []
        done += ["sobol_second_order"] if self.sobol_second_order is not None else []
        done += ["morris"] if self.morris is not None else []
        done += ["heatmap"] if self.heatmaps else []
        done += ["prim"] if self.prim is not None else []
        return done

    def info(self) -> dict:
        """The index of the analysis folder (``analysis.json``), without its file list."""
        from sim.outputs import code_version
        return {
            "kind": "sweep analysis", "design": self.spec.get("design"),
            "parameters": parameter_names(self.spec), "analysed_outputs": list(self.outputs),
            "computed": self.computed, "level": self.level, "systemic": self.systemic,
            "heatmap": list(self.heatmap_parameters) if self.heatmap_parameters else None,
            "runs": self.runs, "runs_failed": self.runs_failed,
            "replicates": self.spec.get("replicates"), "seed": self.spec.get("seed"),
            "bootstrap_resamples": BOOTSTRAP_RESAMPLES,
            "prim_boxes": None if self.prim is None else int(len(self.prim)),
            "methods": {k: METHODS[k] for k in ("sobol", "morris", "heatmap", "prim") if k in self.computed},
            "notes": list(self.notes), "code_version": code_version()}

    def write(self, out_dir: str | Path) -> Path:
        """Write the analysis folder atomically (:func:`sim.results.publish`): ``replicates.csv``;
        ``sobol.csv`` (and ``sobol_second_order.csv``) or ``morris.csv``, with an
        ``indices_<output>.png`` bar chart per output; ``heatmap_<output>.csv`` and ``.png`` per
        output; ``prim_boxes.csv`` (with a systemic rule); and the index ``analysis.json``."""
        from sim.results import publish

        def fill(out: Path) -> dict:
            self.replicates.to_csv(out / "replicates.csv", index=False)
            if self.sobol is not None:
                self.sobol.to_csv(out / "sobol.csv", index=False)
            if self.sobol_second_order is not None:
                self.sobol_second_order.to_csv(out / "sobol_second_order.csv", index=False)
            if self.morris is not None:
                self.morris.to_csv(out / "morris.csv", index=False)
            indices = self.sobol if self.sobol is not None else self.morris
            if indices is not None:
                for output in self.outputs:
                    plot_indices(indices, output, out / f"indices_{_safe_name(output)}.png", level=self.level)
            for output, cells in self.heatmaps.items():
                cells.to_csv(out / f"heatmap_{_safe_name(output)}.csv", index=False)
                plot_heatmap(cells, out / f"heatmap_{_safe_name(output)}.png")
            if self.prim is not None:
                self.prim.to_csv(out / "prim_boxes.csv", index=False)
            return self.info()   # publish writes NaN as null and numpy numbers as Python's

        publish(out_dir, fill, INDEX)
        return Path(out_dir)

    def report(self, top: int = 5) -> str:
        """A short plain-text summary for a terminal: the sweep, the ``top`` indices per output
        with their intervals, the replicate noise, the PRIM boxes and the notes."""
        names = parameter_names(self.spec)
        pct = f"{self.level:.0%}"
        lines = [f"Sweep analysis: {self.spec.get('design')} design, {len(names)} parameter"
                 f"{'s' if len(names) != 1 else ''}, {len(self.means)} points, {self.runs} runs "
                 f"({self.runs_failed} failed, left out); intervals {pct}"]
        if self.sobol is not None:
            lines += ["", f"Sobol' indices (Saltelli et al. 2010), first order S1 and total ST, {pct} intervals:"]
            for output, rows in self.sobol.groupby("output", sort=False):
                lines.append(f"  {output}")
                rows = rows.sort_values("ST", ascending=False, na_position="last").head(top)
                width = max(len(p) for p in rows["parameter"])
                for r in rows.itertuples():
                    lines.append(f"    {r.parameter:<{width}}  S1 {r.S1:6.2f} [{r.S1_low:5.2f}, {r.S1_high:5.2f}]"
                                 f"   ST {r.ST:6.2f} [{r.ST_low:5.2f}, {r.ST_high:5.2f}]")
        if self.morris is not None:
            lines += ["", f"Morris elementary effects (Campolongo et al. 2007), mu* with {pct} interval, sigma:"]
            for output, rows in self.morris.groupby("output", sort=False):
                lines.append(f"  {output}")
                rows = rows.sort_values("mu_star", ascending=False, na_position="last").head(top)
                width = max(len(p) for p in rows["parameter"])
                for r in rows.itertuples():
                    lines.append(f"    {r.parameter:<{width}}  mu* {_fmt(r.mu_star):>8} [{_fmt(r.mu_star_low)}, "
                                 f"{_fmt(r.mu_star_high)}]   sigma {_fmt(r.sigma)}   mu {_fmt(r.mu)}")
        lines += ["", "Replicate noise (replicate SD / SD of the point means):"]
        for r in self.replicates.itertuples():
            if r.replicates <= 1:
                lines.append(f"  {r.output}: one replicate per point, noise not measured ({r.runs_used} runs)")
            else:
                lines.append(f"  {r.output}: {_fmt(r.replicate_sd)} / {_fmt(r.point_mean_sd)} = "
                             f"{_fmt(r.noise_ratio, 2)} ({r.runs_used} runs)")
        if self.prim is not None:
            share = self.prim.attrs.get("share_systemic", math.nan)
            lines += ["", f"PRIM boxes (Friedman & Fisher 1999) where runs are systemic ({self.systemic}; "
                          f"{share:.1%} of {self.prim.attrs.get('runs', 0)} runs):"]
            if not len(self.prim):
                lines.append("  none (see the notes)")
            for r in self.prim.itertuples():
                lines.append(f"  box {r.box}: coverage {r.coverage:.2f}, density {r.density:.2f}, "
                             f"mass {r.mass:.2f}: {r.limits}")
        if self.heatmap_parameters:
            lines += ["", f"Heat maps over {self.heatmap_parameters[0]} and {self.heatmap_parameters[1]}: "
                          f"{', '.join(self.heatmaps)}"]
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines)


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


def analyze(table: pd.DataFrame, design: pd.DataFrame, spec: dict, outputs: str | Iterable[str] | None = None,
            systemic: str | None = None, heatmap: Sequence[str] | None = None, level: float = LEVEL) -> Analysis:
    """Run what the sweep's design allows and return an :class:`Analysis`.

    Always the replicate means and noise; Sobol' indices for a ``sobol`` design (second order too
    when it was sampled for them), Morris effects for a ``morris`` design; a heat map per output
    when there are at least two parameters, over ``heatmap`` (two parameter names), else
    ``spec["analysis"]["heatmap"]``, else the first two parameters; PRIM boxes when a systemic
    rule is given, by ``systemic`` or ``spec["analysis"]["systemic"]``. A design with points
    that have no successful run gets no indices (the notes say which points) rather than an
    error, so that the rest is still computed.
    """
    level = _check_level(level)
    outputs = _check_outputs(table, spec, outputs)
    wanted = spec.get("analysis") or {}
    systemic = systemic if systemic is not None else wanted.get("systemic")
    if systemic is not None:
        _rule_output(table, systemic)   # a malformed rule or an unknown output: refused before any work
    names = parameter_names(spec)
    if spec.get("design") not in DESIGNS:
        raise ValueError(f"design {spec.get('design')!r}: expected one of {', '.join(DESIGNS)}")
    _check_design(design, spec)
    _points_in_design(table, design)
    pair = heatmap if heatmap is not None else wanted.get("heatmap")
    if pair is not None:
        pair = tuple(pair)
        if len(pair) != 2:
            raise ValueError(f"heatmap {list(pair)!r}: name two parameters")
        for name in pair:
            _parameter(spec, name)
    elif len(names) >= 2:
        pair = (names[0], names[1])
    failed = int((~_succeeded(table)).sum())
    if not len(table):
        raise ValueError("the sweep has no runs yet: nothing to analyse")
    if failed == len(table):
        first = f"; the first error: {table['error'].iloc[0]}" if "error" in table else ""
        raise ValueError(f"no successful run in the sweep ({len(table)} runs, all failed): nothing to "
                         f"analyse{first}")
    result = Analysis(spec=spec, level=level, outputs=outputs, systemic=systemic, runs=int(len(table)),
                      runs_failed=failed, means=replicate_means(table, outputs, points=len(design)),
                      replicates=replicate_spread(table, outputs))
    notes = result.notes
    if failed:
        errors = table.loc[~_succeeded(table), "error"].astype(str) if "error" in table else pd.Series([])
        common = errors.value_counts().index[0] if len(errors) else ""
        notes.append(f"{failed} of {len(table)} runs failed and are left out of every statistic"
                     + (f" (most common error: {common})" if common else ""))
    expected = spec.get("runs")
    if isinstance(expected, (int, np.integer)) and expected > len(table):
        notes.append(f"{expected - len(table)} of {expected} runs are missing (an unfinished sweep) and left out")
    notes += _notes(result.replicates)
    design_kind = spec.get("design")
    try:
        if design_kind == "sobol":
            result.sobol, second = _sobol_tables(table, design, spec, outputs, level)
            if spec.get("second_order", False):
                result.sobol_second_order = second
            notes += _notes(result.sobol)
        elif design_kind == "morris":
            result.morris = morris(table, design, spec, outputs, level)
            notes += _notes(result.morris)
        else:
            notes.append(f"the {design_kind} design gives no sensitivity indices (Sobol' needs a sobol design, "
                         f"Morris a morris design): heat maps{' and PRIM' if systemic else ''} only")
    except IncompleteDesign as err:
        notes.append(f"no sensitivity indices: {err}")
    if pair is None:
        notes.append("one parameter: no heat map")
    else:
        result.heatmap_parameters = pair
        for output in outputs:
            result.heatmaps[output] = _heatmap(table, spec, output, pair[0], pair[1], systemic=systemic)
        notes += list(dict.fromkeys(n for cells in result.heatmaps.values() for n in _notes(cells)))
    if systemic is not None:
        result.prim = prim_boxes(table, spec, systemic)
        notes += _notes(result.prim)
    return result


def analyze_folder(folder: str | Path, *, partial: bool = False, **kw) -> Analysis:
    """:func:`analyze` the sweep in ``folder`` (read with :func:`sim.sweeps.load` and
    :func:`sim.sweeps.load_design`; ``partial``: an unfinished sweep's runs too); other keywords
    as :func:`analyze`'s."""
    from sim.sweeps import load, load_design

    table = load(folder, partial=partial)
    spec = table.attrs["sweep"]
    return analyze(table, load_design(folder), spec, **kw)
