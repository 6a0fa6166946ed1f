"""Shared fixtures: small models built from the baseline with overrides."""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager

import numpy as np
import pytest

from sim import CreditModel, load_config


def make_model(consumers: int = 200, merchants: int = 8, days: int = 60, burn_in: int = 0,
               sets: tuple | list = (), scenario: str = "baseline", **kw) -> CreditModel:
    """A small model: ``sets`` are ``key.path=value`` overrides as on the command line."""
    overrides = [f"population.consumers={consumers}", f"population.merchants={merchants}",
                 f"run.days={days}", f"run.burn_in_days={burn_in}", *sets]
    return CreditModel(load_config(scenario, overrides), **kw)


def advance_to(model: CreditModel, day: int) -> None:
    """Step until ``model.t == day`` (the next step will simulate ``day``)."""
    while model.t < day:
        model.step()


@pytest.fixture
def small_model():
    return make_model()


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


class Hang(BaseException):
    """A case that ran past its time (not an Exception: no ``except Exception``, in the command
    line or in a reader that turns OSError into ConfigError, may swallow it)."""


@contextmanager
def time_limit(seconds: int = 20):
    """Raise :class:`Hang` in the body after ``seconds`` (SIGALRM: it also interrupts a
    blocking ``open``, such as that of a FIFO), so a hang fails a test instead of blocking
    the suite."""
    def hang(signum, frame):
        raise Hang(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def refuse_to_open(monkeypatch, path, error=None):
    """Make every way of opening ``path`` fail with ``error`` (default: permission denied). The
    tests run as root, who may read any file: an unreadable file is simulated."""
    import builtins
    real_os_open, real_open = os.open, builtins.open
    error = error or PermissionError(13, "Permission denied", os.fspath(path))

    def os_open(file, *args, **kwargs):
        if os.fspath(file) == os.fspath(path):
            raise error
        return real_os_open(file, *args, **kwargs)

    def open_(file, *args, **kwargs):
        if not isinstance(file, int) and os.fspath(file) == os.fspath(path):
            raise error
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)
