"""The vectorized exp/log1p of the numba kernels against NumPy's libm results."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from fastopt._config import jit
from fastopt.kernels.numba._vecmath import (
    exp_nonpositive,
    log1p_unit,
    logistic_curvature,
    logistic_terms,
)


# Callers get the default fastmath flags (with ``reassoc``) on purpose: the functions
# must stay exact whatever flags the loop around them has.
@jit
def _exp_all(x, out):
    for k in range(x.shape[0]):
        out[k] = exp_nonpositive(x[k])


@jit
def _log1p_all(x, out):
    for k in range(x.shape[0]):
        out[k] = log1p_unit(x[k])


def _relative_error(got, want):
    scale = np.maximum(np.abs(want), np.finfo(np.float64).tiny)
    return np.max(np.abs(got - want) / scale)


def test_exp_nonpositive_matches_libm_including_subnormals():
    rng = np.random.default_rng(0)
    x = np.concatenate([
        -rng.exponential(5.0, 20_000),
        -rng.uniform(0.0, 746.0, 20_000),
        [0.0, -0.0, -1e-300, -np.log(2) / 2, -708.3, -708.4, -745.0, -745.13],
    ])
    got = np.empty_like(x)
    _exp_all(x, got)
    want = np.exp(x)
    normal = want >= np.finfo(np.float64).tiny
    assert _relative_error(got[normal], want[normal]) < 1e-15
    # subnormal results: within a few units of the smallest subnormal
    assert np.max(np.abs(got[~normal] - want[~normal])) <= 4 * 5e-324


def test_exp_nonpositive_limits_and_nan():
    x = np.array([-745.3, -800.0, -1e300, -np.inf, np.nan])
    got = np.empty_like(x)
    _exp_all(x, got)
    assert np.array_equal(got[:4], np.zeros(4))
    assert np.isnan(got[4])


def test_log1p_unit_matches_libm_with_full_relative_precision_near_zero():
    rng = np.random.default_rng(1)
    e = np.concatenate([rng.uniform(0.0, 1.0, 20_000), 10.0 ** rng.uniform(-320, 0, 5_000),
                        [0.0, 1.0, 5e-324, 1e-300, 0.5]])
    got = np.empty_like(e)
    _log1p_all(e, got)
    want = np.log1p(e)
    positive = want > 0
    assert _relative_error(got[positive], want[positive]) < 1e-15
    assert np.all(got[~positive] == 0.0)
    nan_out = np.empty(1)
    _log1p_all(np.array([np.nan]), nan_out)
    assert np.isnan(nan_out[0])


@pytest.mark.parametrize("nb", [0, 1, 5, 16])
def test_logistic_terms_against_the_stable_numpy_formulas(nb):
    rng = np.random.default_rng(nb)
    t = rng.standard_normal(16) * 30.0
    t[:4] = [0.0, 1e3, -1e3, 40.0]
    loss, slope, curvature = np.full(16, -1.0), np.full(16, -1.0), np.full(16, -1.0)
    logistic_terms(t, nb, loss, slope, curvature)
    tt = t[:nb]
    want_loss = np.logaddexp(0.0, -tt)
    want_slope = expit(-tt)
    want_curv = expit(tt) * expit(-tt)
    np.testing.assert_allclose(loss[:nb], want_loss, rtol=1e-14, atol=0)
    np.testing.assert_allclose(slope[:nb], want_slope, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(curvature[:nb], want_curv, rtol=1e-13, atol=1e-300)
    # entries past nb are not touched
    assert np.all(loss[nb:] == -1.0) and np.all(curvature[nb:] == -1.0)
    out = np.full(16, -1.0)
    logistic_curvature(t, nb, out)
    np.testing.assert_array_equal(out[:nb], curvature[:nb])


def test_logistic_terms_propagate_nan_and_handle_inf():
    t = np.array([np.nan, np.inf, -np.inf])
    loss, slope, curvature = np.empty(3), np.empty(3), np.empty(3)
    logistic_terms(t, 3, loss, slope, curvature)
    assert np.isnan(loss[0]) and np.isnan(slope[0]) and np.isnan(curvature[0])
    assert loss[1] == 0.0 and slope[1] == 0.0 and curvature[1] == 0.0
    assert loss[2] == np.inf and slope[2] == 1.0 and curvature[2] == 0.0


# --- the same functions inside the compiled kernels (numba, and the C twin in Cython) ---


def _compiled_backends():
    from fastopt.kernels import available_backends

    return [b for b in ("numba", "cython") if b in available_backends()]


@pytest.mark.parametrize("backend", _compiled_backends())
def test_kernel_curvature_and_loss_across_the_whole_range(backend):
    """Per-row Hessian weights sigma(z) sigma(-z) and per-row losses log(1 + exp(-z)) of
    the kernels for z from -800 to 800: the vectorized exp down to subnormal results
    (the Cython kernels use the C twin in _vecmath.h, checked only here directly)."""
    from fastopt._config import data_work, n_chunks
    from fastopt.kernels import get_backend
    from fastopt.kernels.losses import LOGISTIC

    K = get_backend(backend)
    z = np.concatenate([np.linspace(-800.0, 800.0, 4001),
                        [0.0, 1e-300, -1e-300, 708.4, -708.4, 745.1, -745.1, 1e3, -1e3]])
    X = z[:, None].copy()
    ones = np.ones(z.size)
    d = np.empty(z.size)
    K.linear_hess_weights(LOGISTIC, X, ones, ones, np.array([1.0]), d)
    e = np.exp(-np.abs(z))  # libm: right down to subnormals (scipy's expit(-710) is 0)
    want = e / (1.0 + e) ** 2
    normal = want >= np.finfo(np.float64).tiny
    assert _relative_error(d[normal], want[normal]) < 1e-13
    assert np.max(np.abs(d[~normal] - want[~normal])) <= 4 * 5e-324

    work = np.empty((n_chunks(data_work(np.empty((1, 1))), 1), 1))  # a 1 x 1 problem's
    picks = z[::20]
    losses = np.array([K.linear_loss(LOGISTIC, np.array([[zi]]), ones[:1], ones[:1],
                                     np.array([1.0]), 0.0, work) for zi in picks])
    # subnormal losses (z > 708) within a few units of the smallest subnormal
    np.testing.assert_allclose(losses, np.logaddexp(0.0, -picks), rtol=1e-14, atol=2e-323)
