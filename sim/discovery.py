"""Where a sweep's runs turn systemic: rules, heat maps with the systemic contour, and scenario
discovery with PRIM (Friedman & Fisher 1999; Bryant & Lempert 2010), from the EMA workbench.
:mod:`sim.analysis` puts the whole analysis together; its docstring describes the table and
spec these functions take.
"""

from __future__ import annotations

import contextlib
import logging
import math
import operator
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.sensitivity import (RUN_COLUMNS, _check_columns, _check_outputs, _fmt, _ok_runs, _parameter, _runs,
                             _with_notes, parameter_names)
from sim.sweep_file import parse_systemic

HEATMAP_BINS = 8             # cells a side of a heat map over a continuous parameter
PRIM_THRESHOLD = 0.8         # least density of a PRIM box (share of its runs that are systemic)
PRIM_MAX_BOXES = 5           # boxes PRIM looks for at most
PRIM_MIN_RUNS = 20           # fewer successful runs than this: no PRIM
PRIM_COLUMNS = ["box", "coverage", "density", "mass", "runs", "systemic_runs", "restricted", "limits"]
OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


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

