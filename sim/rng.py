"""Named random streams: common random numbers across scenarios.

Every random decision has its own stream, keyed by the root seed and the
decision's name, and repositioned at each day. Two kinds of draw:

- :meth:`Streams.uniform` draws one number for *every* agent of a population
  (index = agent id), whether or not the agent acts, from a generator seeded
  by ``(seed, stream, day)``;
- :meth:`Streams.uniform_at` gives the draws of chosen agents only, from a
  counter-based hash of ``(seed, stream, day, agent id)``, so it costs nothing
  for agents that do not act and still gives each agent its own number.

Rare events (big-ticket purchases, expense shocks) run on per-agent clocks
(:meth:`Streams.waiting_days`): the days to an agent's next event are drawn
from its own hashed uniform when the previous one happens.

Either way an agent's draw depends only on the seed, the stream, the day and its
own id: adding agents, or changing who else acts, leaves it unchanged. This is
what makes paired counterfactual runs precise (docs/model.md 4, Stochasticity).
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy.special import ndtri

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix(x: int) -> int:
    """SplitMix64 finaliser on a Python int (no numpy overflow warnings)."""
    x &= _MASK
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class Streams:
    """The random streams of one run."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def _key(self, name: str, day: int) -> int:
        return _mix(_mix(self.seed ^ (zlib.crc32(name.encode()) << 32)) + (day & _MASK) * _GOLDEN)

    def generator(self, name: str, day: int = 0) -> np.random.Generator:
        """A fresh generator for stream ``name`` on ``day``."""
        key = self._key(name, day)
        return np.random.Generator(np.random.SFC64(np.random.SeedSequence([key >> 32, key & 0xFFFFFFFF])))

    def uniform(self, name: str, day: int, n: int) -> np.ndarray:
        """One U[0,1) draw per agent for all ``n`` agents."""
        return self.generator(name, day).random(n)

    def uniform_at(self, name: str, day: int, idx: np.ndarray) -> np.ndarray:
        """U[0,1) draws for the agents ``idx`` only (float64), by hashing ids."""
        x = idx.astype(np.uint64) * np.uint64(_GOLDEN) + np.uint64(self._key(name, day))
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
        return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)

    def waiting_days(self, name: str, day: int, idx: np.ndarray, rate) -> np.ndarray:
        """Days until the next event of a Poisson process with daily ``rate`` for agents ``idx``
        (at least 1), drawn on ``day``: an agent's clock for a rare event. Each agent keeps its
        own sequence of draws, so the common-random-numbers property holds, at a cost per event
        rather than a draw per agent and day."""
        u = self.uniform_at(name, day, idx)
        rate = np.broadcast_to(np.asarray(rate, dtype=float), u.shape)
        wait = np.where(rate > 0, np.ceil(-np.log(np.maximum(u, 1e-300)) / np.maximum(rate, 1e-300)), 1e12)
        return np.minimum(np.maximum(wait, 1.0), 1e12).astype(np.int64)

    def normal_at(self, name: str, day: int, idx: np.ndarray) -> np.ndarray:
        """Standard normal draws for the agents ``idx`` (inverse CDF of uniform_at)."""
        u = self.uniform_at(name, day, idx)
        return ndtri(np.clip(u, 1e-12, 1 - 1e-12))
