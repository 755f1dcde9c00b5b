"""Preconditioned conjugate gradients for the Newton system H d = -g (matrix free)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._template import norm

__all__ = ["CGResult", "conjugate_gradient"]


@dataclass
class CGResult:
    """Outcome of :func:`conjugate_gradient`.

    Attributes
    ----------
    x : ndarray of shape (p,)
        Approximate solution of H x = b.
    n_iter : int
        CG iterations (= Hessian-vector products).
    residual_norm : float
        ||b - H x|| (as updated by the recurrence).
    converged : bool
        Whether ||r|| <= rtol ||b|| was reached.
    negative_curvature : bool
        Whether a direction with p^T H p <= 0 stopped the iteration (H not PD).
    """

    x: np.ndarray
    n_iter: int
    residual_norm: float
    converged: bool
    negative_curvature: bool


def conjugate_gradient(hvp, b, rtol, max_iter, precond=None) -> CGResult:
    """Solve H x = b by preconditioned conjugate gradients, from x = 0.

    Parameters
    ----------
    hvp : callable
        ``hvp(v) -> H v``, ndarray of shape (p,); H symmetric.
    b : ndarray of shape (p,)
    rtol : float
        Stop when ||b - H x|| <= rtol ||b|| (the inexact-Newton forcing term).
    max_iter : int
        Maximum number of iterations (Hessian-vector products).
    precond : ndarray of shape (p,), optional
        Diagonal preconditioner M (positive): the iteration works with M^{-1} r.

    Returns
    -------
    CGResult

    Notes
    -----
    With r = b - H x, z = M^{-1} r, the standard recurrences

        alpha = r^T z / p^T H p,  x += alpha p,  r -= alpha H p,
        beta = r+^T z+ / r^T z,   p = z+ + beta p.

    If p^T H p <= 0 the iteration stops: at the first iteration the direction is the
    preconditioned steepest descent p (a descent direction for the Newton model), after
    that the current x (Steihaug's rule), so the result is always a descent direction
    when b = -grad f.
    """
    x = np.zeros_like(b)
    r = b.copy()
    b_norm = norm(b)
    target = rtol * b_norm
    r_norm = b_norm
    if r_norm <= target or b_norm == 0.0:
        return CGResult(x, 0, r_norm, True, False)
    z = r / precond if precond is not None else r
    p = z.copy()
    rz = float(r @ z)
    for k in range(1, max_iter + 1):
        hp = hvp(p)
        curvature = float(p @ hp)
        if not curvature > 0.0 or not math.isfinite(curvature):
            if k == 1:
                x = p * (rz / max(float(p @ p), np.finfo(float).tiny))
            return CGResult(x, k, r_norm, False, True)
        alpha = rz / curvature
        x += alpha * p
        r -= alpha * hp
        r_norm = norm(r)
        if r_norm <= target:
            return CGResult(x, k, r_norm, True, False)
        z = r / precond if precond is not None else r
        rz_new = float(r @ z)
        p *= rz_new / rz
        p += z
        rz = rz_new
    return CGResult(x, max_iter, r_norm, False, False)
