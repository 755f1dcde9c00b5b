"""The passes over one row block: what a chunked pass runs on every block, then sums.

Every pass of a linear model is a sum over rows, so over row blocks B_1..B_K

    f(w)      = sum_b f_b(w) + lam/2 ||w[:n]||^2,   f_b(w) = sum_{i in B_b} sw_i l(z_i, y_i)
    grad f(w) = sum_b X~_b^T u_b + lam w[:n]
    H v       = sum_b X~_b^T diag(d_b) X~_b v + lam v[:n]
    H         = sum_b X~_b^T diag(d_b) X~_b + lam I_n

with the weights sw normalized over all m rows. Each task below computes one block's term
with the backend's own kernels (lam = 0: the penalty is added once, after the sum) and
returns it as one float64 array, so that every reduction is an elementwise sum of arrays
whatever the pass. The tasks are plain module-level functions of picklable arguments: a
Dask worker runs them on the blocks it holds.
"""

from __future__ import annotations

import numpy as np

from .._squares import weighted_square_sums
from ..linear_data import LinearData

__all__ = ["block_data", "hessian", "hessian_diagonal", "hvp", "loss", "loss_grad", "sw_gram",
           "sw_gram_product"]


def block_data(X, y: np.ndarray, sw: np.ndarray, backend: str) -> LinearData:
    """One block's rows as a :class:`LinearData` (trusted: the block was validated)."""
    return LinearData(X, y, sw, backend)


def loss(block: LinearData, code: int, w: np.ndarray) -> np.ndarray:
    """``[f_b(w)]``, shape (1,)."""
    f = block.kernel("linear_loss")(code, *block.args, block.kernel_y, block.kernel_sw, w,
                                    0.0, block.make_work(w.shape[0]))
    return np.array([f])


def loss_grad(block: LinearData, code: int, w: np.ndarray) -> np.ndarray:
    """``[grad f_b(w), f_b(w)]``, shape (p + 1,): the gradient's p entries, then f_b."""
    p = w.shape[0]
    out = np.empty(p + 1)
    out[p] = block.kernel("linear_loss_grad")(code, *block.args, block.kernel_y,
                                              block.kernel_sw, w, 0.0, out[:p],
                                              block.make_work(p))
    return out


def hvp(block: LinearData, code: int, w: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``X~_b^T diag(d_b(w)) X~_b v``, shape (p,)."""
    p = w.shape[0]
    out = np.empty(p)
    block.kernel("linear_hvp")(code, *block.args, block.kernel_y, block.kernel_sw, w, v, 0.0,
                               out, block.make_work(p))
    return out


def hessian(block: LinearData, code: int, w: np.ndarray) -> np.ndarray:
    """``X~_b^T diag(d_b(w)) X~_b``, flattened to shape (p * p,)."""
    return _gram(block, _hess_weights(block, code, w), w.shape[0])


def sw_gram(block: LinearData, p: int) -> np.ndarray:
    """``X~_b^T diag(sw_b) X~_b``, flattened to shape (p * p,) (p = n + intercept)."""
    return _gram(block, block.sw, p)


def sw_gram_product(block: LinearData, v: np.ndarray) -> np.ndarray:
    """``X~_b^T diag(sw_b) X~_b v``, shape (p,): one step of the power iteration of L."""
    out = np.empty(v.shape[0])
    block.kernel("weighted_hvp")(*block.args, block.sw, v, 0.0, out,
                                 block.make_work(v.shape[0]))
    return out


def _gram(block: LinearData, d: np.ndarray, p: int) -> np.ndarray:
    H = np.empty((p, p))
    block.kernel("weighted_gram")(*block.args, d, 0.0, H)
    return H.reshape(-1)


def hessian_diagonal(block: LinearData, code: int, w: np.ndarray) -> np.ndarray:
    """The diagonal of ``X~_b^T diag(d_b(w)) X~_b``, shape (p,)."""
    d = _hess_weights(block, code, w)
    n = block.n_features
    out = np.empty(w.shape[0])
    out[:n] = weighted_square_sums(block.X, d)
    if w.shape[0] > n:
        out[n] = float(np.einsum("i->", d))
    return out


def _hess_weights(block: LinearData, code: int, w: np.ndarray) -> np.ndarray:
    d = np.empty(block.n_samples)
    block.kernel("linear_hess_weights")(code, *block.args, block.kernel_y, block.kernel_sw,
                                        w, d)
    return d
