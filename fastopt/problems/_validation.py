"""Checks at the API boundary of the objectives.

Every function here takes what a user passed, refuses what the kernels cannot take with
a ``ValueError`` (or a ``TypeError`` for a non-numeric dtype) whose message names the
argument, and returns arrays in the one layout the kernels trust:

* dense data: a C-contiguous, native-byte-order float64 (or float32) ndarray;
* sparse data: a canonical scipy CSR matrix (sorted indices, no duplicates) with
  float32/float64 data and matching int32/int64 index arrays;
* vectors: C-contiguous native float64.

User arrays are never modified: every conversion that has to change something
(dtype, order, byte order, sorting of CSR indices, summing duplicates) works on a copy.
An input already in the canonical layout is used as it is, without a copy (the kernels
only read it), so a 10^8-row matrix is never duplicated; a read-only input (for example a
memory-mapped file) stays read-only.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import scipy.sparse as sp

from .._memory import check_fits

__all__ = [
    "check_binary_labels",
    "check_data",
    "check_dtype_option",
    "check_lam",
    "check_real_targets",
    "check_sample_weight",
    "check_sparse_structure",
    "check_vector",
]

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# Dense float64 vectors of n_features entries a fit may hold at once (iterate, gradient,
# directions, solver state, reduction rows): the bound behind the column-count check.
_VECTORS_PER_COLUMN = 16
# Column vectors smaller than this in all are not checked against the available memory.
_UNCHECKED_BYTES = 1 << 24

# Rows per block when a whole-array finiteness test overflowed and must be redone exactly:
# bounds the temporary boolean array to a few MB whatever the size of X.
_FINITE_BLOCK_ELEMENTS = 1 << 22


def _check_numeric_dtype(dtype: np.dtype, name: str) -> None:
    """TypeError unless ``dtype`` is boolean, integer or real floating point."""
    if dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers (bool, integer or float); got dtype {dtype}"
        )


def _target_float_dtype(dtype: np.dtype, forced: np.dtype | None) -> np.dtype:
    """float32 stays float32 (halves the memory traffic); everything else is float64."""
    if forced is not None:
        return forced
    if dtype.kind == "f" and dtype.itemsize == 4:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _all_finite(a: np.ndarray) -> bool:
    """Whether every entry of the float array ``a`` is finite, without an a-sized temporary.

    Any NaN or inf makes the sum NaN or inf, so a finite sum proves finiteness; a sum
    that overflowed on finite values is redone block by block.
    """
    if a.size == 0:
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(float(np.sum(a, dtype=np.float64))):
            return True
    flat = a.reshape(-1) if a.flags.c_contiguous else a.ravel(order="K")
    for start in range(0, flat.size, _FINITE_BLOCK_ELEMENTS):
        if not np.isfinite(flat[start:start + _FINITE_BLOCK_ELEMENTS]).all():
            return False
    return True


def refuse_masked(a, name: str) -> None:
    """ValueError for a masked array with masked entries: NumPy's conversions would use the
    values hidden under the mask as if they were data."""
    if isinstance(a, np.ma.MaskedArray) and np.ma.getmaskarray(a).any():
        raise ValueError(f"{name} is a masked array with masked entries; fill or drop them "
                         f"first (for instance {name}.filled(value))")


def check_dtype_option(dtype) -> np.dtype | None:
    """Validate the ``dtype=`` option of an objective: None, float32 or float64."""
    if dtype is None:
        return None
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"dtype must be None, float32 or float64; got {dtype!r}") from exc
    if dt not in _FLOAT_DTYPES:
        raise ValueError(f"dtype must be None, float32 or float64; got {dtype!r}")
    return dt


def check_data(X, name: str = "X", dtype=None):
    """Validate a data matrix and return it in the layout the kernels trust.

    Parameters
    ----------
    X : array_like of shape (m, n) or scipy sparse matrix/array
        Data rows a_i. Dense input of any order, stride, byte order, with a bool,
        integer or float dtype is accepted; sparse input of any format.
    name : str
        Argument name used in error messages.
    dtype : None, numpy.float32 or numpy.float64
        Force the floating dtype. None keeps float32 input as float32 and converts
        everything else to float64.

    Returns
    -------
    ndarray of shape (m, n) or scipy.sparse.csr_matrix of shape (m, n)
        Dense: C-contiguous native float32/float64 (``X`` itself when it already was
        one, else a converted copy). Sparse: canonical CSR (sorted indices,
        no duplicates), a copy whenever anything had to change.

    Raises
    ------
    TypeError
        Non-numeric dtype (object, string, complex, ...).
    ValueError
        Not 2-D, no rows or no columns, NaN or inf entries.
    """
    forced = check_dtype_option(dtype)
    refuse_masked(X, name)
    if sp.issparse(X):
        return _check_sparse(X, name, forced)
    if isinstance(X, np.ndarray):
        arr = X
    else:
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} could not be converted to a numeric array: {exc}") from exc
    _check_numeric_dtype(arr.dtype, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (m, n); got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); it needs at least one row "
                         "and one column")
    target = _target_float_dtype(arr.dtype, forced)
    # require copies only when dtype, byte order, layout or alignment differ from the
    # target (an array unpickled from a message buffer can sit at any offset, and the
    # compiled kernels take aligned arrays only).
    out = np.require(arr, dtype=target, requirements=["C", "A"])
    if not _all_finite(out):
        raise ValueError(f"{name} contains NaN or infinity")
    return out


def _check_compressed(X, name: str) -> None:
    """ValueError unless the CSR/CSC/BSR arrays of ``X`` describe a valid matrix.

    Checked in O(nnz + m), without writing to the user's arrays, before anything (scipy's
    own conversions included) reads ``indices`` through ``indptr``: 1-D integer index
    arrays, ``indptr`` of length (major dimension + 1) that starts at 0, never decreases
    and ends within ``indices`` and ``data``, and every index in [0, minor dimension).
    A malformed matrix reaching a compiled loop would read out of bounds (a segfault) or,
    with a decreasing ``indptr``, fit garbage.
    """
    fmt = X.format
    if fmt == "bsr":
        r, c = X.blocksize
        major, minor = X.shape[0] // r, X.shape[1] // c
    elif fmt == "csc":
        minor, major = X.shape
    else:
        major, minor = X.shape
    data, indices, indptr = X.data, X.indices, X.indptr
    what = f"{name} ({fmt.upper()} sparse matrix)"
    for label, arr in (("indices", indices), ("indptr", indptr)):
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise ValueError(f"{what}: {label} must be a 1-D integer array; got "
                             f"{getattr(arr, 'dtype', type(arr))} of shape "
                             f"{getattr(arr, 'shape', '?')}")
    if indptr.shape[0] != major + 1:
        raise ValueError(f"{what}: indptr has {indptr.shape[0]} entries; a matrix of shape "
                         f"{X.shape} needs {major + 1}")
    if indptr[0] != 0:
        raise ValueError(f"{what}: indptr must start at 0; got {indptr[0]}")
    # A comparison, not np.diff: a difference of unsigned integers wraps and is never < 0.
    falls = indptr[1:] < indptr[:-1]
    if falls.any():
        at = int(np.flatnonzero(falls)[0])
        raise ValueError(f"{what}: indptr must be non-decreasing; indptr[{at + 1}] = "
                         f"{indptr[at + 1]} < indptr[{at}] = {indptr[at]}")
    data_ndim = 3 if fmt == "bsr" else 1  # BSR: one (r, c) block per stored entry
    if not isinstance(data, np.ndarray) or data.ndim != data_ndim:
        raise ValueError(f"{what}: data must be a {data_ndim}-D array; got shape "
                         f"{getattr(data, 'shape', '?')}")
    nnz = int(indptr[-1])
    data_len = data.shape[0]
    if indices.shape[0] < nnz or data_len < nnz:
        raise ValueError(f"{what}: indptr ends at {nnz} but indices has {indices.shape[0]} "
                         f"and data has {data_len} entries")
    if nnz:
        used = indices[:nnz]
        lo, hi = int(used.min()), int(used.max())
        if lo < 0 or hi >= minor:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{what}: index {bad} is out of range for a matrix of shape "
                             f"{X.shape} (indices must lie in [0, {minor - 1}])")


def _check_coordinates(X, name: str) -> None:
    """ValueError unless the row and column indices of a COO matrix are in range."""
    what = f"{name} (COO sparse matrix)"
    coords = X.coords if hasattr(X, "coords") else (X.row, X.col)
    for label, arr, bound in (("row", coords[0], X.shape[0]), ("col", coords[1], X.shape[1])):
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise ValueError(f"{what}: {label} indices must be a 1-D integer array")
        if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= bound):
            bad = int(arr.min()) if int(arr.min()) < 0 else int(arr.max())
            raise ValueError(f"{what}: {label} index {bad} is out of range for a matrix of "
                             f"shape {X.shape}")
    if coords[0].shape != coords[1].shape or X.data.shape != coords[0].shape:
        raise ValueError(f"{what}: data, row and col must have the same length; got "
                         f"{X.data.shape[0]}, {coords[0].shape[0]}, {coords[1].shape[0]}")


def check_sparse_structure(X, name: str = "X"):
    """``X`` with a valid index structure and signed index arrays, or a ValueError.

    CSR, CSC and BSR: ``indptr`` and ``indices`` (see :func:`_check_compressed`); COO:
    row and column indices in range. Other formats (LIL, DOK, DIA) are built by scipy's
    own Python code and converted by it. Nothing is written to ``X``: a matrix with
    unsigned index arrays, which scipy's compiled routines refuse, comes back as a new
    matrix of the same format with int64 index arrays (same data array).
    """
    if X.format in ("csr", "csc", "bsr"):
        _check_compressed(X, name)
        if X.indices.dtype.kind == "u" or X.indptr.dtype.kind == "u":
            out = X.copy() if X.format == "bsr" else type(X)(X.shape, dtype=X.dtype)
            out.data = X.data
            out.indices = X.indices.astype(np.int64)
            out.indptr = X.indptr.astype(np.int64)
            return out
    elif X.format == "coo":
        _check_coordinates(X, name)
    return X


def _check_sparse(X, name: str, forced: np.dtype | None) -> sp.csr_matrix:
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D of shape (m, n); got shape {X.shape}")
    X = check_sparse_structure(X, name)
    _check_numeric_dtype(np.dtype(X.dtype), name)
    m, n = X.shape
    if m == 0 or n == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); it needs at least one row "
                         "and one column")
    # A sparse matrix can declare any number of columns at no cost; the solvers keep a
    # few dense vectors of that length (gradient, iterate, directions, work rows). Below
    # a few MB the check is skipped: reading the memory limits (files under /proc and
    # /sys) would cost more than the vectors, on every objective built.
    if _VECTORS_PER_COLUMN * 8.0 * n > _UNCHECKED_BYTES:
        check_fits(_VECTORS_PER_COLUMN * 8.0 * n,
                   f"{name} of shape {X.shape} ({n} columns: the solvers keep dense vectors "
                   f"of {n} coefficients)")
    target = _target_float_dtype(np.dtype(X.dtype), forced)
    if X.format == "csr":
        nnz = int(X.indptr[-1])  # arrays longer than indptr says: the tail is unused
        data, indices, indptr = X.data[:nnz], X.indices[:nnz], X.indptr
        # Sorted indices without duplicates, tested on the user's arrays without writing
        # to them (scipy's own has_canonical_format would cache a flag on the object).
        canonical = _csr_is_canonical(indices, indptr)
    else:
        csr = X.tocsr()  # a new matrix: the user's object is untouched
        data, indices, indptr = csr.data, csr.indices, csr.indptr
        canonical = _csr_is_canonical(indices, indptr)
    if not canonical:
        csr = sp.csr_matrix((data, indices, indptr), shape=(m, n), copy=True)
        csr.sum_duplicates()  # sums duplicates and sorts indices, on the copy
        csr.sort_indices()
        data, indices, indptr = csr.data, csr.indices, csr.indptr
    # One index dtype for both arrays (one compiled specialization per kernel).
    # int32 when both arrays are signed 32-bit (or narrower): an unsigned 32-bit array may
    # hold values past 2^31 - 1, which int32 would wrap.
    narrow = all(a.dtype.kind == "i" and a.dtype.itemsize <= 4 for a in (indices, indptr))
    index_dtype = np.int32 if narrow else np.int64
    data = np.require(data, dtype=target, requirements=["C", "A"])
    indices = np.require(indices, dtype=index_dtype, requirements=["C", "A"])
    indptr = np.require(indptr, dtype=index_dtype, requirements=["C", "A"])
    if not _all_finite(data):
        raise ValueError(f"{name} contains NaN or infinity")
    # copy=False keeps the arrays (scipy may still narrow an index array on a copy).
    out = sp.csr_matrix((data, indices, indptr), shape=(m, n), copy=False)
    out.has_sorted_indices = True
    out.has_canonical_format = True
    return out


def _csr_is_canonical(indices: np.ndarray, indptr: np.ndarray) -> bool:
    """Column indices strictly increasing within every row (sorted, no duplicates)."""
    if indices.size < 2:
        return True
    increasing = np.diff(indices) > 0
    # A pair (k, k+1) that straddles a row boundary need not increase.
    row_starts = indptr[1:-1]
    row_starts = row_starts[(row_starts > 0) & (row_starts < indices.size)]
    increasing[row_starts - 1] = True
    return bool(increasing.all())


def _as_1d(y, name: str, m: int) -> np.ndarray:
    refuse_masked(y, name)
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of shape (m,); got shape {arr.shape}")
    if arr.shape[0] != m:
        raise ValueError(f"{name} has {arr.shape[0]} entries but X has {m} rows; "
                         "the lengths must match")
    return arr


def split_two_numeric_classes(y: np.ndarray):
    """``(classes, upper)`` when the 1-D numeric ``y`` takes exactly two values, else None.

    ``classes`` is ``[min, max]`` in y's dtype and ``upper`` the boolean mask ``y == max``.
    Two passes (min/max, then the comparisons) in place of a sort: sorting the labels was
    a few milliseconds of every fit on 10^4 - 10^5 rows. NaN gives None.
    """
    if y.ndim != 1 or y.size == 0 or y.dtype.kind not in "biuf":
        return None
    lo, hi = y.min(), y.max()
    if not lo < hi:  # one value, or NaN
        return None
    upper = y == hi
    if np.count_nonzero(upper) + np.count_nonzero(y == lo) != y.size:
        return None
    return np.array([lo, hi], dtype=y.dtype), upper


def check_binary_labels(y, m: int, name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Map two-valued labels to {-1, +1}.

    Parameters
    ----------
    y : array_like of shape (m,)
        Exactly two distinct values of any sortable dtype: {-1, 1}, {0, 1}, {1, 2},
        bools, strings, ... The larger value (in sort order) maps to +1.
    m : int
        Number of rows of X.

    Returns
    -------
    b : ndarray of shape (m,), float64
        Labels b_i in {-1, +1} (a new array).
    classes : ndarray of shape (2,)
        The two original values, sorted: ``classes[0]`` maps to -1, ``classes[1]`` to +1.
    """
    arr = _as_1d(y, name, m)
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must not be complex; got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and not _all_finite(arr):
        raise ValueError(f"{name} contains NaN or infinity")
    split = split_two_numeric_classes(arr)
    if split is not None:
        values, upper = split
        return np.where(upper, 1.0, -1.0), values
    try:
        values, inverse = np.unique(arr, return_inverse=True)
    except TypeError as exc:
        raise TypeError(f"{name} values must be sortable (two classes): {exc}") from exc
    if values.size == 1:
        raise ValueError(f"{name} has a single class ({values[0]!r}); binary logistic "
                         "regression needs two")
    if values.size != 2:
        shown = ", ".join(repr(v) for v in values[:5]) + (", ..." if values.size > 5 else "")
        raise ValueError(f"{name} must take exactly two distinct values (binary labels); "
                         f"got {values.size}: {shown}")
    return np.where(inverse.reshape(-1) == 1, 1.0, -1.0), values


