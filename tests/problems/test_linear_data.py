"""LinearData: the data of a linear model as one value (validation, kernel arguments,
scratch, the device variant) and the objectives that hold one."""

import numpy as np
import pytest
import scipy.sparse as sp

import fastopt as fo
from fastopt.kernels.losses import by_name
from fastopt.problems import LinearData
from fastopt.problems._validation import check_loss_targets


def _targets(y, m):
    return check_loss_targets(by_name("squared"), y, m, "y")[0]


@pytest.fixture
def problem():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 5))
    return X, rng.standard_normal(40)


def test_dense_data_are_used_without_a_copy(problem):
    X, y = problem
    data = LinearData.from_input(X, y, check_targets=_targets, backend="numpy")
    assert data.X is X and data.args == (X,) and data.args[0] is X
    assert (data.n_samples, data.n_features, data.dtype) == (40, 5, np.float64)
    assert not data.is_sparse and not data.on_device and data.backend == "numpy"
    assert data.kernel_y is data.y and data.kernel_sw is data.sw
    np.testing.assert_allclose(data.sw, np.full(40, 1 / 40))
    assert "host" in repr(data) and "dense" in repr(data)


def test_csr_arguments_and_kernel_lookup(problem):
    X, y = problem
    X[X < 0.5] = 0.0
    Xs = sp.csr_matrix(X)
    data = LinearData.from_input(Xs, y, check_targets=_targets, backend="numpy")
    assert data.is_sparse and len(data.args) == 4 and data.args[3] == 5
    assert data.args[0] is data.X.data and data.args[2] is data.X.indptr
    assert data.kernel("linear_hvp") is data.kernels.linear_hvp_csr
    with pytest.raises(NotImplementedError, match="no kernel 'no_such_kernel_csr'"):
        data.kernel("no_such_kernel")


def test_input_is_checked_and_never_modified(problem):
    X, y = problem
    X_before, y_before = X.copy(), y.copy()
    w = np.arange(40.0)
    data = LinearData.from_input(X, y, w, check_targets=_targets, backend="numpy",
                                 dtype=np.float32)
    assert data.dtype == np.float32 and data.X is not X
    np.testing.assert_allclose(data.sw.sum(), 1.0)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    bad = X.copy()
    bad[7, 2] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        LinearData.from_input(bad, y, check_targets=_targets, backend="numpy")
    with pytest.raises(ValueError, match="y has 39 entries but X has 40 rows"):
        LinearData.from_input(X, y[:-1], check_targets=_targets, backend="numpy")
    with pytest.raises(ValueError):
        LinearData.from_input(X, y, -w, check_targets=_targets, backend="numpy")
    with pytest.raises(TypeError, match="backend must be a string"):
        LinearData.from_input(X, y, check_targets=_targets, backend=3)
    with pytest.raises(ValueError, match="no-such"):
        LinearData.from_input(X, y, check_targets=_targets, backend="no-such")


def test_scratch_depends_on_the_data_only(problem, monkeypatch):
    X, y = problem
    data = LinearData.from_input(X, y, check_targets=_targets, backend="numpy")
    work = data.make_work(6)
    assert work.shape[1] == 6 and work.dtype == np.float64 and not work.any()
    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")
    assert data.make_work(6).shape == work.shape
    assert data.make_work(6, work_factor=3).shape[0] >= work.shape[0]


def test_objectives_hold_their_data_and_view_it(problem):
    X, y = problem
    obj = fo.problems.LeastSquares(X, y, lam=0.1, backend="numpy")
    assert isinstance(obj.data, LinearData)
    for name in ("X", "y", "sw", "n_samples", "n_features", "dtype", "is_sparse", "backend",
                 "kernels"):
        assert name not in vars(obj)  # a view of the data, not a second copy
        assert getattr(obj, name) is getattr(obj.data, name)
    labels = np.where(y > 0, 2, np.where(y < -0.5, 1, 0))
    multi = fo.problems.Multinomial(X, labels, backend="numpy")
    assert isinstance(multi.data, LinearData) and multi.y is multi.data.y
    np.testing.assert_array_equal(multi.classes, [0, 1, 2])


def test_an_objective_on_other_data_is_a_new_objective(problem):
    # Two objectives built on the same arrays share nothing mutable but the arrays.
    X, y = problem
    a = fo.problems.Logistic(X, np.sign(y), lam=0.1, backend="numpy")
    b = fo.problems.Logistic(X[:20], np.sign(y[:20]), lam=0.1, backend="numpy")
    w = np.full(5, 0.1)
    assert a.data is not b.data and a.work is not b.work
    f_a, f_b = a.value(w), b.value(w)
    assert f_a != f_b and a.value(w) == f_a


def test_device_variant_on_the_simulator(problem):
    pytest.importorskip("numba.cuda")
    from fastopt.kernels.cuda import _device

    if not _device.SIMULATOR:
        pytest.skip("the simulator run; a GPU runs tests/kernels/test_cuda.py")
    X, y = problem
    obj = fo.problems.LeastSquares(X, y, lam=0.1, fit_intercept=True, backend="numpy")
    ref = fo.problems.LeastSquares(X, y, lam=0.1, fit_intercept=True, backend="numpy")
    host = obj.data
    obj.move_to_device()
    dev = obj.data
    assert dev.on_device and dev is not host and dev.X is host.X
    assert dev.args[0] is not X and dev.kernel_y is not dev.y and dev.nbytes > 0
    assert obj.backend == "cuda" and "device" in repr(dev)
    w = np.linspace(-1, 1, 6)
    np.testing.assert_allclose(obj.grad(w), ref.grad(w), rtol=1e-10)
    assert obj.move_to_device() is obj and obj.data is dev


def test_objective_without_device_kernels_refuses_a_device_backend_before_copying(
        problem, monkeypatch):
    # Multinomial has no CUDA kernels: its data stay on the host (nothing is copied to a
    # device) and the backend is refused by name. resolve_backend is patched because the
    # simulator is not a backend this machine offers.
    pytest.importorskip("numba.cuda")
    from fastopt.problems import linear_data

    monkeypatch.setattr(linear_data, "resolve_backend", lambda name: "cuda")
    X, y = problem
    labels = (y > 0).astype(int) + (y > 1)
    data = LinearData.from_input(X, labels, check_targets=lambda y, m: np.asarray(y),
                                 backend="cuda", allow_device=False)
    assert not data.on_device and data.backend == "cuda" and data.args[0] is X
    with pytest.raises(ValueError, match="backend 'cuda' has no multinomial kernels"):
        fo.problems.Multinomial(X, labels, backend="cuda")
