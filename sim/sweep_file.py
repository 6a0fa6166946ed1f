"""Sweep files: what a batch of runs varies, how it samples it, and what it keeps.

A sweep file (TOML, named ``*_sweep.toml``; docs/sweeps.md) names a base scenario, the
parameters to vary, a design, the replicates per point, the outputs to keep and a root seed::

    description = "Cash buffers against trade-credit terms"
    scenario = "platform_tightening"        # a name in scenarios/, or a path (from this file's folder)
    set = ["population.consumers=2000"]     # fixed overrides, as with --set
    design = "grid"                         # grid, lhs, sobol or morris
    replicates = 3                          # runs per point; replicate r has seed = seed + r everywhere
    seed = 20260101
    outputs = ["merchant_failures", "unemployment_rate_peak"]

    [parameters."merchants.cash_buffer_days"]
    values = [7, 14, 27, 60]
    [parameters."merchants.trade_terms_days"]
    range = [15, 120]
    steps = 4

:func:`read_sweep` reads and checks the whole file, and every run's configuration it implies,
before anything runs: a bad key path, an empty or reversed range, an unknown design or output,
a sample size the design cannot use each raise :class:`~sim.inputs.ConfigError` naming the
key. :meth:`SweepSpec.points` draws the design (SALib for ``lhs``, ``sobol`` and ``morris``:
Herman & Usher 2017), :meth:`SweepSpec.run_config` gives one run's configuration.

Common random numbers: replicate ``r`` of every point runs on seed ``seed + r`` (as ``sim
compare`` numbers its seeds), so two points differ by their parameters, not by their draws.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from sim.config import _TYPES, SEED_MAX, Config, ConfigError, load_config, parse_override, resolve_scenario
from sim.inputs import finite_number, parse_toml, read_input_file, show, show_key, show_path

DESIGNS = ("grid", "lhs", "sobol", "morris")
MAX_SWEEP_BYTES = 1 << 20
MAX_RUNS = 1_000_000           # points x replicates
MAX_REPLICATES = 10_000
FULL_CHECK_POINTS = 2_000      # every point's configuration is loaded before the first run up to this many
SHOCK_FIELDS = {"size": float, "share": float, "weight": float, "days": int}   # what shocks[N].FIELD may vary
KEYS = ("description", "scenario", "strategies", "set", "shocks", "design", "samples", "levels", "second_order",
        "replicates", "seed", "outputs", "daily", "window", "parameters", "analysis")
PARAMETER_KEYS = ("key", "keys", "range", "values", "steps")
ANALYSIS_KEYS = ("systemic", "heatmap")
SYSTEMIC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|>|<)\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$")
_SHOCK_KEY = re.compile(r"^shocks\[(\d+)\]\.([a-z_]+)$")

# outputs a sweep computes beyond the headline measures of sim compare (name -> meaning)
DERIVED = {
    "merchant_failure_share": "merchant failures over the number of merchants",
    "contagion_failure_share": "contagion failures over the number of merchants",
}


def output_names() -> dict[str, str]:
    """Every output a sweep can keep (name -> meaning): the headline measures of ``sim compare``
    (:data:`sim.compare.MEASURES`, causes expanded) and :data:`DERIVED`."""
    from sim.compare import MEASURES, cause_columns
    from sim.outputs import COLUMNS

    out = {}
    for m in MEASURES:
        if "{cause}" in m.name:
            for col in cause_columns(COLUMNS):
                cause = col.removeprefix("limit_cuts_")
                out[m.name.format(cause=cause)] = m.label.format(cause=cause)
        else:
            out[m.name] = m.label
    return {**out, **DERIVED}


def daily_names() -> list[str]:
    """The daily series a sweep can keep: the time-series columns (docs/model.md 9)."""
    from sim.outputs import COLUMNS
    return [c for c in COLUMNS if c not in ("date", "day")]


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One swept parameter: a name (its column), the key paths it sets (a config path such as
    ``merchants.cash_buffer_days``, or ``shocks[N].FIELD`` of the run's N-th shock), and either
    a range ``[lo, hi]`` (with ``steps`` for a grid) or a list of values."""

    name: str
    keys: tuple[str, ...]
    kind: type                         # int, float (ranges); any scalar type for grid values
    lo: float | None = None
    hi: float | None = None
    values: tuple | None = None
    steps: int | None = None

    def grid(self) -> list:
        if self.values is not None:
            return list(self.values)
        return [self.cast(v) for v in np.linspace(self.lo, self.hi, self.steps)]

    def cast(self, x):
        """A sampled value as the model takes it: rounded for an integer parameter."""
        if isinstance(x, (bool, str, np.bool_)):
            return x.item() if isinstance(x, np.generic) else x
        return int(round(float(x))) if self.kind is int else float(x)

    def describe(self) -> dict:
        return {"name": self.name, "keys": list(self.keys), "type": self.kind.__name__, "lo": self.lo,
                "hi": self.hi, "values": None if self.values is None else list(self.values), "steps": self.steps}


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A checked sweep file (:func:`read_sweep`)."""

    path: Path
    text: str
    name: str
    description: str
    scenario: Path
    strategies: tuple[Path, ...]
    overrides: tuple[str, ...]
    shocks: tuple[dict, ...]           # the sweep file's own [[shocks]], added to the scenario's
    all_shocks: tuple[dict, ...]       # the scenario's, the strategies' and the sweep's: what shocks[N] counts
    design: str
    samples: int | None
    levels: int
    second_order: bool
    replicates: int
    seed: int
    outputs: tuple[str, ...]
    daily: tuple[str, ...]
    window: tuple[str, str] | None
    parameters: tuple[Parameter, ...]
    analysis: dict

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def problem(self) -> dict:
        """The SALib problem: names and bounds of the ranged parameters."""
        return {"num_vars": len(self.parameters), "names": [p.name for p in self.parameters],
                "bounds": [[p.lo, p.hi] for p in self.parameters]}

    def n_points(self) -> int:
        d = len(self.parameters)
        if self.design == "grid":
            return math.prod(len(p.values) if p.values is not None else p.steps for p in self.parameters)
        if self.design == "lhs":
            return self.samples
        if self.design == "sobol":
            return self.samples * (2 * d + 2 if self.second_order else d + 2)
        return self.samples * (d + 1)   # morris: trajectories of d + 1 points

    def n_runs(self) -> int:
        return self.n_points() * self.replicates

    def points(self) -> np.ndarray:
        """The design: one row per point, one column per parameter, as sampled (unrounded; an
        object array for a grid of non-numbers). Deterministic given the root seed."""
        d = len(self.parameters)
        if self.design == "grid":
            rows = list(itertools.product(*(p.grid() for p in self.parameters)))
            return np.array(rows, dtype=object if any(p.kind not in (int, float) for p in self.parameters)
                            else float).reshape(len(rows), d)
        seed = self.seed % (1 << 32)
        if self.design == "lhs":
            from SALib.sample import latin
            return latin.sample(self.problem(), self.samples, seed=seed)
        if self.design == "sobol":
            from SALib.sample import sobol
            return sobol.sample(self.problem(), self.samples, calc_second_order=self.second_order, seed=seed)
        from SALib.sample import morris
        return morris.sample(self.problem(), self.samples, num_levels=self.levels, seed=seed)

    def seeds(self) -> list[int]:
        """The seed of each replicate: ``seed + r``, the same at every point."""
        return [self.seed + r for r in range(self.replicates)]

    def assignments(self, row) -> dict[str, Any]:
        """Parameter name -> the value the model gets at design row ``row``."""
        return {p.name: p.cast(x) for p, x in zip(self.parameters, row)}

    def run_inputs(self, values: dict[str, Any], seed: int) -> tuple[tuple, tuple[dict, ...]]:
        """The overrides (``(key, value)`` pairs after the fixed ``set``, then ``run.seed``) and
        the shock tables to add, for a point's parameter values. When a parameter sets a shock's
        field, every shock of the run is given as an override of ``shocks`` (the scenario's
        tables with the new values, then the sweep's), and none is added."""
        overrides: list = list(self.overrides)
        shocks = [dict(t) for t in self.all_shocks]
        swept = False
        for p in self.parameters:
            for key in p.keys:
                m = _SHOCK_KEY.match(key)
                if m:
                    shocks[int(m.group(1))][m.group(2)] = values[p.name]
                    swept = True
                else:
                    overrides.append((key, values[p.name]))
        if swept:
            overrides.append(("shocks", shocks))
        overrides.append(("run.seed", seed))
        return tuple(overrides), () if swept else tuple(dict(t) for t in self.shocks)

    def run_config(self, values: dict[str, Any], seed: int) -> Config:
        overrides, shocks = self.run_inputs(values, seed)
        return load_config(self.scenario, list(overrides), strategies=self.strategies, add_shocks=shocks)

    def base_config(self) -> Config:
        return load_config(self.scenario, list(self.overrides), strategies=self.strategies, add_shocks=self.shocks)

    def describe(self) -> dict:
        """The checked sweep as plain data (the manifest's ``spec``; :mod:`sim.analysis` reads it)."""
        return {"name": self.name, "description": self.description, "scenario": str(self.scenario),
                "strategies": [str(s) for s in self.strategies], "set": list(self.overrides),
                "shocks": [dict(t) for t in self.shocks], "design": self.design, "samples": self.samples,
                "levels": self.levels, "second_order": self.second_order, "replicates": self.replicates,
                "seed": self.seed, "outputs": list(self.outputs), "daily": list(self.daily),
                "window": None if self.window is None else list(self.window),
                "parameters": [p.describe() for p in self.parameters], "analysis": dict(self.analysis),
                "points": self.n_points(), "runs": self.n_runs()}


# --------------------------------------------------------------------------- reading and checking


def read_sweep(path: str | Path, *, samples: int | None = None, replicates: int | None = None,
               overrides: list[str] | tuple = (), check_runs: bool = True) -> SweepSpec:
    """Read and check the sweep file ``path``; with ``check_runs``, also load the configuration
    of every parameter at each end of its range (and each grid value), and of every point of a
    design of at most :data:`FULL_CHECK_POINTS` points. Raises :class:`ConfigError` naming the
    file and key of the first problem.

    ``samples``, ``replicates`` and ``overrides`` (``key.path=value`` strings added to the file's
    ``set``) change the file's choices, to try a design small first (``sim sweep --samples 8
    --set population.consumers=1000``); the manifest records them."""
    path = Path(path)
    text = read_input_file(path, "sweep file", MAX_SWEEP_BYTES)
    where = str(path)
    data = parse_toml(text, where)
    if samples is not None:
        data["samples"] = samples
    if replicates is not None:
        data["replicates"] = replicates
    if overrides:
        if not isinstance(data.get("set", []), list):
            raise ConfigError(f"{where}: set: expected a list of strings, got {show(data['set'])}")
        data["set"] = [*data.get("set", []), *overrides]
    try:
        spec = _parse(path, text, data)
        if check_runs:
            _check_runs(spec)
    except ConfigError as err:
        msg = str(err)
        raise ConfigError(msg if msg.startswith(where) else f"{where}: {msg}") from None
    return spec


def _expect(cond: bool, key: str, msg: str) -> None:
    if not cond:
        raise ConfigError(f"{key}: {msg}")


def _int(data: dict, key: str, default, lo: int, hi: int) -> int:
    value = data.get(key, default)
    _expect(isinstance(value, int) and not isinstance(value, bool), key, f"expected an integer, got {show(value)}")
    _expect(lo <= value <= hi, key, f"{show(value)} is out of range [{lo}, {hi}]")
    return value


def _str_list(data: dict, key: str) -> list[str]:
    value = data.get(key, [])
    _expect(isinstance(value, list) and all(isinstance(v, str) for v in value), key,
            f"expected a list of strings, got {show(value)}")
    dupes = sorted({v for v in value if value.count(v) > 1})
    _expect(not dupes, key, f"{', '.join(map(show, dupes))} given twice")
    return value


def _parse(path: Path, text: str, data: dict) -> SweepSpec:
    unknown = [k for k in data if k not in KEYS]
    _expect(not unknown, show_key(unknown[0]) if unknown else "",
            "unknown key" + (_hint(unknown[0], list(KEYS)) if unknown else ""))
    description = data.get("description", "")
    _expect(isinstance(description, str), "description", f"expected a string, got {show(description)}")

    _expect("scenario" in data, "scenario", "missing: name the base scenario (a name in scenarios/ or a path)")
    scenario = _scenario(path, data["scenario"], "scenario")
    strategies = tuple(_scenario(path, s, "strategies") for s in _str_list(data, "strategies"))
    overrides = tuple(_str_list(data, "set"))
    for text_ in overrides:   # the syntax only; the values are checked with the configuration
        parse_override(text_)
    shocks = data.get("shocks", [])
    _expect(isinstance(shocks, list) and all(isinstance(t, dict) for t in shocks), "shocks",
            f"expected a list of [[shocks]] tables, got {show(shocks)}")

    design = data.get("design")
    _expect(isinstance(design, str) and design in DESIGNS, "design",
            f"{show(design)} is not a design; designs: {', '.join(DESIGNS)}")
    samples = _samples(data, design)
    levels = _int(data, "levels", 4, 2, 1000) if design == "morris" else 4
    _expect(design == "morris" or "levels" not in data, "levels", f"used by the morris design only, not {design}")
    _expect(levels % 2 == 0, "levels", f"{levels} is odd; Morris's design needs an even number of levels "
                                       f"(Morris 1991; e.g. 4)")
    second_order = data.get("second_order", False)
    _expect(isinstance(second_order, bool), "second_order", f"expected true or false, got {show(second_order)}")
    _expect(design == "sobol" or "second_order" not in data, "second_order",
            f"used by the sobol design only, not {design}")
    replicates = _int(data, "replicates", 1, 1, MAX_REPLICATES)
    seed = _int(data, "seed", Config().run.seed, 0, SEED_MAX - replicates)

    known = output_names()
    outputs = _str_list(data, "outputs")
    _expect(bool(outputs), "outputs", f"name at least one output to keep; outputs: {', '.join(known)}")
    for name in outputs:
        _expect(name in known, "outputs", f"{show(name)} is not an output; outputs: {', '.join(known)}")
    daily = _str_list(data, "daily")
    for name in daily:
        _expect(name in daily_names(), "daily", f"{show(name)} is not a daily series (time-series column); "
                                                f"see docs/model.md 9")
    window = data.get("window")
    if window is not None:
        _expect(isinstance(window, list) and len(window) == 2, "window",
                f"expected [first day, last day] (ISO dates), got {show(window)}")
        window = tuple(str(d) for d in window)

    raw = data.get("parameters")
    _expect(isinstance(raw, dict) and raw, "parameters",
            "missing or empty: give at least one [parameters.NAME] table with a range or values")
    from sim.config import shock_tables
    all_shocks = (*shock_tables(scenario, strategies), *shocks)
    parameters = tuple(_parameter(name, table, design, all_shocks) for name, table in raw.items())
    taken: dict[str, str] = {}
    for p in parameters:
        for key in p.keys:
            _expect(key not in taken, f"parameters.{show_path(p.name)}",
                    f"sets {key}, which parameter {taken.get(key)!r} sets too")
            taken[key] = p.name
    for text_ in overrides:
        key = parse_override(text_)[0]
        _expect(key not in taken, "set", f"{key} is also a swept parameter ({taken.get(key)!r}); set it in one place")
        _expect(key != "run.seed", "set", "run.seed is the sweep's to set: replicate r runs on seed + r; give the "
                                          "root seed as seed = N")
    _expect(design not in ("sobol", "morris") or len(parameters) >= 2, "parameters",
            f"the {design} design needs at least two parameters")

    analysis = data.get("analysis", {})
    _expect(isinstance(analysis, dict), "analysis", f"expected a table, got {show(analysis)}")
    bad = [k for k in analysis if k not in ANALYSIS_KEYS]
    _expect(not bad, f"analysis.{show_key(bad[0])}" if bad else "", f"unknown key (known: {', '.join(ANALYSIS_KEYS)})")
    if "systemic" in analysis:
        out, _, _ = parse_systemic(analysis["systemic"], "analysis.systemic")
        _expect(out in outputs, "analysis.systemic", f"{out!r} is not among the outputs kept ({', '.join(outputs)})")
    if "heatmap" in analysis:
        hm = analysis["heatmap"]
        names = [p.name for p in parameters]
        _expect(isinstance(hm, list) and len(hm) == 2 and all(h in names for h in hm) and hm[0] != hm[1],
                "analysis.heatmap", f"expected two different parameter names of {names}, got {show(hm)}")

    spec = SweepSpec(path, text, path.name.removesuffix(".toml"), description, scenario, strategies, overrides,
                     tuple(shocks), all_shocks, design, samples, levels, second_order, replicates, seed, tuple(outputs),
                     tuple(daily), window, parameters, analysis)
    _expect(spec.n_runs() <= MAX_RUNS, "replicates" if spec.replicates > 1 else "parameters",
            f"{spec.n_points():,} points x {replicates} replicates = {spec.n_runs():,} runs, over the limit of "
            f"{MAX_RUNS:,} for one sweep; split it")
    return spec


def _scenario(sweep: Path, value: Any, key: str) -> Path:
    _expect(isinstance(value, str) and value, key, f"expected a scenario name or path, got {show(value)}")
    beside = sweep.parent / value
    if value.endswith(".toml") and beside.is_file():
        return beside.resolve()
    return resolve_scenario(value).resolve()


def _samples(data: dict, design: str) -> int | None:
    if design == "grid":
        _expect("samples" not in data, "samples", "not used by the grid design (give each parameter values, or a "
                                                  "range and steps)")
        return None
    _expect("samples" in data, "samples", {
        "lhs": "missing: the number of points of the Latin hypercube",
        "sobol": "missing: N, the base sample of Saltelli's design (a power of 2; N x (D + 2) points)",
        "morris": "missing: the number of Morris trajectories (D + 1 points each)"}[design])
    n = _int(data, "samples", None, 2, MAX_RUNS)
    if design == "sobol":
        _expect(n & (n - 1) == 0, "samples", f"{n} is not a power of 2; the Sobol sequence of Saltelli's design "
                                             f"is balanced only at N = 2^k (e.g. {1 << n.bit_length() - 1} or "
                                             f"{1 << n.bit_length()})")
    return n


def _parameter(name: Any, table: Any, design: str, shocks: tuple) -> Parameter:
    where = f"parameters.{show_path(str(name))}"
    _expect(isinstance(table, dict), where, f"expected a table with range or values, got {show(table)}")
    bad = [k for k in table if k not in PARAMETER_KEYS]
    _expect(not bad, f"{where}.{show_key(bad[0])}" if bad else where,
            f"unknown key (known: {', '.join(PARAMETER_KEYS)})")
    _expect(not ("key" in table and "keys" in table), where, "give key or keys, not both")
    if "keys" in table:
        keys = table["keys"]
        _expect(isinstance(keys, list) and keys and all(isinstance(k, str) for k in keys), f"{where}.keys",
                f"expected a non-empty list of key paths, got {show(keys)}")
    else:
        keys = [table.get("key", name)]
        _expect(isinstance(keys[0], str), f"{where}.key", f"expected a key path, got {show(keys[0])}")
    kinds = {_key_kind(k, f"{where}" + (".keys" if "keys" in table else ""), shocks) for k in keys}
    _expect(len(kinds) == 1, where, "its key paths take different types (e.g. an integer and a number)")
    kind = kinds.pop()
    _expect(("range" in table) != ("values" in table), where, "give either range = [lo, hi] or values = [...]")
    if "values" in table:
        values = table["values"]
        _expect(design == "grid", f"{where}.values",
                f"the {design} design samples ranges; give range = [lo, hi] (values are for a grid)")
        _expect(isinstance(values, list) and values, f"{where}.values",
                f"expected a non-empty list, got {show(values)}")
        for v in values:
            _expect(isinstance(v, (bool, int, float, str)) and (not isinstance(v, float) or math.isfinite(v)),
                    f"{where}.values", f"{show(v)} is not a number, boolean or string")
        _expect(len(set(map(repr, values))) == len(values), f"{where}.values", "a value is given twice")
        _expect("steps" not in table, f"{where}.steps", "goes with a range, not with values")
        return Parameter(str(name), tuple(keys), kind, values=tuple(values))
    rng = table["range"]
    _expect(isinstance(rng, list) and len(rng) == 2 and all(finite_number(v) for v in rng), f"{where}.range",
            f"expected [lo, hi] (two finite numbers), got {show(rng)}")
    _expect(kind in (int, float), f"{where}.range", f"a range needs a numeric parameter; {keys[0]} is {kind.__name__}")
    lo, hi = float(rng[0]), float(rng[1])
    _expect(lo != hi, f"{where}.range", f"[{rng[0]}, {rng[1]}] is empty (lo = hi); fix the value with set instead")
    _expect(lo < hi, f"{where}.range", f"[{rng[0]}, {rng[1]}] is reversed (lo > hi)")
    if kind is int:
        _expect(math.ceil(lo) <= math.floor(hi), f"{where}.range", f"[{rng[0]}, {rng[1]}] holds no integer")
    steps = None
    if design == "grid":
        _expect("steps" in table, f"{where}.steps", "missing: a grid over a range needs steps = N (N >= 2 points "
                                                    "from lo to hi)")
        steps = _int(table, "steps", None, 2, MAX_RUNS)
        if kind is int:
            _expect(len({round(v) for v in np.linspace(lo, hi, steps)}) == steps, f"{where}.steps",
                    f"{steps} steps over [{rng[0]}, {rng[1]}] repeat an integer; use fewer steps or values = [...]")
    else:
        _expect("steps" not in table, f"{where}.steps", f"used by the grid design only, not {design}")
    return Parameter(str(name), tuple(keys), kind, lo=lo, hi=hi, steps=steps)


def _key_kind(key: str, where: str, shocks: tuple) -> type:
    """The type a key path takes; raises for a path that is not a parameter. ``shocks[N]``
    counts ``shocks``: the scenario's (its extends chain first), the strategies', the sweep's."""
    m = _SHOCK_KEY.match(key)
    if key.startswith("shocks"):
        _expect(m is not None, where, f"{show_path(key)}: a shock key is shocks[N].FIELD, with FIELD one of "
                                      f"{', '.join(SHOCK_FIELDS)}")
        index, fld = int(m.group(1)), m.group(2)
        _expect(index < len(shocks), where, f"{key}: the run has {len(shocks)} shock{'s' if len(shocks) != 1 else ''}"
                                            f" (shocks[N] counts the scenario's, then the strategies', then the "
                                            f"sweep file's, from 0)")
        _expect(isinstance(shocks[index], dict), where, f"{key}: shocks[{index}] is not a table")
        _expect(fld in SHOCK_FIELDS, where, f"{key}: {fld!r} cannot be swept; shock fields: {', '.join(SHOCK_FIELDS)}")
        return SHOCK_FIELDS[fld]
    node: Any = Config()
    field = None
    parts = key.split(".")
    for i, part in enumerate(parts):
        here = ".".join(parts[:i + 1])
        if dataclasses.is_dataclass(node):
            fields = {f.name: f for f in dataclasses.fields(node) if f.name not in ("name", "description", "shocks")}
            named = where.endswith(key) or here == key   # (the message names the key path once)
            _expect(part in fields, where, ("" if named else f"{show_path(key)}: ")
                    + f"{show_path(here)} is not a parameter" + _hint(part, list(fields)))
            field, node = fields[part], getattr(node, part)
        elif isinstance(node, dict):
            # lenders and other named tables: a scenario may add names, checked when its configuration loads
            item = next(iter(node.values()), None)
            _expect(item is not None and dataclasses.is_dataclass(item), where, f"{show_path(key)}: not a parameter")
            node = node.get(part, item)
        else:
            raise ConfigError(f"{where}: {show_path(key)}: {show_path('.'.join(parts[:i]))} is a parameter, "
                              f"not a table")
    _expect(not dataclasses.is_dataclass(node) and not isinstance(node, dict), where,
            f"{show_path(key)} is a table of parameters; name one of them")
    kind = _TYPES.get(field.type, field.type) if isinstance(field.type, str) else field.type
    return kind if kind in (bool, int, float, str) else list


def _hint(part: str, names: list[str]) -> str:
    import difflib
    close = difflib.get_close_matches(part, names, n=1)
    return f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(names)})"


