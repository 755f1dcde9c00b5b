"""Bundled datasets: published counts, label mapping, copies, and the published optima."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

import fastopt as fo
from fastopt.problems import Logistic

# rows, features, (negatives, positives), nonzeros: ../shared/datasets/README.md
PUBLISHED = {
    "a9a": (32561, 123, (24720, 7841), 451592),
    "w8a": (49749, 300, (48270, 1479), 579586),
    "mushrooms": (8124, 112, (3916, 4208), 170604),
    "ijcnn1": (49990, 22, (45137, 4853), 649870),  # the file stores some explicit zeros
}


def test_names():
    assert fo.datasets.names() == sorted(PUBLISHED)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_counts(name):
    rows, features, (neg, pos), nnz = PUBLISHED[name]
    X, y = fo.datasets.load(name)
    assert sp.isspmatrix_csr(X) and X.dtype == np.float64 and y.dtype == np.float64
    assert X.shape == (rows, features) and y.shape == (rows,)
    assert set(np.unique(y)) == {-1.0, 1.0}
    assert (np.count_nonzero(y < 0), np.count_nonzero(y > 0)) == (neg, pos)
    assert X.has_canonical_format and np.all(X.data != 0)
    if name == "ijcnn1":
        assert X.nnz < nnz  # explicit zeros removed
        assert np.count_nonzero(X.toarray()) == X.nnz
    else:
        assert X.nnz == nnz
    assert np.isfinite(X.data).all()


def test_loads_are_independent_copies():
    X1, y1 = fo.datasets.load("mushrooms")
    X1.data[:] = 7.0
    y1[:] = 0.0
    X2, y2 = fo.datasets.load("mushrooms")
    assert not np.shares_memory(X1.data, X2.data)
    assert set(np.unique(y2)) == {-1.0, 1.0} and 7.0 not in X2.data[:10]


def test_float32_and_errors():
    X, _ = fo.datasets.load("mushrooms", dtype=np.float32)
    assert X.dtype == np.float32
    with pytest.raises(ValueError, match="a9a") as info:
        fo.datasets.load("iris")
    assert "unknown dataset" in str(info.value) and "mushrooms" in str(info.value)
    with pytest.raises(ValueError, match="dtype"):
        fo.datasets.load("a9a", dtype=np.int32)


def test_info():
    facts = fo.datasets.info("w8a")
    assert (facts["rows"], facts["features"], facts["positives"]) == (49749, 300, 1479)
    assert facts["reference_optimum"] == fo.datasets.REFERENCE_OPTIMA["w8a"]
    assert "Rodomanov" in facts["provenance"] and "LIBSVM" in facts["provenance"]
    assert fo.datasets.info("mushrooms")["reference_optimum"] is None


def test_logistic_value_at_zero_is_ln2_on_a9a(backend):
    X, y = fo.datasets.load("a9a")
    obj = Logistic(X, y, lam=1 / X.shape[0], backend=backend)
    assert obj.value(np.zeros(X.shape[1])) == pytest.approx(math.log(2), rel=1e-13)


def newton(obj, iters=30):
    """Damped Newton, the Hessian from a sparse product (a test oracle, not a solver)."""
    X = obj.X
    w = np.zeros(obj.n_params)
    for _ in range(iters):
        f, g, d = obj.grad_hess_weights(w)
        if np.linalg.norm(g) < 1e-12:
            break
        H = (X.T @ X.multiply(d[:, None]).tocsr()).toarray() + obj.lam * np.eye(obj.n_params)
        step = np.linalg.solve(H, g)
        t = 1.0
        while obj.value(w - t * step) > f - 1e-4 * t * (g @ step):
            t *= 0.5
        w = w - t * step
    return obj.loss_grad(w)


@pytest.mark.parametrize("name", sorted(fo.datasets.REFERENCE_OPTIMA))
def test_published_reference_optimum_is_reproduced(name):
    X, y = fo.datasets.load(name)
    obj = Logistic(X, y, lam=1 / X.shape[0], backend="numpy")
    f, g = newton(obj)
    assert np.linalg.norm(g) < 1e-9
    assert f == pytest.approx(fo.datasets.REFERENCE_OPTIMA[name], rel=1e-12)
