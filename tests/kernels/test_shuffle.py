"""The mini-batch shuffle kernel: every CPU backend draws the same permutations, bit for bit.

The Python and the compiled first-order loops take ``shuffle_`` from the run's backend,
so the same seed must give the same row order on every backend (and so the same
iterates, up to the rounding of the passes).
"""

import numpy as np
import pytest

from fastopt.kernels import get_backend
from fastopt.kernels.reference import shuffle as ref_shuffle
from fastopt.solvers.first_order import seed_state


def test_reference_generator_is_splitmix64():
    # The published first outputs of SplitMix64 from state 0 (Vigna's reference code).
    s, out = 0, []
    for _ in range(3):
        s, z = ref_shuffle._splitmix64(s)
        out.append(z)
    assert out == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


@pytest.mark.parametrize("m", [0, 1, 2, 3, 17, 1000, 4099])
def test_backends_draw_identical_permutations(compiled_backend, m):
    shuffle_ = get_backend(compiled_backend).shuffle_
    for seed in (0, 1, 12345):
        perm_ref, state_ref = np.arange(m, dtype=np.int64), seed_state(seed)
        perm, state = perm_ref.copy(), state_ref.copy()
        for _ in range(3):  # successive epochs continue from the advanced state
            ref_shuffle.shuffle_(perm_ref, state_ref)
            shuffle_(perm, state)
            np.testing.assert_array_equal(perm, perm_ref)
            assert state[0] == state_ref[0]
        np.testing.assert_array_equal(np.sort(perm), np.arange(m))


def test_state_advances_by_one_draw_per_swap(backend):
    shuffle_ = get_backend(backend).shuffle_
    state = np.zeros(1, np.uint64)
    shuffle_(np.arange(5, dtype=np.int64), state)
    assert int(state[0]) == (4 * 0x9E3779B97F4A7C15) % 2**64
    shuffle_(np.arange(1, dtype=np.int64), state)  # m = 1: no draw, no change
    shuffle_(np.arange(0, dtype=np.int64), state)
    assert int(state[0]) == (4 * 0x9E3779B97F4A7C15) % 2**64


def test_shuffle_permutes_an_arbitrary_int64_array(backend):
    shuffle_ = get_backend(backend).shuffle_
    values = np.array([7, -3, 2**40, 0, 11], dtype=np.int64)
    perm = values.copy()
    shuffle_(perm, seed_state(3))
    assert sorted(perm.tolist()) == sorted(values.tolist())
    ref = values.copy()
    ref_shuffle.shuffle_(ref, seed_state(3))
    np.testing.assert_array_equal(perm, ref)


def test_permutations_look_uniform():
    # Each of the 6 permutations of 3 items about 1/6 of the time over 6000 shuffles
    # (a wrong index map, e.g. j in [0, i) or a biased draw, moves these counts by far
    # more than the binomial spread, about 29 here).
    state = seed_state(0)
    counts = {}
    for _ in range(6000):
        perm = np.arange(3, dtype=np.int64)
        ref_shuffle.shuffle_(perm, state)
        counts[tuple(perm)] = counts.get(tuple(perm), 0) + 1
    assert len(counts) == 6
    assert all(abs(c - 1000) < 150 for c in counts.values())