def parse_systemic(text: Any, where: str = "systemic") -> tuple[str, str, float]:
    """``"OUTPUT OP NUMBER"`` (OP one of ``> >= < <=``) as ``(output, op, threshold)``."""
    m = SYSTEMIC.match(text) if isinstance(text, str) else None
    if m is None or not finite_number(_float(m.group(3))):
        raise ConfigError(f"{where}: {show(text)} is not a rule of the form 'OUTPUT >= NUMBER' (or >, <, <=), "
                          f"e.g. 'merchant_failure_share >= 0.05'")
    return m.group(1), m.group(2), float(m.group(3))


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _check_runs(spec: SweepSpec) -> None:
    """Load the configurations the sweep implies: each parameter at the ends of its range (or
    at each of its values) with the others at the design's first point, and every point of a
    design of at most :data:`FULL_CHECK_POINTS` points (cross-parameter consistency)."""
    from sim.compare import _window

    base = spec.base_config()
    points = spec.points()
    first = spec.assignments(points[0])
    for p in spec.parameters:
        for v in (p.values if p.values is not None else (p.cast(p.lo), p.cast(p.hi))):
            try:
                spec.run_config({**first, p.name: p.cast(v)}, spec.seed)
            except ConfigError as err:
                raise ConfigError(f"parameters.{show_path(p.name)} = {show(p.cast(v))}: {_unset(err)}") from None
    if spec.window is not None:
        _window(base, spec.window[0], spec.window[1], ("window[0]", "window[1]"))
    if len(points) <= FULL_CHECK_POINTS:
        for i, row in enumerate(points):
            try:
                spec.run_config(spec.assignments(row), spec.seed)
            except ConfigError as err:
                values = ", ".join(f"{k}={show(v)}" for k, v in spec.assignments(row).items())
                raise ConfigError(f"point {i} ({values}): {_unset(err)}") from None


def _unset(err: ConfigError) -> str:
    """A configuration error without the ``--set KEY: `` that load_config puts before an
    override's (the sweep's message names the parameter already)."""
    return re.sub(r"^--set [^:]+: ", "", str(err))


def choices(described: dict) -> dict:
    """A described sweep (:meth:`SweepSpec.describe`, or a manifest's ``spec``) without the paths
    of its scenario files: what the sweep chose, compared by content wherever the project lies
    (the files' contents enter :func:`spec_hash` through the base configuration)."""
    return {k: v for k, v in described.items() if k not in ("scenario", "strategies")}


def spec_hash(spec: SweepSpec) -> str:
    """A hash of everything the runs depend on besides the code: the sweep file, the choices
    made beside it (:func:`read_sweep`'s ``samples``, ``replicates``, ``overrides``) and the base
    configuration it resolves to (so an edited base scenario is noticed too)."""
    base = spec.base_config().to_dict()
    blob = json.dumps({"sweep": spec.text, "spec": choices(spec.describe()), "base": base}, sort_keys=True,
                      default=repr)
    return hashlib.sha256(blob.encode()).hexdigest()
