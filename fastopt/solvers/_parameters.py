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

__all__ = ["check_L_mu", "heavy_ball_parameters", "nesterov_parameters"]


def check_L_mu(L: float, mu: float, need_mu: bool = True) -> None:
    """``ValueError`` naming L or mu unless 0 < L < inf (and 0 < mu <= L when ``need_mu``)."""
    if not (math.isfinite(L) and L > 0):
        raise ValueError(f"L must be a finite number > 0, got {L}")
    if need_mu and not (math.isfinite(mu) and 0 < mu <= L):
        raise ValueError(f"mu must satisfy 0 < mu <= L, got mu={mu}, L={L}")


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
    check_L_mu(L, mu)
    sL, sm = math.sqrt(L), math.sqrt(mu)
    return 4.0 / (sL + sm) ** 2, ((sL - sm) / (sL + sm)) ** 2


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
    check_L_mu(L, mu, need_mu=mu > 0)
    if mu <= 0:
        return 1.0 / L, None
    sk = math.sqrt(L / mu)
    return 1.0 / L, (sk - 1.0) / (sk + 1.0)
