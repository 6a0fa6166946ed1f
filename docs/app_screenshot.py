"""Make docs/figures/app.png, the README's picture of the app: ``sim app`` serving the
platform-tightening scenario on loopback, played by Debian's Chromium (headless) to late
April, with a supplier failure applied live in March, then photographed.

Usage (needs Debian's chromium and the test extras)::

    python docs/app_screenshot.py [--out docs/figures/app.png]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "app.png")
    args = ap.parse_args(argv)
    from sim.app.serve import browsing

    with browsing("--scenario", "platform_tightening", viewport=(1500, 1150)) as seen:
        page = seen.page

        def play_to(day: int) -> None:
            page.get_by_role("button", name="▶").click()
            page.wait_for_function("(day) => +document.querySelector('.current-date').textContent"
                                   ".match(/day (-?\\d+)/)[1] >= day", arg=day, timeout=600_000)
            page.get_by_role("button", name="❚❚").click()
            page.wait_for_timeout(800)

        play_to(70)
        page.get_by_role("button", name=re.compile("^Supplier failure")).click()
        play_to(115)
        page.wait_for_timeout(1500)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
