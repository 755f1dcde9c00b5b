"""The shared machinery of the linear-model objectives.

:class:`LinearObjective` holds validated data ``(X, y, sw)`` and dispatches to the
kernels of one backend; :class:`~fastopt.problems.Logistic`,
:class:`~fastopt.problems.LeastSquares` and :class:`~fastopt.problems.Poisson` only name
their loss (a row of :data:`fastopt.kernels.losses.LOSSES`, whose code every kernel takes)
and add their constants L and mu. Their data are one value,
:class:`~fastopt.problems.linear_data.LinearData` (its device variant, or chunked data
when X is read in row blocks), validated once when the objective is built.
"""

# Over 500 lines: the linear-model contract (docs/contract.md) is one class: its passes,
# the row-vector methods of the second-order solvers, mini-batches and the constants.

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .._checks import check_flag
from ..kernels.losses import Loss
from ..kernels.reference.linear import row_dloss, row_loss
from ._row_checks import check_row_indices, check_row_vector
from ._spectral import gram_max_eig, power_iteration, start_vector
from ._squares import weighted_square_sums
from ._validation import check_lam, check_loss_targets
from .base import Objective
from .linear_data import HoldsLinearData, LinearData, is_chunked_input

__all__ = ["LinearObjective", "KernelArguments", "check_curvature"]


def check_curvature(objective, L: float) -> float:
    """``L`` if finite, else a ValueError: the data's entries are too large for float64.

    Products of two entries of X (the Gram matrix behind every curvature bound) overflow
    once entries pass about 1e154; the bound is then inf or NaN, and a step 1/L would be
    0 or NaN. The message says what to do instead of letting a solver fail later.
    """
    if not math.isfinite(L):
        raise ValueError(f"the curvature bound L of {type(objective).__name__} is not finite: "
                         "products of entries of X overflow float64; rescale X (for "
                         "instance to unit column norms)")
    return L


class KernelArguments(NamedTuple):
    """What a compiled solver loop passes to a linear objective's kernels.

    ``loss`` is the loss code (:mod:`fastopt.kernels.losses`), the first argument of the
    generic linear-model kernels; ``data`` is ``(X,)`` (dense) or
    ``(data, indices, indptr, n_features)`` (CSR); ``work`` the scratch of the parallel
    reductions, of shape (n_chunks, p).
    """

    loss: int
    data: tuple
    y: np.ndarray
    sw: np.ndarray
    lam: float
    work: np.ndarray


