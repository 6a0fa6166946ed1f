"""What the app runs: :class:`AppModel` (a :class:`~sim.model.CreditModel` that has done its
burn-in when built and keeps each merchant's history), the settings the controls choose, and
the key parameters those controls offer, read from the one parameter declaration
(:mod:`sim.config`: range, unit, meaning).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable

import numpy as np
import solara

from sim.config import Config, iter_params, load_config, scenario_files, strategy_names
from sim.model import CreditModel

# the interactive default size: the model's own defaults, fifty consumers a merchant as at the
# research size (at 25 a merchant, failures and unemployment run high: docs/model.md 2.8);
# docs/performance.md measures a step with every panel redrawn at this size and at 200 merchants
DEFAULT_SIZE = {"population.consumers": 5000, "population.merchants": 100}


@dataclasses.dataclass(frozen=True)
class Control:
    """A slider for one parameter: its key path, the slider's range and step (within the
    declared range), and what the declaration says of it."""

    key: str
    lo: float
    hi: float
    step: float
    default: float
    unit: str
    meaning: str

    @property
    def is_int(self) -> bool:
        return isinstance(self.default, int) and not isinstance(self.default, bool)

    @property
    def label(self) -> str:
        return f"{self.key.split('.')[-1].replace('_', ' ')}" + (f" ({self.unit})" if self.unit else "")

    @property
    def tooltip(self) -> str:
        declared = DECLARED[self.key]
        lo, hi = declared.metadata.get("lo"), declared.metadata.get("hi")
        rng = f"declared range [{'' if lo is None else lo}, {'' if hi is None else hi}]"
        return f"{self.key}: {self.meaning}. {rng}; slider {self.lo:g} to {self.hi:g}."


DECLARED = {path: f for path, f, _ in iter_params()}
_DEFAULTS = {path: d for path, _, d in iter_params()}

# (key path, slider low, high, step): the parameters a researcher turns first; the slider's
# range lies inside the declared one and the default on the slider's grid (a slider never
# moves a value by itself; both checked by the tests)
KEY_PARAMETERS = [
    ("population.consumers", 1000, 50000, 1000),
    ("population.merchants", 20, 1000, 10),
    ("run.days", 30, 1825, 5),
    ("merchants.trade_terms_days", 15, 180, 5),
    ("merchants.cash_buffer_days", 0, 90, 1),
    ("merchants.scf_share", 0.0, 1.0, 0.05),
    ("merchants.bank_line_months", 0.0, 6.0, 0.25),
    ("lenders.baitiao.appetite_min", 0.05, 1.0, 0.05),
    ("lenders.baitiao.appetite_unemployment", 0.0, 12.0, 0.5),
    ("consumers.income_median", 2000.0, 20000.0, 500.0),
]


def controls() -> list[Control]:
    """The key parameters' sliders, with units and meanings from the declaration."""
    out = []
    for key, lo, hi, step in KEY_PARAMETERS:
        f = DECLARED[key]
        default = DEFAULT_SIZE.get(key, _DEFAULTS[key])
        out.append(Control(key, lo, hi, step, default, f.metadata.get("unit", ""), f.metadata.get("doc", "")))
    return out


def scenario_names() -> list[str]:
    """Scenarios a run can start from (strategies are laid over one, not run alone)."""
    strategies = set(strategy_names())
    return [p.stem for p in scenario_files() if p.stem not in strategies]


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the controls chose: a scenario, strategies over it, a seed and parameter values
    (key paths). :meth:`config` resolves them as ``sim run`` would."""

    scenario: str = "baseline"
    strategies: tuple[str, ...] = ()
    seed: int = _DEFAULTS["run.seed"]
    values: tuple[tuple[str, float], ...] = tuple(DEFAULT_SIZE.items())

    @classmethod
    def chosen(cls, scenario: str = "baseline", strategies=(), seed: int | None = None,
               values: dict | None = None) -> "Settings":
        """Settings from choices (``sim app``'s flags): ``values`` laid over the default size,
        ``seed`` over the default seed; resolved once, so a bad choice is refused here."""
        merged = {**DEFAULT_SIZE, **(values or {})}
        settings = cls(scenario=scenario, strategies=tuple(strategies),
                       seed=cls.seed if seed is None else int(seed), values=tuple(merged.items()))
        settings.config()
        return settings

    def config(self) -> Config:
        overrides = [*self.values, ("run.seed", int(self.seed))]
        return load_config(self.scenario, overrides, strategies=self.strategies)

    def to_json(self) -> str:
        return json.dumps({"scenario": self.scenario, "strategies": list(self.strategies), "seed": self.seed,
                           "values": dict(self.values)})

    def with_value(self, key: str, value) -> "Settings":
        values = dict(self.values)
        values[key] = value
        return dataclasses.replace(self, values=tuple(values.items()))

    def value(self, key: str):
        return dict(self.values).get(key, DEFAULT_SIZE.get(key, _DEFAULTS.get(key)))


class AppModel(CreditModel):
    """The model the app shows: built from :class:`Settings` (what SolaraViz's reset calls with
    no arguments: the app's current settings, :func:`current_settings`), its burn-in run when
    built so the first frame is the first recorded day, and each merchant's cash, net worth and
    state kept on every recorded day for the inspector.

    ``progress(done, total)`` is told of the burn-in's progress (the app's progress bar)."""

    def __init__(self, settings: Settings | None = None, *, progress: Callable[[int, int], None] | None = None,
                 **kw):
        settings = settings if settings is not None else current_settings()
        super().__init__(settings.config(), **kw)
        self.settings = settings
        days, m = self.calendar.days, self.merchants.m
        self.history = {name: np.full((days, m), np.nan) for name in ("cash", "net_worth", "status")}
        total = -self.t
        while self.t < 0:   # the burn-in, a month at a time between reports
            self.run(until=min(self.t + 30, 0))
            if progress is not None:
                progress(total + self.t, total)

    def record(self) -> None:
        super().record()
        if self.t >= 0:
            ms = self.merchants
            self.history["cash"][self.t] = ms.cash
            self.history["net_worth"][self.t] = ms.net_worth()
            self.history["status"][self.t] = ms.status


ENV = "SIM_APP_SETTINGS"   # ``sim app --scenario/--strategy/--seed/--set`` hand the first settings over in it


def initial_settings() -> Settings:
    """The settings a session starts from: the defaults, or what ``sim app`` was given (the
    environment variable :data:`ENV`, JSON of :meth:`Settings.to_json`), checked by resolving
    them once."""
    text = os.environ.get(ENV)
    return Settings.chosen(**json.loads(text)) if text else Settings()


# the controls' choice: a Solara reactive variable, which Solara keeps per browser session
SETTINGS = solara.reactive(initial_settings())


def current_settings() -> Settings:
    """The settings :class:`AppModel` is built from when called with none: the session's
    controls (outside the app, the defaults)."""
    return SETTINGS.value
