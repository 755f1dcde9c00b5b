"""Weighted sums of squared entries of X: the diagonal of ``X^T diag(d) X``."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["weighted_square_sums"]


def weighted_square_sums(X, d: np.ndarray) -> np.ndarray:
    """``sum_i d_i X_ij^2`` for every column j, shape (n,), float64.

    Dense X is squared a few MB at a time (no m x n temporary); CSR X through its
    squared values (nnz floats, sharing X's index arrays).

    Parameters
    ----------
    X : ndarray of shape (m, n), or CSR matrix
    d : ndarray of shape (m,), float64
    """
    m, n = X.shape
    if sp.issparse(X):
        squared = sp.csr_matrix((np.square(X.data, dtype=np.float64), X.indices, X.indptr),
                                shape=X.shape, copy=False)
        return np.asarray(squared.T @ d, dtype=np.float64).reshape(n)
    block = max(1, (1 << 19) // max(n, 1))  # 4 MB of squares per block
    acc = np.zeros(n)
    sq = None
    for start in range(0, m, block):
        Xb = X[start:start + block]
        if sq is None or sq.shape != Xb.shape:
            sq = np.empty(Xb.shape)
        np.square(Xb, out=sq, dtype=np.float64)
        acc += d[start:start + block] @ sq
    return acc