class LinearObjective(HoldsLinearData, Objective):
    """Shared machinery of objectives of a linear predictor ``z = X w[:n] (+ w[n])``.

    f(w) = sum_i sw_i l(z_i, y_i) + lam/2 ||w[:n]||^2, with normalized sample weights
    ``sw_i = s_i / sum(s)`` (1/m when unweighted) and the intercept ``w[n]`` (present
    when ``fit_intercept``) never penalized. The data are validated once, here; every
    evaluation is one call of a backend kernel on them (no copy of X, ever).

    Parameters
    ----------
    X : array_like of shape (m, n) or scipy sparse matrix
        Dense input becomes a C-contiguous float32/float64 array (no copy when it already
        is one); sparse input becomes canonical CSR (a copy only when it was not).
    y : array_like of shape (m,)
        Targets, checked by the subclass (:meth:`_check_targets`).
    lam : float
        L2 strength, >= 0.
    sample_weight : None or array_like of shape (m,)
        Non-negative weights, not all zero.
    fit_intercept : bool
        Add an unpenalized intercept ``w[n]`` (p = n + 1).
    backend : str
        ``"auto"``, ``"numpy"``, ``"numba"``, ``"cython"`` or ``"cuda"``.
    dtype : None, numpy.float32 or numpy.float64
        Force the floating dtype of X (None: float32 stays float32, the rest float64).

    Attributes
    ----------
    data : LinearData
        The validated data and the backend reading them (the device variant for a GPU
        backend); the attributes X, y, sw, n_samples, n_features, dtype, is_sparse,
        backend and kernels are views of it.
    X : ndarray of shape (m, n) or scipy.sparse.csr_matrix
    y, sw : ndarray of shape (m,), float64
    lam : float
    fit_intercept : bool
    n_samples, n_features, n_params : int
        m, n and p = n + fit_intercept.
    dtype : numpy.dtype
        dtype of X (float32 or float64).
    backend : str
        Resolved backend name.
    kernels : module
        The backend's kernel package.
    work : ndarray of shape (T, p), float64
        Scratch of the parallel reductions: one partial row per chunk, with
        ``T = fastopt._config.n_chunks(work of a pass over X, p)`` fixed by the data's size
        (never by the thread count, so results are the same for any thread count).
    """

    #: The loss (a row of :data:`fastopt.kernels.losses.LOSSES`), set by the subclass.
    loss: Loss

    def __init__(self, X, y, lam, sample_weight=None, fit_intercept=False, backend="auto",
                 dtype=None) -> None:
        super().__init__()
        if is_chunked_input(X):
            from .chunked.inputs import chunked_from_input

            data = chunked_from_input(X, y, sample_weight, check_targets=self._check_targets,
                                      backend=backend, dtype=dtype)
        else:
            data = LinearData.from_input(X, y, sample_weight,
                                         check_targets=self._check_targets, backend=backend,
                                         dtype=dtype)
        self.lam = check_lam(lam)
        self.fit_intercept = check_flag("fit_intercept", fit_intercept)
        self._lipschitz: float | None = None
        self._strong_convexity: float | None = None
        self._use_data(data)

    def _use_data(self, data: LinearData) -> None:
        """Hold ``data``: bind the kernels to its arrays and allocate the scratch.

        The kernels are looked up once (dense or CSR by the ``_csr`` suffix) with the loss
        code and the data's arrays bound as their leading arguments, so an evaluation
        passes only vectors of length p (and the scratch). The scratch's chunk count
        depends on the data only, never on the thread count.
        """
        self.data = data
        self.n_params = data.n_features + int(self.fit_intercept)
        if not data.in_memory:
            self._bind_chunked(data)
            return
        code = self.loss.code
        rows = (*data.args, data.kernel_y, data.kernel_sw)

        def bound(name, *leading):
            return functools.partial(data.kernel(name), *leading)

        self._k_loss = bound("linear_loss", code, *rows)
        self._k_loss_grad = bound("linear_loss_grad", code, *rows)
        self._k_grad_hess_weights = bound("linear_grad_hess_weights", code, *rows)
        self._k_hess_weights = bound("linear_hess_weights", code, *rows)
        self._k_hvp = bound("linear_hvp", code, *rows)
        self._k_loss_grad_rows = bound("linear_loss_grad_rows", code, *rows)
        self._k_matvec = bound("matvec", *data.args)
        self._k_rmatvec = bound("rmatvec", *data.args)
        self._k_weighted_hvp = bound("weighted_hvp", *data.args)
        self._k_weighted_gram = bound("weighted_gram", *data.args)
        self.work = data.make_work(self.n_params)

    def _bind_chunked(self, data) -> None:
        """Bind the passes to chunked data (:class:`~.chunked.passes.ChunkedPasses`: sums
        of per-block terms plus the penalty, added once).

        The row-vector kernels (predictor, Hessian weights, mini-batches) have no chunked
        form: the methods using them raise a ValueError, and :attr:`rows_in_memory` tells
        the solvers to take their generic paths.
        """
        from .chunked.passes import ChunkedPasses

        passes = self._chunked = ChunkedPasses(data, self.loss.code, self.n_params)
        self._k_loss = lambda w, lam, work: passes.loss(w, lam)
        self._k_loss_grad = lambda w, lam, grad_out, work: passes.loss_grad(w, lam, grad_out)
        self._k_hvp = lambda w, v, lam, out, work: passes.hvp(w, v, lam, out)

        def rows_needed(*args):
            data.host_X()  # raises, naming the data

        for name in ("_k_grad_hess_weights", "_k_hess_weights", "_k_loss_grad_rows",
                     "_k_matvec", "_k_rmatvec", "_k_weighted_hvp", "_k_weighted_gram"):
            setattr(self, name, rows_needed)
        self.work = None

    @property
    def rows_in_memory(self) -> bool:
        """Whether X is in memory as one array, so that the O(m) row-vector methods
        (``linear_predictor``, ``grad_hess_weights``, ``weighted_hvp``, ...) apply; False
        for X read in row blocks, whose passes are only f, grad f, H v and H."""
        return self.data.in_memory

    def _sw_gram(self, lam: float) -> np.ndarray:
        """``X~^T diag(sw) X~ + lam I_n``, shape (p, p) (one pass)."""
        if self.data.in_memory:
            return self._gram(self.sw, lam)
        return self._chunked.sw_gram(lam)

    def move_to_device(self) -> LinearObjective:
        """Copy the data to the GPU once and evaluate there from now on; returns self.

        What ``backend="cuda"`` does when the objective is built; the counters and the
        cached constants stay (the data's values do not change).
        """
        if not self.data.on_device:
            self._use_data(self.data.to_device())
        return self

    def kernel_arguments(self) -> KernelArguments:
        """The arguments of this objective's kernels, for loops that call them directly.

        The arrays are the objective's own (no copy); ``work`` has one row per chunk of the
        reductions, a number fixed by the data's size.
        """
        data = self.data
        if not data.in_memory:
            data.host_X()  # raises: no compiled loop reads X in row blocks
        return KernelArguments(self.loss.code, data.args, data.y, data.sw, self.lam,
                               self.work)

    # --- the loss's hooks (the per-row math is the reference backend's, written once) --

    def _check_targets(self, y, m: int) -> np.ndarray:
        y, classes = check_loss_targets(self.loss, y, m, "y")
        if classes is not None:
            self.classes = classes
        return y

    def _loss_terms_sum(self, z: np.ndarray) -> float:
        """sum_i sw_i l(z_i, y_i) from the predictor z (O(m) NumPy)."""
        # einsum, not a BLAS dot: a threaded m-length ddot competes with the kernels'
        # threads for nothing.
        return float(np.einsum("i,i->", self.sw, row_loss(self.loss.code, self.y, z)))

    def _dloss_into(self, z: np.ndarray, out: np.ndarray) -> None:
        """out_i = sw_i dl/dz (z_i, y_i), shape (m,) (O(m) NumPy, no BLAS)."""
        np.multiply(self.sw, row_dloss(self.loss.code, self.y, z), out=out)

    # --- Objective hooks -----------------------------------------------------------------

    def _value(self, w: np.ndarray) -> float:
        self.n_passes += 1
        return self._k_loss(w, self.lam, self.work)

    def _loss_grad_into(self, w: np.ndarray, grad_out: np.ndarray) -> float:
        self.n_passes += 1
        return self._k_loss_grad(w, self.lam, grad_out, self.work)

    def _hvp_into(self, w: np.ndarray, v: np.ndarray, out: np.ndarray) -> None:
        self.n_passes += 1
        self._k_hvp(w, v, self.lam, out, self.work)

    def _hessian(self, w: np.ndarray) -> np.ndarray:
        if not self.data.in_memory:
            self.n_passes += 1
            return self._chunked.hessian(w, self.lam)
        d = np.empty(self.n_samples)
        self._k_hess_weights(w, d)
        self.n_passes += 1 + self._hess_weights_passes
        return self._gram(d, self.lam)

    @property
    def _hess_weights_passes(self) -> int:
        """Passes over X that computing the Hessian weights costs (0: constant curvature)."""
        return 0 if self.loss.constant_curvature else 1

    def _gram(self, d: np.ndarray, lam: float) -> np.ndarray:
        """``X~^T diag(d) X~ + lam I_n`` of shape (p, p) (one blocked pass)."""
        H = np.empty((self.n_params, self.n_params))
        self._k_weighted_gram(d, lam, H)
        return H

    # --- linear-model methods (docs/contract.md) -----------------------------------------

    def linear_predictor(self, w) -> np.ndarray:
        """``z = X w[:n] (+ w[n])``, a new array of shape (m,) (one pass over X)."""
        w = self.check_x(w, "w")
        z = np.empty(self.n_samples)
        self._k_matvec(w, z)
        self.n_passes += 1
        return z

    def grad_hess_weights(self, w) -> tuple[float, np.ndarray, np.ndarray]:
        """``(f, grad f, d)`` at ``w`` in one pass; ``d`` (m,) are the Hessian weights.

        ``hess f(w) = X~^T diag(d) X~ + lam I_n``, so :meth:`weighted_hvp` with this ``d``
        gives Hessian-vector products without recomputing the predictor (Newton-CG).
        """
        w = self.check_x(w, "w")
        g = np.empty(self.n_params)
        d = np.empty(self.n_samples)
        f = self._k_grad_hess_weights(w, self.lam, g, d, self.work)
        self.nfev += 1
        self.njev += 1
        self.n_passes += 1
        return f, g, d

    def weighted_hvp(self, d, v) -> np.ndarray:
        """``X~^T diag(d) X~ v + lam v[:n]``, a new array of shape (p,) (one pass)."""
        d = check_row_vector(d, self.n_samples, "d")
        v = self.check_x(v, "v")
        out = np.empty(self.n_params)
        self._k_weighted_hvp(d, v, self.lam, out, self.work)
        self.nhev += 1
        self.n_passes += 1
        return out

    def weighted_hvp_into(self, d: np.ndarray, v: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Solver fast path of :meth:`weighted_hvp` writing into ``out`` (p,)."""
        v = self._fast_x(v)
        self._check_out(out, "out")
        self._k_weighted_hvp(d, v, self.lam, out, self.work)
        self.nhev += 1
        self.n_passes += 1
        return out

    def weighted_gram(self, d) -> np.ndarray:
        """The Hessian ``X~^T diag(d) X~ + lam I_n`` from row weights ``d`` (one pass).

        With ``d`` the Hessian weights of :meth:`grad_hess_weights` this is the exact
        Hessian at that point (the intercept column of ones included, lam not applied to
        it), assembled by the blocked ``weighted_gram`` kernel: no m x n temporary.
        Counted as one Hessian evaluation and one pass over X.

        Parameters
        ----------
        d : array_like of shape (m,)
            Per-row weights (any real values; the result is symmetric, PSD when d >= 0).

        Returns
        -------
        ndarray of shape (p, p), a new array
        """
        d = check_row_vector(d, self.n_samples, "d")
        H = self._gram(d, self.lam)
        self.nhev += 1
        self.n_passes += 1
        return H

    def hessian_diagonal(self, d) -> np.ndarray:
        """``diag(X~^T diag(d) X~) + lam`` (lam not on the intercept), shape (p,): the
        Jacobi preconditioner of Newton-CG. One pass over X (counted).

        Entry j is ``sum_i d_i a_ij^2 + lam``; the intercept entry is ``sum_i d_i``.
        Dense X is squared block by block (a few MB at a time, no m x n temporary);
        for CSR X the squared nonzeros are computed once, on the first call (one more
        pass, counted then), and kept (nnz floats, sharing X's index arrays).

        Parameters
        ----------
        d : array_like of shape (m,)

        Returns
        -------
        ndarray of shape (p,), a new array
        """
        d = check_row_vector(d, self.n_samples, "d")
        n = self.n_features
        out = np.empty(self.n_params)
        X = self.data.host_X()
        if self.is_sparse:
            out[:n] = self._squared_csr().T @ d
        else:
            out[:n] = weighted_square_sums(X, d)
        out[:n] += self.lam
        if self.n_params > n:
            out[n] = float(np.einsum("i->", d))
        self.n_passes += 1
        return out

    def hessian_diagonal_at(self, w) -> np.ndarray:
        """The diagonal of the Hessian at ``w``, shape (p,): what :meth:`hessian_diagonal`
        gives from the Hessian weights at ``w``, computed in one pass (two in memory: the
        weights, then the squares). The form chunked data offer."""
        w = self.check_x(w, "w")
        if self.data.in_memory:
            d = np.empty(self.n_samples)
            self._k_hess_weights(w, d)
            self.n_passes += self._hess_weights_passes
            return self.hessian_diagonal(d)
        self.n_passes += 1
        return self._chunked.hessian_diagonal(w, self.lam)

    def _squared_csr(self):
        """CSR matrix of the squared entries of X (computed once, counted as a pass)."""
        if getattr(self, "_X_squared", None) is None:
            X = self.data.host_X()
            data = np.square(X.data, dtype=np.float64)
            self._X_squared = sp.csr_matrix((data, X.indices, X.indptr), shape=X.shape,
                                            copy=False)
            self.n_passes += 1
        return self._X_squared

    def dloss_from_predictor(self, z, out=None) -> np.ndarray:
        """``u_i = sw_i dl/dz (z_i, y_i)``, shape (m,), from the predictor ``z`` in O(m).

        ``grad f(w) = X~^T u + lam w[:n]``, and along a line w + t v the slope is
        ``<u(z + t X v), X v> + lam <w[:n] + t v[:n], v[:n]>``: a line search gets it
        without a pass over X. No evaluation is counted (no pass, not a full gradient).

        Parameters
        ----------
        z : array_like of shape (m,)
        out : ndarray of shape (m,), float64, optional
            Written and returned instead of a new array.
        """
        z = check_row_vector(z, self.n_samples, "z")
        if out is None:
            out = np.empty(self.n_samples)
        elif not (type(out) is np.ndarray and out.dtype == np.float64
                  and out.shape == (self.n_samples,)):
            raise ValueError(f"out must be a float64 array of shape ({self.n_samples},)")
        self._dloss_into(z, out)
        return out

    def loss_from_predictor(self, z, w) -> float:
        """f(w) from its predictor ``z = linear_predictor(w)`` in O(m), no pass over X.

        A line search along d needs f(w + t d) for several t: with ``zw`` and ``zd`` the
        predictors of w and d, ``z = zw + t zd`` (the predictor is linear in w), so each
        trial costs O(m) instead of a pass over X.
        """
        z = check_row_vector(z, self.n_samples, "z")
        w = self.check_x(w, "w")
        self.nfev += 1
        n = self.n_features
        return self._loss_terms_sum(z) + 0.5 * self.lam * float(np.dot(w[:n], w[:n]))

    def grad_from_predictor(self, z, w) -> np.ndarray:
        """grad f(w) from its predictor ``z``: one pass over X (``X~^T u + lam w[:n]``)."""
        z = check_row_vector(z, self.n_samples, "z")
        w = self.check_x(w, "w")
        g = np.empty(self.n_params)
        self._k_rmatvec(self.dloss_from_predictor(z), g, self.work)
        n = self.n_features
        g[:n] += self.lam * w[:n]
        self.njev += 1
        self.n_passes += 1
        return g

    def batch_loss_grad(self, w, rows) -> tuple[float, np.ndarray]:
        """Mini-batch estimate of ``(f(w), grad f(w))`` from the rows ``rows`` (no copy of X).

        With k = len(rows) rows drawn uniformly, each term ``sw_i l_i`` is scaled by m / k,
        so the estimate is unbiased for the full objective; the L2 term is exact.

        Parameters
        ----------
        w : array_like of shape (p,)
        rows : array_like of int, shape (k,), k >= 1
            Row indices in [0, m) (repetitions allowed).

        Returns
        -------
        f : float
        g : ndarray of shape (p,), a new array
        """
        w = self.check_x(w, "w")
        g = np.empty(self.n_params)
        return self.batch_loss_grad_into(w, rows, g), g

    def batch_loss_grad_into(self, w: np.ndarray, rows, grad_out: np.ndarray) -> float:
        """Solver fast path of :meth:`batch_loss_grad`; the gradient goes into ``grad_out``."""
        w = self._fast_x(w)
        self._check_out(grad_out, "grad_out")
        rows = check_row_indices(rows, self.n_samples)
        k = rows.shape[0]
        f = self._k_loss_grad_rows(w, self.lam, rows, self.n_samples / k, grad_out,
                                   self.work)
        self.nfev += 1
        self.njev += 1
        self.n_passes += k / self.n_samples
        return f

    # --- constants -----------------------------------------------------------------------

    def _max_eig_gram(self, d: np.ndarray | None = None, max_iter: int = 1000,
                      tol: float = 1e-10) -> float:
        """lambda_max(X~^T diag(d) X~) by power iteration (one pass per product); d = sw
        when None (the only weights chunked data take).

        Without an intercept this is the ``max_eig_gram`` kernel. With one, the column of
        ones is part of X~ (p = n + 1), so the same iteration runs here over the
        ``weighted_hvp`` kernel with lam = 0 (X is never copied to append the column).
        The start vector is fixed (seeded), so the result is reproducible. Power
        iteration approaches lambda_max from below; it stops when the Rayleigh quotient
        changes by at most ``tol`` relatively (:mod:`fastopt.problems._spectral`).
        """
        data = self.data
        if not data.in_memory:
            def matvec(v, out):
                self._chunked.sw_gram_product(v, out)
                self.n_passes += 1

            return power_iteration(matvec, start_vector(self.n_params), max_iter, tol)
        if d is None:
            d = self.sw
        return gram_max_eig(data.kernel("max_eig_gram"), data.kernel("weighted_hvp"),
                            data.args, d, self.n_features, self.fit_intercept, self.work,
                            max_iter, tol)

    def __repr__(self) -> str:
        kind = "CSR" if self.is_sparse else "dense"
        return (f"{type(self).__name__}(m={self.n_samples}, n={self.n_features}, {kind} "
                f"{self.dtype}, lam={self.lam:g}, fit_intercept={self.fit_intercept}, "
                f"backend={self.backend!r})")
