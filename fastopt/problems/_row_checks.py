"""Checks of per-row arguments of the linear-model methods: row indices and row vectors."""

from __future__ import annotations

import numpy as np

__all__ = ["check_row_indices", "check_row_vector"]


def check_row_indices(rows, m: int) -> np.ndarray:
    """Row indices of a mini-batch as C-contiguous int64 in [0, m), shape (k,), k >= 1."""
    if not (type(rows) is np.ndarray and rows.dtype == np.int64 and rows.ndim == 1
            and rows.flags.c_contiguous):
        arr = np.asarray(rows)
        if arr.size == 0:
            raise ValueError("rows is empty; a mini-batch needs at least one row")
        if arr.dtype.kind not in "iu":
            raise TypeError(f"rows must be integer row indices; got dtype {arr.dtype}")
        if arr.ndim != 1:
            raise ValueError(f"rows must be 1-D; got shape {arr.shape}")
        rows = np.ascontiguousarray(arr, dtype=np.int64)
    if rows.shape[0] == 0:
        raise ValueError("rows is empty; a mini-batch needs at least one row")
    if rows.min() < 0 or rows.max() >= m:
        raise ValueError(f"rows must lie in [0, {m}); got [{rows.min()}, {rows.max()}]")
    return rows


def check_row_vector(a, m: int, name: str) -> np.ndarray:
    """A vector of one value per row (weights d, predictor z) as aligned C-contiguous
    float64 of shape (m,) (``a`` itself when it already is one)."""
    if not (type(a) is np.ndarray and a.dtype == np.float64 and a.flags.c_contiguous
            and a.flags.aligned):
        arr = np.asarray(a)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers; got dtype {arr.dtype}")
        a = np.require(arr, dtype=np.float64, requirements=["C", "A"])
    if a.shape != (m,):
        raise ValueError(f"{name} must have shape ({m},); got {a.shape}")
    return a
