"""Ridge-regularized (weighted) linear least squares.

.. math::

    f(w) = \\frac{1}{2} \\sum_{i=1}^m sw_i (z_i - y_i)^2 + \\frac{\\lambda}{2} \\|w_{:n}\\|^2,
    \\qquad z_i = \\langle a_i, w_{:n} \\rangle + w_n

with normalized weights sw_i = s_i / sum(s) (1/m unweighted, which gives
f(w) = 1/(2m) ||X w - y||^2 + lam/2 ||w||^2). The Hessian is constant:
H = X~^T diag(sw) X~ + lam I_n, so L = lambda_max(H) and mu = lambda_min(H).
"""

from __future__ import annotations

import math

import numpy as np

from ..kernels.losses import LOSSES, SQUARED
from .linear_objective import LinearObjective, check_curvature

__all__ = ["LeastSquares"]

#: Largest p for which L and mu are computed exactly from the eigenvalues of the p x p
#: Hessian (one blocked pass over X plus an O(p^3) eigvalsh, about a second at p = 2000).
DENSE_EIG_MAX_PARAMS = 2000


class LeastSquares(LinearObjective):
    """Linear least squares with an L2 (ridge) penalty, dense or sparse data.

    Parameters
    ----------
    X : array_like of shape (m, n) or scipy sparse matrix
        Data rows a_i (see :class:`~fastopt.problems.Logistic` for what is accepted).
    y : array_like of shape (m,)
        Real targets (finite).
    lam : float, default 0.0
        L2 strength lambda >= 0 (not applied to the intercept).
    sample_weight : None or array_like of shape (m,), default None
        Non-negative weights s_i, not all zero; normalized to sum to one.
    fit_intercept : bool, default False
        Add an unpenalized intercept, the last coefficient (p = n + 1).
    backend : {"auto", "numpy", "numba", "cython", "cuda"}, default "auto"
    dtype : None, numpy.float32 or numpy.float64, default None
        Force the dtype of X.

    Examples
    --------
    >>> import numpy as np, fastopt as fo
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> obj = fo.problems.LeastSquares(X, [1.0, 2.0], backend="numpy")
    >>> obj.value(np.zeros(2))  # (1 + 4) / (2 * 2)
    1.25
    >>> obj.lipschitz(), obj.strong_convexity()  # eigenvalues of X^T X / 2
    (2.0, 0.5)
    """

    loss = LOSSES[SQUARED]

    def __init__(self, X, y, lam: float = 0.0, sample_weight=None,
                 fit_intercept: bool = False, backend: str = "auto", dtype=None) -> None:
        super().__init__(X, y, lam, sample_weight=sample_weight, fit_intercept=fit_intercept,
                         backend=backend, dtype=dtype)

    def _hessian(self, w: np.ndarray) -> np.ndarray:
        # The Hessian does not depend on w and its weights are sw: no pass for them.
        self.n_passes += 1
        return self._sw_gram(self.lam)

    def _constants(self) -> None:
        if self._lipschitz is not None:
            return
        if self.n_params <= DENSE_EIG_MAX_PARAMS:
            from scipy.linalg import eigvalsh

            H = self._sw_gram(self.lam)
            if not np.isfinite(H).all():
                check_curvature(self, math.inf)  # raises, naming the cause
            eig = eigvalsh(H, check_finite=False)
            self._lipschitz = check_curvature(self, float(eig[-1]))
            # Round-off can leave a singular H's smallest eigenvalue slightly negative.
            self._strong_convexity = max(float(eig[0]), 0.0)
        else:
            # lambda_max(G + lam P) <= lambda_max(G) + lam for the projection P onto the
            # penalized coordinates, so this is an upper bound (exact without intercept).
            self._lipschitz = check_curvature(self, self._max_eig_gram() + self.lam)
            self._strong_convexity = 0.0 if self.fit_intercept else self.lam

    def lipschitz(self) -> float:
        """L = lambda_max(H), H = X~^T diag(sw) X~ + lam I_n, computed once and cached.

        Exact (``scipy.linalg.eigvalsh`` of the p x p Hessian) for p <= 2000; for larger
        p, lambda_max(X~^T diag(sw) X~) + lam by power iteration (relative tolerance
        1e-10), exact without an intercept.
        """
        self._constants()
        return self._lipschitz

    def strong_convexity(self) -> float:
        """mu = lambda_min(H), computed once and cached.

        Exact for p <= 2000 (0 for a singular H, e.g. m < n with lam = 0). For larger p
        the lower bound lam (0 with an intercept, which is not penalized).
        """
        self._constants()
        return self._strong_convexity
