"""Checks shared by the chunked sources."""

from __future__ import annotations

import numbers

import scipy.sparse as sp

from .._validation import _all_finite, check_sparse_structure

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

    Dense: NaN or infinity. CSR: the structure checks every sparse input gets
    (:func:`fastopt.problems._validation.check_sparse_structure`: row pointers from 0,
    never decreasing, ending within the stored values; column indices in [0, n)), then
    NaN or infinity among the values. The kernels trust all of this, so a block read from
    a file is checked before they see it.
    """
    if sp.issparse(X):
        check_sparse_structure(X, what)
        values = X.data[:int(X.indptr[-1])]
    else:
        values = X
    if not _all_finite(values):
        raise ValueError(f"{what} contains NaN or infinity")
