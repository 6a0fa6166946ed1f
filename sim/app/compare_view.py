"""The app's comparison mode: the session's scenario with and without a strategy, side by
side on common random numbers (one seed, so the difference is the strategy's, not noise)."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pandas as pd
import solara

from sim.app.state import AppModel, Settings
from sim.config import ConfigError, strategy_names

# (label, column, how a run's figure is read from its daily column)
OUTCOMES = [
    ("merchant failures", "merchant_failures", "sum"),
    ("contagion failures", "contagion_failures", "sum"),
    ("peak unemployment rate", "unemployment_rate", "max"),
    ("mean 30+ DPD rate", "delinq_30_rate", "mean"),
    ("platform limit cuts", "limit_cuts", "sum"),
    ("platform spending (yuan)", "consumption", "sum"),
    ("unmet demand (yuan)", "unmet_demand", "sum"),
    ("layoffs", "layoffs", "sum"),
]
COMPARED_SERIES = [("merchants_active", "active merchants"), ("unemployment_rate", "unemployment rate"),
                   ("limit_cuts", "platform limit cuts per day")]


def pair_settings(settings: Settings, strategy: str) -> tuple[Settings, Settings]:
    """The session's settings without ``strategy`` and with it, on the same seed."""
    base = tuple(s for s in settings.strategies if s != strategy)
    return (dataclasses.replace(settings, strategies=base),
            dataclasses.replace(settings, strategies=(*base, strategy)))


def run_pair(settings: Settings, strategy: str, days: int, progress=None) -> tuple[AppModel, AppModel]:
    """Both models of the comparison, each run ``days`` recorded days (at most its horizon);
    ``progress(share)`` hears of the four stages (two burn-ins, two runs)."""
    models = []
    for k, s in enumerate(pair_settings(settings, strategy)):
        report = (lambda d, t, k=k: progress((2 * k + d / max(t, 1)) / 4)) if progress else None
        m = AppModel(s, progress=report)
        m.run(until=days)
        if progress:
            progress((2 * k + 2) / 4)
        models.append(m)
    return models[0], models[1]


def outcome(model, column: str, how: str) -> float:
    values = model.recorder.columns[column][:model.recorder.n]
    if values.size == 0:
        return float("nan")
    return float(getattr(np, how)(values))


def comparison_table(base, treated) -> pd.DataFrame:
    """Each outcome without and with the strategy, and the difference (with - without)."""
    rows = []
    for label, column, how in OUTCOMES:
        a, b = outcome(base, column, how), outcome(treated, column, how)
        rows.append({"outcome": label, "without": a, "with": b, "difference": b - a})
    return pd.DataFrame(rows)


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """The table for the page: four significant digits."""
    out = table.copy()
    for col in ("without", "with", "difference"):
        out[col] = [f"{v:,.4g}" for v in out[col]]
    return out


def series_option(base, treated, column: str, label: str, strategy: str) -> dict:
    n = min(base.recorder.n, treated.recorder.n)
    first = base.calendar.pos(0)
    dates = [str(d) for d in base.calendar.dates[first:first + n].astype("datetime64[D]")]
    line = lambda m: [float(f"{v:.4g}") for v in m.recorder.columns[column][:n].tolist()]  # noqa: E731
    return {"animation": False, "title": {"text": label, "textStyle": {"fontSize": 13}},
            "tooltip": {"trigger": "axis"}, "legend": {"top": 22},
            "grid": {"left": 60, "right": 15, "top": 60, "bottom": 30},
            "xAxis": {"type": "category", "data": dates}, "yAxis": {"type": "value", "scale": True},
            "series": [{"name": "without", "type": "line", "showSymbol": False, "data": line(base)},
                       {"name": f"with {strategy}", "type": "line", "showSymbol": False, "data": line(treated)}]}


def Comparison(model):
    """Choose a strategy and a number of days; run the pair; see the outcomes and three series."""
    strategies = strategy_names()
    strategy = solara.use_reactive(strategies[0] if strategies else "")
    days = solara.use_reactive(min(180, model.cfg.run.days))
    progress = solara.use_reactive(None)
    result = solara.use_reactive(None)
    error = solara.use_reactive("")

    def run():
        error.set("")
        progress.set(0.0)
        try:
            result.set((strategy.value, run_pair(model.settings, strategy.value, days.value, progress.set)))
        except (ConfigError, ValueError) as err:
            error.set(str(err))
        finally:
            progress.set(None)

    with solara.Column() as col:
        solara.HTML(tag="h3", unsafe_innerHTML="With and without a strategy")
        solara.Text("The session's scenario and settings, run twice on the same seed (common random numbers): "
                    "once without the strategy, once with it. One pair shows the mechanism; for intervals across "
                    "seeds use `sim compare SCENARIO --strategy NAME --against SCENARIO --seeds 10`.")
        solara.Select("strategy", values=strategies, value=strategy)
        solara.SliderInt(f"recorded days: {days.value}", value=days, min=1, max=model.cfg.run.days)
        solara.Button("Run the comparison", color="primary", disabled=progress.value is not None,
                      on_click=lambda: threading.Thread(target=run, daemon=True).start())
        if progress.value is not None:
            solara.ProgressLinear(value=100 * progress.value)
        if error.value:
            solara.Error(error.value)
        if result.value is not None:
            name, (base, treated) = result.value
            solara.DataFrame(shown(comparison_table(base, treated)), items_per_page=len(OUTCOMES))
            for column, label in COMPARED_SERIES:
                solara.FigureEcharts(option=series_option(base, treated, column, label, name),
                                     attributes={"style": "height: 240px; width: 100%"}, responsive=True)
    return col
