# cython: language_level=3
#
# SplitMix64 and the Fisher-Yates shuffle of mini-batch rows, inline (cimported by
# shuffle.pyx and by the compiled first-order loop, _fo_loop.pyx, so both draw the same
# permutations as the other backends; the algorithm is written out in
# fastopt/kernels/reference/shuffle.py).

from libc.stdint cimport uint64_t


cdef inline uint64_t splitmix64(uint64_t* state) noexcept nogil:
    # unsigned 64-bit arithmetic wraps mod 2^64, as the generator requires
    cdef uint64_t z
    state[0] += <uint64_t> 0x9E3779B97F4A7C15
    z = state[0]
    z = (z ^ (z >> 30)) * <uint64_t> 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t> 0x94D049BB133111EB
    return z ^ (z >> 31)


cdef inline void shuffle_span(long long* perm, Py_ssize_t m, uint64_t* state) noexcept nogil:
    """Fisher-Yates shuffle of perm[:m] in place; Lemire's multiply-shift maps 32 random
    bits to [0, i] (exact for m < 2^32)."""
    cdef Py_ssize_t i, j
    cdef long long tmp
    for i in range(m - 1, 0, -1):
        j = <Py_ssize_t> (((splitmix64(state) >> 32) * <uint64_t> (i + 1)) >> 32)
        tmp = perm[i]
        perm[i] = perm[j]
        perm[j] = tmp
