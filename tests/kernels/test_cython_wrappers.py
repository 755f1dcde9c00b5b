"""The argument checks of the Cython kernel wrappers (``_args.pxd``).

The wrappers read their arrays through the NumPy C API, not typed memoryviews, so the
checks a memoryview made (dtype, C order, writeable outputs) are theirs now, plus one it
did not make: every array must be at least as long as the pass reads or writes it. The
values are still checked against the NumPy twin in test_linear.py and the others;
here, what must be refused (and what must still be accepted).
"""

import numpy as np
import pytest
import scipy.sparse as sp

from fastopt.kernels import available_backends, get_backend
from fastopt.kernels.losses import LOGISTIC, SQUARED

pytestmark = pytest.mark.skipif(
    "cython" not in available_backends(),
    reason="Cython extensions not built (python setup.py build_ext --inplace)",
)


@pytest.fixture
def cy():
    return get_backend("cython")


def _dense(rng, m=30, n=4, intercept=True):
    p = n + int(intercept)
    X = rng.standard_normal((m, n))
    y = np.where(rng.random(m) < 0.5, -1.0, 1.0)
    sw = np.full(m, 1.0 / m)
    w = 0.3 * rng.standard_normal(p)
    return X, y, sw, w, np.empty(p), np.empty((2, p))


def test_short_arrays_are_refused(cy, rng):
    X, y, sw, w, g, work = _dense(rng)
    p = w.size
    cases = {
        "y": (X, y[:-1], sw, w, 0.1, g, work),
        "sw": (X, y, sw[:5], w, 0.1, g, work),
        "w": (X, y, sw, w[:2], 0.1, np.empty(2), np.empty((2, 2))),
        "grad_out": (X, y, sw, w, 0.1, g[:-1], work),
        "work": (X, y, sw, w, 0.1, g, np.empty((2, p - 1))),
    }
    for name, args in cases.items():
        with pytest.raises(ValueError, match=name):
            cy.linear_loss_grad(LOGISTIC, *args)
    with pytest.raises(ValueError, match="work"):
        cy.linear_loss_grad(SQUARED, X, y, sw, w, 0.1, g, np.empty((0, p)))
    with pytest.raises(ValueError, match="d_out"):
        cy.linear_grad_hess_weights(LOGISTIC, X, y, sw, w, 0.1, g, np.empty(X.shape[0] - 1), work)
    with pytest.raises(ValueError, match="v"):
        cy.linear_hvp(LOGISTIC, X, y, sw, w, w[:-1], 0.1, g, work)
    with pytest.raises(ValueError, match="H_out"):
        cy.weighted_gram(X, sw, 0.1, np.empty((p, p - 1)))
    with pytest.raises(ValueError, match="w must have"):
        cy.weighted_gram(X, sw, 0.1, np.empty((p + 1, p + 1)))
    with pytest.raises(ValueError, match="z_out"):
        cy.matvec(X, w, np.empty(X.shape[0] - 1))
    with pytest.raises(ValueError, match="v0"):
        cy.max_eig_gram(X, sw, np.ones(X.shape[1] - 1), 10, 1e-8, work)


def test_longer_buffers_are_accepted_and_only_their_head_written(cy, rng):
    X, y, sw, w, g, work = _dense(rng)
    ref = np.empty(w.size)
    f_ref = cy.linear_loss_grad(LOGISTIC, X, y, sw, w, 0.1, ref, work)
    long_g = np.full(w.size + 3, 7.0)
    f = cy.linear_loss_grad(LOGISTIC, X, y, sw, w, 0.1, long_g, np.empty((2, w.size + 5)))
    assert f == f_ref
    np.testing.assert_array_equal(long_g[:w.size], ref)
    np.testing.assert_array_equal(long_g[w.size:], 7.0)


def test_layout_dtype_and_writeability_are_checked(cy, rng):
    X, y, sw, w, g, work = _dense(rng)
    with pytest.raises(ValueError, match="C-contiguous"):
        cy.linear_loss_grad(LOGISTIC, np.asfortranarray(X), y, sw, w, 0.1, g, work)
    with pytest.raises(ValueError, match="C-contiguous"):
        cy.linear_loss_grad(LOGISTIC, X, y, sw[::-1], w, 0.1, g, work)
    with pytest.raises(TypeError, match="float32 or float64"):
        cy.linear_loss_grad(LOGISTIC, X.astype(np.float16), y, sw, w, 0.1, g, work)
    with pytest.raises(TypeError, match="float64"):
        cy.linear_loss_grad(LOGISTIC, X, y.astype(np.float32), sw, w, 0.1, g, work)
    with pytest.raises(TypeError, match="numpy array"):
        cy.linear_loss_grad(LOGISTIC, X, list(y), sw, w, 0.1, g, work)
    with pytest.raises(ValueError, match="dimension"):
        cy.linear_loss_grad(LOGISTIC, X[0], y, sw, w, 0.1, g, work)
    swapped = X.astype(X.dtype.newbyteorder())
    with pytest.raises(ValueError, match="byte order"):
        cy.linear_loss_grad(LOGISTIC, swapped, y, sw, w, 0.1, g, work)
    g.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        cy.linear_loss_grad(LOGISTIC, X, y, sw, w, 0.1, g, work)
    rows = np.arange(4, dtype=np.int32)
    with pytest.raises(TypeError, match="int64"):
        cy.linear_loss_grad_rows(LOGISTIC, X, y, sw, w, 0.1, rows, 1.0, np.empty(w.size), work)


def test_csr_structure_is_checked(cy, rng):
    A = sp.random(20, 6, density=0.4, format="csr", random_state=0)
    y, sw, w = np.ones(20), np.full(20, 0.05), np.zeros(6)
    g, work = np.empty(6), np.empty((1, 6))
    args = (A.data, A.indices, A.indptr, 6, y, sw, w, 0.0, g, work)
    assert np.isfinite(cy.linear_loss_grad_csr(LOGISTIC, *args))
    with pytest.raises(ValueError, match="indptr"):
        cy.linear_loss_grad_csr(LOGISTIC, A.data[:-1], *args[1:])
    with pytest.raises(ValueError, match="indptr"):
        cy.linear_loss_grad_csr(LOGISTIC, A.data, A.indices[:-1], *args[2:])
    with pytest.raises(TypeError, match="one dtype"):
        cy.linear_loss_grad_csr(LOGISTIC, A.data, A.indices.astype(np.int64), A.indptr, *args[3:])
    with pytest.raises(ValueError, match="m \\+ 1"):
        cy.matvec_csr(A.data, A.indices, A.indptr[:0], 6, w, np.empty(20))
    with pytest.raises(ValueError, match="y"):
        cy.linear_loss_grad_csr(LOGISTIC, A.data, A.indices, A.indptr, 6, y[:-1], sw, w, 0.0, g,
                                  work)
    with pytest.raises(ValueError, match="w must have"):
        cy.linear_loss_grad_csr(LOGISTIC, A.data, A.indices, A.indptr, 9, y, sw, w, 0.0, g, work)
