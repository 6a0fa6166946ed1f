"""Scheduled shocks: parsing, validation and the daily shock levels.

A shock is a ``[[shocks]]`` table: ``kind``, ``start`` (a date), either ``end``
(a date, exclusive) or ``days`` (a duration), ``size`` and, for some kinds,
``lender``, ``target``, ``share`` or (``model_update``) ``feature`` and ``weight``. Dates
refer to the recorded window.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from sim.inputs import ConfigError, finite_number, show, show_key

KINDS = {
    "unemployment": "the outside sector wants size x the labour force fewer staff (+0.04 = four points of "
                    "direct job loss; the loop adds the rest)",
    "demand": "autonomous demand for the outside sector (exports, government) changes by the fraction size "
              "(-0.05 = 5% less), moving outside labour demand by (1 - theta) x size",
    "income": "income index shifted by size (-0.05 = wages and benefits 5% lower); autonomous demand for "
              "the outside sector moves by the same size",
    "confidence": "consumer confidence multiplier shifted by size (-0.2 = 20% less desired spending)",
    "credit_tightening": "risk appetite shifted by size (-0.3); optional lender: a platform's name, or "
                         "'banks' for merchants' bank lines (default: every platform and the banks)",
    "funding_rate": "wholesale funding rate shifted by size (+0.02 = 200 basis points)",
    "model_update": "on start the scorecard changes (size unused); optional lender. With feature (a score "
                    "feature other than the intercept, e.g. 'other_accounts') and weight (a number), that "
                    "feature's weight and its prior become weight and later refits keep it; without them the "
                    "score is re-estimated on start",
    "anomaly_strictness": "the anomaly monitor's thresholds (its z-score and the share of the fixed limit a "
                          "flagged purchase uses) multiplied by 1 + size (-0.3 = 30% stricter); optional lender",
    "promotion": "an extra promotion window: demand +size, temporary limits at every lender",
    "credit_limit_experiment": "on start, a random share of lender's open accounts get fixed limit "
                               "times 1 + size; treated and control limits then stay until end",
    "supplier_failure": "on start, merchant `target` fails (an id, or a tier name for its largest "
                        "active merchant); size unused",
    "scf_freeze": "the platform's supply-chain-finance lines are closed while the shock lasts; size unused",
    "settlement_delay": "credit sales made while the shock lasts are settled size days later than usual "
                        "(a whole number >= 0); optional lender (default the platform)",
    "limit_hold": "a counterfactual switch: while the shock lasts the lender makes no fixed-limit cut of "
                  "cause `cause` (one of review, macro, anomaly, promo_reversion; default all four); "
                  "freezes and charge-offs go on; optional lender (default every lender); size unused",
}
# the causes of cuts by the lender's choice, which a limit_hold can switch off (the four causes:
# scoring updates and reviews, macro tightening, anomaly monitoring, promotion reversion)
HOLDABLE_CAUSES = ("review", "macro", "anomaly", "promo_reversion")
NOT_YET: set[str] = set()
# the sizes a kind allows, for one shock and for the sum of its shocks that overlap (of one
# lender, for the lender kinds): shares of the labour force, fractions of demand, income or
# confidence, shifts of risk appetite or of the annual funding rate
SIZE_RANGE: dict[str, tuple[float, float]] = {
    "unemployment": (-1.0, 1.0),
    "demand": (-1.0, 10.0),
    "income": (-0.9, 10.0),
    "confidence": (-1.0, 10.0),
    "credit_tightening": (-1.0, 1.0),
    "funding_rate": (-0.5, 1.0),
    "anomaly_strictness": (-0.9, 100.0),
    "promotion": (-1.0, 10.0),
    "credit_limit_experiment": (-0.99, 10.0),
    "settlement_delay": (0.0, 365.0),
}
LENDER_KINDS = ("credit_tightening", "anomaly_strictness", "settlement_delay")   # levels add up lender by lender
# the keys of its own a kind takes, beyond kind, start, end or days, and size ('lender' is optional)
OWN_KEYS: dict[str, tuple[str, ...]] = {
    "credit_tightening": ("lender",), "anomaly_strictness": ("lender",), "settlement_delay": ("lender",),
    "model_update": ("lender", "feature", "weight"), "credit_limit_experiment": ("lender", "share"),
    "supplier_failure": ("target",), "limit_hold": ("lender", "cause"),
}
ALLOWED_KEYS = {"kind", "start", "end", "days", "size", "lender", "target", "share", "feature", "weight",
                "cause"}


@dataclasses.dataclass(frozen=True)
class Shock:
    kind: str
    start: int          # day index, inclusive
    end: int            # day index, exclusive
    size: float
    lender: str | None = None
    target: str | int | None = None
    share: float | None = None
    where: str = ""     # file and position, for messages
    feature: str | None = None   # model_update: the score feature whose weight is replaced
    weight: float | None = None  # model_update: its new weight
    cause: str | None = None     # limit_hold: the cause of cuts held (None: every holdable cause)


def _date(value, where: str, key: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    try:
        if not isinstance(value, str):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _err(where, f"{key} = {show(value)} is not a date (YYYY-MM-DD)") from None


def _err(where: str, msg: str):
    return ConfigError(f"{where}: {msg}")


def parse_shocks(items, cfg=None) -> list[Shock]:
    """Validate raw shock tables against the calendar of ``cfg``.

    ``items`` holds either :class:`Shock` objects (returned unchanged),
    ``(file, index, table)`` triples from scenario files, or plain tables.
    """
    if cfg is None:  # called while building the tree: validated at the end of load_config
        return list(items)
    start = cfg.start
    horizon_end = start + dt.timedelta(days=cfg.run.days)
    out = []
    for i, item in enumerate(items):
        if isinstance(item, Shock):
            out.append(item)
            continue
        if isinstance(item, tuple):
            src, idx, table = item
            where = f"{src}: shocks[{idx}]"
        else:
            table, where = item, f"shocks[{i}]"
        if not isinstance(table, dict):
            raise _err(where, f"expected a table with kind, start and end or days, got {show(table)}")
        unknown = set(table) - ALLOWED_KEYS
        if unknown:
            raise _err(where, f"unknown key(s) {', '.join(sorted(map(show_key, unknown)))}; allowed: "
                              f"{', '.join(sorted(ALLOWED_KEYS))}")
        kind = table.get("kind")
        if not isinstance(kind, str) or kind not in KINDS:
            raise _err(where, f"kind = {show(kind)} is not a shock kind; kinds: {', '.join(KINDS)}")
        if kind in NOT_YET:
            raise _err(where, f"kind = {kind!r} {KINDS[kind]}")
        if "start" not in table:
            raise _err(where, "missing start (a date)")
        s = _date(table["start"], where, "start")
        if s < start or s >= horizon_end:   # (before end or days: a date near 9999-12-31 plus days overflows)
            raise _err(where, f"start = {s} is outside the recorded window "
                              f"[{start}, {horizon_end - dt.timedelta(days=1)}]")
        if "end" in table and "days" in table:
            raise _err(where, "give either end or days, not both")
        if "end" in table:
            e = _date(table["end"], where, "end")
        elif "days" in table:
            d = table["days"]
            if not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= cfg.run.days:
                raise _err(where, f"days = {show(d)}: expected a whole number of days in [1, {cfg.run.days}] "
                                  f"(run.days)")
            e = s + dt.timedelta(days=d)
        else:
            raise _err(where, "missing end (a date) or days (a duration)")
        if e <= s or e > horizon_end:
            raise _err(where, f"end = {e} must be after start and no later than {horizon_end}")
        size = table.get("size", 0.0)
        if not finite_number(size):
            raise _err(where, f"size = {show(size)}: expected a finite number")
        if kind in SIZE_RANGE and not SIZE_RANGE[kind][0] <= size <= SIZE_RANGE[kind][1]:
            lo, hi = SIZE_RANGE[kind]
            raise _err(where, f"size = {show(size)} is out of range [{lo:g}, {hi:g}] for kind {kind!r}")
        lender = table.get("lender")
        if lender is not None and "lender" not in OWN_KEYS.get(kind, ()):
            raise _err(where, f"lender is not used by kind {kind!r} (it acts on every lender alike)")
        if lender is not None and not isinstance(lender, str):
            raise _err(where, f"lender = {show(lender)}: expected a lender's name (a string)")
        if lender == "banks" and kind != "credit_tightening":
            raise _err(where, "lender = 'banks' only goes with kind 'credit_tightening'")
        if lender is not None and lender not in cfg.lenders and lender != "banks":
            raise _err(where, f"lender = {show(lender)} is not a lender ({', '.join(cfg.lenders)}, or 'banks' "
                              f"for credit_tightening)")
        if kind == "settlement_delay" and size != int(size):
            raise _err(where, f"size = {show(size)}: a settlement delay is a whole number of days")
        share = table.get("share")
        if kind == "credit_limit_experiment":
            if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
                raise _err(where, f"share = {show(share)}: expected a number in (0, 1), the treated share of open "
                                  f"accounts (the rest are the controls)")
            share = float(share)
            lender = lender or cfg.run.platform
        elif share is not None:
            raise _err(where, f"share is not used by kind {kind!r}")
        target = table.get("target")
        if kind == "supplier_failure":
            tiers = ("retailer", "distributor", "manufacturer")
            if isinstance(target, bool) or not ((isinstance(target, int) and target >= 0)
                                                or (isinstance(target, str) and target in tiers)):
                raise _err(where, f"target = {show(target)}: expected a merchant id (a whole number >= 0) or one "
                                  f"of {', '.join(tiers)}")
        elif target is not None:
            raise _err(where, f"target is not used by kind {kind!r}")
        feature, weight = _scorecard_change(table, kind, where)
        cause = table.get("cause")
        if kind == "limit_hold":
            if cause is not None and not (isinstance(cause, str) and cause in HOLDABLE_CAUSES):
                raise _err(where, f"cause = {show(cause)}: expected one of {', '.join(HOLDABLE_CAUSES)} "
                                  f"(or no cause: all four)")
        elif cause is not None:
            raise _err(where, f"cause is not used by kind {kind!r} (only by 'limit_hold')")
        out.append(Shock(kind, (s - start).days, (e - start).days, float(size), lender,
                         target, share, where, feature, weight, cause))
    _check_levels(out, cfg)
    return out


def check_targets(shocks, merchants: int, tiers: dict[str, int] | None = None,
                  network: str = "the supply network") -> None:
    """Every ``supplier_failure`` shock's ``target`` is one of the ``merchants`` merchants (an id
    below it) or a tier with merchants (``tiers``: merchants by tier name; ``None``: a generated
    network, which has every tier): else a ConfigError naming the shock (and ``network``,
    the network's description), before any day runs (it used to be a ValueError on the
    shock's day, after the burn-in)."""
    for s in shocks:
        if s.kind != "supplier_failure":
            continue
        if isinstance(s.target, str):
            if tiers is not None and not tiers.get(s.target):
                raise _err(s.where, f"target = {s.target!r}: {network} has no {s.target}")
        elif not 0 <= s.target < merchants:
            raise _err(s.where, f"target = {show(s.target)}: not a merchant id; {network} has {merchants} "
                                f"merchants (ids 0 to {merchants - 1})")


def _check_levels(shocks: list[Shock], cfg) -> None:
    """Overlapping shocks of a kind add up: their sum must stay in the kind's range
    (:data:`SIZE_RANGE`) on every day, lender by lender for the lender kinds; and the outside
    sector's autonomous demand, moved by both ``demand`` and ``income``, must stay positive."""
    n = cfg.run.days
    checks = [(kind, None) for kind in SIZE_RANGE if kind not in LENDER_KINDS and kind != "credit_limit_experiment"]
    checks += [(kind, name) for kind in LENDER_KINDS for name in cfg.lenders]
    checks.append(("credit_tightening", "banks"))
    for name in cfg.lenders:   # an account can be in one experiment at a time: the panel's treated flag
        running = [e for e in shocks if e.kind == "credit_limit_experiment" and e.lender == name]
        for a in running:
            for b in running:
                if a is not b and a.start <= b.start < a.end:
                    raise _err(f"{a.where} and {b.where}", f"two credit_limit_experiment shocks at {name} overlap "
                                                           f"on {cfg.start + dt.timedelta(days=b.start)}: an "
                                                           f"account can be in one experiment at a time")
    # a settlement delay that names no lender is the platform's
    delays = [dataclasses.replace(s, lender=s.lender or cfg.run.platform) for s in shocks
              if s.kind == "settlement_delay"]
    for kind, lender in checks:
        pool = delays if kind == "settlement_delay" else shocks
        level = shock_level(pool, kind, n, 0, lender)
        lo, hi = SIZE_RANGE[kind]
        bad = np.flatnonzero((level < lo - 1e-12) | (level > hi + 1e-12))
        if bad.size:
            day = int(bad[0])
            who = f" for {lender}" if lender else ""
            raise _err(_overlapping(pool, (kind,), day, lender),
                       f"these {kind} shocks{who} add up to {level[day]:g} on {cfg.start + dt.timedelta(days=day)}, "
                       f"out of range [{lo:g}, {hi:g}]")
    autonomous = shock_level(shocks, "demand", n, 0) + shock_level(shocks, "income", n, 0)
    bad = np.flatnonzero(autonomous <= -1)
    if bad.size:
        day = int(bad[0])
        raise _err(_overlapping(shocks, ("demand", "income"), day, None),
                   f"these demand and income shocks add up to {autonomous[day]:g} on "
                   f"{cfg.start + dt.timedelta(days=day)}: the outside sector's autonomous demand would vanish "
                   f"(they must add up to more than -1)")


def _overlapping(shocks: list[Shock], kinds: tuple[str, ...], day: int, lender: str | None) -> str:
    """Where the shocks of ``kinds`` running on ``day`` (for ``lender``) are written, joined."""
    return " and ".join(s.where for s in shocks if s.kind in kinds and s.start <= day < s.end
                        and (lender is None or s.lender in (None, lender)))


def _scorecard_change(table: dict, kind: str, where: str) -> tuple[str | None, float | None]:
    """The ``feature`` and ``weight`` keys of a ``model_update`` (both or neither)."""
    from agents.lender import FEATURES
    feature, weight = table.get("feature"), table.get("weight")
    if kind != "model_update":
        for key in ("feature", "weight"):
            if key in table:
                raise _err(where, f"{key} is not used by kind {kind!r} (only by 'model_update')")
        return None, None
    if feature is None and weight is None:
        return None, None
    choices = [f for f in FEATURES if f != "intercept"]
    if feature is None or weight is None:
        raise _err(where, "a model_update that changes the scorecard needs both feature and weight")
    if not isinstance(feature, str) or feature not in choices:
        raise _err(where, f"feature = {show(feature)} is not a score feature; features: {', '.join(choices)}")
    from sim.config import WEIGHT_MAX
    if not finite_number(weight) or abs(weight) > WEIGHT_MAX:
        raise _err(where, f"weight = {show(weight)}: expected a finite number in [-{WEIGHT_MAX:g}, {WEIGHT_MAX:g}] "
                          f"(a logit weight)")
    return feature, float(weight)


def shock_level(shocks, kind: str, n_days: int, first_day: int, lender: str | None = None) -> np.ndarray:
    """Daily sum of the sizes of ``kind`` shocks (for ``lender`` if given), by position."""
    level = np.zeros(n_days)
    for s in shocks:
        if s.kind != kind or (lender is not None and s.lender not in (None, lender)):
            continue
        lo, hi = s.start - first_day, min(s.end - first_day, n_days)
        level[lo:hi] += s.size
    return level


def shock_active(shocks, kind: str, n_days: int, first_day: int) -> np.ndarray:
    """Daily flag: is any ``kind`` shock running (by position)?"""
    active = np.zeros(n_days, dtype=bool)
    for s in shocks:
        if s.kind == kind:
            active[s.start - first_day:min(s.end - first_day, n_days)] = True
    return active


def hold_schedule(shocks, lenders: list[str], n_days: int, first_day: int) -> np.ndarray | None:
    """``held[l, code, pos]``: are lender ``l``'s cuts of cause ``code`` (:data:`agents.lender.CAUSES`)
    held on calendar position ``pos`` by a ``limit_hold`` shock? ``None`` when no shock holds any."""
    from agents.lender import CAUSE_CODE
    holds = [s for s in shocks if s.kind == "limit_hold"]
    if not holds:
        return None
    held = np.zeros((len(lenders), len(CAUSE_CODE), n_days), dtype=bool)
    for s in holds:
        rows = [lenders.index(s.lender)] if s.lender else list(range(len(lenders)))
        codes = [CAUSE_CODE[c] for c in ((s.cause,) if s.cause else HOLDABLE_CAUSES)]
        held[np.ix_(rows, codes, np.arange(s.start - first_day, min(s.end - first_day, n_days)))] = True
    return held


# kinds that act before their start day (the calendar's promotion windows shape the season
# that retailers stock up for; a settlement delay sizes the settlement ring at construction):
# schedules that differ in one of these cannot share their earlier days
FORK_BLOCKERS = ("promotion", "settlement_delay")


def _effect(s: Shock) -> tuple:
    """What a shock does (everything but where it was written)."""
    return (s.kind, s.start, s.end, s.size, s.lender, s.target, s.share, s.feature, s.weight, s.cause)


def _differing(a, b) -> list[tuple]:
    """The effects of the shocks one schedule has and the other has not (with multiplicity)."""
    from collections import Counter

    ca, cb = Counter(map(_effect, a)), Counter(map(_effect, b))
    return list((ca - cb) + (cb - ca))


def divergence_day(a, b) -> int | None:
    """The first day on which shock schedules ``a`` and ``b`` act differently: the earliest
    start of a shock that one has and the other has not. ``None`` when they are the same.
    Unless :func:`shares_early_days` says otherwise, two runs of configurations that differ
    only in their shocks are identical, draw for draw, on the days before."""
    differ = _differing(a, b)
    return min(start for _, start, *_ in differ) if differ else None


def shares_early_days(a, b) -> bool:
    """Whether runs of schedules ``a`` and ``b`` are the same before :func:`divergence_day`:
    every kind acts only from its start day on, except those of :data:`FORK_BLOCKERS`."""
    return not any(kind in FORK_BLOCKERS for kind, *_ in _differing(a, b))