def check_real_targets(y, m: int, name: str = "y") -> np.ndarray:
    """Validate real targets (least squares): numeric, finite, shape (m,); float64 copy."""
    arr = _as_1d(y, name, m)
    _check_numeric_dtype(arr.dtype, name)
    out = np.array(arr, dtype=np.float64, order="C")
    if not _all_finite(out):
        raise ValueError(f"{name} contains NaN or infinity")
    return out


def check_sample_weight(sample_weight, m: int, name: str = "sample_weight") -> np.ndarray:
    """Normalized sample weights sw_i = s_i / sum(s) (1/m each for None).

    Parameters
    ----------
    sample_weight : None, positive scalar or array_like of shape (m,)
        Non-negative, finite, not all zero. A scalar means equal weights.

    Returns
    -------
    ndarray of shape (m,), float64
        Weights summing to 1 (a new array).
    """
    if sample_weight is None:
        return np.full(m, 1.0 / m)
    arr = np.asarray(sample_weight)
    _check_numeric_dtype(arr.dtype, name)
    if arr.ndim == 0:
        s = float(arr)
        if not math.isfinite(s) or s <= 0:
            raise ValueError(f"{name} as a scalar must be positive and finite; got {s}")
        return np.full(m, 1.0 / m)
    arr = _as_1d(arr, name, m)
    s = np.array(arr, dtype=np.float64, order="C")
    if not _all_finite(s):
        raise ValueError(f"{name} contains NaN or infinity")
    if (s < 0).any():
        raise ValueError(f"{name} must be non-negative; got a minimum of {s.min()}")
    s_max = s.max()
    if s_max == 0:
        raise ValueError(f"{name} is all zero; at least one sample needs a positive weight")
    s /= s_max  # no overflow in the sum below, whatever the scale of the weights
    s /= s.sum()
    return s


