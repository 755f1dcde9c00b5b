"""The one-dimensional piecewise quadratic of Lessard, Recht and Packard (2016).

.. math::

    f(x) = \\begin{cases}
        \\tfrac{25}{2} x^2              & x < 1 \\\\
        \\tfrac{1}{2} x^2 + 24 x - 12   & 1 \\le x < 2 \\\\
        \\tfrac{25}{2} x^2 - 24 x + 36  & x \\ge 2
    \\end{cases}

f is convex and continuously differentiable (values and slopes agree at x = 1 and x = 2),
its second derivative is 25, 1, 25 on the three pieces, so it is 1-strongly convex with a
25-Lipschitz gradient (mu = 1, L = 25, kappa = 25). The minimizer is x* = 0, f* = 0.
Heavy ball with the parameters that are optimal for quadratics with these constants
fails to converge on it from some starting points: fastopt reports
what really happens.
"""

from __future__ import annotations

import numpy as np

from .base import Objective

__all__ = ["PiecewiseQuadratic"]


def _pieces(x: np.ndarray):
    """Masks of the middle and right pieces (the left piece is the rest)."""
    middle = (x >= 1.0) & (x < 2.0)
    right = x >= 2.0
    return middle, right


class PiecewiseQuadratic(Objective):
    """The 1-D convex piecewise quadratic with mu = 1 and L = 25.

    Points have shape (1,). At the breakpoints x = 1 and x = 2 the second derivative is
    that of the piece on the right (the one whose inequality includes the point).

    Attributes
    ----------
    n_params : int
        1.
    minimizer : ndarray of shape (1,)
        x* = 0.
    optimal_value : float
        f* = 0.

    Examples
    --------
    >>> import fastopt as fo
    >>> f = fo.problems.PiecewiseQuadratic()
    >>> f.value([1.0]), f.grad([1.0])
    (12.5, array([25.]))
    """

    n_params = 1
    optimal_value = 0.0

    def __init__(self) -> None:
        super().__init__()
        self.minimizer = np.zeros(1)

    @staticmethod
    def value_many(x) -> np.ndarray:
        """f at every entry of ``x`` (any shape), e.g. a grid for plotting."""
        x = np.asarray(x, dtype=np.float64)
        middle, right = _pieces(x)
        out = 12.5 * x * x
        out = np.where(middle, 0.5 * x * x + 24.0 * x - 12.0, out)
        return np.where(right, 12.5 * x * x - 24.0 * x + 36.0, out)

    @staticmethod
    def grad_many(x) -> np.ndarray:
        """f' at every entry of ``x`` (any shape)."""
        x = np.asarray(x, dtype=np.float64)
        middle, right = _pieces(x)
        out = 25.0 * x
        out = np.where(middle, x + 24.0, out)
        return np.where(right, 25.0 * x - 24.0, out)

    @staticmethod
    def curvature_many(x) -> np.ndarray:
        """f'' at every entry of ``x`` (any shape): 25, 1 or 25."""
        x = np.asarray(x, dtype=np.float64)
        middle, _ = _pieces(x)
        return np.where(middle, 1.0, 25.0)

    def _value(self, x: np.ndarray) -> float:
        return float(self.value_many(x[0]))

    def _loss_grad_into(self, x: np.ndarray, grad_out: np.ndarray) -> float:
        grad_out[0] = self.grad_many(x[0])
        return float(self.value_many(x[0]))

    def _hvp_into(self, x: np.ndarray, v: np.ndarray, out: np.ndarray) -> None:
        out[0] = self.curvature_many(x[0]) * v[0]

    def _hessian(self, x: np.ndarray) -> np.ndarray:
        return np.array([[float(self.curvature_many(x[0]))]])

    def lipschitz(self) -> float:
        """L = 25 (the largest second derivative)."""
        return 25.0

    def strong_convexity(self) -> float:
        """mu = 1 (the smallest second derivative)."""
        return 1.0
