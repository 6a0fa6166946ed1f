"""Serving the app from Python: :func:`serving` starts ``sim app`` on a free loopback port and
stops it afterwards (the browser test, the benchmark and the README's screenshot use it; so can
a notebook). :data:`CHROMIUM_FLAGS` are the flags that run Debian's Chromium headless with no
traffic of its own (no update checks, sync or background requests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")


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
