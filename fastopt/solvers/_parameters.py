"""Optimal momentum-method parameters from L and mu: the pure formulas.

They live at the solvers level because the solvers use them for their defaults
(heavy-ball and Nesterov with a known L and mu); :mod:`fastopt.theory`, a layer above,
re-exports them under their public names ``fo.theory.heavy_ball_parameters`` and
``fo.theory.nesterov_parameters``.

Notation: L and mu are the largest and smallest eigenvalues of
the Hessian, kappa = L / mu.
"""

from __future__ import annotations

import math

from .._checks import check_positive, check_real

__all__ = ["check_L_mu", "heavy_ball_parameters", "nesterov_parameters"]


def check_L_mu(L: float, mu: float, need_mu: bool = True) -> tuple[float, float]:
    """``(L, mu)`` as floats; ``TypeError``/``ValueError`` naming L or mu unless
    0 < L < inf (and 0 < mu <= L when ``need_mu``)."""
    L = check_positive("L", L)
    mu = check_positive("mu", mu) if need_mu else check_real("mu", mu)
    if need_mu and mu > L:
        raise ValueError(f"mu must satisfy 0 < mu <= L, got mu={mu}, L={L}")
    return L, mu


def _ratio(L: float, mu: float) -> float:
    """sqrt(mu / L) > 0, or a ValueError when kappa = L / mu is beyond float64."""
    r = math.sqrt(mu / L)
    if r == 0.0:
        raise ValueError(f"kappa = L / mu = {L} / {mu} overflows float64")
    return r


def _inverse(L: float) -> float:
    """1 / L, or a ValueError when it overflows (L subnormal)."""
    if 1.0 / L == math.inf:  # 1 / L of a subnormal L is inf, not an exception
        raise ValueError(f"L = {L} is too small: the step 1/L overflows float64")
    return 1.0 / L


def heavy_ball_parameters(L: float, mu: float) -> tuple[float, float]:
    """(alpha*, rho*) of Polyak's heavy ball, optimal on quadratics with spectrum in [mu, L].

    alpha* = 4 / (sqrt L + sqrt mu)^2, rho* = ((sqrt L - sqrt mu) / (sqrt L + sqrt mu))^2;
    the iterates then converge at the rate (sqrt kappa - 1)/(sqrt kappa + 1) per step.

    Parameters
    ----------
    L, mu : float
        Largest and smallest Hessian eigenvalues, 0 < mu <= L < inf.

    Returns
    -------
    (float, float)
        The step size alpha* and the momentum rho* in [0, 1).
    """
    L, mu = check_L_mu(L, mu)
    # In terms of r = sqrt(mu / L) <= 1, so that no square of L or mu can overflow.
    r = _ratio(L, mu)
    alpha = 4.0 * _inverse(L) / (1.0 + r) ** 2
    return alpha, ((1.0 - r) / (1.0 + r)) ** 2


def nesterov_parameters(L: float, mu: float = 0.0) -> tuple[float, float | None]:
    """(alpha, rho) for Nesterov: 1/L and (sqrt kappa - 1)/(sqrt kappa + 1) if mu > 0.

    With ``mu == 0`` rho is None: use the schedule (k - 1)/(k + 2)
    (:func:`fastopt.schedules.nesterov_momentum`).

    Parameters
    ----------
    L : float
        Smoothness constant, 0 < L < inf.
    mu : float
        Strong-convexity constant, 0 <= mu <= L.

    Returns
    -------
    (float, float or None)
    """
    L, mu = check_L_mu(L, mu, need_mu=check_real("mu", mu) > 0)
    if mu <= 0:
        return _inverse(L), None
    r = _ratio(L, mu)  # (sqrt kappa - 1) / (sqrt kappa + 1) = (1 - r) / (1 + r)
    return _inverse(L), (1.0 - r) / (1.0 + r)