def check_lam(lam, name: str = "lam") -> float:
    """Validate an L2 strength: a finite real number >= 0."""
    if isinstance(lam, (bool, np.bool_)) or not isinstance(lam, numbers.Real):
        if isinstance(lam, np.ndarray) and lam.ndim == 0 and lam.dtype.kind in "iuf":
            lam = lam.item()
        else:
            raise TypeError(f"{name} must be a real number; got {lam!r}")
    value = float(lam)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0; got {value}")
    return value


def check_vector(x, p: int, name: str = "x") -> np.ndarray:
    """Validate a parameter vector: shape (p,), real, finite; C-contiguous float64.

    The common case (a writeable float64 C-contiguous array of the right shape) returns
    ``x`` itself, without a copy; anything else is converted into a new array (a
    read-only vector is copied too: compiled kernels would otherwise need a second
    specialization for read-only arguments).
    """
    if not (type(x) is np.ndarray and x.dtype == np.float64 and x.flags.c_contiguous
            and x.flags.aligned and x.flags.writeable):
        arr = np.asarray(x)
        _check_numeric_dtype(arr.dtype, name)
        x = np.array(arr, dtype=np.float64, order="C")
    if x.shape != (p,):
        raise ValueError(f"{name} must have shape ({p},); got shape {x.shape}")
    # x @ x is a BLAS call, cheaper than a reduction through np.sum for the small vectors
    # of a solver loop; it is finite unless an entry is non-finite or larger than 1e154.
    if not math.isfinite(x @ x) and not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return x


def check_loss_targets(loss, y, m: int, name: str = "y"):
    """Validate the targets ``y`` (m,) for ``loss`` (a row of
    :data:`fastopt.kernels.losses.LOSSES`, whose ``targets`` names the kind).

    Returns
    -------
    y : ndarray of shape (m,), float64
        A new array: the labels mapped to {-1, +1} for ``"binary"``, else the values.
    classes : ndarray of shape (2,) or None
        The original two label values (``"binary"`` only).

    Raises
    ------
    ValueError
        One line naming ``name`` and what is wrong (NaN, a negative count, a wrong
        length, a single class, ...).
    """
    if loss.targets == "binary":
        return check_binary_labels(y, m, name)
    out = check_real_targets(y, m, name)
    if loss.targets == "counts" and out.size and out.min() < 0:
        i = int(out.argmin())
        raise ValueError(f"{name} must hold counts >= 0 for the {loss.name} loss; got "
                         f"{name}[{i}] = {float(out[i])!r}")
    return out, None

