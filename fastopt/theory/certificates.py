"""Certificates: a finished gradient-descent run checked against its nonconvex bound."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import check_nonnegative, check_positive, check_real
from .bounds import _check_gap, gd_nonconvex_bound

__all__ = ["Certificate", "certify_gd"]


@dataclass
class Certificate:
    """Outcome of checking a run against a bound.

    Attributes
    ----------
    name : str
        The bound checked.
    held : bool
        True if every checked iterate satisfied the bound.
    observed, bound : ndarray
        What the run did and what the bound allows, at ``iterations``.
    iterations : ndarray of int
    worst_ratio : float
        max(observed / bound): <= 1 when the bound held.
    details : dict
        The constants used (alpha, L, f0, f*), and any precondition that failed.
    """

    name: str
    held: bool
    observed: np.ndarray
    bound: np.ndarray
    iterations: np.ndarray
    worst_ratio: float
    details: dict = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "held" if self.held else "violated"

    def __str__(self) -> str:
        d = ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in self.details.items())
        return (f"{self.name}: {self.verdict} at {len(self.iterations)} checked iterations "
                f"(worst observed/bound = {self.worst_ratio:.4g}; {d})")


def _check_gd_result(result):
    """The history of ``result``; ``TypeError`` unless it is a run with a history."""
    history = getattr(result, "history", None)
    if history is None or not all(hasattr(history, c)
                                  for c in ("iteration", "fun", "grad_norm", "step_size")):
        raise TypeError(f"result must be an OptimizeResult with a history (from "
                        f"fastopt.minimize), got {type(result).__name__}")
    method = getattr(result, "method", None)
    if isinstance(method, str) and method != "gd":
        raise ValueError(f"result must be a run of method='gd', got method={method!r}")
    return history


def certify_gd(result, f_star: float, alpha: float | None = None, L: float | None = None,
               tol_rel: float = 1e-12) -> Certificate:
    """Check a gradient-descent run against the nonconvex bound.

    At every recorded iteration k, min_{i<=k, recorded} ||grad f(x_i)|| is compared
    with sqrt(2 (f(x_0) - f*) / (alpha (k + 1))). With ``history_every > 1`` only the
    recorded iterates enter the minimum, which can only make the check stricter.

    Parameters
    ----------
    result : OptimizeResult
        A run of ``method="gd"`` with a constant step, with its history.
    f_star : float
        A lower bound on f, finite and <= f(x_0) (the optimal value, or any lower bound:
        a smaller f* only loosens the bound).
    alpha : float, optional
        The constant step, finite and > 0 (default: the history's ``step_size`` column).
    L : float, optional
        If given (finite and > 0), the precondition alpha <= 1/L is checked and reported.
    tol_rel : float
        Relative slack of the comparison, finite and >= 0.

    Returns
    -------
    Certificate

    Raises
    ------
    TypeError
        If ``result`` is not a result with a history, or ``f_star``, ``alpha``, ``L`` or
        ``tol_rel`` is not a real number.
    ValueError
        If ``result`` is not a ``method="gd"`` run, has no history, no constant step or a
        non-finite f(x_0); if ``f_star``, ``alpha``, ``L`` or ``tol_rel`` is not finite
        or out of range (``f_star > f(x_0)`` included); or if the bound overflows.
    """
    h = _check_gd_result(result)
    f_star = check_real("f_star", f_star)
    if alpha is not None:
        alpha = check_positive("alpha", alpha)
    if L is not None:
        L = check_positive("L", L)
    tol_rel = check_nonnegative("tol_rel", tol_rel)
    k = h.iteration
    gnorm = h.grad_norm
    if len(k) == 0:
        raise ValueError("the result has no history to check (history_every=0?)")
    if alpha is None:
        steps = h.step_size[np.isfinite(h.step_size)]
        if steps.size == 0:
            raise ValueError("alpha not given and the history has no step size")
        alpha = float(steps[0])
        if not np.allclose(steps, alpha, rtol=1e-12):
            raise ValueError("the bound is for a constant step; the run's step size varied")
        if not alpha > 0:
            raise ValueError(f"the history's step size must be > 0, got {alpha!r}")
    f0 = float(h.fun[0])
    _check_gap(f0, f_star, "the history's f(x_0)")
    observed = np.minimum.accumulate(np.where(np.isfinite(gnorm), gnorm, np.inf))
    bound = np.asarray(gd_nonconvex_bound(f0, f_star, alpha, k), dtype=np.float64)
    with np.errstate(over="ignore"):
        ratio = observed / np.maximum(bound, np.finfo(float).tiny)
    held = bool(np.all(observed <= bound * (1.0 + tol_rel)))
    details = {"alpha": float(alpha), "f0": f0, "f_star": float(f_star),
               "every": int(getattr(h, "every", 1))}
    if L is not None:
        details["L"] = float(L)
        details["precondition alpha <= 1/L"] = bool(alpha <= 1.0 / L * (1 + 1e-12))
    return Certificate("GD nonconvex bound min ||grad f|| <= sqrt(2 (f0 - f*) / (alpha (k+1)))",
                       held, observed, bound, k, float(np.max(ratio)), details)
