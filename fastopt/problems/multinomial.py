"""Multinomial (softmax) logistic regression: the K-class objective.

.. math::

    f(W) = \\sum_i sw_i \\left(\\log \\sum_k e^{z_{ik}} - z_{i c_i}\\right)
           + \\frac{\\lambda}{2} \\|W_{:n}\\|_F^2,
    \\qquad z_i = W_{:n}^T a_i + W_n

W has shape (p, K), p = n + fit_intercept, and is flattened feature-major (C order of
(p, K)) into the parameter vector x of length K p; row n holds the K intercepts, never
penalized. This is the full (overparametrized) K-class model scikit-learn's
``LogisticRegression`` fits for K > 2, with the same normalization: sklearn's C maps to
lam = 1 / (C sum_i s_i). The kernels are ``multinomial_*`` (see
``fastopt/kernels/reference/multinomial.py`` for the mathematics and the layout), in the
NumPy, numba and Cython backends.
"""

from __future__ import annotations

import functools

import numpy as np

from .._checks import check_flag
from ._spectral import gram_max_eig
from ._validation import _as_1d, check_lam
from .base import Objective
from .linear_data import HoldsLinearData, LinearData

__all__ = ["Multinomial", "encode_labels"]


def encode_labels(y, m: int, name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Class indices of labels: ``(classes, c)`` with ``classes[c] == y``.

    Parameters
    ----------
    y : array_like of shape (m,)
        Labels of any sortable dtype (at least two distinct values).
    m : int
        Number of rows of X.

    Returns
    -------
    classes : ndarray of shape (K,)
        The sorted distinct labels.
    c : ndarray of shape (m,), int64
        Class indices in [0, K).
    """
    arr = _as_1d(y, name, m)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity")
    try:
        classes, c = np.unique(arr, return_inverse=True)
    except TypeError as exc:
        raise TypeError(f"{name} values must be sortable class labels: {exc}") from exc
    if classes.size < 2:
        raise ValueError(f"{name} has a single class ({classes[0]!r}); "
                         "multinomial logistic regression needs at least two")
    return classes, np.ascontiguousarray(c.reshape(-1), dtype=np.int64)


class Multinomial(HoldsLinearData, Objective):
    """L2-regularized softmax cross-entropy over K classes.

    Parameters
    ----------
    X : array_like of shape (m, n) or scipy sparse matrix
        Data rows a_i; validated once (float32 stays float32, never copied when already
        C-contiguous float32/float64 or canonical CSR).
    y : array_like of shape (m,)
        Class labels (any sortable values; K = number of distinct values, >= 2).
    lam : float, default 0.0
        L2 strength on the coefficients W[:n] (not on the intercepts).
    sample_weight : None or array_like of shape (m,)
        Non-negative weights, normalized to sum to one (``sw``).
    fit_intercept : bool, default False
        Add one unpenalized intercept per class (row n of W).
    backend : str, default "auto"
        Kernel backend; one with ``multinomial_*`` kernels: ``"cython"`` (what
        ``"auto"`` resolves to: compiled at install, nothing is compiled at call time),
        ``"numba"`` or ``"numpy"``. ``"cuda"`` has none.
    dtype : None, numpy.float32 or numpy.float64
        Force the dtype of X.

    Attributes
    ----------
    data : LinearData
        The validated data and their backend (X, y, sw, n_samples, n_features, dtype,
        is_sparse, backend and kernels are views of it).
    classes : ndarray of shape (K,)
        The sorted labels; class k is ``classes[k]``.
    n_classes : int
        K.
    y : ndarray of shape (m,), int64
        Class indices.
    n_params : int
        K (n + fit_intercept).

    Notes
    -----
    Hessian-vector products: the first :meth:`hvp` switches the objective to keep the
    m x K softmax probabilities of its latest gradient evaluation, so that the many
    products a Newton-CG inner solve takes at one point cost one pass over X each with no
    exponential (the ``multinomial_hvp_proba`` kernel). At any other point the fused
    ``multinomial_hvp`` kernel is used (also one pass).

    The full Hessian (:meth:`hessian`, Newton's) is assembled by blocks, one weighted
    Gram matrix per pair of classes k <= l: K (K + 1) / 2 passes of the blocked Gram
    kernel and no m x n temporary (:meth:`hessian_cost` is its flop count).
    """

    def __init__(self, X, y, lam=0.0, sample_weight=None, fit_intercept=False,
                 backend="auto", dtype=None) -> None:
        super().__init__()
        # The data checks and backend choice of every linear model (host data only: there
        # are no CUDA multinomial kernels).
        self.data = LinearData.from_input(X, y, sample_weight,
                                          check_targets=self._check_targets,
                                          backend=backend, dtype=dtype, allow_device=False)
        self.lam = check_lam(lam)
        self.fit_intercept = check_flag("fit_intercept", fit_intercept)
        if not hasattr(self.kernels, "multinomial_loss_grad"):
            raise ValueError(f"backend {self.backend!r} has no multinomial kernels; "
                             "use 'cython', 'numba' or 'numpy'")
        self.n_classes = int(self.classes.size)
        self.n_params = self.n_classes * (self.n_features + int(self.fit_intercept))
        data = self.data
        rows = (*data.args, data.kernel_y, data.kernel_sw)
        self._k_loss = functools.partial(data.kernel("multinomial_loss"), *rows)
        self._k_loss_grad = functools.partial(data.kernel("multinomial_loss_grad"), *rows)
        self._k_loss_grad_proba = functools.partial(
            data.kernel("multinomial_loss_grad_proba"), *rows)
        self._k_hvp = functools.partial(data.kernel("multinomial_hvp"), *rows)
        self._k_hvp_proba = functools.partial(data.kernel("multinomial_hvp_proba"),
                                              *data.args, data.kernel_sw)
        # One partial row per chunk; the chunk count depends on the data only (m, n or nnz,
        # K), so the result is the same for any thread count.
        self.work = data.make_work(self._work_cols(), work_factor=self.n_classes)
        # Probabilities of the latest gradient evaluation, kept once an HVP was asked for.
        self._keep_proba = False
        self._proba = None
        self._proba_at = None
        self._lipschitz = None

    def _check_targets(self, y, m: int) -> np.ndarray:
        """Class indices of the labels ``y`` (sets :attr:`classes`); see :func:`encode_labels`."""
        self.classes, c = encode_labels(y, m)
        return c

    def _work_cols(self) -> int:
        # Partial gradient, two K-vectors of per-row scratch, one partial loss.
        return self.n_params + 2 * self.n_classes + 1

    # --- layout helpers -------------------------------------------------------------------

    def unflatten(self, x) -> tuple[np.ndarray, np.ndarray | None]:
        """``(coef, intercept)`` from a parameter vector: shapes (K, n) and (K,) or None.

        The scikit-learn layout (one row per class); copies.
        """
        W = np.asarray(x, dtype=np.float64).reshape(-1, self.n_classes)
        n = self.n_features
        return W[:n].T.copy(), (W[n].copy() if self.fit_intercept else None)

    def flatten(self, coef, intercept=None) -> np.ndarray:
        """Parameter vector (K p,) from ``coef`` (K, n) and ``intercept`` (K,)."""
        W = np.zeros((self.n_features + int(self.fit_intercept), self.n_classes))
        W[: self.n_features] = np.asarray(coef, dtype=np.float64).T
        if self.fit_intercept and intercept is not None:
            W[self.n_features] = intercept
        return W.reshape(-1)

    # --- Objective hooks ------------------------------------------------------------------

    def _value(self, x: np.ndarray) -> float:
        self.n_passes += 1
        return float(self._k_loss(x, self.lam, self.n_classes, self.work))

    def _loss_grad_into(self, x: np.ndarray, grad_out: np.ndarray) -> float:
        self.n_passes += 1
        if not self._keep_proba:
            return float(self._k_loss_grad(x, self.lam, self.n_classes, grad_out,
                                           self.work))
        if self._proba is None:
            self._proba = np.empty((self.n_samples, self.n_classes))
            self._proba_at = np.empty(self.n_params)
        f = self._k_loss_grad_proba(x, self.lam, self.n_classes, grad_out, self._proba,
                                    self.work)
        self._proba_at[:] = x
        return float(f)

    def _hvp_into(self, x: np.ndarray, v: np.ndarray, out: np.ndarray) -> None:
        self.n_passes += 1
        self._keep_proba = True
        if self._proba_at is not None and np.array_equal(self._proba_at, x):
            self._k_hvp_proba(self._proba, v, self.lam, out, self.work)
        else:
            self._k_hvp(x, v, self.lam, self.n_classes, out, self.work)

    def _hessian(self, x: np.ndarray) -> np.ndarray:
        """The Hessian by class blocks.

        With p_rk the probabilities at x and X~ the rows with the column of ones when
        there is an intercept, the block of classes (k, l) is

            H_kl = X~^T diag(sw o p_k o (delta_kl - p_l)) X~ + delta_kl lam I_n

        (lam not on the intercept), one call of the ``weighted_gram`` kernel each, from
        the probabilities of the latest gradient pass when it was at x (kept from the
        first Hessian on); the parameter (feature j, class k) is entry j K + k of x.
        """
        K, n1 = self.n_classes, self.n_features + int(self.fit_intercept)
        data = self.data
        # Newton evaluates the gradient, then the Hessian, at each iterate: once asked for
        # a Hessian, the objective keeps the probabilities of its gradient passes.
        self._keep_proba = True
        if self._proba_at is not None and np.array_equal(self._proba_at, x):
            P = self._proba
        else:
            self._loss_grad_into(x, np.empty(self.n_params))
            P = self._proba
        gram = functools.partial(data.kernel("weighted_gram"), *data.args)
        sw = data.kernel_sw
        H = np.empty((n1, K, n1, K))
        block = np.empty((n1, n1))
        for k in range(K):
            swp = sw * P[:, k]
            for l in range(k, K):
                d = swp * ((1.0 if k == l else 0.0) - P[:, l])
                gram(d, self.lam if k == l else 0.0, block)
                self.n_passes += 1
                H[:, k, :, l] = block
                if l != k:
                    H[:, l, :, k] = block.T
        return H.reshape(self.n_params, self.n_params)

    def hessian_cost(self) -> float:
        """Multiply-adds of one :meth:`hessian`: K (K + 1) / 2 Gram blocks, each
        sum_r c_r^2 / 2 over the rows (c_r: the row's stored entries, plus one with an
        intercept; n + 1 for dense X). An estimate for judging whether Newton's method is
        affordable."""
        K, extra = self.n_classes, int(self.fit_intercept)
        if self.is_sparse:
            per_row = np.diff(self.X.indptr).astype(np.float64) + extra
            block = 0.5 * float(per_row @ per_row)
        else:
            block = 0.5 * self.n_samples * (self.n_features + extra) ** 2
        return 0.5 * K * (K + 1) * block

    def pass_cost(self) -> float:
        """Multiply-adds of one loss-and-gradient pass: the K scores and the K gradient
        columns of every stored entry of X, 2 K (nnz + m) (2 K m (n + 1) dense)."""
        extra = int(self.fit_intercept) * self.n_samples
        entries = (self.X.nnz if self.is_sparse else self.n_samples * self.n_features)
        return 2.0 * self.n_classes * (entries + extra)

    # --- constants ------------------------------------------------------------------------

    def lipschitz(self) -> float:
        """L = lambda_max(X~^T diag(sw) X~) / 2 + lam.

        Per row, the Hessian of the cross-entropy in the logits, diag(p) - p p^T, has
        eigenvalues at most 1/2 (max over the simplex, reached at p = (1/2, 1/2, 0...)),
        and the Hessian in W is sum_i sw_i (a~_i a~_i^T) kron (diag(p_i) - p_i p_i^T),
        whose largest eigenvalue is at most 1/2 that of the weighted Gram matrix. The
        Gram eigenvalue is computed once by power iteration (to 1e-10 relative).
        """
        if self._lipschitz is None:
            self._lipschitz = 0.5 * self._max_eig_gram() + self.lam
        return self._lipschitz

    def strong_convexity(self) -> float:
        """mu = lam without intercepts; 0 with them.

        The loss is invariant when the same constant is added to every class's logit, so
        along the direction that adds it to all intercepts the Hessian is exactly zero
        (the L2 term does not act on intercepts). Without intercepts every such
        direction moves coefficients, which the L2 term penalizes: mu = lam.
        """
        return 0.0 if self.fit_intercept else self.lam

    def _max_eig_gram(self, max_iter: int = 1000, tol: float = 1e-10) -> float:
        """lambda_max(X~^T diag(sw) X~) by power iteration over the backend's Gram kernels.

        One pass over X per product, in X's dtype by the kernel (float32 X is never
        upcast to an m x n float64 temporary). The scratch is the (T, p) one of the Gram
        kernels, allocated once here (the multinomial scratch has another layout).
        """
        data = self.data
        p = self.n_features + int(self.fit_intercept)
        return gram_max_eig(data.kernel("max_eig_gram"), data.kernel("weighted_hvp"),
                            data.args, self.sw, self.n_features, self.fit_intercept,
                            data.make_work(p), max_iter, tol)

    # --- predictions ----------------------------------------------------------------------

    def logits(self, x) -> np.ndarray:
        """z of shape (m, K): the logits of every row at ``x`` (one pass over X)."""
        x = self.check_x(x)
        coef, intercept = self.unflatten(x)
        # Float32 X is multiplied by float32 coefficients: NumPy would otherwise upcast a
        # copy of X. The (m, K) result is accumulated by BLAS in the dtype of X.
        Z = np.asarray(self.X @ coef.T.astype(self.dtype, copy=False), dtype=np.float64)
        if intercept is not None:
            Z += intercept
        self.n_passes += 1
        return Z

    def __repr__(self) -> str:
        kind = "CSR" if self.is_sparse else "dense"
        return (f"Multinomial(m={self.n_samples}, n={self.n_features}, K={self.n_classes}, "
                f"{kind} {self.dtype}, lam={self.lam:g}, fit_intercept={self.fit_intercept}, "
                f"backend={self.backend!r})")
