"""Seeded in-place shuffle of mini-batch row indices, pure-Python reference twin.

``shuffle_(perm, state)`` permutes ``perm`` (int64, shape (m,)) in place by the
Fisher-Yates algorithm, drawing from the SplitMix64 generator whose 64-bit state is
``state[0]`` (uint64, shape (1,), advanced in place). Every backend draws the same
numbers in the same order, so the Python and the compiled first-order loops visit the
rows in the same order for the same seed, whatever the backend.

For i = m-1, ..., 1:

    state <- state + 0x9E3779B97F4A7C15                      (mod 2^64)
    z <- state;  z <- (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
    z <- (z ^ (z >> 27)) * 0x94D049BB133111EB;  z <- z ^ (z >> 31)   (mod 2^64)
    j <- ((z >> 32) * (i + 1)) >> 32                          (Lemire: j in [0, i])
    swap perm[i], perm[j]

SplitMix64 is Steele, Lea and Flood's generator (2014); the multiply-shift map of 32
random bits to [0, i] is Lemire's (2019), with bias below (i + 1) / 2^32, far below
anything a shuffle of rows can show. ``m`` must be below 2^32 (the product
``(z >> 32) * (i + 1)`` then fits 64 bits). This twin uses Python integers (exact
modular arithmetic by masking); it is O(m) interpreted steps, fine for the reference.
"""

from __future__ import annotations

__all__ = ["shuffle_"]

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB


def _splitmix64(s):
    """One SplitMix64 step: the advanced state and the 64-bit output."""
    s = (s + _GOLDEN) & _MASK
    z = ((s ^ (s >> 30)) * _MIX1) & _MASK
    z = ((z ^ (z >> 27)) * _MIX2) & _MASK
    return s, z ^ (z >> 31)


def shuffle_(perm, state):
    """Fisher-Yates shuffle of ``perm`` (int64, (m,)) in place, driven by ``state`` (uint64[1]).

    Parameters
    ----------
    perm : ndarray of shape (m,), int64, permuted in place
    state : ndarray of shape (1,), uint64, the generator's state, advanced in place
        (by m - 1 draws)
    """
    s = int(state[0])
    p = perm.tolist()
    for i in range(len(p) - 1, 0, -1):
        s, z = _splitmix64(s)
        j = ((z >> 32) * (i + 1)) >> 32
        p[i], p[j] = p[j], p[i]
    if p:
        perm[:] = p
    state[0] = s
