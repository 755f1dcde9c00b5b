"""The logistic-regression estimator (see :mod:`fastopt.linear_model`)."""

from __future__ import annotations

import math
import numbers
import sys

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin
from sklearn.utils.extmath import softmax
from sklearn.utils.multiclass import check_classification_targets

from .. import _config
from .._checks import check_flag
from .._solver_choice import auto_solver, gram_work_ratio
from .._solver_choice import encode_labels as _encode_labels
from ..problems.linear_data import is_chunked_input
from ._base import LinearEstimator, check_real

__all__ = ["LogisticRegression"]


def coefficient_rows(objective, x, n_classes) -> tuple[np.ndarray, np.ndarray]:
    """The solver's vector x as ``(coef (1 or K, n), intercept (1 or K,))``: one row of the
    class ``classes_[1]`` for two classes, one per class otherwise (zero intercepts
    without an intercept)."""
    n = objective.n_features
    x = np.asarray(x, dtype=np.float64)
    if n_classes == 2:
        fitted = x.size > n
        return x[:n].reshape(1, n).copy(), np.array([x[n] if fitted else 0.0])
    coef, intercept = objective.unflatten(x)
    if intercept is None:
        return coef, np.zeros(n_classes)
    # The multinomial loss is unchanged by adding one constant to every intercept; report
    # the symmetric representative (sum zero), as sklearn does.
    return coef, intercept - intercept.mean()


