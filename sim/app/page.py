"""The Solara app: Mesa's ``SolaraViz`` over an :class:`~sim.app.state.AppModel`, with the
project's own controls, pictures, live shocks, inspector and comparison.

Serve it with ``sim app`` (or ``solara run sim.app.page``). Page 0 of the main view shows the
supply network and the time series, page 1 the inspector, page 2 the comparison of a strategy
on common random numbers. The sidebar holds SolaraViz's step, play and reset (reset rebuilds
the model from the settings chosen here) and the settings with a "Rebuild" that shows the
burn-in's progress.
"""

from __future__ import annotations

import dataclasses
import threading

import pandas as pd
import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update

from agents.merchant import TIER_NAMES
from sim.app.compare_view import Comparison
from sim.app.state import SETTINGS, AppModel, controls, scenario_names
from sim.app.views import STATES, line_chart, merchant_states, network_option, panel_option, recorded_dates
from sim.config import ConfigError, strategy_names

SELECTED_MERCHANT = solara.reactive(0)     # the inspector's merchant (a click on the network picks one)
SELECTED_CONSUMER = solara.reactive(0)
BUILD_PROGRESS = solara.reactive(None)     # the burn-in's share done while a model is built, else None
BUILD_ERROR = solara.reactive("")

# the live shocks: (button label, kind, keys) applied from the next day
LIVE_SHOCKS = {
    "Macro shock: 4 points of job loss for 180 days": ("unemployment", {"size": 0.04, "days": 180}),
    "Credit tightening: platforms' appetite -0.3 for 90 days": ("credit_tightening", {"size": -0.3, "days": 90}),
    "Supplier failure: the largest manufacturer fails": ("supplier_failure", {"target": "manufacturer"}),
}


# --------------------------------------------------------------------------- model building


def build_model(settings=None, progress=None) -> AppModel:
    """A new :class:`AppModel` from ``settings`` (default: the session's), reporting the burn-in's
    progress to ``progress`` (default: :data:`BUILD_PROGRESS`)."""
    report = progress or (lambda done, total: BUILD_PROGRESS.set(done / max(total, 1)))
    return AppModel(settings if settings is not None else SETTINGS.value, progress=report)


def build_into(model: solara.Reactive) -> None:
    """Build a model from the session's settings into ``model``, the burn-in's progress in
    :data:`BUILD_PROGRESS` and a bad setting's message in :data:`BUILD_ERROR`."""
    BUILD_ERROR.set("")
    BUILD_PROGRESS.set(0.0)
    try:
        model.set(build_model())
    except (ConfigError, ValueError) as err:
        BUILD_ERROR.set(str(err))
    finally:
        BUILD_PROGRESS.set(None)


@solara.component
def Settings_(model: solara.Reactive):
    """The sidebar card of settings: scenario, strategies, seed and the key parameters (each
    with its unit, and its meaning and declared range as a tooltip), and Rebuild."""
    settings = SETTINGS.value

    def rebuild():
        build_into(model)
        force_update()

    def set_value(key):
        return lambda value: SETTINGS.set(SETTINGS.value.with_value(key, value))

    with solara.Card("Scenario and parameters"):
        solara.Select("scenario", values=scenario_names(), value=settings.scenario,
                      on_value=lambda v: SETTINGS.set(dataclasses.replace(SETTINGS.value, scenario=v)))
        solara.SelectMultiple("strategies", all_values=strategy_names(), values=list(settings.strategies),
                              on_value=lambda v: SETTINGS.set(dataclasses.replace(SETTINGS.value, strategies=tuple(v))))
        solara.InputInt("seed (run.seed)", value=settings.seed,
                        on_value=lambda v: SETTINGS.set(dataclasses.replace(SETTINGS.value, seed=int(v))))
        for c in controls():
            slider = solara.SliderInt if c.is_int else solara.SliderFloat
            value = settings.value(c.key)
            with solara.Tooltip(c.tooltip):
                with solara.Div():
                    slider(f"{c.label}: {value:g}", value=value, min=c.lo, max=c.hi, step=c.step,
                           on_value=set_value(c.key), thumb_label=False)
        def start():   # in a thread, so the progress bar is drawn while the burn-in runs
            threading.Thread(target=rebuild, daemon=True).start()

        solara.Button("Rebuild with these settings", color="primary", on_click=start,
                      disabled=BUILD_PROGRESS.value is not None)
        if BUILD_PROGRESS.value is not None:
            solara.Text(f"burn-in: {BUILD_PROGRESS.value:.0%}")
            solara.ProgressLinear(value=100 * BUILD_PROGRESS.value)
        if BUILD_ERROR.value:
            solara.Error(BUILD_ERROR.value)
        solara.Text("Reset (above) rebuilds with these settings too, without a progress bar.")


