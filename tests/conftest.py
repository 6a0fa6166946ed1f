"""Shared fixtures: small models built from the baseline with overrides."""

from __future__ import annotations

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
