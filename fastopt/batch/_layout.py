"""The K problems of a batch, from the user's arrays to the kernels' flat layout.

Three input forms, one layout (see ``batch_newton`` in ``fastopt/kernels``):

- **stacked**: X of shape (K, m, n), y of shape (K, m): problem k's rows are the slab
  ``X[k]``, contiguous in ``X.reshape(K m, n)`` (a view, nothing copied);
- **groups**: X of shape (m, n), y of shape (m,) and a group id per row: problem k holds
  the rows of the k-th group, addressed through a row index (a stable sort of the ids),
  so X is not copied;
- **shared**: X of shape (m, n) and K targets (y of shape (m, K)) or K weight vectors
  (sample_weight of shape (K, m)): every problem reads all of X; rows of zero weight are
  left out through the row index.

Targets and weights are laid out per problem (``y_start[k]`` onwards), the weights
normalized to sum 1 in each problem. Problems that cannot be solved (NaN or inf in their
data, no rows or no weight, a single class) get their status here and are skipped by the
kernel; one bad problem never touches the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .._memory import check_fits
from .._solver_choice import dense_copy_pays
from ..kernels.batch_codes import BAD_INPUT, EMPTY, ONE_CLASS, PENDING
from ..problems._validation import (
    _all_finite,
    _check_numeric_dtype,
    _target_float_dtype,
    check_data,
    check_sparse_structure,
    refuse_masked,
)

__all__ = ["CsrArrays", "Layout", "layout"]


class CsrArrays(NamedTuple):
    """Canonical CSR arrays as the kernels take them (float64 data, int64 indices)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]


@dataclass
class Layout:
    """The flat arrays a ``batch_newton`` kernel reads (see the module docstring)."""

    X: object                 # ndarray (M, n) float32/float64, or CsrArrays
    rows: np.ndarray          # int64 (R,): row indices into X, empty when contiguous
    x_start: np.ndarray       # int64 (K,)
    n_rows: np.ndarray        # int64 (K,)
    y: np.ndarray             # float64, per problem from y_start
    sw: np.ndarray            # float64, normalized per problem
    y_start: np.ndarray       # int64 (K,)
    weight_sum: np.ndarray    # float64 (K,): each problem's weight before normalization
    status: np.ndarray        # int32 (K,): PENDING or the reason a problem is skipped
    groups: np.ndarray | None  # the group id of each problem (groups form only)
    n_features: int
    shared_rows: bool = False  # the same rows and weights in every problem (shared X)


def _float_array(a, name: str, ndim: tuple[int, ...]) -> np.ndarray:
    refuse_masked(a, name)
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} could not be converted to a numeric array: {exc}") from exc
    _check_numeric_dtype(arr.dtype, name)
    if arr.ndim not in ndim:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndim))} dimensions; got "
                         f"shape {arr.shape}")
    dtype = _target_float_dtype(arr.dtype, None)
    if arr.dtype != dtype or not (arr.flags.c_contiguous and arr.flags.aligned):
        # a copy is coming: refuse one that cannot fit (a broadcast view can claim any size)
        check_fits(float(arr.size) * dtype.itemsize, f"{name} of shape {arr.shape}")
    return np.require(arr, dtype=dtype, requirements=["C", "A"])


def _matrix(X, name: str = "X"):
    """2-D X in the kernels' layout (dense C-contiguous float32/float64, or canonical CSR
    with float64 data and int64 indices) and, bool (m,), which of its rows are finite.
    Rows with NaN or inf are kept (zeroed in a copy for sparse X); their problems are
    skipped."""
    if sp.issparse(X):
        X = check_sparse_structure(X, name).tocsr()
        row_ok = np.ones(X.shape[0], dtype=bool)
        data = np.asarray(X.data)
        if data.dtype.kind in "fc" and not np.isfinite(data).all():
            bad = ~np.isfinite(data)
            row_ok[np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))[bad]] = False
            X = X.copy()  # the user's matrix is never written
            X.data[bad] = 0.0
        X = check_data(X, name, dtype=np.float64)
        if dense_copy_pays(X):
            return np.ascontiguousarray(X.toarray()), row_ok
        # int64 indices kept apart: scipy would narrow them back to int32 in a matrix
        return CsrArrays(X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64),
                         X.shape), row_ok
    arr = _float_array(X, name, (2,))
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {arr.shape})")
    return arr, _finite_rows(arr)


def _finite_rows(a: np.ndarray) -> np.ndarray:
    """bool, a's shape without its last axis: which rows hold no NaN or inf (a row-sized
    temporary only when some value is not finite)."""
    if _all_finite(a):
        return np.ones(a.shape[:-1], dtype=bool)
    return np.isfinite(a).all(axis=-1)


