"""Adamax (``fo.updates.adamax_``, ``method="adamax"``) against ``torch.optim.Adamax``.

Adamax went in through the table of steps alone (its row in ``kernels/steps.py``, its C
twin, its NumPy twin and one registry line); these tests check what that row produced
on every backend. The oracle is a trajectory recorded from torch
(``tests/data/adamax_torch.npz``, written by ``tests/data/make_torch_references.py``;
float64, ``foreach=False``), replayed through every backend to 1e-12 relative.
"""

import numpy as np
import pytest
from _torch_reference import compare_live, replay

import fastopt as fo
from fastopt.kernels import available_backends

BACKENDS = [b for b in ("numpy", "cython", "numba") if b in available_backends()]


@pytest.mark.parametrize("backend", BACKENDS)
def test_adamax_matches_torch_trajectory(backend):
    replay("adamax", fo.updates.adamax_, ("m", "u"), (), backend)


def test_adamax_live_torch():
    compare_live("Adamax", fo.updates.adamax_, seed=5, p=6, steps=101, lr=1e-2, atol=1e-15)


@pytest.mark.parametrize("backend", [b for b in ("cython", "numba") if b in BACKENDS])
def test_adamax_float32_follows_float64(backend):
    rng = np.random.default_rng(6)
    x64, m64, u64 = rng.standard_normal(300), np.zeros(300), np.zeros(300)
    x32, m32, u32 = x64.astype(np.float32), np.zeros(300, np.float32), np.zeros(300, np.float32)
    for t in range(1, 31):
        g = rng.standard_normal(300)
        fo.updates.adamax_(x64, m64, u64, g, t, backend="numpy")
        fo.updates.adamax_(x32, m32, u32, g.astype(np.float32), t, backend=backend)
    np.testing.assert_allclose(x32, x64, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad,match", [
    (dict(lr=0.0), "lr"), (dict(beta1=1.0), "beta1"), (dict(beta2=-0.1), "beta2"),
    (dict(eps=0.0), "eps"), (dict(t=0), "t ")])
def test_adamax_refuses_bad_hyper_parameters(bad, match):
    x, m, u, g = np.zeros(4), np.zeros(4), np.zeros(4), np.ones(4)
    args = {"t": 1, **bad}
    with pytest.raises(ValueError, match=match):
        fo.updates.adamax_(x, m, u, g, args.pop("t"), **args)
    np.testing.assert_array_equal(x, 0.0)


def test_adamax_minimizes_a_logistic_regression():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((400, 6))
    y = np.where(X @ rng.standard_normal(6) > 0, 1.0, -1.0)
    obj = fo.problems.Logistic(X, y, lam=1e-2)
    best = fo.minimize(obj, np.zeros(6), method="newton", tol=1e-12).fun
    res = fo.minimize(obj, np.zeros(6), method="adamax", options={"lr": 0.05}, tol=0.0,
                      max_iter=3000)
    assert res.fun - best < 1e-6
