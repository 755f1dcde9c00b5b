"""The Poisson-regression estimator (see :mod:`fastopt.linear_model`)."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._checks import check_flag
from .._solver_choice import (
    auto_solver,
    gram_work_ratio,
)
from ._input import _check_structure, _one_line_errors

__all__ = ["PoissonRegressor"]


class PoissonRegressor(RegressorMixin, BaseEstimator):
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _check_params(self) -> None:
        for name, value in (("alpha", self.alpha), ("tol", self.tol)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{name} must be a real number; got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be finite and >= 0; got {value!r}")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, numbers.Integral) \
                or self.max_iter < 0:
            raise ValueError(f"max_iter must be an integer >= 0; got {self.max_iter!r}")
        check_flag("fit_intercept", self.fit_intercept)
        if not isinstance(self.solver, str):
            raise TypeError(f"solver must be a string; got {self.solver!r}")
        if self.solver != "auto":
            from ..solvers import registry

            registry.get(self.solver)  # ValueError naming the known methods

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
        X = _check_structure(X)
        with _one_line_errors("X, y"):
            X, y = validate_data(self, X, y, accept_sparse="csr",
                                 dtype=[np.float64, np.float32], order="C",
                                 accept_large_sparse=True, y_numeric=True)
        with _one_line_errors("sample_weight"):
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                                 ensure_non_negative=True)
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
        if not res.success:
            warnings.warn(f"fastopt solver {self.solver_!r} did not converge: {res.message} "
                          f"(iterations: {res.nit}); increase max_iter or tol, or use "
                          "another solver", ConvergenceWarning, stacklevel=2)
        return self

    def _linear_predictor(self, X):
        check_is_fitted(self)
        X = _check_structure(X)
        with _one_line_errors("X"):
            X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                              reset=False)
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
