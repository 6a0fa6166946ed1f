"""The app end to end: ``sim app`` serves it on loopback and Debian's Chromium (headless, driven
by Playwright, the outside network blocked) steps it, plays and pauses it, applies a shock,
opens the inspector and saves a screenshot. Any request that leaves loopback, or fails, fails
the test: the app must render with no internet.

Set ``SIM_APP_SCREENSHOT=path.png`` to keep the screenshot (README's is made so).
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from sim.app.serve import browsing

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason="needs Debian's chromium (apt-get install chromium; .ci/run installs it)")


def _date(page) -> str:
    return page.locator(".current-date").inner_text()


def test_the_app_steps_plays_shocks_and_inspects_in_a_browser_offline(tmp_path):
    from playwright.sync_api import expect

    with browsing(log=tmp_path / "server.log") as seen:   # opened on the first frame (day -1): burn-in done
        page = seen.page
        page.get_by_role("button", name="Step", exact=True).click()
        expect(page.locator(".current-date")).to_contain_text("2026-01-01 (day 0,", timeout=30_000)
        # the network and the six panels are drawn (ECharts draws on canvases)
        expect(page.locator(".solara-echarts canvas")).to_have_count(7, timeout=30_000)
        page.wait_for_timeout(1000)
        panel = page.locator(".solara-echarts").nth(2)   # platform spending
        before = panel.screenshot()
        page.get_by_role("button", name="▶").click()
        page.wait_for_timeout(3000)
        page.get_by_role("button", name="❚❚").click()
        page.wait_for_timeout(1000)
        assert panel.screenshot() != before   # the panels were redrawn with the new days
        day = int(re.search(r"day (\d+)", _date(page)).group(1))
        assert day >= 3, _date(page)   # it ran
        page.wait_for_timeout(500)
        after_pause = _date(page)
        page.wait_for_timeout(1000)
        assert _date(page) == after_pause   # and it stopped
        page.get_by_role("button", name=re.compile("^Credit tightening")).click()
        expect(page.get_by_text(re.compile(r"credit_tightening from \d{4}-\d\d-\d\d"))).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="Step", exact=True).click()
        expect(page.locator(".current-date")).to_contain_text(f"(day {day + 1},", timeout=30_000)
        page.get_by_role("tab", name="Page 1").click()
        expect(page.locator(".merchant-summary")).to_contain_text("Merchant 0", timeout=30_000)
        page.get_by_role("tab", name="Page 0").click()
        expect(page.locator(".solara-echarts canvas")).to_have_count(7, timeout=30_000)
        page.wait_for_timeout(1500)
        shot = tmp_path / "app.png"
        page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 50_000   # a page with pictures, not a blank one
        if os.environ.get("SIM_APP_SCREENSHOT"):
            shutil.copy(shot, os.environ["SIM_APP_SCREENSHOT"])
    assert seen.outside == [], f"the page asked for something outside loopback: {seen.outside[:5]}"
    assert seen.failed == [], f"requests that failed: {seen.failed[:5]}"
