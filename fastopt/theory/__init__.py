"""Theory constants, optimal parameters, convergence bounds and certificates.

Notation: L and mu are the largest and smallest eigenvalues of
the Hessian (over the region of interest; at a point for the estimates below), and
kappa = L / mu.

    gradient descent is stable for alpha < 2 / L
    heavy ball, optimal on quadratics:  alpha* = 4 / (sqrt L + sqrt mu)^2,
                                        rho*   = ((sqrt L - sqrt mu) / (sqrt L + sqrt mu))^2
    Nesterov, strongly convex:          alpha = 1 / L, rho = (sqrt kappa - 1) / (sqrt kappa + 1)
    GD with alpha <= 1/L, no convexity:
        min_{i<=k} ||grad f(x_i)|| <= sqrt(2 (f(x_0) - f*) / (alpha (k+1)))

A run is checked against its bound with :func:`certify_gd`, which returns a
:class:`Certificate` saying ``held`` or ``violated`` with the numbers.

The package: :mod:`.estimates` (curvature at a point), :mod:`.bounds` (step sizes, rates
and iteration bounds from L and mu) and :mod:`.certificates` (a run checked against its
bound); every name is public here, as ``fo.theory.NAME``.
"""

from __future__ import annotations

from .bounds import (
    condition_number,
    gd_iterations_needed,
    gd_nonconvex_bound,
    heavy_ball_parameters,
    nesterov_parameters,
    step_bound,
)
from .certificates import Certificate, certify_gd
from .estimates import hessian_extremes, lipschitz_estimate, strong_convexity_estimate

__all__ = [
    "hessian_extremes", "lipschitz_estimate", "strong_convexity_estimate",
    "condition_number", "heavy_ball_parameters", "nesterov_parameters", "step_bound",
    "gd_nonconvex_bound", "gd_iterations_needed", "Certificate", "certify_gd",
]
