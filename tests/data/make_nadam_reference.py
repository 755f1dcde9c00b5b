"""Write ``nadam_torch.npz``: a trajectory of ``torch.optim.NAdam`` (the oracle of
``tests/test_nadam.py``), in float64.

Usage (needs torch)::

    python tests/data/make_nadam_reference.py

Each case is a sequence of gradients g_1..g_T drawn once (fixed seed) and fed to
``torch.optim.NAdam`` step by step from x_0; the file holds x_0, the gradients, the
hyper-parameters and x_t, m_t, v_t after every step. The gradients do not depend on x,
so the same sequence replayed through ``fastopt.updates.nadam_`` must give the same
iterates.
"""

from __future__ import annotations

import os

import numpy as np
import torch

CASES = {
    "defaults": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, momentum_decay=4e-3),
    "fast_decay": dict(lr=5e-2, betas=(0.8, 0.99), eps=1e-6, momentum_decay=0.5),
    "no_decay": dict(lr=1e-2, betas=(0.95, 0.9), eps=1e-8, momentum_decay=0.0),
}


PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nadam_torch.npz")


def main(path=PATH):
    torch.set_default_dtype(torch.float64)  # mu_product and the state in float64
    rng = np.random.default_rng(2024)
    out = {}
    for name, hp in CASES.items():
        p, steps = 7, 300
        x0 = rng.standard_normal(p)
        grads = rng.standard_normal((steps, p)) * np.logspace(-3, 1, p)
        param = torch.nn.Parameter(torch.tensor(x0.copy()))
        opt = torch.optim.NAdam([param], foreach=False, **hp)
        xs, ms, vs = [], [], []
        for t in range(steps):
            param.grad = torch.tensor(grads[t].copy())
            opt.step()
            state = opt.state[param]
            xs.append(param.detach().numpy().copy())
            ms.append(state["exp_avg"].numpy().copy())
            vs.append(state["exp_avg_sq"].numpy().copy())
        out[f"{name}/x0"] = x0
        out[f"{name}/grads"] = grads
        out[f"{name}/hp"] = np.array([hp["lr"], hp["betas"][0], hp["betas"][1], hp["eps"],
                                      hp["momentum_decay"]])
        out[f"{name}/x"] = np.array(xs)
        out[f"{name}/m"] = np.array(ms)
        out[f"{name}/v"] = np.array(vs)
    out["torch_version"] = np.array(torch.__version__)
    np.savez_compressed(path, **out)


if __name__ == "__main__":
    main()
