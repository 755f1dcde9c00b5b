"""Softmax-ReLU regression (Deng, Song, Xie, arXiv 2308.08358).

    u(x) = ReLU(A x),  f(x) = exp(u) / <exp(u), 1_n>,  c(x) = f(x) - b
    L(x) = 1/2 ||c||^2 + 1/2 ||W A x||^2,        W = diag(w)

with A of shape (n, d) (n rows a_i, d parameters), b and w of shape (n,). Value,
gradient, Hessian and Hessian-vector products are closed forms computed by the
``softmax_relu`` kernels (NumPy twins in ``fastopt.kernels.reference.softmax_relu``):

    grad L = A^T [ D_s (f o c - <f, c> f) + W^2 A x ]
    hess L = A^T (D_s B D_s + W^2) A = A^T (diag(h) + P C P^T) A

(D_s = diag(1[A x > 0]); B, h, P and C as in the kernels' docstring). The Hessian jumps
where the sign pattern of A x changes (ReLU'' = 0 almost everywhere), and so does the
gradient: it has neither of the protocol's constants (see :meth:`SoftmaxReLU.lipschitz`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..kernels import get_backend, resolve_backend
from ._validation import check_vector, refuse_masked
from .base import Objective

__all__ = ["SoftmaxReLU"]


def _check_matrix(A) -> np.ndarray:
    if sp.issparse(A):
        raise TypeError("A must be a dense array; a sparse matrix is not supported here "
                        "(A.toarray() if it fits)")
    refuse_masked(A, "A")
    arr = np.asarray(A)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"A must hold real numbers; got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"A must be a non-empty 2-D array of shape (n, d); got shape "
                         f"{arr.shape}")
    arr = np.array(arr, dtype=np.float64, order="C")  # a copy: user arrays stay untouched
    if not np.isfinite(arr).all():
        raise ValueError("A contains NaN or infinity")
    return arr


class SoftmaxReLU(Objective):
    """The softmax-ReLU regression loss L(x) of arXiv 2308.08358.

    Parameters
    ----------
    A : array_like of shape (n, d)
        Data matrix (copied, as float64).
    b : array_like of shape (n,)
        Target (the paper assumes ||b||_2 <= 1).
    w : array_like of shape (n,)
        Regularization weights, W = diag(w).
    backend : str
        ``"auto"`` (the default), ``"cython"``, ``"numba"`` or ``"numpy"``. ``"auto"``
        uses the Cython kernels, compiled when the package is installed (where they are
        not built, numba, then NumPy, with a :class:`~fastopt.kernels.FallbackWarning`):
        no call with default arguments compiles anything; numba by name only. The NumPy twin
        is the reference, not a default: its many small array operations per
        evaluation make it several times slower than the compiled loops at every size
        the tests, benchmarks and experiments use (from 20 x 5 to 20000 x 50). There is
        no CUDA twin: ``"cuda"`` is refused (``ValueError``).

    Attributes
    ----------
    A : ndarray of shape (n, d)
    b, w : ndarray of shape (n,)
    n_params : int
        d.

    Notes
    -----
    Passes over A counted in ``n_passes``: ``value`` 1 (A x), ``loss_grad`` 2 (A x, then
    A^T r), ``hvp`` 3 (A x, A v, A^T t), ``hessian`` and ``hessian_factors`` 2.

    The approximate Newton method (``fo.minimize(obj, x0, method="sketch-newton")``)
    samples rows for the diagonal part A^T diag(h) A and keeps the rank-2 part
    U C U^T (U = A^T P) exactly, solving by Cholesky and Woodbury. Where the
    (l, M)-good conditions hold (a minimizer with hess L >= l I, e.g. min_i w_i^2 >=
    ||B|| + l / sigma_min(A)^2, and a start with M ||x0 - x*|| <= 0.1 l) the iterates
    contract linearly as in the paper. Where they do not, the method still runs but
    nothing is guaranteed: if h has negative entries the sampled matrix need not be
    positive definite, and the solver then adds the smallest diagonal shift that makes
    the Cholesky factorization succeed (reported as ``damping``/``n_damped``); the
    unit step may increase L (use the option ``line_search=True``), and the iteration
    may stop with ``success=False`` (no convergence within ``max_iter``, or a line
    search that found no decrease) rather than reach a minimizer.

    :meth:`lipschitz` and :meth:`strong_convexity` raise ``NotImplementedError``: no
    constant exists. Across the hyperplane a_i^T x = 0 the gradient jumps by
    g_i a_i, where g = f o c - <f, c> f is the gradient of 1/2 ||c||^2 in u (the ReLU's
    derivative steps from 0 to 1 while u_i = 0 and f stay continuous), and g_i != 0 in
    general, so no finite L bounds ||grad L(x) - grad L(y)|| / ||x - y||. The entries of
    g sum to 0 (the entries of f do to 1), so some jumps go down: L has concave kinks and
    is not convex, and it is flat along the null space of A when n < d. Solvers that
    need L take a step size instead (``lr``; ``gd`` falls back to ``step="armijo"``), and
    :func:`fastopt.theory.lipschitz_estimate` gives the curvature at a point, the
    largest eigenvalue of the Hessian of the piece that holds it.
    """

    def __init__(self, A, b, w, backend: str = "auto") -> None:
        super().__init__()
        self.A = _check_matrix(A)
        n, d = self.A.shape
        self.b = check_vector(b, n, "b").copy()
        self.w = check_vector(w, n, "w").copy()
        if not isinstance(backend, str):
            raise TypeError(f"backend must be a string; got {backend!r}")
        resolved = resolve_backend(backend)
        if resolved == "cuda":  # by name, or "auto" under FASTOPT_BACKEND=cuda
            raise ValueError(f"SoftmaxReLU has no CUDA kernels (backend={backend!r}); use "
                             f"'auto', 'cython', 'numba' or 'numpy'")
        self.backend = resolved
        self.kernels = get_backend(resolved)
        self.n_samples = n
        self.n_params = d

    def _value(self, x):
        self.n_passes += 1
        return float(self.kernels.softmax_relu_loss(self.A, self.b, self.w, x))

    def _loss_grad_into(self, x, grad_out):
        self.n_passes += 2
        return float(self.kernels.softmax_relu_loss_grad(self.A, self.b, self.w, x,
                                                         grad_out))

    def _hvp_into(self, x, v, out):
        self.n_passes += 3
        self.kernels.softmax_relu_hvp(self.A, self.b, self.w, x, v, out)

    def _hessian(self, x):
        self.n_passes += 2
        H = np.empty((self.n_params, self.n_params))
        self.kernels.softmax_relu_hessian(self.A, self.b, self.w, x, H)
        return H

    def lipschitz(self) -> float:
        """Not provided: the gradient is discontinuous, so it has no Lipschitz constant.

        Raises
        ------
        NotImplementedError
            Always (see the class Notes); the solvers that ask for L then want a step
            size (``lr``).
        """
        raise NotImplementedError(
            "SoftmaxReLU has no Lipschitz constant of the gradient: the gradient jumps "
            "where a ReLU switches (a_i^T x = 0), so no finite L exists; give the solver "
            "a step size (lr) or a line search, or estimate the curvature at a point "
            "with fastopt.theory.lipschitz_estimate(objective, x)")

    def strong_convexity(self) -> float:
        """Not provided: the loss is not convex, so it has no strong-convexity constant.

        Raises
        ------
        NotImplementedError
            Always (see the class Notes).
        """
        raise NotImplementedError(
            "SoftmaxReLU has no strong-convexity constant: the loss is not convex (its "
            "gradient jumps down where some ReLUs switch on, and its Hessian can be "
            "indefinite) and is flat along the null space of A when n < d; estimate the "
            "curvature at a point with fastopt.theory.strong_convexity_estimate(objective, "
            "x)")

    def hessian_factors(self, x):
        """The Hessian as A^T diag(h) A + U C U^T.

        Parameters
        ----------
        x : array_like of shape (d,)

        Returns
        -------
        h : ndarray of shape (n,)
            Diagonal of the middle matrix: w^2 + s o ((2f - b) o f - <f - b, f> f).
        U : ndarray of shape (d, 2)
            A^T [s o f, s o v], v = (b - 2f) o f.
        C : ndarray of shape (2, 2)
            [[<3f - 2b, f>, 1], [1, 0]].
        """
        x = self.check_x(x)
        self.nhev += 1
        self.n_passes += 2
        h = np.empty(self.n_samples)
        P = np.empty((self.n_samples, 2))
        gamma = self.kernels.softmax_relu_hess_factors(self.A, self.b, self.w, x, h, P)
        U = self.A.T @ P
        C = np.array([[gamma, 1.0], [1.0, 0.0]])
        return h, U, C

    def __repr__(self) -> str:
        n, d = self.A.shape
        return f"SoftmaxReLU(n={n}, d={d}, backend={self.backend!r})"
