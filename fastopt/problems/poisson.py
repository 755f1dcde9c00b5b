"""L2-regularized (weighted) Poisson regression with the log link.

.. math::

    f(w) = \\frac{1}{\\sum_i s_i} \\sum_{i=1}^m s_i \\left(e^{z_i} - y_i z_i\\right)
           + \\frac{\\lambda}{2} \\|w_{:n}\\|^2,
    \\qquad z_i = \\langle a_i, w_{:n} \\rangle + w_n

with counts y_i >= 0 (any finite non-negative reals), sample weights s_i (all 1 by
default) and the intercept w_n present only with ``fit_intercept`` (never penalized).
This is the negative log-likelihood of ``y_i ~ Poisson(exp(z_i))`` up to terms free of w.
Gradient and Hessian (``a~_i = [a_i, 1]`` with an intercept, ``sw_i = s_i / sum(s)``):

.. math::

    \\nabla f(w) = \\sum_i sw_i (e^{z_i} - y_i) \\tilde a_i + \\lambda w_{:n},
    \\qquad
    \\nabla^2 f(w) = \\tilde A^T \\operatorname{diag}(d) \\tilde A + \\lambda I_n,
    \\quad d_i = sw_i e^{z_i}.

The curvature ``e^z`` is unbounded: there is no global Lipschitz constant of the
gradient (:meth:`Poisson.lipschitz` says so), and methods whose default step is 1/L need
``lr`` or a line search. The kernels are the generic linear-model kernels with the loss
code ``POISSON`` of :mod:`fastopt.kernels.losses`.
"""

from __future__ import annotations

from ..kernels.losses import LOSSES, POISSON
from .linear_objective import LinearObjective

__all__ = ["Poisson", "NoLipschitzConstant"]


class NoLipschitzConstant(NotImplementedError):
    """The objective has no global Lipschitz constant L of its gradient.

    A ``NotImplementedError``, so that the solvers which look L up treat it as unknown
    (a line search, or a clear request for ``lr``).
    """


class Poisson(LinearObjective):
    """Poisson regression (log link) with an L2 penalty, dense or sparse data.

    Parameters
    ----------
    X : array_like of shape (m, n) or scipy sparse matrix
        Data rows a_i: any real dtype, order or byte order; sparse in any format
        (converted once to a C-contiguous array or a canonical CSR matrix; float32 input
        stays float32, the rest becomes float64). X is never modified.
    y : array_like of shape (m,)
        Counts y_i >= 0: finite, non-negative reals (not necessarily integers).
    lam : float, default 1e-3
        L2 strength lambda >= 0 (not applied to the intercept).
    sample_weight : None or array_like of shape (m,), default None
        Non-negative weights s_i, not all zero; normalized to sum to one.
    fit_intercept : bool, default False
        Add an unpenalized intercept, the last coefficient (p = n + 1).
    backend : {"auto", "numpy", "numba", "cython", "cuda"}, default "auto"
    dtype : None, numpy.float32 or numpy.float64, default None
        Force the dtype of X.

    Attributes
    ----------
    y : ndarray of shape (m,)
        The counts, float64.
    (and those of :class:`~fastopt.problems.LinearObjective`)

    Examples
    --------
    >>> import numpy as np, fastopt as fo
    >>> X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -2.0]])
    >>> obj = fo.problems.Poisson(X, [0, 3, 1], lam=0.1, backend="numpy")
    >>> round(obj.value(np.zeros(2)), 6)  # mean of e^0 - y * 0
    1.0
    """

    loss = LOSSES[POISSON]

    def __init__(self, X, y, lam: float = 1e-3, sample_weight=None,
                 fit_intercept: bool = False, backend: str = "auto", dtype=None) -> None:
        super().__init__(X, y, lam, sample_weight=sample_weight, fit_intercept=fit_intercept,
                         backend=backend, dtype=dtype)

    def lipschitz(self) -> float:
        """There is none: always raises :class:`NoLipschitzConstant`.

        The Hessian ``X~^T diag(sw e^z) X~ + lam I_n`` grows without bound with z, so no
        constant L bounds it everywhere. Give the solvers a step (``lr``) or let them use
        a line search (``gd`` does by default, as do ``lbfgs`` and the Newton methods).
        """
        raise NoLipschitzConstant(
            "Poisson regression has no global Lipschitz constant L (the curvature exp(z) "
            "is unbounded): set lr, or use a line-search method (gd with step='armijo', "
            "lbfgs, newton, newton-cg)")

    def strong_convexity(self) -> float:
        """mu = lam without an intercept; 0 with one.

        The curvature ``e^z`` tends to 0 as z goes to -infinity, so lam I_n is the only
        curvature guaranteed everywhere, and the intercept is not penalized.
        """
        return 0.0 if self.fit_intercept else self.lam
