"""The calendar: recorded days, burn-in, billing cycles and promotion seasons.

Day ``t = 0`` is ``run.start_date``; burn-in days are negative and sit on the
calendar days before it, so 618 and Double 11 fall on their real dates in both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from sim.config import Config


@dataclass(frozen=True)
class Window:
    """One promotion window in day indices (inclusive start, inclusive end)."""

    name: str
    start: int
    peak: int
    end: int
    demand_peak: float
    demand_window: float


class Calendar:
    """Maps day indices to dates and precomputes the daily season multiplier."""

    def __init__(self, cfg: Config):
        self.start = cfg.start
        self.burn_in = cfg.run.burn_in_days
        self.days = cfg.run.days
        self.first = -self.burn_in                       # first simulated day index
        n = self.burn_in + self.days
        offsets = np.arange(self.first, self.days)
        base = np.datetime64(self.start.isoformat(), "D")
        self.dates = base + offsets.astype("timedelta64[D]")                     # numpy dates of every simulated day
        years = self.dates.astype("datetime64[Y]").astype(int) + 1970
        months = self.dates.astype("datetime64[M]").astype(int) % 12 + 1
        self.month_of_year = months
        self.day_of_month = (self.dates - self.dates.astype("datetime64[M]")).astype(int) + 1
        next_months = (self.dates + np.timedelta64(1, "D")).astype("datetime64[M]").astype(int) % 12 + 1
        self.month_end = next_months != months
        self.windows: list[Window] = []
        for year in range(int(years.min()), int(years.max()) + 1):
            for name, p in cfg.promotions.items():
                self.windows.append(Window(
                    f"{name}-{year}", self.index(f"{year}-{p.start}"), self.index(f"{year}-{p.peak}"),
                    self.index(f"{year}-{p.end}"), p.demand_peak, p.demand_window))
        for shock in cfg.shocks:
            if shock.kind == "promotion":
                self.windows.append(Window(f"promotion@{shock.start}", shock.start, shock.end - 1,
                                           shock.end - 1, shock.size, shock.size))
        self.season = np.ones(n)
        self.in_window = np.zeros(n, dtype=bool)   # a promotion window is open that day
        for w in self.windows:
            lo, hi = max(w.start, self.first), min(w.end, self.days - 1)
            if lo > hi:
                continue
            idx = np.arange(lo, hi + 1)
            self.in_window[idx - self.first] = True
            # rises linearly from the window level to the peak level on the peak day
            dist = np.abs(idx - w.peak) / max(1, max(w.peak - w.start, w.end - w.peak))
            self.season[idx - self.first] += w.demand_window + (w.demand_peak - w.demand_window) * \
                np.clip(1 - 3 * dist, 0, 1)
        self.n = n
        # share of a year's days inside the yearly promotion windows
        self.window_share = sum((_days_in(p.start, p.end)) for p in cfg.promotions.values()) / 365.0

    def index(self, date: str | dt.date) -> int:
        """Day index of a date (0 = start_date)."""
        d = dt.date.fromisoformat(date) if isinstance(date, str) else date
        return (d - self.start).days

    def date(self, t: int) -> dt.date:
        return self.start + dt.timedelta(days=int(t))

    def pos(self, t: int) -> int:
        """Position of day ``t`` in the precomputed arrays."""
        return t - self.first

    def windows_starting(self, t: int) -> list[Window]:
        return [w for w in self.windows if w.start == t]


def _days_in(start: str, end: str) -> int:
    """Days from MM-DD ``start`` to MM-DD ``end`` inclusive (a window may span the new year)."""
    a = dt.date.fromisoformat(f"2023-{start}")
    b = dt.date.fromisoformat(f"2023-{end}")
    return ((b - a).days % 365) + 1
