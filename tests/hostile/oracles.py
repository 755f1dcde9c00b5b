"""What a correct answer is, computed without fastopt, for the hostile-input suite.

Each oracle takes the raw pieces a case was built from and returns the value a valid
input stands for (a dense matrix, labels), or None when the input is malformed and a
clear error is the only right answer.
"""

from __future__ import annotations

import numpy as np


def compressed_to_dense(major: int, minor: int, data, indices, indptr):
    """The dense (major, minor) matrix that CSR-like arrays describe, or None if malformed.

    Valid: 1-D integer index arrays, ``indptr`` of major + 1 entries from 0, non-decreasing,
    ending within ``indices`` and ``data``; every used index in [0, minor); every used value
    finite. Duplicates add up (scipy's convention).
    """
    data, indices, indptr = (np.asarray(a) for a in (data, indices, indptr))
    if indptr.ndim != 1 or indices.ndim != 1 or data.ndim != 1:
        return None
    if indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu":
        return None
    if data.dtype.kind not in "biuf":
        return None
    if indptr.shape[0] != major + 1 or indptr[0] != 0 or (indptr[1:] < indptr[:-1]).any():
        return None
    nnz = int(indptr[-1])
    if indices.shape[0] < nnz or data.shape[0] < nnz:
        return None
    used, values = indices[:nnz].astype(np.int64), data[:nnz].astype(np.float64)
    if nnz and (used.min() < 0 or used.max() >= minor):
        return None
    if not np.isfinite(values).all():
        return None
    dense = np.zeros((major, minor))
    for row in range(major):
        for k in range(int(indptr[row]), int(indptr[row + 1])):
            dense[row, used[k]] += values[k]
    return dense


def dense_data(X):
    """X as float64 if it is a valid data matrix (2-D, non-empty, real numbers, finite)."""
    if not isinstance(X, np.ndarray) or X.ndim != 2 or 0 in X.shape:
        return None
    if X.dtype.kind not in "biuf":
        return None
    out = X.astype(np.float64)
    return out if np.isfinite(out).all() else None


def binary_labels(y, m: int):
    """y mapped to {-1, +1} (the larger class +1) if it is valid binary labels for m rows."""
    if not isinstance(y, np.ndarray) or y.ndim != 1 or y.shape[0] != m:
        return None
    if y.dtype.kind not in "biuf":
        return None
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        return None
    values = np.unique(y)
    if values.size != 2:
        return None
    return np.where(y == values[1], 1.0, -1.0)


def logistic_value_grad(X, b, w, lam: float):
    """Mean logistic loss plus (lam / 2) ||w||^2, and its gradient (no intercept)."""
    z = b * (X @ w)
    value = np.mean(np.logaddexp(0.0, -z)) + 0.5 * lam * (w @ w)
    grad = X.T @ (-b * np.exp(-np.logaddexp(0.0, z))) / X.shape[0] + lam * w
    return value, grad