def _status(per_problem, n_rows, weight_sum, row_ok, positive, weighted, binary):
    """Each problem's status from per-row facts, added up per problem by ``per_problem``
    (a bincount over group codes, or a sum over a (K, m) axis): PENDING, or why the
    problem is not solved (bad input before empty before one class)."""
    status = np.full(n_rows.size, PENDING, dtype=np.int32)
    if binary:
        one_class = (per_problem(positive & weighted) == 0) \
            | (per_problem(~positive & weighted) == 0)
        status[one_class] = ONE_CLASS
    status[(n_rows == 0) | ~(weight_sum > 0)] = EMPTY
    status[per_problem(~row_ok) > 0] = BAD_INPUT
    return status


def _scale(weight_sum: np.ndarray) -> np.ndarray:
    """What each problem's weights are divided by (1 for a problem without weight)."""
    return np.where(weight_sum > 0, weight_sum, 1.0)


def _targets(y, binary: bool, counts: bool, name: str = "y"):
    """(float64 targets for the kernel, finite mask, positive-class mask, classes)."""
    y = np.asarray(y)
    refuse_masked(y, name)
    if binary:
        if y.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numeric or boolean labels; got dtype {y.dtype}")
        finite = np.isfinite(y) if y.dtype.kind == "f" else np.ones(y.shape, dtype=bool)
        if y.dtype == bool:  # the common case, without sorting every label
            classes = np.flatnonzero([not y.all(), y.any()]).astype(bool)
        else:
            classes = np.unique(y[finite])
        if classes.size > 2:
            raise ValueError(f"{name} holds {classes.size} distinct labels "
                             f"({classes[:5].tolist()}...); batched logistic fits take two "
                             "classes (the larger one is the positive class)")
        positive = (y == classes[-1]) & finite if classes.size == 2 else np.zeros(y.shape, bool)
        return np.where(positive, 1.0, -1.0), finite, positive, classes
    _check_numeric_dtype(y.dtype, name)
    values = y.astype(np.float64)
    finite = np.isfinite(values)
    if counts and np.any(values[finite] < 0):
        raise ValueError(f"{name} must hold counts >= 0 for the Poisson loss")
    return values, finite, None, None


def _weights(sample_weight, shape, name="sample_weight"):
    if sample_weight is None:
        return np.ones(shape), np.ones(shape, dtype=bool)
    sw = np.asarray(sample_weight)
    refuse_masked(sw, name)
    _check_numeric_dtype(sw.dtype, name)
    sw = sw.astype(np.float64)
    finite = np.isfinite(sw)
    if np.any(sw[finite] < 0):
        raise ValueError(f"{name} must be >= 0; it holds negative weights")
    return sw, finite


def layout(X, y, *, groups=None, n_groups=None, sample_weight=None, binary=False,
           counts=False) -> tuple[Layout, np.ndarray | None]:
    """The batch's :class:`Layout` and, for logistic fits, the two class labels."""
    if not sp.issparse(X) and np.ndim(X) == 3:
        if groups is not None:
            raise ValueError("groups apply to a 2-D X; X of shape (K, m, n) already holds "
                             "one problem per slab")
        return _stacked(X, y, sample_weight, binary, counts)
    if groups is not None:
        return _grouped(X, y, groups, n_groups, sample_weight, binary, counts)
    return _shared(X, y, sample_weight, binary, counts)


def _stacked(X, y, sample_weight, binary, counts):
    X3 = _float_array(X, "X", (3,))
    K, m, n = X3.shape
    if n == 0:
        raise ValueError(f"X has no columns (shape {X3.shape})")
    yv = np.asarray(y)
    if yv.shape != (K, m):
        raise ValueError(f"y must have shape (K, m) = {(K, m)} for X of shape {X3.shape}; "
                         f"got {yv.shape}")
    targets, y_ok, positive, classes = _targets(yv, binary, counts)
    sw, sw_ok = _weights(sample_weight, (K, m))
    if sw.shape != (K, m):
        raise ValueError(f"sample_weight must have shape {(K, m)}; got {sw.shape}")
    row_ok = _finite_rows(X3) & y_ok & sw_ok
    sw = np.where(sw_ok, sw, 0.0)
    weight_sum = sw.sum(axis=1)
    n_rows = np.full(K, m, dtype=np.int64)
    status = _status(lambda v: v.sum(axis=1), n_rows, weight_sum, row_ok, positive, sw > 0,
                     binary)
    start = np.arange(K, dtype=np.int64) * m
    return Layout(X3.reshape(K * m, n), np.empty(0, np.int64), start, n_rows,
                  targets.reshape(-1), (sw / _scale(weight_sum)[:, None]).reshape(-1),
                  start, weight_sum, status, None, n), classes


