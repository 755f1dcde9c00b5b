"""Helpers that second-order solvers share for linear-model objectives."""

from __future__ import annotations

import numpy as np

from ._template import count_passes
from .line_search import make_line

__all__ = ["gram", "hessian_diagonal", "line_for"]


def gram(objective, d) -> np.ndarray:
    """The exact Hessian X~^T diag(d) X~ + lam I_n (p, p) from the Hessian weights ``d``
    (one blocked pass over X, the ``weighted_gram`` kernel), counted on the objective."""
    public = getattr(objective, "weighted_gram", None)
    if callable(public):
        return public(d)
    H = objective._gram(d, objective.lam)
    count_passes(objective, 1, hessian=True)
    return H


def hessian_diagonal(objective, d, X_squared=None) -> np.ndarray:
    """diag(X~^T diag(d) X~) + lam (p,): the Jacobi preconditioner of Newton-CG.

    One pass over X (counted). ``X_squared`` is the elementwise square of a CSR X,
    computed once per solve by the caller (dense X is squared block by block here, so no
    m x n temporary is ever made).
    """
    X = objective.X
    n = objective.n_features
    out = np.empty(objective.n_params)
    if X_squared is not None:
        out[:n] = X_squared.T @ d
    else:
        block = max(1, (1 << 20) // max(n, 1))  # about 8 MB of squares at a time
        acc = np.zeros(n)
        for start in range(0, X.shape[0], block):
            Xb = X[start:start + block]
            acc += np.square(Xb, dtype=np.float64).T @ d[start:start + block]
        out[:n] = acc
    out[:n] += objective.lam
    if objective.n_params > n:
        out[n] = d.sum()
    count_passes(objective, 1)
    return out


def line_for(objective, x, d, z=None, fused=False):
    """The line phi(t) = f(x + t d): O(m) per trial from the predictor for a linear model
    (``z`` = X x given), one evaluation per trial otherwise."""
    return make_line(objective, x, d, z, fused=fused)