class LogisticRegression(ClassifierMixin, LinearEstimator):
    """L2-regularized logistic regression (binary and multinomial), fitted by fastopt.

    Minimizes scikit-learn's objective

    .. math::

        \\frac12 \\|W\\|_F^2 + C \\sum_i s_i \\, \\ell(z_i, y_i)

    (binary: the logistic loss of one coefficient vector; K > 2 classes: the softmax
    cross-entropy of K coefficient vectors, the full multinomial model). Divided by
    C sum_i s_i it is fastopt's normalized objective

    .. math::

        \\frac{1}{\\sum_i s_i} \\sum_i s_i \\ell(z_i, y_i) + \\frac{\\lambda}{2}\\|W\\|_F^2,
        \\qquad \\lambda = \\frac{1}{C \\sum_i s_i},

    which has the same minimizer, so the coefficients are scikit-learn's. The
    intercepts are never penalized.

    Parameters
    ----------
    C : float, default 1.0
        Inverse regularization strength, as in scikit-learn (positive).
    alpha : float or None, default None
        fastopt's lam directly (the L2 strength of the normalized objective, >= 0);
        when given, ``C`` is ignored. ``alpha=1/m`` is the standard benchmark setting.
    fit_intercept : bool, default True
        Fit one unpenalized intercept (per class).
    solver : str, default "auto"
        ``"auto"`` (see :func:`auto_solver`: ``"newton"`` for binary problems with at
        most 400 parameters whose Hessian is cheap to form, else ``"newton-cg"``) or any
        method of :func:`fastopt.minimize` (``"lbfgs"``, ``"newton-cg"``, ``"nesterov"``,
        ...).
    tol : float, default 1e-4
        Stop when the gradient of the normalized objective has Euclidean norm <= tol.
        scikit-learn's default (lbfgs, ``tol=1e-4``) minimizes the same normalized
        objective and stops when the largest gradient *entry* is <= 1e-4, which the
        Euclidean norm bounds from above, so this default is never the looser rule; with
        the second-order solvers, which converge quadratically near the solution, the
        last step usually lands far below tol. On the bundled data sets (C = 1, with an
        intercept) the default fit ends with ||grad|| 2e-6 to 2.5e-5, f - f* 1.5e-10 to
        1.4e-6 and coefficients within 5e-5 to 1.1e-2 (relative) of the optimum;
        scikit-learn's default fit with ||grad|| 9e-5 to 3.6e-4, f - f* 7e-6 to 2.9e-4
        and coefficients within 2e-2 to 0.21. Use a smaller tol (1e-8 to 1e-10) to match
        another solver's coefficients to 1e-6 relative; Newton needs one or two more
        iterations for it.
    max_iter : int, default 100
        Iteration budget of the solver.
    backend : str, default "auto"
        Kernel backend (``"auto"``, ``"cython"``, ``"numba"``, ``"numpy"``, ...). Binary and
        multinomial fits run on every CPU backend; ``"auto"`` is the Cython backend
        (compiled at install), so a default fit compiles nothing.
    n_threads : int or None, default None
        Threads of the compiled kernels during ``fit`` (None: leave the current setting).
    warm_start : bool, default False
        Start from the previous fit's coefficients when the shapes agree.
    verbose : int, default 0
        0: silent; 1: one line per fit; 2: also one line per iteration.
    callback : callable or None, default None
        ``callback(intermediate_result)`` after every solver iteration (an
        OptimizeResult with ``x``, ``fun``, ``nit``), as in :func:`fastopt.minimize`;
        returning True stops the fit. The ``fastopt`` command draws its progress bar so.

    Attributes
    ----------
    classes_ : ndarray of shape (K,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (K, n_features)
        Coefficients (one row for binary problems, of the class ``classes_[1]``).
    intercept_ : ndarray of shape (1,) or (K,)
        Intercepts (zeros without ``fit_intercept``; multinomial intercepts sum to zero).
    n_iter_ : ndarray of shape (1,)
        Solver iterations.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string feature names.
    history_ : fastopt History
        Per-iteration record of the fit (iteration, f, ||grad f||, step, time).
    result_ : fastopt.OptimizeResult
        The solver's result (status, message, counters, timings), without the solution
        vector's objective (no reference to the training data is kept).
    lam_ : float
        The L2 strength of the normalized objective that was minimized.
    solver_ : str
        The method that was used (``solver`` with ``"auto"`` resolved).

    Examples
    --------
    >>> import fastopt as fo
    >>> X, y = fo.datasets.load("a9a")
    >>> clf = fo.LogisticRegression(C=1.0).fit(X, y)
    >>> round(clf.score(X, y), 3)
    0.85
    """

    def __init__(self, C=1.0, alpha=None, fit_intercept=True, solver="auto", tol=1e-4,
                 max_iter=100, backend="auto", n_threads=None, warm_start=False, verbose=0,
                 callback=None):
        self.C = C
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.backend = backend
        self.n_threads = n_threads
        self.warm_start = warm_start
        self.verbose = verbose
        self.callback = callback

    # ------------------------------------------------------------------ validation

    def _check_params(self) -> None:
        if self.alpha is None:
            check_real("C", self.C, 0.0, low_open=True)
        else:
            check_real("alpha", self.alpha)
        self._check_common_params()
        if self.n_threads is not None and (
                isinstance(self.n_threads, bool)
                or not isinstance(self.n_threads, numbers.Integral) or self.n_threads < 1):
            raise ValueError(f"n_threads must be None or an integer >= 1; got "
                             f"{self.n_threads!r}")
        check_flag("warm_start", self.warm_start)
        if isinstance(self.verbose, bool) or not isinstance(self.verbose, numbers.Integral) \
                or self.verbose < 0:
            raise ValueError(f"verbose must be an integer >= 0; got {self.verbose!r}")
        if self.callback is not None and not callable(self.callback):
            raise TypeError(f"callback must be None or callable; got {self.callback!r}")

    # ------------------------------------------------------------------ fitting

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, block source} of shape (n_samples, n_features)
            Dense float32 input is used as float32 (no copy when C-contiguous); other
            dtypes become float64. Sparse input is used as CSR. X in row blocks (a
            ``dask.array`` with dense or scipy.sparse chunks, whose passes run on the Dask
            workers; or a block source of :mod:`fastopt.chunked`, read block by block)
            stays where it is (binary problems only; y and the weights are brought here
            once).
        y : array-like of shape (n_samples,)
            Class labels (at least two classes with positive weight).
        sample_weight : array-like of shape (n_samples,), default None
            Non-negative weights s_i (None: all ones).

        Returns
        -------
        self
        """
        self._check_params()
        if is_chunked_input(X):
            from ._chunked import chunked_fit_input

            X, y, sample_weight = chunked_fit_input(self, X, y, sample_weight)
        else:
            X, y = self._fit_data(X, y)
        classes, y_index = _encode_labels(y)
        if not (classes.size == 2 and classes.dtype.kind in "biuf"
                and np.all(np.equal(np.mod(classes, 1), 0))):
            # Two integral numeric classes are "binary" for scikit-learn; anything else
            # (continuous floats, strings, several classes) goes through its check.
            check_classification_targets(y)
        sample_weight = self._fit_sample_weight(sample_weight, X)
        if is_chunked_input(X):
            from ._chunked import check_binary

            check_binary(classes.size)
        self.classes_ = classes
        weighted = np.bincount(y_index, weights=sample_weight, minlength=classes.size)
        if classes.size < 2 or np.count_nonzero(weighted > 0) < 2:
            only = classes[0] if classes.size < 2 else classes[np.argmax(weighted)]
            raise ValueError("This solver needs samples of at least 2 classes with positive "
                             f"sample weight in the data, but the data contains only one "
                             f"class: {only}")
        weight_sum = float(sample_weight.sum())
        lam = float(self.alpha) if self.alpha is not None else 1.0 / (self.C * weight_sum)
        if not math.isfinite(lam):  # C * sum(sample_weight) underflowed
            raise ValueError(f"C={self.C!r} with sample weights summing to {weight_sum!r} "
                             "gives an infinite penalty 1 / (C sum(w)); use a larger C")
        objective = self._objective(X, y_index, classes.size, lam, sample_weight)
        self.solver_ = (auto_solver(objective.n_params, classes.size, gram_work_ratio(X))
                        if self.solver == "auto" else self.solver)
        x0 = self._start(objective, classes.size)

        from ..minimize import minimize

        previous_threads = _config.get_num_threads()
        try:
            if self.n_threads is not None:
                _config.set_num_threads(self.n_threads)
            res = minimize(objective, x0, method=self.solver_, tol=self.tol,
                           max_iter=self.max_iter, callback=self._iteration_callback())
        finally:
            _config.set_num_threads(previous_threads)

        self._set_coefficients(objective, res.x, classes.size)
        self.lam_ = lam
        self.n_iter_ = np.array([res.nit], dtype=np.int32)
        self.history_ = res.history
        self.result_ = res
        if self.verbose:
            print(f"fastopt LogisticRegression: {self.solver_} {res.message} after {res.nit} "
                  f"iterations ({res.get('n_passes', 0)} passes over X, {res.time:.3g} s), "
                  f"f = {res.fun:.10g}", file=sys.stdout)
        self._warn_if_not_converged(res)
        return self

    def _objective(self, X, y_index, n_classes, lam, sample_weight):
        from ..problems import Logistic, Multinomial

        if n_classes == 2:
            # classes_[1] is the positive class, as in scikit-learn.
            # Boolean targets: the objective's label check sorts them several times
            # faster than floats.
            return Logistic(X, y_index == 1, lam=lam,
                            sample_weight=sample_weight, fit_intercept=bool(self.fit_intercept),
                            backend=self.backend)
        return Multinomial(X, y_index, lam=lam, sample_weight=sample_weight,
                           fit_intercept=bool(self.fit_intercept), backend=self.backend)

    def _start(self, objective, n_classes) -> np.ndarray:
        """x0: zeros, or the previous solution with ``warm_start`` when the shapes agree."""
        n = objective.n_features
        if (self.warm_start and hasattr(self, "coef_")
                and self.coef_.shape == ((1 if n_classes == 2 else n_classes), n)):
            if n_classes == 2:
                x0 = np.zeros(objective.n_params)
                x0[:n] = self.coef_[0]
                if self.fit_intercept:
                    x0[n] = self.intercept_[0]
                return x0
            return objective.flatten(self.coef_, self.intercept_)
        return np.zeros(objective.n_params)

    def _set_coefficients(self, objective, x, n_classes) -> None:
        self.coef_, self.intercept_ = coefficient_rows(objective, x, n_classes)

    def _iteration_callback(self):
        """The user's callback, preceded by a printed line per iteration when verbose >= 2."""
        user = self.callback
        if user is not None and not callable(user):
            raise TypeError(f"callback must be callable or None; got {user!r}")
        if self.verbose < 2:
            return user

        def print_then_call(intermediate_result):
            print(f"  iteration {intermediate_result.nit:4d}  "
                  f"f = {intermediate_result.fun:.12g}", file=sys.stdout)
            return user(intermediate_result) if user is not None else None

        return print_then_call

    # ------------------------------------------------------------------ prediction

    def decision_function(self, X):
        """Confidence scores: X coef_^T + intercept_.

        Returns
        -------
        ndarray of shape (n_samples,) for two classes (the score of ``classes_[1]``),
        (n_samples, K) otherwise.
        """
        if is_chunked_input(X):
            from ._chunked import chunked_predict

            return chunked_predict(self, X, "decision_function")
        X = self._predict_data(X)
        # Float32 X is multiplied by float32 coefficients, so NumPy does not make an
        # upcast copy of X; the scores are returned in float64.
        coef = self.coef_.astype(X.dtype, copy=False)
        scores = X @ coef.T
        scores = np.asarray(scores.toarray() if sp.issparse(scores) else scores,
                            dtype=np.float64) + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Class labels: ``classes_[argmax]`` of the scores (binary: score > 0)."""
        if is_chunked_input(X):
            from ._chunked import chunked_predict

            return chunked_predict(self, X, "predict")
        scores = self.decision_function(X)
        index = (scores > 0).astype(np.intp) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, K), columns in the order of ``classes_``.

        Binary: [1 - sigma(z), sigma(z)]; multinomial: softmax of the scores.
        """
        if is_chunked_input(X):
            from ._chunked import chunked_predict

            return chunked_predict(self, X, "predict_proba")
        scores = self.decision_function(X)
        if scores.ndim == 1:
            from scipy.special import expit

            p1 = expit(scores)
            return np.column_stack([1.0 - p1, p1])
        return softmax(scores, copy=False)

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, computed stably (no log of 0 for large scores)."""
        if is_chunked_input(X):
            from ._chunked import chunked_predict

            return chunked_predict(self, X, "predict_log_proba")
        scores = self.decision_function(X)
        if scores.ndim == 1:
            from scipy.special import log_expit

            return np.column_stack([log_expit(-scores), log_expit(scores)])
        from scipy.special import log_softmax

        return log_softmax(scores, axis=1)