# --------------------------------------------------------------------------- page 0


def Status(model):
    """The date simulated last, and the day's headline figures."""
    rec = model.recorder
    last = rec.n - 1
    with solara.Column() as col:
        _html("h3", f"{model.date:%Y-%m-%d} (day {model.day}, {model.cfg.name})", cls="current-date")
        if last >= 0:
            c = rec.columns
            _html("p", f"Unemployment <b>{c['unemployment_rate'][last]:.1%}</b> · platform appetite "
                       f"<b>{c['risk_appetite'][last]:.2f}</b> · 30+ DPD <b>{c['delinq_30_rate'][last]:.2%}</b> · "
                       f"active merchants <b>{int(c['merchants_active'][last])}</b> · failures so far "
                       f"<b>{int(c['merchant_failures'][:rec.n].sum())}</b>")
        else:
            _html("p", "Burn-in done: step to simulate the first recorded day.")
        LiveShocks(model)
    return col


def LiveShocks(model):
    """Buttons that add a shock to the running model from the next day (``apply_shock``)."""
    message = solara.use_reactive("")

    def apply(label):
        kind, keys = LIVE_SHOCKS[label]
        if "days" in keys:   # a shock lasts at most to the end of the run
            keys = {**keys, "days": min(keys["days"], model.calendar.days - model.t)}
        try:
            shock = model.apply_shock(kind, **keys)
        except (ConfigError, ValueError) as err:
            message.set(f"not applied: {err}")
            return
        end = model.calendar.date(shock.end - 1)
        message.set(f"{kind} from {model.calendar.date(shock.start)} to {end}")
        force_update()

    with solara.Column(gap="4px"):
        for label in LIVE_SHOCKS:
            solara.Button(label, on_click=lambda label=label: apply(label), outlined=True, small=True,
                          disabled=not model.running or model.t < 0)
        if message.value:
            solara.Text(message.value)


def Network(model):
    """The supply network by tier; a click on a merchant opens it in the inspector (page 1)."""
    def pick(event):
        name = (event or {}).get("data", {}).get("name")
        if name is not None and str(name).isdigit():
            SELECTED_MERCHANT.set(int(name))

    return solara.FigureEcharts(option=network_option(model, SELECTED_MERCHANT.value), on_click=pick,
                                attributes={"style": "height: 370px; width: 100%"}, responsive=True)


def _panel(k: int):
    def Panel(model):
        return solara.FigureEcharts(option=panel_option(model, k), attributes={"style": "height: 370px; width: 100%"},
                                    responsive=True)
    Panel.__name__ = f"Panel{k}"
    return Panel


PANEL_COMPONENTS = [_panel(k) for k in range(6)]


# --------------------------------------------------------------------------- page 1


def merchant_balance_sheet(model, i: int) -> list[dict]:
    """A merchant's balance sheet today, rows of (side, item, yuan)."""
    ms = model.merchants
    assets = [("cash", ms.cash[i]), ("inventory at cost", ms.inventory[i]), ("fixed assets", ms.fixed_assets[i]),
              ("credit sales not yet settled", ms.settlement_receivable()[i]),
              ("trade receivables", ms.trade_receivables[i])]
    liabilities = [("trade payables", ms.trade_payables[i]), ("bank line drawn", ms.bank_drawn[i]),
                   ("supply-chain finance drawn", ms.scf_drawn[i]), ("wage arrears", ms.wage_arrears[i])]
    rows = [{"side": "asset", "item": k, "yuan": round(float(v), 2)} for k, v in assets]
    rows += [{"side": "liability", "item": k, "yuan": round(float(v), 2)} for k, v in liabilities]
    rows.append({"side": "", "item": "net worth", "yuan": round(float(ms.net_worth()[i]), 2)})
    return rows


def merchant_history_option(model, i: int) -> dict:
    """A merchant's cash and net worth over the recorded days (yuan), with its state on a
    second axis."""
    n = model.recorder.n
    h = model.history
    option = line_chart(f"Merchant {i}: history", recorded_dates(model),
                        {"cash": h["cash"][:n, i], "net worth": h["net_worth"][:n, i],
                         "state (0 healthy, 1 distressed, 2 failed)": h["status"][:n, i]})
    option["grid"]["right"] = 40
    option["yAxis"] = [{"type": "value", "name": "yuan", "scale": True},
                       {"type": "value", "name": "state", "min": 0, "max": 2, "interval": 1}]
    option["series"][2].update(step="end", yAxisIndex=1)
    return option


