"""The analysis of a finished sweep: sensitivity indices, heat maps and scenario discovery.

A sweep runs the model at ``P`` parameter points of a design, ``R`` replicates at each (replicate
``r`` uses seed ``root + r`` at every point: common random numbers). Its results reach this module
as three objects, which :mod:`sim.sweeps` loads from a sweep folder:

``table``
    one row per run: ``run``, ``point``, ``replicate``, ``seed``, one column per swept parameter
    (the value the model got, integers rounded), one float column per output (NaN for a failed
    run), ``status`` (``"ok"``, or ``"failed"``), ``error`` and
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
The functions live in :mod:`sim.sensitivity` (replicates, Sobol', Morris) and :mod:`sim.discovery`
(systemic rules, heat maps, PRIM); this module puts them together and re-exports them.

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

import dataclasses
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.discovery import _heatmap, _rule_output, heatmap, is_systemic, plot_heatmap, prim_boxes
from sim.sensitivity import (BOOTSTRAP_RESAMPLES, LEVEL, IncompleteDesign, _check_design, _check_level,
                             _check_outputs, _fmt, _notes, _parameter, _points_in_design, _safe_name,
                             _sobol_tables, _succeeded, morris, parameter_names, plot_indices, replicate_means,
                             replicate_spread, sobol, sobol_second_order)
from sim.sweep_file import DESIGNS, parse_systemic


INDEX = "analysis.json"      # the index of an analysis folder (sim.results)
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


# the Python API of the analysis, whichever module a function lives in
__all__ = ["Analysis", "IncompleteDesign", "analyze", "analyze_folder", "heatmap", "is_systemic", "morris",
           "parse_systemic", "plot_heatmap", "plot_indices", "prim_boxes", "replicate_means", "replicate_spread",
           "sobol", "sobol_second_order"]
