"""Checks shared by the chunked sources."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from .._validation import _all_finite

__all__ = ["check_block", "check_block_rows"]


def check_block_rows(block_rows) -> int:
    """``block_rows`` as a positive int, else a TypeError/ValueError naming it."""
    if isinstance(block_rows, bool) or not isinstance(block_rows, numbers.Integral):
        raise TypeError(f"block_rows must be a positive integer; got {block_rows!r}")
    if block_rows < 1:
        raise ValueError(f"block_rows must be >= 1; got {block_rows}")
    return int(block_rows)


def check_block(X, n_features: int, what: str) -> None:
    """Raise a ValueError naming ``what`` (a block) when its values or CSR structure are bad.

    Dense: NaN or infinity. CSR: a row-pointer array that does not start at 0, decrease
    anywhere or end at the number of stored values, column indices outside [0, n), and
    NaN or infinity among the values. The kernels trust all of this, so a block read from
    a file is checked before they see it.
    """
    if sp.issparse(X):
        indptr, indices, data = X.indptr, X.indices, X.data
        if indptr.shape[0] != X.shape[0] + 1 or indptr[0] != 0 \
                or indptr[-1] != data.shape[0] or indices.shape[0] != data.shape[0]:
            raise ValueError(f"{what} has a malformed CSR structure (row pointers "
                             f"{indptr.shape[0]}, values {data.shape[0]}, indices "
                             f"{indices.shape[0]})")
        if indptr.shape[0] > 1 and (np.diff(indptr) < 0).any():
            raise ValueError(f"{what} has decreasing CSR row pointers")
        if indices.shape[0] and (indices.min() < 0 or indices.max() >= n_features):
            raise ValueError(f"{what} has column indices outside [0, {n_features})")
        values = data
    else:
        values = X
    if not _all_finite(values):
        raise ValueError(f"{what} contains NaN or infinity")