def Inspector(model):
    """Pick a merchant (or click one on the network) or a consumer; see its balance sheet and
    history."""
    ms = model.merchants
    i = min(max(SELECTED_MERCHANT.value, 0), ms.m - 1)
    state = STATES[int(merchant_states(model)[i])]
    with solara.Column() as col:
        solara.InputInt("merchant id", value=i, on_value=lambda v: SELECTED_MERCHANT.set(int(v)))
        _html("p", f"<b>Merchant {i}</b>: {TIER_NAMES[int(ms.tier[i])]}, {state}, staff {int(ms.staff[i])}, "
                   f"expected sales {ms.expected_sales[i]:,.0f} yuan/day, cash buffer target "
                   f"{ms.buffer_days[i]:.0f} days", cls="merchant-summary")
        solara.DataFrame(_frame(merchant_balance_sheet(model, i)), items_per_page=12)
        if model.recorder.n:
            solara.FigureEcharts(option=merchant_history_option(model, i), attributes={"style": "height: 300px"})
        ConsumerInspector(model)
    return col


def consumer_rows(model, c: int) -> list[dict]:
    """A consumer's accounts today, one row per lender."""
    rows = []
    for l, name in enumerate(model.lender_names):
        acc = model.accounts
        rows.append({"lender": name, "open": bool(acc.open[l, c]), "fixed limit": round(float(acc.fixed_limit[l, c]), 2),
                     "temporary limit": round(float(acc.temp_limit[l, c]), 2),
                     "balance": round(float(acc.balance[l, c]), 2), "days past due": int(acc.dpd[l, c]),
                     "PD": round(float(acc.pd[l, c]), 4)})
    return rows


def ConsumerInspector(model):
    cs = model.consumers
    c = min(max(SELECTED_CONSUMER.value, 0), cs.n - 1)
    solara.InputInt("consumer id", value=c, on_value=lambda v: SELECTED_CONSUMER.set(int(v)))
    employer = int(cs.employer[c])
    work = ("unemployed" if not cs.employed[c] else
            "employed at " + ("the outside sector" if employer < 0 else f"merchant {employer}"))
    _html("p", f"<b>Consumer {c}</b>: income {cs.income[c]:,.0f} yuan/month, {work}, cash {cs.cash[c]:,.0f} yuan",
          cls="consumer-summary")
    solara.DataFrame(_frame(consumer_rows(model, c)))
    changes = consumer_limit_changes(model, c)
    if len(changes):
        _html("p", "Limit changes (recorded days)")
        solara.DataFrame(changes, items_per_page=8)


def consumer_limit_changes(model, c: int):
    """The consumer's limit changes on recorded days, newest first, with their causes."""
    frame = model.recorder.limit_changes()
    mine = frame[frame["consumer_id"] == c].drop(columns=["consumer_id"])
    return mine.iloc[::-1].reset_index(drop=True)


def _html(tag: str, text: str, cls: str = ""):
    """Plain HTML (``solara.Markdown`` would fetch KaTeX, which Solara's offline assets lack)."""
    return solara.HTML(tag=tag, unsafe_innerHTML=text, classes=[cls] if cls else [])


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the page


TITLE = "Credit contagion: platform limit cuts and merchant liquidity"
COMPONENTS = [(Status, 0), (Network, 0), *((p, 0) for p in PANEL_COMPONENTS), (Inspector, 1), (Comparison, 2)]


@solara.component
def Page():
    """The app: the model is built (its burn-in with a progress bar) before the first frame."""
    model = solara.use_reactive(None)

    def first_build():
        if model.value is None:
            build_into(model)

    solara.use_thread(first_build, dependencies=[])
    if model.value is None:
        with solara.Column(style={"padding": "2em"}):
            _html("h2", "Credit contagion")
            _html("p", "Running the burn-in before the first recorded day...")
            share = BUILD_PROGRESS.value or 0.0
            solara.ProgressLinear(value=100 * share)
            solara.Text(f"burn-in: {share:.0%}")
            if BUILD_ERROR.value:
                solara.Error(BUILD_ERROR.value)
        return
    Main(model)


@solara.component
def Main(model: solara.Reactive):
    """The page once a model exists: the settings in the sidebar, then Mesa's SolaraViz (its
    controls in the sidebar, the components in its pages; they redraw on each step, this does not)."""
    with solara.Sidebar():
        Settings_(model)
    SolaraViz(model, components=COMPONENTS, model_params={}, name=TITLE, play_interval=50)


__all__ = ["Main", "Page", "build_model"]
