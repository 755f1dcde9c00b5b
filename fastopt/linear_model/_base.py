"""What the estimators share: the sparse-input tag, the checks of their common
parameters, their checked fit and predict inputs and the convergence warning."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._checks import check_flag
from ._input import _check_structure, _one_line_errors


def check_real(name: str, value, low: float = 0.0, low_open: bool = False) -> None:
    """TypeError unless ``value`` is a real number (not a bool); ValueError unless it is
    finite and >= ``low`` (> ``low`` when ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    if not math.isfinite(value) or value < low or (low_open and value == low):
        rel = ">" if low_open else ">="
        raise ValueError(f"{name} must be finite and {rel} {low}; got {value!r}")


class LinearEstimator(BaseEstimator):
    """Base of the estimators: each has ``fit_intercept``, ``solver``, ``tol`` and
    ``max_iter``, takes dense or sparse X, and fits with :func:`fastopt.minimize`."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _check_common_params(self) -> None:
        """Check ``tol``, ``max_iter``, ``fit_intercept`` and ``solver`` (a method of
        :func:`fastopt.minimize`, or ``"auto"``)."""
        check_real("tol", self.tol)
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, numbers.Integral) \
                or self.max_iter < 0:
            raise ValueError(f"max_iter must be an integer >= 0; got {self.max_iter!r}")
        check_flag("fit_intercept", self.fit_intercept)
        if not isinstance(self.solver, str):
            raise TypeError(f"solver must be a string; got {self.solver!r}")
        if self.solver != "auto":
            from ..solvers import registry

            registry.get(self.solver)  # ValueError naming the known methods

    def _fit_data(self, X, y, **options):
        """``(X, y)`` checked for fitting: CSR or C-contiguous float64/float32 X (sparse
        structure checked first), errors in one line naming the arguments."""
        X = _check_structure(X)
        with _one_line_errors("X, y"):
            return validate_data(self, X, y, accept_sparse="csr",
                                 dtype=[np.float64, np.float32], order="C",
                                 accept_large_sparse=True, **options)

    @staticmethod
    def _fit_sample_weight(sample_weight, X) -> np.ndarray:
        """Non-negative float64 sample weights of shape (n_samples,) (None: all ones)."""
        with _one_line_errors("sample_weight"):
            return _check_sample_weight(sample_weight, X, dtype=np.float64,
                                        ensure_non_negative=True)

    def _predict_data(self, X):
        """X checked against the fitted model (features, dtype, sparse structure)."""
        check_is_fitted(self)
        X = _check_structure(X)
        with _one_line_errors("X"):
            return validate_data(self, X, accept_sparse="csr",
                                 dtype=[np.float64, np.float32], reset=False)

    def _warn_if_not_converged(self, res) -> None:
        if not res.success:
            warnings.warn(f"fastopt solver {self.solver_!r} did not converge: {res.message} "
                          f"(iterations: {res.nit}); increase max_iter or tol, or use "
                          "another solver", ConvergenceWarning, stacklevel=3)
