"""Write the torch trajectories that are the oracles of ``tests/test_nadam.py`` and
``tests/test_adamax.py``: ``nadam_torch.npz`` (``torch.optim.NAdam``) and
``adamax_torch.npz`` (``torch.optim.Adamax``), in float64.

Usage (needs torch)::

    python tests/data/make_torch_references.py [nadam] [adamax]

Each case is a sequence of gradients g_1..g_T drawn once (fixed seed) and fed to the
torch optimizer step by step from x_0 (``foreach=False``); the file holds x_0, the
gradients, the hyper-parameters (lr, beta1, beta2, eps, then the optimizer's own) and x_t
and the state after every step. The gradients do not depend on x, so the same sequence
replayed through ``fastopt.updates.<name>_`` must give the same iterates.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))

#: name -> (torch optimizer, seed, cases, extra hyper-parameters, torch state -> file key)
REFERENCES = {
    "nadam": (torch.optim.NAdam, 2024, {
        "defaults": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, momentum_decay=4e-3),
        "fast_decay": dict(lr=5e-2, betas=(0.8, 0.99), eps=1e-6, momentum_decay=0.5),
        "no_decay": dict(lr=1e-2, betas=(0.95, 0.9), eps=1e-8, momentum_decay=0.0),
    }, ("momentum_decay",), {"exp_avg": "m", "exp_avg_sq": "v"}),
    "adamax": (torch.optim.Adamax, 2025, {
        "defaults": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8),
        "fast": dict(lr=5e-2, betas=(0.8, 0.9), eps=1e-6),
    }, (), {"exp_avg": "m", "exp_inf": "u"}),
}


def record(name: str, path: str | None = None) -> None:
    optimizer, seed, cases, extra, state_keys = REFERENCES[name]
    torch.set_default_dtype(torch.float64)  # the state (and NAdam's product) in float64
    rng = np.random.default_rng(seed)
    out = {}
    for case, hp in cases.items():
        p, steps = 7, 300
        x0 = rng.standard_normal(p)
        grads = rng.standard_normal((steps, p)) * np.logspace(-3, 1, p)
        param = torch.nn.Parameter(torch.tensor(x0.copy()))
        opt = optimizer([param], foreach=False, **hp)
        rows = {"x": [], **{key: [] for key in state_keys.values()}}
        for t in range(steps):
            param.grad = torch.tensor(grads[t].copy())
            opt.step()
            rows["x"].append(param.detach().numpy().copy())
            for torch_key, key in state_keys.items():
                rows[key].append(opt.state[param][torch_key].numpy().copy())
        out[f"{case}/x0"] = x0
        out[f"{case}/grads"] = grads
        out[f"{case}/hp"] = np.array([hp["lr"], *hp["betas"], hp["eps"],
                                      *(hp[k] for k in extra)])
        out.update({f"{case}/{key}": np.array(value) for key, value in rows.items()})
    out["torch_version"] = np.array(torch.__version__)
    np.savez_compressed(path or os.path.join(HERE, f"{name}_torch.npz"), **out)


if __name__ == "__main__":
    for name in sys.argv[1:] or REFERENCES:
        record(name)
