"""The passes of a linear objective over chunked data: block sums plus the penalty.

f(w) = sum_b f_b(w) + lam/2 ||w[:n]||^2 and its derivatives: each pass is one
:meth:`~fastopt.problems.chunked.base.ChunkedLinearData.reduce` of a per-block task
(:mod:`fastopt.problems.chunked.tasks`, lam = 0 there), then the penalty's term, added
once. :class:`~fastopt.problems.linear_objective.LinearObjective` binds these in place of
its kernels when it holds chunked data.
"""

from __future__ import annotations

import numpy as np

from . import tasks

__all__ = ["ChunkedPasses", "add_ridge"]


def add_ridge(H: np.ndarray, lam: float, n: int) -> None:
    """``H[:n, :n] += lam I_n`` in place (the intercept is not penalized)."""
    idx = np.arange(n)
    H[idx, idx] += lam


class ChunkedPasses:
    """f, grad f, H v, H and diag H of a linear model whose X is read in row blocks.

    Parameters
    ----------
    data : ChunkedLinearData
    code : int
        The loss code (:mod:`fastopt.kernels.losses`).
    n_params : int
        p = n + fit_intercept.
    """

    def __init__(self, data, code: int, n_params: int) -> None:
        self.data = data
        self.code = code
        self.n = data.n_features
        self.p = n_params

    def _penalty(self, w: np.ndarray, lam: float) -> float:
        u = w[:self.n]
        return 0.5 * lam * float(np.dot(u, u))

    def loss(self, w: np.ndarray, lam: float) -> float:
        """f(w)."""
        return float(self.data.reduce(tasks.loss, self.code, w)[0]) + self._penalty(w, lam)

    def loss_grad(self, w: np.ndarray, lam: float, grad_out: np.ndarray) -> float:
        """f(w), with grad f(w) written into ``grad_out`` (p,)."""
        total = self.data.reduce(tasks.loss_grad, self.code, w)
        grad_out[:] = total[:-1]
        grad_out[:self.n] += lam * w[:self.n]
        return float(total[-1]) + self._penalty(w, lam)

    def hvp(self, w: np.ndarray, v: np.ndarray, lam: float, out: np.ndarray) -> None:
        """``hess f(w) v`` into ``out`` (p,)."""
        out[:] = self.data.reduce(tasks.hvp, self.code, w, v)
        out[:self.n] += lam * v[:self.n]

    def hessian(self, w: np.ndarray, lam: float) -> np.ndarray:
        """``hess f(w)``, a new array of shape (p, p)."""
        H = self.data.reduce(tasks.hessian, self.code, w).reshape(self.p, self.p)
        add_ridge(H, lam, self.n)
        return H

    def hessian_diagonal(self, w: np.ndarray, lam: float) -> np.ndarray:
        """``diag hess f(w)``, a new array of shape (p,)."""
        out = self.data.reduce(tasks.hessian_diagonal, self.code, w)
        out[:self.n] += lam
        return out

    def sw_gram(self, lam: float) -> np.ndarray:
        """``X~^T diag(sw) X~ + lam I_n``, a new array of shape (p, p)."""
        H = self.data.reduce(tasks.sw_gram, self.p).reshape(self.p, self.p)
        add_ridge(H, lam, self.n)
        return H

    def sw_gram_product(self, v: np.ndarray, out: np.ndarray) -> None:
        """``X~^T diag(sw) X~ v`` into ``out`` (p,)."""
        out[:] = self.data.reduce(tasks.sw_gram_product, v)
