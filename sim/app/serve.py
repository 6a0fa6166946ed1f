"""Serving the app from Python: :func:`serving` starts ``sim app`` on a free loopback port and
stops it afterwards (so can a notebook); :func:`browsing` opens it in Debian's Chromium,
headless and cut off from everything but loopback, once the burn-in is done (the browser test,
the benchmark and the README's screenshot use it; it needs Playwright, a test extra).
:data:`CHROMIUM_FLAGS` run Chromium with no traffic of its own (no update checks, sync or
background requests)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")
LOOPBACK = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/")


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(*flags: str, log: str | Path | None = None, timeout: float = 120.0) -> Iterator[str]:
    """Serve the app (``sim app`` with ``flags``, e.g. ``"--scenario", "tightening"``) on a free
    loopback port; yields its address once it answers, and stops the server (its whole
    process group) on leaving. The server's output goes to ``log`` (default: nowhere). Raises
    ``RuntimeError`` with the end of the log when it does not answer within ``timeout``
    seconds."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    out = open(log, "wb") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "sim", "app", "--port", str(port), *flags],
                            start_new_session=True, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    said = Path(log).read_text(errors="replace")[-2000:] if log is not None else ""
                    raise RuntimeError(f"sim app did not answer on {url} (exit status {proc.poll()}): {said}")
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if log is not None:
            out.close()


@dataclass
class Browsing:
    """An open page of the app (:func:`browsing`): the Playwright ``page``, and what the page asked
    for outside loopback (refused) and what failed (status >= 400), as ``"status url"``."""

    page: object
    outside: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@contextmanager
def browsing(*flags: str, viewport: tuple[int, int] = (1600, 1300), log: str | Path | None = None,
             timeout: float = 300.0) -> Iterator[Browsing]:
    """The app served (:func:`serving` with ``flags``) and open in Chromium, every request that
    leaves loopback refused and recorded; yields once the page shows the first frame (the burn-in
    done, day -1)."""
    from playwright.sync_api import expect, sync_playwright

    with serving(*flags, log=log, timeout=timeout) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS))
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            page = context.new_page()
            seen = Browsing(page)

            def only_loopback(route):
                address = route.request.url
                if LOOPBACK.match(address) or address.startswith(("data:", "blob:")):
                    return route.continue_()
                seen.outside.append(address)
                return route.abort()

            context.route("**/*", only_loopback)
            page.on("response", lambda r: seen.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.goto(url)
            expect(page.locator(".current-date")).to_contain_text("(day -1,", timeout=timeout * 1000)
            yield seen
        finally:
            browser.close()
