"""The Poisson-regression estimator (see :mod:`fastopt.linear_model`)."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin

from .._solver_choice import auto_solver, gram_work_ratio
from ._base import LinearEstimator, check_real

__all__ = ["PoissonRegressor"]


class PoissonRegressor(RegressorMixin, LinearEstimator):
    """L2-regularized Poisson regression (log link) for counts, fitted by fastopt.

    Minimizes scikit-learn's objective (``sklearn.linear_model.PoissonRegressor``)

    .. math::

        \\frac{1}{2 \\sum_i s_i} \\sum_i s_i \\, \\mathrm{dev}(y_i, e^{z_i})
        + \\frac{\\alpha}{2} \\|w\\|^2,
        \\qquad z_i = \\langle x_i, w \\rangle + b,

    with the Poisson deviance ``dev(y, mu) = 2 (y log(y / mu) - y + mu)``. Up to a
    constant it is fastopt's :class:`~fastopt.problems.Poisson` objective
    ``sum_i sw_i (e^{z_i} - y_i z_i) + lam/2 ||w||^2`` with ``sw_i = s_i / sum(s)`` and
    ``lam = alpha``, so the coefficients are scikit-learn's. The intercept is never
    penalized.

    Parameters
    ----------
    alpha : float, default 1.0
        L2 strength (>= 0), as in scikit-learn.
    fit_intercept : bool, default True
        Fit an unpenalized intercept b.
    solver : str, default "auto"
        ``"auto"`` (``"newton"`` when the Hessian is small and cheap to form, else
        ``"newton-cg"``, as :func:`auto_solver` picks for a binary logistic fit) or any
        method of :func:`fastopt.minimize`. Poisson regression has no global Lipschitz
        constant: the momentum methods need an ``lr`` and cannot get one here, so use a
        second-order method, ``"lbfgs"`` or ``"gd"`` (Armijo line search).
    tol : float, default 1e-4
        Stop when the gradient of the normalized objective has Euclidean norm <= tol.
    max_iter : int, default 100
        Iteration budget of the solver.
    backend : str, default "auto"
        Kernel backend (``"auto"``, ``"cython"``, ``"numba"``, ``"numpy"``).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
        0.0 without ``fit_intercept``.
    n_iter_ : int
        Solver iterations.
    n_features_in_ : int
    result_ : fastopt.OptimizeResult
        The solver's result.
    solver_ : str
        The method used (``solver`` with ``"auto"`` resolved).

    Examples
    --------
    >>> import numpy as np, fastopt as fo
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 3))
    >>> y = rng.poisson(np.exp(X @ [0.3, -0.2, 0.1] + 0.5))
    >>> reg = fo.PoissonRegressor(alpha=1e-3).fit(X, y)
    >>> bool(reg.score(X, y) > 0)
    True
    """

    def __init__(self, alpha=1.0, fit_intercept=True, solver="auto", tol=1e-4, max_iter=100,
                 backend="auto"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.backend = backend

    def _check_params(self) -> None:
        check_real("alpha", self.alpha)
        self._check_common_params()

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Counts: finite, >= 0.
        sample_weight : array-like of shape (n_samples,), default None
            Non-negative weights s_i (None: all ones).

        Returns
        -------
        self
        """
        self._check_params()
        X, y = self._fit_data(X, y, y_numeric=True)
        sample_weight = self._fit_sample_weight(sample_weight, X)
        from ..minimize import minimize
        from ..problems import Poisson

        # Poisson checks y (finite, >= 0) and names it in its ValueError.
        objective = Poisson(X, y, lam=float(self.alpha), sample_weight=sample_weight,
                            fit_intercept=bool(self.fit_intercept), backend=self.backend)
        self.solver_ = (auto_solver(objective.n_params, 2, gram_work_ratio(X))
                        if self.solver == "auto" else self.solver)
        res = minimize(objective, np.zeros(objective.n_params), method=self.solver_,
                       tol=self.tol, max_iter=self.max_iter)
        n = objective.n_features
        x = np.asarray(res.x, dtype=np.float64)
        self.coef_ = x[:n].copy()
        self.intercept_ = float(x[n]) if self.fit_intercept else 0.0
        self.n_iter_ = int(res.nit)
        self.result_ = res
        self._warn_if_not_converged(res)
        return self

    def _linear_predictor(self, X):
        X = self._predict_data(X)
        z = X @ self.coef_.astype(X.dtype, copy=False)
        return np.asarray(z, dtype=np.float64).reshape(-1) + self.intercept_

    def predict(self, X):
        """Predicted means ``exp(X coef_ + intercept_)``, shape (n_samples,)."""
        return np.exp(self._linear_predictor(X))

    def score(self, X, y, sample_weight=None):
        """D^2, the fraction of Poisson deviance explained (scikit-learn's ``score``).

        ``1 - dev(y, predict(X)) / dev(y, mean(y))`` with sample-weighted deviances and
        mean; 1 is a perfect fit, 0 the constant model, and it can be negative.
        """
        from sklearn.metrics import d2_tweedie_score

        return d2_tweedie_score(y, self.predict(X), sample_weight=sample_weight, power=1)
