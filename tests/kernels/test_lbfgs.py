"""The L-BFGS two-loop recursion of every compiled backend against its NumPy twin, on
random memories and the edge cases: an empty memory, a full ring buffer that wraps
around, p = 1; and the argument checks of the Cython kernel (it reads raw pointers)."""

import numpy as np
import pytest

from fastopt.kernels import available_backends, get_backend
from fastopt.kernels import reference as ref


def _memory(rng, p, k):
    """Ring buffers of k pairs with <s, y> > 0 (a convex quadratic plus noise)."""
    S = rng.standard_normal((k, p))
    Y = S * rng.uniform(0.5, 2.0, p) + 0.01 * rng.standard_normal((k, p))
    rho = 1.0 / np.einsum("ij,ij->i", S, Y)
    return S, Y, rho


def _direction(kernels, g, S, Y, rho, start, count, gamma):
    k, p = S.shape
    alpha = np.full(k, np.nan)  # contents on entry must not matter
    d = np.full(p, np.nan)
    assert kernels.lbfgs_direction(g, S, Y, rho, start, count, gamma, alpha, d) is None
    return d, alpha


# (p, k, start, count): empty memory, partial memory, full ring buffer from row 0, full
# buffer that wraps around (oldest pair in the middle), a start index past k (taken
# modulo k, as the reference does), p = 1, k = 1.
CASES = [
    (9, 5, 0, 0),
    (9, 5, 3, 0),
    (9, 5, 1, 3),
    (9, 5, 0, 5),
    (9, 5, 3, 5),
    (9, 5, 4, 4),
    (9, 5, 7, 4),
    (1, 4, 2, 4),
    (1, 1, 0, 1),
    (300, 10, 6, 10),
]


@pytest.mark.parametrize("p,k,start,count", CASES,
                         ids=[f"p{c[0]}-k{c[1]}-start{c[2]}-count{c[3]}" for c in CASES])
def test_matches_reference(compiled_backend, rng, p, k, start, count):
    S, Y, rho = _memory(rng, p, k)
    g = rng.standard_normal(p)
    gamma = 0.7
    inputs = [a.copy() for a in (g, S, Y, rho)]
    d, alpha = _direction(get_backend(compiled_backend), g, S, Y, rho, start, count, gamma)
    d_ref, alpha_ref = _direction(ref, g, S, Y, rho, start, count, gamma)
    np.testing.assert_allclose(d, d_ref, rtol=1e-12, atol=1e-13)
    used = [(start + i) % k for i in range(count)]
    np.testing.assert_allclose(alpha[used], alpha_ref[used], rtol=1e-12, atol=1e-13)
    for before, after in zip(inputs, (g, S, Y, rho), strict=True):
        np.testing.assert_array_equal(before, after)  # inputs are never written
    if count == 0:
        np.testing.assert_array_equal(d, -gamma * g)


def test_wrap_around_is_the_same_memory_rotated(compiled_backend, rng):
    """A full ring buffer whose oldest pair is row j gives the direction of the same
    pairs stored in order from row 0."""
    p, k = 7, 4
    S, Y, rho = _memory(rng, p, k)
    g = rng.standard_normal(p)
    kernels = get_backend(compiled_backend)
    d0, _ = _direction(kernels, g, S, Y, rho, 0, k, 1.3)
    for j in range(1, k):
        order = (np.arange(k) + j) % k  # pair i goes to row (j + i) % k
        S_r, Y_r, rho_r = np.empty_like(S), np.empty_like(Y), np.empty_like(rho)
        S_r[order], Y_r[order], rho_r[order] = S, Y, rho
        d, _ = _direction(kernels, g, S_r, Y_r, rho_r, j, k, 1.3)
        np.testing.assert_allclose(d, d0, rtol=1e-13, atol=1e-14)


def test_direction_is_minus_bfgs_inverse_times_gradient(compiled_backend, rng):
    """The recursion equals the dense BFGS update H+ = V^T H V + rho s s^T, oldest first."""
    p, k, start, count, gamma = 6, 5, 3, 5, 0.4
    S, Y, rho = _memory(rng, p, k)
    g = rng.standard_normal(p)
    d, _ = _direction(get_backend(compiled_backend), g, S, Y, rho, start, count, gamma)
    H = gamma * np.eye(p)
    for i in range(count):
        j = (start + i) % k
        V = np.eye(p) - rho[j] * np.outer(Y[j], S[j])
        H = V.T @ H @ V + rho[j] * np.outer(S[j], S[j])
    np.testing.assert_allclose(d, -H @ g, rtol=1e-10, atol=1e-12)


@pytest.mark.skipif("cython" not in available_backends(), reason="Cython not built")
def test_cython_refuses_arrays_it_cannot_read():
    kernels = get_backend("cython")
    p, k = 4, 3
    g, S, Y = np.ones(p), np.ones((k, p)), np.ones((k, p))
    rho, alpha, d = np.ones(k), np.empty(k), np.empty(p)
    bad = {
        "g float32": dict(g=np.ones(p, np.float32)),
        "g strided": dict(g=np.ones(2 * p)[::2]),
        "S wrong shape": dict(S=np.ones((k, p + 1))),
        "Y Fortran": dict(Y=np.asfortranarray(np.ones((k, p)))),
        "rho short": dict(rho=np.ones(k - 1)),
        "alpha 2-D": dict(alpha_work=np.ones((k, 1))),
        "d_out short": dict(d_out=np.empty(p - 1)),
        "S byte-swapped": dict(S=np.ones((k, p)).astype(np.dtype(np.float64).newbyteorder())),
    }
    for change in bad.values():
        args = dict(g=g, S=S, Y=Y, rho=rho, alpha_work=alpha, d_out=d)
        args.update(change)
        with pytest.raises(ValueError, match="C-contiguous float64"):
            kernels.lbfgs_direction(args["g"], args["S"], args["Y"], args["rho"], 0, 1, 1.0,
                                    args["alpha_work"], args["d_out"])
    with pytest.raises(ValueError, match="count"):
        kernels.lbfgs_direction(g, S, Y, rho, 0, k + 1, 1.0, alpha, d)
    with pytest.raises(ValueError, match="start"):
        kernels.lbfgs_direction(g, S, Y, rho, -1, 1, 1.0, alpha, d)
    with pytest.raises(TypeError):
        kernels.lbfgs_direction(list(g), S, Y, rho, 0, 1, 1.0, alpha, d)


def test_every_cpu_backend_has_the_kernel():
    """The contract: each CPU backend exports lbfgs_direction."""
    for name in ("numpy", "numba", "cython"):
        if name in available_backends():
            assert callable(get_backend(name).lbfgs_direction)
