"""The app's comparison mode: the session's scenario with and without a strategy, side by
side on common random numbers (one seed, so the difference is the strategy's, not noise)."""

from __future__ import annotations

import dataclasses
import threading

import pandas as pd
import solara

from sim.app.state import AppModel, Settings
from sim.app.views import line_chart, recorded_dates
from sim.compare import KEY_SERIES, MEASURES, measure_run
from sim.config import ConfigError, strategy_names
from sim.outputs import failures_frame

# the headline measures of `sim compare` (sim/compare.py, docs/model.md 9.3) the page shows
SHOWN_MEASURES = ("merchant_failures", "contagion_failures", "unemployment_rate_peak", "delinq_30_rate_mean",
                  "limit_cuts", "accounts_cut", "retail_sales", "layoffs")


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


def comparison_table(base, treated) -> pd.DataFrame:
    """The measures of :data:`SHOWN_MEASURES` without and with the strategy, as ``sim compare``
    defines them (:func:`sim.compare.measure_run` over the recorded days so far), and the
    difference (with - without)."""
    labels = {m.name: f"{m.label} ({m.unit})" if m.unit == "yuan" else m.label for m in MEASURES}
    a, b = (measure_run(m.results(), failures_frame(m), m.cfg.run.platform) for m in (base, treated))
    return pd.DataFrame([{"outcome": labels[name], "without": a[name], "with": b[name], "difference": b[name] - a[name]}
                         for name in SHOWN_MEASURES])


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """The table for the page: four significant digits."""
    out = table.copy()
    for col in ("without", "with", "difference"):
        out[col] = [f"{v:,.4g}" for v in out[col]]
    return out


def series_option(base, treated, column: str, title: str, unit: str, scale: float, strategy: str) -> dict:
    """One daily series of ``compare.png`` (:data:`sim.compare.KEY_SERIES`), without and with the
    strategy, over the days both have recorded."""
    n = min(base.recorder.n, treated.recorder.n)
    lines = {"without": base.recorder.columns[column][:n] * scale,
             f"with {strategy}": treated.recorder.columns[column][:n] * scale}
    return line_chart(f"{title} ({unit})", recorded_dates(base, n), lines)


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
            solara.DataFrame(shown(comparison_table(base, treated)), items_per_page=len(SHOWN_MEASURES))
            for column, title, unit, scale in KEY_SERIES:
                solara.FigureEcharts(option=series_option(base, treated, column, title, unit, scale, name),
                                     attributes={"style": "height: 240px; width: 100%"}, responsive=True)
    return col
