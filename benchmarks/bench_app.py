"""Responsiveness of the app (``sim app``): one step with every panel redrawn.

Two measures at each size (5,000 consumers with 100 merchants, the app's default, and with
200 merchants):

* **server**: in this process, the work the server does for a frame: ``model.step()``, the
  network picture and the six panels (:mod:`sim.app.views`) and their JSON (what goes to the
  browser), timed early in the run (days 1-30) and late (days 301-330, longer series);
* **browser** (``--browser``): ``sim app`` served on loopback and Debian's Chromium clicking
  Step: the time from the click until the new date is on the page and the browser has painted
  twice more (ECharts draws when its option changes), so it includes the round trip, Solara's
  diff and the drawing; timed in the page (``performance.now``), early and, after playing on
  to day 300, late.

The budget is 250 ms a frame. Usage::

    python benchmarks/bench_app.py [--browser] [--out benchmarks/out/bench_app.json]

No assertions: this only measures. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BUDGET_MS = 250.0
SIZES = ((5000, 100), (5000, 200))


def _stats(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {"median_ms": round(statistics.median(ms), 1), "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 1),
            "max_ms": round(ms[-1], 1), "n": len(ms)}


def server_side(consumers: int, merchants: int) -> dict:
    from sim.app.state import AppModel, Settings
    from sim.app.views import network_option, panel_options

    settings = Settings(values=(("population.consumers", consumers), ("population.merchants", merchants)))
    t0 = time.perf_counter()
    model = AppModel(settings)
    build = time.perf_counter() - t0

    def frames(k: int) -> list[float]:
        out = []
        for _ in range(k):
            t = time.perf_counter()
            model.step()
            json.dumps([network_option(model), panel_options(model)])
            out.append(1000 * (time.perf_counter() - t))
        return out

    early = frames(30)
    model.run(until=300)
    late = frames(30)
    return {"consumers": consumers, "merchants": merchants, "build_and_burn_in_s": round(build, 2),
            "burn_in_days": model.cfg.run.burn_in_days, "early": _stats(early), "late": _stats(late)}


CLICK_TO_PAINTED = """() => new Promise(resolve => {
    const date = document.querySelector('.current-date');
    const before = date.textContent;
    const step = [...document.querySelectorAll('button')].find(b => b.textContent.trim().toLowerCase() === 'step');
    const t0 = performance.now();
    const seen = new MutationObserver(() => {
        if (document.querySelector('.current-date').textContent !== before) {
            seen.disconnect();
            requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t0)));
        }
    });
    seen.observe(document.body, {subtree: true, childList: true, characterData: true});
    step.click();
})"""


def browser_side(consumers: int, merchants: int, clicks: int = 30) -> dict:
    from playwright.sync_api import expect

    from sim.app.serve import browsing

    with browsing("--set", f"population.consumers={consumers}", "--set", f"population.merchants={merchants}") as seen:
        page = seen.page
        date = page.locator(".current-date")
        expect(page.locator(".solara-echarts canvas")).to_have_count(7, timeout=60_000)

        def clicked() -> list[float]:
            # timed in the page: the click, then a MutationObserver sees the new date, then two
            # animation frames (the charts' redraw) have been painted
            out = []
            for _ in range(clicks):
                day = int(re.search(r"day (-?\d+)", date.inner_text()).group(1))
                out.append(page.evaluate(CLICK_TO_PAINTED))
                expect(date).to_contain_text(f"(day {day + 1},", timeout=60_000)
            return out

        early = clicked()
        page.get_by_role("button", name="▶").click()   # on to day 300: longer series to draw
        expect(date).to_contain_text(re.compile(r"\(day (3\d\d),"), timeout=600_000)
        page.get_by_role("button", name="❚❚").click()
        page.wait_for_timeout(1000)
        late = clicked()
    return {"consumers": consumers, "merchants": merchants, "early": _stats(early), "late": _stats(late)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--browser", action="store_true", help="also time clicks on Step in Chromium")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "bench_app.json")
    args = ap.parse_args(argv)
    result = {"budget_ms": BUDGET_MS, "python": platform.python_version(), "machine": platform.machine(),
              "cpus": os.cpu_count(), "server": [], "browser": []}
    for c, m in SIZES:
        r = server_side(c, m)
        result["server"].append(r)
        print(f"server  {c} consumers, {m} merchants: burn-in {r['build_and_burn_in_s']} s; frame early "
              f"{r['early']['median_ms']} ms (p90 {r['early']['p90_ms']}), late {r['late']['median_ms']} ms "
              f"(p90 {r['late']['p90_ms']})")
        if args.browser:
            b = browser_side(c, m)
            result["browser"].append(b)
            e, late = b["early"], b["late"]
            print(f"browser {c} consumers, {m} merchants: click to painted early {e['median_ms']} ms "
                  f"(p90 {e['p90_ms']}, max {e['max_ms']}), late {late['median_ms']} ms (p90 {late['p90_ms']}, "
                  f"max {late['max_ms']})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
