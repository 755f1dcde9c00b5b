"""The seeded generator of the mini-batch permutations, shared by every loop."""

from __future__ import annotations

import numpy as np

__all__ = ["seed_state"]


def seed_state(seed) -> np.ndarray:
    """The 64-bit state of the shuffling generator, from ``seed`` (None: fresh entropy).

    Every backend's ``shuffle_`` kernel advances this state identically
    (:mod:`fastopt.kernels.reference.shuffle`), so the Python and compiled loops of every
    backend draw the same permutations for the same seed.
    """
    return np.random.SeedSequence(seed).generate_state(1, np.uint64)
