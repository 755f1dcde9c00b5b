"""Seeded in-place shuffle of mini-batch row indices, numba twin.

SplitMix64 drives a Fisher-Yates shuffle with Lemire's multiply-shift map to [0, i]:
the algorithm and its constants are written out in :mod:`fastopt.kernels.reference.shuffle`,
and every backend draws the same permutation from the same state.
"""

from __future__ import annotations

import numpy as np

from ..._config import jit

__all__ = ["shuffle_"]


@jit
def _splitmix64(state):
    # SplitMix64 (Steele, Lea, Flood 2014): a 64-bit generator with a one-word state that
    # every backend can advance identically (uint64 arithmetic wraps mod 2^64).
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@jit
def shuffle_(perm, state):
    """Fisher-Yates shuffle of ``perm`` (int64, (m,)) in place, driven by ``state`` (uint64[1])."""
    for i in range(perm.shape[0] - 1, 0, -1):
        # Lemire's multiply-shift maps 32 random bits to [0, i]; bias < i / 2^32.
        r = (_splitmix64(state) >> np.uint64(32)) * np.uint64(i + 1)
        j = np.int64(r >> np.uint64(32))
        perm[i], perm[j] = perm[j], perm[i]
