"""NAdam (``fo.updates.nadam_``, ``method="nadam"``) against ``torch.optim.NAdam``.

The oracle is a trajectory recorded from torch (``tests/data/nadam_torch.npz``, written
by ``tests/data/make_torch_references.py``; float64, ``foreach=False``): the same gradient
sequence replayed through every backend's fused kernel must give torch's iterates and
moments step by step, to 1e-12 relative. When torch is installed, a live comparison runs
too.
"""

import numpy as np
import pytest
from _torch_reference import compare_live, replay

import fastopt as fo
from fastopt.kernels import available_backends

BACKENDS = [b for b in ("numpy", "cython", "numba") if b in available_backends()]


@pytest.mark.parametrize("backend", BACKENDS)
def test_nadam_matches_torch_trajectory(backend):
    replay("nadam", fo.updates.nadam_, ("m", "v"), ("momentum_decay",), backend)


def test_nadam_live_torch():
    compare_live("NAdam", fo.updates.nadam_, seed=3, p=5, steps=60, lr=1e-2, atol=0)


def test_nadam_steps_out_of_order_recompute_the_product():
    """The product of the mu_s is recomputed from t: a step t called after a later one (or
    alone) is the same step."""
    rng = np.random.default_rng(0)
    g = rng.standard_normal(4)
    outs = []
    for warm in (False, True):
        if warm:
            for t in range(1, 40):
                fo.updates.nadam_(np.zeros(4), np.zeros(4), np.zeros(4), g, t)
        x, m, v = np.ones(4), np.full(4, 0.1), np.full(4, 0.2)
        fo.updates.nadam_(x, m, v, g, 17)
        outs.append(x)
    np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_nadam_float32(backend):
    rng = np.random.default_rng(1)
    x64, g64 = rng.standard_normal(100), rng.standard_normal(100)
    x32, m32, v32 = x64.astype(np.float32), np.zeros(100, np.float32), np.zeros(100, np.float32)
    m64, v64 = np.zeros(100), np.zeros(100)
    for t in range(1, 5):
        fo.updates.nadam_(x32, m32, v32, g64.astype(np.float32), t, backend=backend)
        fo.updates.nadam_(x64, m64, v64, g64, t, backend="numpy")
    assert x32.dtype == np.float32
    np.testing.assert_allclose(x32, x64, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad, match", [
    (dict(t=0), "t"), (dict(t=1.5), "t"), (dict(t=True), "t"), (dict(lr=-1.0), "lr"),
    (dict(beta1=1.0), "beta1"), (dict(beta2=-0.1), "beta2"), (dict(eps=0.0), "eps"),
    (dict(momentum_decay=-1.0), "momentum_decay"), (dict(momentum_decay=float("nan")),
                                                    "momentum_decay"),
])
def test_nadam_refuses_bad_hyper_parameters(bad, match):
    x, m, v, g = np.zeros(3), np.zeros(3), np.zeros(3), np.ones(3)
    args = dict(t=1, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=4e-3)
    args.update(bad)
    with pytest.raises(ValueError, match=match):
        fo.updates.nadam_(x, m, v, g, args.pop("t"), **args)
    assert not x.any() and not m.any() and not v.any()


def test_nadam_refuses_overlap():
    x = np.zeros(6)
    with pytest.raises(ValueError, match="overlap"):
        fo.updates.nadam_(x, x, np.zeros(6), np.ones(6), 1)


def _logistic(backend):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((300, 6))
    y = np.where(X @ rng.standard_normal(6) + 0.3 * rng.standard_normal(300) > 0, 1.0, -1.0)
    return fo.problems.Logistic(X, y, lam=1e-2, fit_intercept=True, backend=backend)


@pytest.mark.parametrize("backend", [b for b in ("cython", "numba") if b in BACKENDS])
def test_nadam_compiled_loop_matches_python_loop(backend):
    obj = _logistic(backend)
    x0 = np.zeros(obj.n_params)
    opts = dict(tol=0.0, max_iter=150)
    compiled = fo.minimize(obj, x0, method="nadam", options={"lr": 0.05}, **opts)
    python = fo.minimize(obj, x0, method="nadam", options={"lr": 0.05, "loop": "python"},
                         **opts)
    assert compiled.loop == "compiled" and python.loop == "python"
    assert compiled.nit == python.nit == 150
    np.testing.assert_allclose(compiled.x, python.x, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(compiled.history.fun, python.history.fun, rtol=1e-12)


def test_nadam_minimizes():
    obj = _logistic("auto")
    newton = fo.minimize(obj, np.zeros(obj.n_params), method="newton", tol=1e-12)
    res = fo.minimize(obj, np.zeros(obj.n_params), method="nadam", options={"lr": 0.05},
                      tol=1e-8, max_iter=20000)
    assert res.success, res.message
    assert res.fun - newton.fun <= 1e-10 * max(1.0, abs(newton.fun))
