"""Replay a recorded torch optimizer trajectory through a fastopt fused update, and compare
the two live where torch is installed (the oracles of test_nadam.py and test_adamax.py;
the recordings are written by tests/data/make_torch_references.py)."""

import os

import numpy as np
import pytest

DATA = os.path.join(os.path.dirname(__file__), "data")
RTOL = 1e-12


def _close(a, b):
    """|a - b| <= RTOL (|b| + 1e-3 max |b|): relative, with a floor for entries near 0."""
    scale = np.abs(b).max()
    np.testing.assert_array_less(np.abs(a - b), RTOL * (np.abs(b) + 1e-3 * scale) + 1e-300)


def replay(name, update, state, extra=(), backend="auto"):
    """Feed every recorded case of ``<name>_torch.npz`` through ``update`` (``x``, the
    ``state`` arrays from zeros, g, t, then lr, beta1, beta2, eps and the ``extra``
    hyper-parameters by name) and check x and each state array after every step."""
    ref = np.load(os.path.join(DATA, f"{name}_torch.npz"))
    cases = sorted({key.split("/")[0] for key in ref.files if "/" in key})
    assert cases, "the reference file holds no case"
    for case in cases:
        lr, b1, b2, eps, *rest = (float(v) for v in ref[f"{case}/hp"])
        kwargs = dict(lr=lr, beta1=b1, beta2=b2, eps=eps, **dict(zip(extra, rest, strict=True)))
        x = ref[f"{case}/x0"].copy()
        arrays = [np.zeros_like(x) for _ in state]
        grads = ref[f"{case}/grads"]
        for t in range(grads.shape[0]):
            update(x, *arrays, grads[t].copy(), t + 1, backend=backend, **kwargs)
            _close(x, ref[f"{case}/x"][t])
            for key, a in zip(state, arrays, strict=True):
                _close(a, ref[f"{case}/{key}"][t])


def compare_live(optimizer, update, seed, p, steps, lr, atol):
    """``torch.optim.<optimizer>`` and ``update`` (two state arrays) on the same random
    gradients, x compared after every step (skipped without torch)."""
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(p)
    param = torch.nn.Parameter(torch.tensor(x0.copy()))
    opt = getattr(torch.optim, optimizer)([param], lr=lr, foreach=False)
    x, s1, s2 = x0.copy(), np.zeros(p), np.zeros(p)
    for t in range(1, steps):
        g = rng.standard_normal(p)
        param.grad = torch.tensor(g.copy())
        opt.step()
        update(x, s1, s2, g, t, lr=lr)
        np.testing.assert_allclose(x, param.detach().numpy(), rtol=RTOL, atol=atol)