def _grouped(X, y, groups, n_groups, sample_weight, binary, counts):
    X2, row_finite = _matrix(X)
    m, n = X2.shape
    ids = np.asarray(groups)
    refuse_masked(ids, "groups")
    if ids.shape != (m,):
        raise ValueError(f"groups must have shape (m,) = ({m},); got {ids.shape}")
    if n_groups is None:
        group_ids, codes = np.unique(ids, return_inverse=True)
        K = group_ids.size
    else:
        if ids.dtype.kind not in "iu" or (m and (ids.min() < 0 or ids.max() >= n_groups)):
            raise ValueError(f"with n_groups={n_groups}, groups must hold integers in "
                             f"[0, {n_groups})")
        K, codes, group_ids = int(n_groups), ids.astype(np.int64), np.arange(n_groups)
    targets, y_ok, positive, classes = _targets(_as_vector(y, m, "y"), binary, counts)
    sw, sw_ok = _weights(sample_weight, (m,))
    if sw.shape != (m,):
        raise ValueError(f"sample_weight must have shape ({m},); got {sw.shape}")
    row_ok = row_finite & y_ok & sw_ok
    sw = np.where(sw_ok, sw, 0.0)
    order = np.argsort(codes, kind="stable").astype(np.int64)
    n_rows = np.bincount(codes, minlength=K).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(n_rows)[:-1]]).astype(np.int64)
    weight_sum = np.bincount(codes, weights=sw, minlength=K)
    status = _status(lambda v: np.bincount(codes, weights=v, minlength=K), n_rows,
                     weight_sum, row_ok, positive, sw > 0, binary)
    sw_sorted = sw[order] / _scale(weight_sum)[codes[order]]
    return Layout(X2, order, start, n_rows, targets[order], sw_sorted, start, weight_sum,
                  status, group_ids, n), classes


def _shared(X, y, sample_weight, binary, counts):
    X2, row_finite = _matrix(X)
    m, n = X2.shape
    if not row_finite.all():
        raise ValueError("X contains NaN or infinity; with one X shared by every problem "
                         "no problem can be solved")
    yv = np.asarray(y)
    sw_in = None if sample_weight is None else np.asarray(sample_weight)
    if yv.ndim == 2:
        if yv.shape[0] != m:
            raise ValueError(f"y of shape {yv.shape}: K targets on one X of shape {X2.shape} "
                             f"come as shape (m, K) = ({m}, K)")
        K = yv.shape[1]
        Y = yv.T
    elif yv.shape == (m,):
        if sw_in is None or sw_in.ndim != 2:
            raise ValueError("a 2-D X with a 1-D y is one problem: give groups, K targets "
                             "(y of shape (m, K)), K weight vectors (sample_weight of shape "
                             "(K, m)), or X of shape (K, m, n)")
        K = sw_in.shape[0]
        Y = np.broadcast_to(yv, (K, m))
    else:
        raise ValueError(f"y must have shape (m,) or (m, K) with m = {m}; got {yv.shape}")
    targets, y_ok, positive, classes = _targets(Y, binary, counts)
    sw, sw_ok = _weights(sample_weight, (K, m))
    try:
        sw = np.broadcast_to(sw, (K, m))
        sw_ok = np.broadcast_to(sw_ok, (K, m))
    except ValueError:
        raise ValueError(f"sample_weight must have shape ({m},) or (K, m) = ({K}, {m}); "
                         f"got {sw.shape}") from None
    shared_rows = sw_in is None or sw_in.ndim < 2  # every problem weighs the rows alike
    keep = (sw > 0) & sw_ok
    n_rows = keep.sum(axis=1).astype(np.int64)
    check_fits(8.0 * 3 * n_rows.sum(), f"{K} problems of up to {m} rows (their targets, "
               "weights and row indices)")
    weight_sum = np.where(keep, sw, 0.0).sum(axis=1)
    status = _status(lambda v: v.sum(axis=1), n_rows, weight_sum, y_ok & sw_ok, positive,
                     keep, binary)
    start = np.concatenate([[0], np.cumsum(n_rows)[:-1]]).astype(np.int64)
    scale = _scale(weight_sum)
    if keep.all():
        rows = np.empty(0, np.int64)
        x_start = np.zeros(K, dtype=np.int64)
    elif shared_rows:  # one index of the kept rows serves every problem
        rows = np.flatnonzero(keep[0]).astype(np.int64)
        x_start = np.zeros(K, dtype=np.int64)
    else:
        rows = np.nonzero(keep)[1].astype(np.int64)
        x_start = start
    problem = np.nonzero(keep)[0]
    flat_y = np.ascontiguousarray(targets)[keep]
    flat_sw = sw[keep] / scale[problem]
    return Layout(X2, rows, x_start, n_rows, flat_y, flat_sw, start, weight_sum, status,
                  None, n, shared_rows), classes


def _as_vector(y, m, name):
    arr = np.asarray(y)
    if arr.shape != (m,):
        raise ValueError(f"{name} must have shape ({m},) to match X; got {arr.shape}")
    return arr
