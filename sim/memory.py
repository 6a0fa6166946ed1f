"""Allocator tuning for the daily step.

Each simulated day makes many short-lived arrays of a few megabytes. glibc's malloc
serves blocks that large with fresh ``mmap`` calls by default, so every temporary
pays page faults on first touch (about a fifth of a day's time at 1,000,000
consumers). Raising the mmap and trim thresholds keeps those blocks on the heap,
where they are reused. The change is process-wide, harmless, and a no-op where
the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
_done = False


def tune_allocator(threshold: int = 256 * 2**20) -> bool:
    """Keep blocks below ``threshold`` bytes on the heap; returns whether it applied."""
    global _done
    if _done or not sys.platform.startswith("linux"):
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = all(mallopt(opt, value) == 1 for opt, value in (
        (M_MMAP_THRESHOLD, threshold), (M_TRIM_THRESHOLD, 2 * threshold), (M_TOP_PAD, 64 * 2**20)))
    _done = ok
    return ok
