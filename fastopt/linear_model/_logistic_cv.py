"""Logistic regression with C chosen by cross-validation (see :class:`LogisticRegressionCV`)."""

from __future__ import annotations

import inspect
import numbers
import os
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring, make_scorer
from sklearn.model_selection import check_cv
from sklearn.utils.multiclass import check_classification_targets

from .._blas_threads import OneThread
from .._checks import check_flag
from .._solver_choice import auto_solver, dense_copy_pays, gram_work_ratio
from ..regularization_path import path
from ._logistic import LogisticRegression, coefficient_rows

__all__ = ["LogisticRegressionCV"]


class LogisticRegressionCV(LogisticRegression):
    """L2 logistic regression whose C is chosen by cross-validation, fitted by fastopt.

    The semantics of ``sklearn.linear_model.LogisticRegressionCV`` (L2 penalty, its legacy
    attributes): for every fold of ``cv``, the model is fitted on the fold's training rows
    at every C of ``Cs`` as one warm-started regularization path (:func:`fastopt.path`,
    smallest C = largest lam first, lam = 1 / (C sum_{i in train} s_i)) and scored on the
    fold's test rows; the best C maximizes the mean score over the folds (the first best
    on ties). With ``refit`` the model is then fitted on all rows at that C, starting
    from the mean of the folds' coefficients at it. Binary problems fit one logistic
    model; more than two classes one multinomial model (scikit-learn's default). The math
    is in docs/many_fits.md.

    Parameters
    ----------
    Cs : int or array_like of shape (n_Cs,), default 10
        The grid of C (positive, finite); an int n is ``np.logspace(-4, 4, n)``.
    cv : int, cross-validation generator or iterable, default None
        As ``sklearn.model_selection.check_cv(cv, y, classifier=True)``: None is 5-fold
        ``StratifiedKFold``.
    scoring : str, callable or None, default None
        Score of a fold's test rows: any scikit-learn scorer name or scorer callable
        (``sklearn.metrics.check_scoring``); None: accuracy. Scorers taking ``labels``
        get all the classes, as in scikit-learn.
    refit : bool, default True
        Refit on all rows at the best C; else average the folds' coefficients at each
        fold's best C (and C_ is the mean of those Cs).
    fit_intercept : bool, default True
    tol : float, default 1e-4
        Gradient-norm tolerance of every solve (see :class:`LogisticRegression`).
    max_iter : int, default 100
        Iteration budget of every solve.
    n_jobs : int or None, default None
        Folds fitted concurrently in threads (the compiled kernels release the GIL);
        None: 1, -1: one per CPU (one thread on the numba and CUDA backends). The results
        do not depend on it (every kernel's reduction order is fixed by the data).
    solver : str, default "auto"
        As :class:`LogisticRegression` (``"auto"``: ``"newton"`` for small binary
        problems, else ``"newton-cg"``).
    backend : str, default "auto"
        Kernel backend of the objectives.
    verbose : int, default 0
        0: silent; 1: one line per fold.

    Attributes
    ----------
    classes_ : ndarray of shape (K,)
    Cs_ : ndarray of shape (n_Cs,)
        The grid, in the order given.
    C_ : ndarray of shape (1,) (binary) or (K,)
        The chosen C (repeated K times for K > 2 classes, as scikit-learn does).
    coef_ : ndarray of shape (1, n_features) or (K, n_features)
    intercept_ : ndarray of shape (1,) or (K,)
        (multinomial intercepts sum to zero).
    scores_ : dict
        Class -> ndarray of shape (n_folds, n_Cs) of the folds' test scores (key
        ``classes_[1]`` only for binary problems; the same array for every class).
    coefs_paths_ : dict
        Class -> ndarray of shape (n_folds, n_Cs, n_features + fit_intercept): each
        fold's coefficients (intercept last) at each C.
    n_iter_ : ndarray of shape (1, n_folds, n_Cs)
        Solver iterations of each fold's solve at each C.
    lam_ : float
        The L2 strength of the refit's normalized objective (1 / (C_ sum_i s_i)).
    solver_ : str
        The method used ("auto" resolved).
    result_ : fastopt.OptimizeResult
        The refit's solver result (only with ``refit``).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string feature names.

    Examples
    --------
    >>> import fastopt as fo
    >>> X, y = fo.datasets.load("a9a")
    >>> clf = fo.LogisticRegressionCV(Cs=4, cv=3).fit(X, y)
    >>> clf.C_.shape
    (1,)
    """

    def __init__(self, Cs=10, cv=None, scoring=None, refit=True, fit_intercept=True,
                 tol=1e-4, max_iter=100, n_jobs=None, solver="auto", backend="auto",
                 verbose=0):
        self.Cs = Cs
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.n_jobs = n_jobs
        self.solver = solver
        self.backend = backend
        self.verbose = verbose

    # ------------------------------------------------------------------ validation

    def _check_params(self) -> None:
        self._check_common_params()
        check_flag("refit", self.refit)
        if self.n_jobs is not None and (
                isinstance(self.n_jobs, bool) or not isinstance(self.n_jobs, numbers.Integral)
                or self.n_jobs == 0):
            raise ValueError(f"n_jobs must be None or a non-zero integer; got {self.n_jobs!r}")
        if isinstance(self.verbose, bool) or not isinstance(self.verbose, numbers.Integral) \
                or self.verbose < 0:
            raise ValueError(f"verbose must be an integer >= 0; got {self.verbose!r}")

    def _grid(self) -> np.ndarray:
        """``Cs`` as a float64 grid (ValueError naming ``Cs`` unless positive and finite)."""
        Cs = self.Cs
        if isinstance(Cs, numbers.Integral) and not isinstance(Cs, bool):
            if Cs < 1:
                raise ValueError(f"Cs must be an integer >= 1 or a list of positive "
                                 f"numbers; got {Cs!r}")
            return np.logspace(-4, 4, int(Cs))
        if isinstance(Cs, (bool, str)) or np.asarray(Cs).dtype.kind in "bcUSO":
            raise ValueError(f"Cs must be an integer >= 1 or a list of positive numbers; "
                             f"got {Cs!r}")
        try:
            grid = np.array(Cs, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"Cs must be an integer >= 1 or a list of positive numbers; "
                             f"got {Cs!r}") from None
        if grid.ndim != 1 or grid.size == 0:
            raise ValueError(f"Cs must be a non-empty 1-D list of positive numbers; got "
                             f"{Cs!r}")
        bad = ~np.isfinite(grid) | (grid <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"Cs must be positive and finite; got Cs[{i}] = {grid[i]!r}")
        return grid

    def _workers(self, n_folds: int) -> int:
        """Threads for the folds: ``n_jobs`` resolved, at most one per fold.

        One thread on the numba and CUDA backends: numba's default threading layer
        (workqueue) must not run parallel kernels from several threads at once, and a
        GPU runs one fold's kernels at a time anyway.
        """
        from ..kernels import resolve_backend

        if self.n_jobs is None or resolve_backend(self.backend) in ("numba", "cuda"):
            return 1
        n = int(self.n_jobs)
        if n < 0:  # joblib's convention: -1 is every CPU, -2 all but one, ...
            n = max(1, (os.cpu_count() or 1) + 1 + n)
        return max(1, min(n, n_folds))

    def _fold_scorer(self, classes):
        """The scorer of a fold's test rows (None: accuracy through ``score``).

        As scikit-learn: a metric taking ``labels`` gets every class (a test fold may miss
        one), and, for two classes, ``pos_label = classes[1]``.
        """
        if self.scoring is None:
            return None
        scorer = check_scoring(self, scoring=self.scoring)
        func = getattr(scorer, "_score_func", None)
        if func is None:
            return scorer
        params = inspect.signature(func).parameters
        if "labels" not in params:
            return scorer
        kwargs = {"labels": classes}
        if classes.size == 2 and "pos_label" in params:
            kwargs["pos_label"] = classes[-1]
        kwargs.update(getattr(scorer, "_kwargs", {}))
        return make_scorer(func, greater_is_better=scorer._sign == 1,
                           response_method=scorer._response_method, **kwargs)

    # ------------------------------------------------------------------ fitting

    def fit(self, X, y, sample_weight=None):
        """Choose C by cross-validation, then fit (``refit``) or average the folds.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).
        sample_weight : array-like of shape (n_samples,), default None
            Non-negative weights: the training rows' weights in every fold's objective,
            the test rows' in its score (as scikit-learn), and all of them in the refit.

        Returns
        -------
        self
        """
        self._check_params()
        grid = self._grid()
        X, y = self._fit_data(X, y)
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError("This solver needs samples of at least 2 classes in the data, "
                             f"but the data contains only one class: {classes[0]}")
        weights_given = sample_weight is not None
        sw = self._fit_sample_weight(sample_weight, X)
        folds = list(check_cv(self.cv, y, classifier=True).split(X, y))
        K, n = classes.size, X.shape[1]
        n_out = 1 if K == 2 else K
        n_params = n_out * (n + int(self.fit_intercept))
        self.solver_ = (auto_solver(n_params, K, gram_work_ratio(X))
                        if self.solver == "auto" else self.solver)
        if self.solver_ == "newton" and dense_copy_pays(X):
            # Every fold forms ten-odd Hessians: with dense enough rows BLAS forms them
            # faster from a dense copy (made once) than the CSR assembly does.
            X = X.toarray()
        scorer = self._fold_scorer(classes)

        def run(fold):
            return self._fit_fold(X, y, y_index, sw, weights_given, fold, grid, classes,
                                  scorer)

        workers = self._workers(len(folds))
        if workers == 1:
            results = [run(f) for f in folds]
        else:
            # BLAS on one thread for the whole pool: the BLAS thread count is one setting
            # of the process, which the folds' solves would otherwise each switch and
            # restore concurrently (and folds in parallel have no cores to spare for it).
            with OneThread(), ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(run, folds))  # in fold order

        coefs = np.stack([r[0] for r in results])        # (n_folds, n_Cs, n_out, n + fi)
        scores = np.stack([r[1] for r in results])       # (n_folds, n_Cs)
        n_iter = np.stack([r[2] for r in results])       # (n_folds, n_Cs)
        failed = sum(r[3] for r in results)
        if failed:
            warnings.warn(f"fastopt solver {self.solver_!r} did not converge in {failed} of "
                          f"{n_iter.size} fold solves (max_iter={self.max_iter}); increase "
                          "max_iter or tol", ConvergenceWarning, stacklevel=2)

        self.classes_ = classes
        self.Cs_ = grid
        self.n_iter_ = n_iter[None].astype(np.int32)
        keys = classes[1:] if K == 2 else classes
        self.scores_ = {c: scores.copy() for c in keys}
        self.coefs_paths_ = {c: coefs[:, :, k, :].copy() for k, c in enumerate(keys)}

        if self.refit:
            # Scores summed over folds (the mean's argmax); argmax takes the first best.
            best = int(np.argmax(scores.sum(axis=0)))
            C = float(grid[best])
            w = self._refit(X, y, sample_weight, C, coefs[:, best].mean(axis=0))
        else:
            best_each = np.argmax(scores, axis=1)  # (n_folds,)
            C = float(np.mean(grid[best_each]))
            w = np.mean([coefs[i, b] for i, b in enumerate(best_each)], axis=0)
            self.lam_ = 1.0 / (C * float(sw.sum()))
            self.__dict__.pop("result_", None)  # no refit: no solver result of all rows
        self.C_ = np.full(n_out, C)
        self.coef_ = np.ascontiguousarray(w[:, :n])
        self.intercept_ = w[:, n].copy() if self.fit_intercept else np.zeros(n_out)
        return self

    def _fit_fold(self, X, y, y_index, sw, weights_given, fold, grid, classes, scorer):
        """One fold: the path over ``grid`` on the training rows, scored on the test rows.

        Returns ``(coefs (n_Cs, n_out, n + fi), scores (n_Cs,), n_iter (n_Cs,),
        number of failed solves)``, each in the order of ``grid``.
        """
        from ..problems import Logistic, Multinomial

        train, test = fold
        K = classes.size
        y_train, sw_train = y_index[train], sw[train]
        counts = np.bincount(y_train, weights=sw_train, minlength=K)
        if np.any(counts <= 0):
            missing = classes[np.flatnonzero(counts <= 0)]
            raise ValueError(f"the training rows of a cross-validation fold have no sample "
                             f"(of positive weight) of class {missing.tolist()}; use fewer "
                             "folds (cv) or a stratified splitter")
        fi = bool(self.fit_intercept)
        if K == 2:
            objective = Logistic(X[train], y_train == 1, lam=1.0, sample_weight=sw_train,
                                 fit_intercept=fi, backend=self.backend)
        else:
            objective = Multinomial(X[train], y_train, lam=1.0, sample_weight=sw_train,
                                    fit_intercept=fi, backend=self.backend)
        # sklearn's objective 1/2 ||W||^2 + C sum s_i l_i divided by C sum s_i.
        lams = 1.0 / (grid * float(sw_train.sum()))
        res = path(objective, lams=lams, method=self.solver_, tol=self.tol,
                   max_iter=self.max_iter, warn=False)
        # The path solved the lams largest first (smallest C first); back to grid order.
        coefs = np.empty((grid.size, 1 if K == 2 else K, X.shape[1] + int(fi)))
        n_iter = np.empty(grid.size, dtype=np.int64)
        for j, at in enumerate(res.order):
            coef, intercept = coefficient_rows(objective, res.coef[j], K)
            coefs[at] = np.column_stack([coef, intercept]) if fi else coef
            n_iter[at] = res.n_iter[j]

        model = LogisticRegression(fit_intercept=fi)
        model.classes_ = classes
        model.n_features_in_ = X.shape[1]
        X_test, y_test = X[test], y[test]
        sw_test = sw[test] if weights_given else None
        scores = np.empty(grid.size)
        if scorer is None:
            # Accuracy of every C from one product X_test [coef_1 ... coef_nCs]^T (the
            # predictions of scikit-learn's score, without its per-call input checks).
            W = coefs[:, :, : X.shape[1]].reshape(-1, X.shape[1])
            Z = np.asarray(X_test @ W.T).reshape(len(test), grid.size, -1)
            if fi:
                Z = Z + coefs[:, :, -1]
            predicted = (Z[:, :, 0] > 0).astype(np.intp) if K == 2 else Z.argmax(axis=2)
            hits = predicted == y_index[test][:, None]
            scores[:] = np.average(hits, axis=0, weights=sw_test)
        for i in range(grid.size if scorer is not None else 0):
            model.coef_ = coefs[i, :, : X.shape[1]]
            model.intercept_ = coefs[i, :, -1] if fi else np.zeros(coefs.shape[1])
            if sw_test is None:
                scores[i] = scorer(model, X_test, y_test)
            else:
                scores[i] = scorer(model, X_test, y_test, sample_weight=sw_test)
        if self.verbose:
            print(f"fastopt LogisticRegressionCV: fold of {len(train)} training rows, "
                  f"{self.solver_} path of {grid.size} Cs in {int(res.n_iter.sum())} "
                  f"iterations, best score {scores.max():.6g}", file=sys.stdout)
        return coefs, scores, n_iter, int(np.count_nonzero(~res.success))

    def _refit(self, X, y, sample_weight, C, start) -> np.ndarray:
        """Fit on all rows at C from ``start`` (rows [coef | intercept]); the rows found."""
        n = X.shape[1]
        model = LogisticRegression(C=C, fit_intercept=self.fit_intercept,
                                   solver=self.solver_, tol=self.tol, max_iter=self.max_iter,
                                   backend=self.backend, warm_start=True)
        # Warm start from the mean of the folds' solutions at C, as scikit-learn does.
        model.coef_ = np.ascontiguousarray(start[:, :n])
        model.intercept_ = start[:, n].copy() if self.fit_intercept else np.zeros(len(start))
        model.fit(X, y, sample_weight=sample_weight)
        self.lam_ = model.lam_
        self.result_ = model.result_
        return np.column_stack([model.coef_, model.intercept_])

    # ------------------------------------------------------------------ scoring

    def score(self, X, y, sample_weight=None):
        """The ``scoring`` of the predictions on (X, y), as scikit-learn's
        LogisticRegressionCV (accuracy when ``scoring`` is None)."""
        if self.scoring is None:
            return super().score(X, y, sample_weight=sample_weight)
        scorer = check_scoring(self, scoring=self.scoring)
        if sample_weight is None:
            return scorer(self, X, y)
        return scorer(self, X, y, sample_weight=sample_weight)
