"""The app's pictures as ECharts options (plain dicts; the browser draws them): the supply
network by tier and the time-series panels.

The server only gathers numbers here, a few milliseconds a frame; drawing happens in the
browser with the ECharts library that ships with Solara's assets (no internet needed). The
functions take a model and return the option, so the tests and the benchmark use them too.
"""

from __future__ import annotations

import numpy as np

from agents.lender import CAUSES
from agents.merchant import DISTRESSED, FAILED, TIER_NAMES
from sim.outputs import COLUMNS

STATE_COLOURS = {"healthy": "#2e7d32", "distressed": "#f9a825", "failed": "#c62828"}
STATES = tuple(STATE_COLOURS)
# the tiers from the bottom of the picture (where consumers buy) to the top (where goods start)
TIER_ROWS = ("retailer", "distributor", "manufacturer")
RECENT_DAYS = 30   # failures this recent are ringed in the network view


def layout(model) -> np.ndarray:
    """Positions of the merchants, (m, 2) with x in [0, 1] and y the tier's row (retailers 0,
    distributors 1, manufacturers 2). Manufacturers are ordered by size and each lower row by
    the mean position of its suppliers (barycentre ordering), so supply lines mostly run down
    rather than across. Computed once per model (:func:`cached_layout`): merchants keep their
    node for the whole run."""
    ms = model.merchants
    supplier, buyer = model.supply.relations()
    pos = np.zeros((ms.m, 2))
    above = None
    for row in reversed(range(len(TIER_ROWS))):
        ids = np.flatnonzero(ms.tier == TIER_NAMES.index(TIER_ROWS[row]))
        if ids.size == 0:
            continue
        if above is None:
            order = ids[np.argsort(-ms.expected_sales[ids], kind="stable")]
        else:
            placed = above[supplier] >= 0
            total = np.bincount(buyer[placed], weights=above[supplier][placed], minlength=ms.m)
            count = np.bincount(buyer[placed], minlength=ms.m)
            key = np.where(count[ids] > 0, total[ids] / np.maximum(count[ids], 1), 0.5)
            order = ids[np.argsort(key, kind="stable")]
        x = (np.arange(order.size) + 0.5) / order.size
        pos[order, 0] = x
        pos[order, 1] = row
        above = np.full(ms.m, -1.0)
        above[order] = x
    return pos


def cached_layout(model) -> np.ndarray:
    """:func:`layout`, computed on the first call and kept on the model."""
    if getattr(model, "_app_layout", None) is None:
        model._app_layout = layout(model)
    return model._app_layout


def merchant_states(model) -> np.ndarray:
    """Each merchant's state: 0 healthy, 1 distressed, 2 failed (indices into :data:`STATES`)."""
    status = model.merchants.status
    return np.where(status == FAILED, 2, np.where(status == DISTRESSED, 1, 0))


def node_sizes(expected_sales: np.ndarray) -> np.ndarray:
    """Symbol sizes (pixels): 4 plus up to 24 by the square root of expected daily sales over
    the largest, so areas follow sales."""
    sales = np.maximum(expected_sales, 0.0)
    top = sales.max() if sales.size else 0.0
    return 4.0 + 24.0 * np.sqrt(sales / top) if top > 0 else np.full(sales.shape, 4.0)


def network_option(model, highlight: int | None = None) -> dict:
    """The supply network today, for ``solara.FigureEcharts``: a node per merchant in its tier's
    row, coloured by state (healthy, distressed, failed), sized by expected sales, ringed dark
    red when it failed in the last 30 days (cascades show as rings spreading down the lines);
    live supply relations as lines; ``highlight`` (a merchant id) ringed blue. A node's ``name``
    is the merchant id (a click on it gives the id back)."""
    ms = model.merchants
    pos = cached_layout(model)
    states = merchant_states(model)
    sizes = node_sizes(ms.expected_sales)
    recent = (ms.status == FAILED) & (ms.failed_day >= model.day - RECENT_DAYS + 1)
    nodes = []
    for i in range(ms.m):
        node = {"name": str(i), "value": [round(float(pos[i, 0]), 4), int(pos[i, 1])],
                "category": int(states[i]), "symbolSize": round(float(sizes[i]), 1)}
        if i == highlight:
            node["itemStyle"] = {"borderColor": "#1565c0", "borderWidth": 3}
        elif recent[i]:
            node["itemStyle"] = {"borderColor": "#7f0000", "borderWidth": 2}
        nodes.append(node)
    supplier, buyer = model.supply.relations()
    links = [{"source": str(s), "target": str(b)} for s, b in zip(supplier.tolist(), buyer.tolist())]
    counts = np.bincount(states, minlength=3)
    return {
        "animation": False,
        "title": {"text": f"Supply chain on {model.date:%Y-%m-%d}",
                  "subtext": f"{counts[0]} healthy, {counts[1]} distressed, {counts[2]} failed "
                             f"({int(recent.sum())} in the last {RECENT_DAYS} days); size = expected sales",
                  "left": "center", "textStyle": {"fontSize": 13}},
        "legend": {"data": list(STATES), "bottom": 0},
        "tooltip": {"formatter": "merchant {b}"},
        "grid": {"left": 95, "right": 15, "top": 55, "bottom": 35},
        "xAxis": {"type": "value", "min": 0, "max": 1, "show": False},
        "yAxis": {"type": "category", "data": ["retailers", "distributors", "manufacturers"],
                  "axisTick": {"show": False}, "splitLine": {"show": False}},
        "series": [{
            "type": "graph", "coordinateSystem": "cartesian2d", "layout": "none", "roam": False,
            "categories": [{"name": s, "itemStyle": {"color": c}} for s, c in STATE_COLOURS.items()],
            "data": nodes, "links": links,
            "lineStyle": {"color": "#9e9e9e", "opacity": 0.35, "width": 0.6},
            "emphasis": {"focus": "adjacency"},
        }],
    }


