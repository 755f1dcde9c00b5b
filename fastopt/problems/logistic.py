"""L2-regularized (weighted) logistic regression.

.. math::

    f(w) = \\frac{1}{\\sum_i s_i} \\sum_{i=1}^m s_i \\log\\left(1 + e^{-b_i z_i}\\right)
           + \\frac{\\lambda}{2} \\|w_{:n}\\|^2,
    \\qquad z_i = \\langle a_i, w_{:n} \\rangle + w_n

with labels b_i in {-1, +1}, sample weights s_i (all 1 by default, which gives the
(1/m) sum) and the intercept w_n present only with ``fit_intercept``
(never penalized). Gradient and Hessian (``sigma`` the sigmoid, ``a~_i = [a_i, 1]`` with
an intercept, ``sw_i = s_i / sum(s)``):

.. math::

    \\nabla f(w) = -\\sum_i sw_i b_i (1 - \\sigma(b_i z_i)) \\tilde a_i + \\lambda w_{:n},
    \\qquad
    \\nabla^2 f(w) = \\tilde A^T \\operatorname{diag}(d) \\tilde A + \\lambda I_n,
    \\quad d_i = sw_i \\sigma(b_i z_i)(1 - \\sigma(b_i z_i)).
"""

from __future__ import annotations

from ..kernels.losses import LOGISTIC, LOSSES
from .linear_objective import LinearObjective, check_curvature

__all__ = ["Logistic"]


class Logistic(LinearObjective):
    """Binary logistic regression with an L2 penalty, dense or sparse data.

    Parameters
    ----------
    X : array_like of shape (m, n) or scipy sparse matrix
        Data rows a_i: any real dtype, order or byte order; sparse in any format
        (converted once to a C-contiguous array or a canonical CSR matrix; float32 input
        stays float32, the rest becomes float64). X is never modified, and never copied
        when it already is in that layout.
    y : array_like of shape (m,)
        Two distinct values of any sortable dtype ({-1, 1}, {0, 1}, {1, 2}, bools,
        strings...); the larger maps to +1, the smaller to -1.
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
        Labels in {-1, +1}, float64.
    classes : ndarray of shape (2,)
        The original label values; ``classes[1]`` is the one mapped to +1.
    (and those of :class:`~fastopt.problems.LinearObjective`)

    Examples
    --------
    >>> import numpy as np, fastopt as fo
    >>> X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -2.0]])
    >>> obj = fo.problems.Logistic(X, [1, 0, 1], lam=0.1, backend="numpy")
    >>> round(obj.value(np.zeros(2)), 6)  # ln 2
    0.693147
    """

    loss = LOSSES[LOGISTIC]

    def __init__(self, X, y, lam: float = 1e-3, sample_weight=None,
                 fit_intercept: bool = False, backend: str = "auto", dtype=None) -> None:
        super().__init__(X, y, lam, sample_weight=sample_weight, fit_intercept=fit_intercept,
                         backend=backend, dtype=dtype)

    def lipschitz(self) -> float:
        """L = lambda_max(X~^T diag(sw) X~) / 4 + lam, computed once and cached.

        The logistic curvature sigma (1 - sigma) is at most 1/4, so L bounds the
        Hessian's largest eigenvalue everywhere. Unweighted and without an intercept this
        is ``||X||_2^2 / (4 m) + lam``; with sample weights the Gram matrix
        is weighted by the normalized weights sw; with an intercept X~ = [X, 1] includes
        the column of ones. lambda_max comes from a power iteration (``max_eig_gram``,
        relative tolerance 1e-10, at most 1000 passes over X), which converges to it
        from below.
        """
        if self._lipschitz is None:
            self._lipschitz = check_curvature(self, self.loss.curvature_max
                                              * self._max_eig_gram()
                                              + self.lam)
        return self._lipschitz

    def strong_convexity(self) -> float:
        """mu = lam without an intercept; 0 with one.

        The logistic curvature tends to 0 as |z| grows, so lam I_n is the only curvature
        guaranteed everywhere, and the intercept is not penalized: with an intercept the
        only global strong-convexity constant is 0.
        """
        return 0.0 if self.fit_intercept else self.lam
