"""Write ``adamax_torch.npz``: a trajectory of ``torch.optim.Adamax`` (the oracle of
``tests/test_adamax.py``), in float64.

Usage (needs torch)::

    python tests/data/make_adamax_reference.py

As for NAdam (``make_nadam_reference.py``): each case is a fixed sequence of gradients
fed to ``torch.optim.Adamax`` step by step from x_0; the file holds x_0, the gradients,
the hyper-parameters and x_t, m_t, u_t after every step.
"""

from __future__ import annotations

import os

import numpy as np
import torch

CASES = {
    "defaults": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8),
    "fast": dict(lr=5e-2, betas=(0.8, 0.9), eps=1e-6),
}

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "adamax_torch.npz")


def main(path=PATH):
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(2025)
    out = {}
    for name, hp in CASES.items():
        p, steps = 7, 300
        x0 = rng.standard_normal(p)
        grads = rng.standard_normal((steps, p)) * np.logspace(-3, 1, p)
        param = torch.nn.Parameter(torch.tensor(x0.copy()))
        opt = torch.optim.Adamax([param], foreach=False, **hp)
        xs, ms, us = [], [], []
        for t in range(steps):
            param.grad = torch.tensor(grads[t].copy())
            opt.step()
            state = opt.state[param]
            xs.append(param.detach().numpy().copy())
            ms.append(state["exp_avg"].numpy().copy())
            us.append(state["exp_inf"].numpy().copy())
        out[f"{name}/x0"] = x0
        out[f"{name}/grads"] = grads
        out[f"{name}/hp"] = np.array([hp["lr"], hp["betas"][0], hp["betas"][1], hp["eps"]])
        out[f"{name}/x"] = np.array(xs)
        out[f"{name}/m"] = np.array(ms)
        out[f"{name}/u"] = np.array(us)
    out["torch_version"] = np.array(torch.__version__)
    np.savez_compressed(path, **out)


if __name__ == "__main__":
    main()
