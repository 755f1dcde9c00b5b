# cython: language_level=3
"""Seeded in-place shuffle of mini-batch row indices, Cython twin.

SplitMix64 drives a Fisher-Yates shuffle with Lemire's multiply-shift map to [0, i]:
the algorithm and its constants are written out in :mod:`fastopt.kernels.reference.shuffle`,
and every backend draws the same permutation from the same state. The loop itself is
``shuffle_span`` of ``_rng.pxd``, shared with the compiled first-order loop.
"""

from libc.stdint cimport uint64_t

from ._rng cimport shuffle_span

__all__ = ["shuffle_"]


def shuffle_(long long[::1] perm, uint64_t[::1] state):
    """Fisher-Yates shuffle of ``perm`` in place, driven by ``state``.

    Parameters
    ----------
    perm : ndarray of shape (m,), int64, permuted in place
    state : ndarray of shape (1,), uint64, the generator's state, advanced in place
        (by m - 1 draws)
    """
    if state.shape[0] < 1:
        raise ValueError("state must hold one uint64 word")
    with nogil:
        shuffle_span(&perm[0] if perm.shape[0] > 0 else NULL, perm.shape[0], &state[0])
