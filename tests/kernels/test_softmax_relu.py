"""The softmax-ReLU kernels of every compiled backend against the NumPy twin (random
instances and edge cases), the Cython kernels' argument checks, and the backends that
``SoftmaxReLU`` picks."""

import numpy as np
import pytest

import fastopt as fo
from fastopt.kernels import available_backends, get_backend
from fastopt.kernels import reference as ref

HAS_CYTHON = "cython" in available_backends()


def _instance(n, d, seed=0, scale=1.0, w=1.0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    b = rng.random(n)
    b /= 2.0 * max(np.linalg.norm(b), 1e-300)
    x = scale * rng.standard_normal(d)
    return A, b, np.full(n, w), x, rng.standard_normal(d)


def _all_kernels(kernels, A, b, w, x, v):
    n, d = A.shape
    g, out = np.full(d, np.nan), np.full(d, np.nan)
    H = np.full((d, d), np.nan)
    h, P = np.full(n, np.nan), np.full((n, 2), np.nan)
    loss = kernels.softmax_relu_loss(A, b, w, x)
    loss2 = kernels.softmax_relu_loss_grad(A, b, w, x, g)
    gamma = kernels.softmax_relu_hess_factors(A, b, w, x, h, P)
    assert kernels.softmax_relu_hessian(A, b, w, x, H) is None
    assert kernels.softmax_relu_hvp(A, b, w, x, v, out) is None
    return [loss, loss2, gamma], [g, h, P, H, out]


# (n, d, scale of x, weight): the test size; one row; one parameter; n not a multiple of
# the four exp lanes and d below the inline-row threshold; d above it; a wide A; large
# |A x| (the softmax shift); zero weights (rows whose residual is exactly zero skipped).
CASES = [(30, 5, 0.3, 1.0), (1, 1, 0.3, 1.0), (7, 3, 0.5, 0.5), (50, 9, 0.3, 1.0),
         (3, 20, 0.2, 1.0), (41, 6, 150.0, 0.1), (13, 10, 0.3, 0.0)]


@pytest.mark.parametrize("n,d,scale,w", CASES,
                         ids=[f"n{c[0]}-d{c[1]}-x{c[2]}-w{c[3]}" for c in CASES])
def test_compiled_kernels_match_reference(compiled_backend, n, d, scale, w):
    A, b, ws, x, v = _instance(n, d, scale=scale, w=w)
    inputs = [a.copy() for a in (A, b, ws, x, v)]
    scalars, arrays = _all_kernels(get_backend(compiled_backend), A, b, ws, x, v)
    scalars_ref, arrays_ref = _all_kernels(ref, A, b, ws, x, v)
    np.testing.assert_allclose(scalars, scalars_ref, rtol=1e-12, atol=1e-15)
    for got, want in zip(arrays, arrays_ref, strict=True):
        scale_ = max(1.0, float(np.max(np.abs(want))))
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12 * scale_)
    for before, after in zip(inputs, (A, b, ws, x, v), strict=True):
        np.testing.assert_array_equal(before, after)


def test_inactive_relu_gives_uniform_softmax(compiled_backend):
    """A x <= 0 everywhere: f = 1/n, no ReLU term in the gradient (only W^2 A x)."""
    A, b, w, _, v = _instance(9, 4)
    x = np.zeros(4)
    A = -np.abs(A)
    x[:] = 0.5  # A x < 0 for every row
    kernels = get_backend(compiled_backend)
    g = np.empty(4)
    loss = kernels.softmax_relu_loss_grad(A, b, w, x, g)
    z = A @ x
    assert loss == pytest.approx(0.5 * np.sum((1 / 9 - b) ** 2) + 0.5 * np.sum((w * z) ** 2),
                                 rel=1e-14)
    np.testing.assert_allclose(g, A.T @ (w * w * z), rtol=1e-13)


@pytest.mark.skipif(not HAS_CYTHON, reason="Cython not built")
def test_cython_refuses_arrays_it_cannot_read():
    k = get_backend("cython")
    A, b, w, x, v = _instance(6, 3)
    g = np.empty(3)
    bad = [
        lambda: k.softmax_relu_loss(A.astype(np.float32), b, w, x),
        lambda: k.softmax_relu_loss(np.asfortranarray(A), b, w, x),
        lambda: k.softmax_relu_loss(A[0], b, w, x),
        lambda: k.softmax_relu_loss(A, b[:-1], w, x),
        lambda: k.softmax_relu_loss(A, b, w, np.ones(4)),
        lambda: k.softmax_relu_loss_grad(A, b, w, x, np.empty(4)),
        lambda: k.softmax_relu_hvp(A, b, w, x, v[:2], g),
        lambda: k.softmax_relu_hess_factors(A, b, w, x, np.empty(6), np.empty((2, 6))),
        lambda: k.softmax_relu_hessian(A, b, w, x, np.empty((3, 4))),
        lambda: k.softmax_relu_loss(list(A), b, w, x),
        lambda: k.softmax_relu_loss(A, b.astype(b.dtype.newbyteorder()), w, x),
    ]
    for call in bad:
        with pytest.raises(ValueError, match="float64"):
            call()
    ro = np.empty(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        k.softmax_relu_loss_grad(A, b, w, x, ro)


@pytest.mark.skipif(not HAS_CYTHON, reason="Cython not built")
def test_objective_backends():
    """'auto' is the Cython backend (no numba compilation by default); numba, cython and
    numpy by name; 'cuda' has no twin and is refused."""
    A, b, w, x, v = _instance(30, 5)
    objs = {name: fo.problems.SoftmaxReLU(A, b, w, backend=name)
            for name in ("auto", "cython", "numba", "numpy")}
    assert objs["auto"].backend == "cython"
    assert objs["auto"].kernels is get_backend("cython")
    assert objs["numba"].kernels is get_backend("numba")
    f_ref, g_ref = objs["numpy"].loss_grad(x)
    for obj in objs.values():
        f, g = obj.loss_grad(x)
        assert f == pytest.approx(f_ref, rel=1e-13)
        np.testing.assert_allclose(g, g_ref, rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(obj.hvp(x, v), objs["numpy"].hvp(x, v), rtol=1e-11,
                                   atol=1e-14)
    with pytest.raises(ValueError, match="no CUDA kernels|not available"):
        fo.problems.SoftmaxReLU(A, b, w, backend="cuda")


@pytest.mark.skipif(not HAS_CYTHON, reason="Cython not built")
def test_cython_derivatives_against_finite_differences():
    A, b, w, x, v = _instance(30, 5, seed=1)
    obj = fo.problems.SoftmaxReLU(A, b, w, backend="cython")
    step = 1e-6
    assert np.min(np.abs(A @ x)) > 10 * step * np.abs(A).sum(axis=1).max()
    E = np.eye(5)
    fd_grad = [(obj.value(x + step * e) - obj.value(x - step * e)) / (2 * step) for e in E]
    np.testing.assert_allclose(obj.grad(x), fd_grad, rtol=1e-6, atol=1e-9)
    fd_hess = np.array([(obj.grad(x + step * e) - obj.grad(x - step * e)) / (2 * step)
                        for e in E])
    H = obj.hessian(x)
    np.testing.assert_allclose(H, fd_hess, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(obj.hvp(x, v), H @ v, rtol=1e-11, atol=1e-13)