# (title, [(column, label)], unit) of each time-series panel: columns of the platform, which every
# run records (sim/outputs.py)
PANELS = [
    ("Platform spending", [("consumption_cash", "cash"), ("consumption_credit", "credit"),
                           ("unmet_demand", "unmet demand")], "thousand yuan/day"),
    ("Platform credit", [("credit_outstanding", "outstanding"), ("fixed_limit_total", "fixed limits"),
                         ("temp_limit_total", "temporary limits")], "million yuan"),
    ("Limit cuts by cause", [(f"limit_cuts_{c}", c) for c in CAUSES if f"limit_cuts_{c}" in COLUMNS], "cuts/day"),
    ("Delinquency", [("delinq_30_rate", "30+ days"), ("delinq_90_rate", "90+ days")], "share of accounts"),
    ("Merchant failures so far", [(f"failures_{t}", t + "s") for t in TIER_NAMES], "failures (cumulative)"),
    ("Labour and appetite", [("unemployment_rate", "unemployment rate"),
                             ("risk_appetite", "platform risk appetite")], "rate; appetite 1 = normal"),
]
CUMULATIVE = ("Merchant failures so far",)
SCALE = {"Platform spending": 1e-3, "Platform credit": 1e-6}   # to the panels' units


def panel_lines(model, k: int) -> dict[str, np.ndarray]:
    """The recorded values panel ``k`` of :data:`PANELS` draws, read straight from the
    recorder's columns (and, for failures, its failure log): ``{label: values}``. Spending is in
    thousands of yuan, credit in millions; failures are cumulated; layoffs join the labour panel
    per 1,000 consumers; causes of cuts that never fired are left out."""
    title, lines, _unit = PANELS[k]
    rec = model.recorder
    n = rec.n
    series = {}
    for column, label in lines:
        values = rec.columns[column][:n]
        if title == "Limit cuts by cause" and not values.any():
            continue
        if title in CUMULATIVE:
            values = np.cumsum(values)
        series[label] = values * SCALE[title] if title in SCALE else values
    if title == "Merchant failures so far":
        series.update(contagion_by_tier(model))
    if title == "Labour and appetite":
        series["layoffs per 1,000 consumers"] = rec.columns["layoffs"][:n] * 1000.0 / model.consumers.n
    return series


def panel_series(model) -> dict[str, dict[str, np.ndarray]]:
    """Every panel's lines (:func:`panel_lines`), by title."""
    return {title: panel_lines(model, k) for k, (title, _, _) in enumerate(PANELS)}


def contagion_by_tier(model) -> dict[str, np.ndarray]:
    """Cumulative contagion failures (counterparty or credit-line causes, not liquidity) of each
    tier on each recorded day, from the model's failure log (``failures.csv``'s rows):
    ``{"<tier>s (contagion)": values}``."""
    n = model.recorder.n
    start = np.datetime64(model.cfg.run.start_date, "D")
    out = {}
    for tier in TIER_NAMES:
        days = [int((np.datetime64(r["date"], "D") - start).astype(int)) for r in model.failure_rows
                if r["tier"] == tier and r["cause"] != "liquidity"]
        daily = np.bincount(np.asarray(days, dtype=np.int64), minlength=n)[:n] if days else np.zeros(n)
        out[f"{tier}s (contagion)"] = np.cumsum(daily).astype(float)
    return out


def _rounded(values: np.ndarray) -> list:
    """Values for the browser: four significant digits, NaN as a gap (null)."""
    return [None if not np.isfinite(v) else float(f"{v:.4g}") for v in values.tolist()]


def recorded_dates(model, n: int | None = None) -> list[str]:
    """The ISO dates of the first ``n`` recorded days (default: those recorded so far)."""
    n = model.recorder.n if n is None else n
    first = model.calendar.pos(0)
    return [str(d) for d in model.calendar.dates[first:first + n].astype("datetime64[D]")]


def line_chart(title: str, dates: list[str], lines: dict[str, np.ndarray], dashed: tuple[str, ...] = ()) -> dict:
    """An ECharts line chart of ``lines`` (label -> values) over ``dates``; the labels in
    ``dashed`` are drawn dashed. The app's time series all use it."""
    return {
        "animation": False,
        "title": {"text": title, "textStyle": {"fontSize": 13}},
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "top": 22, "textStyle": {"fontSize": 10}},
        "grid": {"left": 60, "right": 15, "top": 60, "bottom": 30},
        "xAxis": {"type": "category", "data": dates, "boundaryGap": False},
        "yAxis": {"type": "value", "scale": True},
        "series": [{"name": label, "type": "line", "showSymbol": False, "data": _rounded(values),
                    "lineStyle": {"width": 1.5, "type": "dashed" if label in dashed else "solid"}}
                   for label, values in lines.items()],
    }


def panel_option(model, k: int) -> dict:
    """Panel ``k`` of :data:`PANELS` as an ECharts option, over the recorded days so far (the
    burn-in is not shown); contagion failures dashed."""
    title, _lines, unit = PANELS[k]
    lines = panel_lines(model, k)
    return line_chart(f"{title} ({unit})", recorded_dates(model), lines,
                      dashed=tuple(label for label in lines if label.endswith("(contagion)")))


def panel_options(model) -> list[dict]:
    """Every panel's option (:func:`panel_option`): platform spending by payment means and unmet
    demand; credit outstanding and limits; cuts per day by cause; delinquency; failures by tier,
    dashed their contagion failures; unemployment, the platform's risk appetite and layoffs."""
    return [panel_option(model, k) for k in range(len(PANELS))]
