"""X stored in Zarr: a dense 2-D array read by row chunks, or CSR arrays in a group.

Zarr is optional (the ``large`` extra): it is imported when a Zarr source is opened.

Dense X is any 2-D float32/float64 Zarr array; a block is a run of whole row chunks
(reading a chunk once per pass, decompressed by Zarr with the GIL mostly released, in
the background thread of :mod:`.prefetch`).

Sparse X uses this layout (version 1), written by :func:`fastopt.chunked.convert`:

* a Zarr group with the attribute ``"fastopt": {"format": "csr", "version": 1,
  "shape": [m, n]}``;
* 1-D arrays ``data`` (float32/float64, nnz values), ``indices`` (int32/int64, nnz
  column indices, sorted within each row), ``indptr`` (int32/int64, m + 1 row pointers
  from 0 to nnz) and ``bounds`` (int64, K + 1 strictly increasing row bounds from 0 to
  m: block b holds rows ``bounds[b]:bounds[b + 1]``).

A CSR block reads ``indptr[s:e + 1]`` and the matching slices of ``data`` and
``indices``. The array shapes and dtypes and the bounds are checked when the source is
opened, and ``indptr`` (held in memory, 8 bytes a row like y) is checked not to
decrease; each block's values and column indices (finite, in [0, n)) are checked by the
data on the first pass.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._checks import check_block_rows
from .npy import BLOCK_BYTES
from .prefetch import PrefetchedSource
from .source import even_bounds

__all__ = ["CSR_FORMAT", "ZarrBlocks", "ZarrCSR", "import_zarr", "open_zarr"]

#: The ``"fastopt"`` attribute's ``format`` value of a CSR group.
CSR_FORMAT = "csr"
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def import_zarr():
    """The ``zarr`` module, or an ImportError that says how to install it."""
    try:
        import zarr
    except ImportError:
        raise ImportError('Zarr sources need the zarr package: pip install "fastopt[large]"'
                          ) from None
    return zarr


def open_zarr(path):
    """The Zarr array or group at ``path``, opened read-only; a ValueError naming the path
    when there is none."""
    zarr = import_zarr()
    try:
        return zarr.open(str(path), mode="r")
    except Exception as exc:  # noqa: BLE001  zarr's errors differ between versions
        raise ValueError(f"{path}: not a readable Zarr array or group "
                         f"({type(exc).__name__}: {exc})") from None


def _float_dtype(arr, what: str) -> np.dtype:
    dtype = np.dtype(arr.dtype)
    if dtype.kind != "f" or dtype.newbyteorder("=") not in _FLOATS:
        raise ValueError(f"{what} has dtype {dtype}; X must be float32 or float64")
    return dtype.newbyteorder("=")


def _fastopt_attrs(group) -> dict:
    attrs = group.attrs.get("fastopt", None)
    return attrs if isinstance(attrs, dict) else {}


class ZarrBlocks(PrefetchedSource):
    """A dense 2-D Zarr array read in row blocks of whole chunks.

    Parameters
    ----------
    array : zarr.Array, or str / path-like of one
        A float32/float64 array of shape (m, n).
    block_rows : int, optional
        Rows per block. Default: the largest multiple of the array's row chunk that holds
        at most about 64 MB of values (one chunk at least). A multiple of the row chunk
        reads each chunk once per pass; other values work but read the chunks that
        straddle two blocks twice.

    Raises
    ------
    ValueError
        No Zarr array at the path, not 2-D, no columns, or a dtype other than
        float32/float64 (an int or complex array, ...), named with the path.
    """

    is_sparse = False

    def __init__(self, array, block_rows: int | None = None) -> None:
        zarr = import_zarr()
        self.path = str(array.store_path) if hasattr(array, "store_path") else \
            getattr(array, "path", "")
        if not isinstance(array, zarr.Array):
            self.path = str(array)
            array = open_zarr(array)
            if not isinstance(array, zarr.Array):
                raise ValueError(f"{self.path}: a Zarr group, not an array")
        self.array = array
        if array.ndim != 2:
            raise ValueError(f"{self.path}: X must be a 2-D array; this Zarr array has "
                             f"shape {tuple(array.shape)}")
        self.dtype = _float_dtype(array, f"{self.path}: the Zarr array")
        m, n = (int(s) for s in array.shape)
        if n < 1:
            raise ValueError(f"{self.path}: X has no columns (shape {(m, n)})")
        self.shape = (m, n)
        chunk = max(1, int(array.chunks[0]))
        if block_rows is None:
            block_rows = chunk * max(1, BLOCK_BYTES // (chunk * n * self.dtype.itemsize))
        self.bounds = even_bounds(m, check_block_rows(block_rows))

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self.shape[1] * self.dtype.itemsize

    def _new_buffer(self):
        # Zarr returns each block in a new array: nothing to reuse.
        return None

    def _read_into(self, b: int, buffer):
        start, stop = int(self.bounds[b]), int(self.bounds[b + 1])
        block = np.asarray(self.array[start:stop])
        if block.shape != (stop - start, self.shape[1]):
            raise ValueError(f"{self.describe(b)}: read {block.shape}, expected "
                             f"{(stop - start, self.shape[1])} (array changed?)")
        return np.ascontiguousarray(block, dtype=self.dtype)

    def _location(self, b: int) -> str:
        return f"Zarr array {self.path}"

    def __repr__(self) -> str:
        return (f"ZarrBlocks({self.path!r}, {self.shape[0]} x {self.shape[1]} "
                f"{self.dtype}, {self.n_blocks} blocks)")


class ZarrCSR(PrefetchedSource):
    """Sparse X stored as CSR arrays in a Zarr group (layout in the module docstring).

    Parameters
    ----------
    group : zarr.Group, or str / path-like of one

    Raises
    ------
    ValueError
        No Zarr group at the path, a missing ``fastopt`` attribute or shape, a missing
        array, arrays of the wrong dimension, dtype or length, row pointers that do not
        start at 0 or end at nnz, or bounds that are not strictly increasing from 0 to
        m; the message names the path and the problem.
    """

    is_sparse = True

    def __init__(self, group) -> None:
        zarr = import_zarr()
        if not isinstance(group, zarr.Group):
            self.path = str(group)
            group = open_zarr(group)
            if not isinstance(group, zarr.Group):
                raise ValueError(f"{self.path}: a Zarr array, not a CSR group")
        else:
            self.path = str(getattr(group, "store_path", getattr(group, "path", "")))
        where = f"{self.path}: CSR group"
        attrs = _fastopt_attrs(group)
        if attrs.get("format") != CSR_FORMAT:
            raise ValueError(f"{where} lacks the attribute fastopt.format = 'csr'")
        shape = attrs.get("shape")
        if not (isinstance(shape, list) and len(shape) == 2
                and all(isinstance(s, int) and s >= 0 for s in shape)):
            raise ValueError(f"{where}: attribute fastopt.shape must be [m, n]; got {shape!r}")
        m, n = shape
        if n < 1:
            raise ValueError(f"{where}: X has no columns (shape {shape})")
        arrays = {}
        for name in ("data", "indices", "indptr", "bounds"):
            if name not in group:
                raise ValueError(f"{where} has no array {name!r}")
            arr = group[name]
            if not isinstance(arr, zarr.Array) or arr.ndim != 1:
                raise ValueError(f"{where}: {name!r} must be a 1-D array")
            arrays[name] = arr
        self.dtype = _float_dtype(arrays["data"], f"{where}: 'data'")
        for name in ("indices", "indptr", "bounds"):
            if np.dtype(arrays[name].dtype).kind not in "iu":
                raise ValueError(f"{where}: {name!r} has dtype {arrays[name].dtype}; it "
                                 "must hold integers")
        nnz = int(arrays["data"].shape[0])
        if int(arrays["indices"].shape[0]) != nnz:
            raise ValueError(f"{where}: 'indices' has {arrays['indices'].shape[0]} entries, "
                             f"'data' {nnz}")
        if int(arrays["indptr"].shape[0]) != m + 1:
            raise ValueError(f"{where}: 'indptr' has {arrays['indptr'].shape[0]} entries; "
                             f"{m} rows need {m + 1}")
        # Held in memory (8 bytes a row, as y is): a block then reads two arrays, not
        # three, and the row pointers are checked once here.
        indptr = np.asarray(arrays["indptr"][:])
        ends = (int(indptr[0]), int(indptr[m]))
        if ends != (0, nnz):
            raise ValueError(f"{where}: 'indptr' runs from {ends[0]} to {ends[1]}; it must "
                             f"run from 0 to the {nnz} stored values")
        bounds = np.asarray(arrays["bounds"][:]).astype(np.int64)
        if bounds.shape[0] < 2 or bounds[0] != 0 or bounds[-1] != m \
                or (np.diff(bounds) <= 0).any():
            raise ValueError(f"{where}: 'bounds' must increase strictly from 0 to {m}")
        steps = np.diff(indptr)
        if (steps < 0).any():
            row = int(np.argmax(steps < 0))
            raise ValueError(f"{where}: 'indptr' decreases at row {row} ({indptr[row]} then "
                             f"{indptr[row + 1]}); row pointers must not decrease")
        self.bounds = bounds
        self.shape = (m, n)
        self._nnz = nnz
        self._data, self._indices = arrays["data"], arrays["indices"]
        self._indptr = indptr.astype(np.int64)

    @property
    def nbytes(self) -> int:
        return int(self._nnz * (self.dtype.itemsize + np.dtype(self._indices.dtype).itemsize)
                   + (self.shape[0] + 1) * 8)

    def _new_buffer(self):
        return None

    def _read_into(self, b: int, buffer):
        start, stop = int(self.bounds[b]), int(self.bounds[b + 1])
        indptr = self._indptr[start:stop + 1].copy()
        lo, hi = int(indptr[0]), int(indptr[-1])
        # Checked before slicing: a negative or reversed range would slice something else.
        if not 0 <= lo <= hi <= self._nnz:
            raise ValueError(f"{self.describe(b)} has row pointers {lo} to {hi} outside "
                             f"[0, {self._nnz}] or decreasing")
        data = np.ascontiguousarray(self._data[lo:hi], dtype=self.dtype)
        indices = np.asarray(self._indices[lo:hi])
        if indices.dtype.kind not in "iu" or indices.dtype.itemsize > 8:
            raise ValueError(f"{self.describe(b)}: indices of dtype {indices.dtype}")
        wide = self.shape[1] >= 2**31 or indices.size >= 2**31
        if not wide and indices.dtype != np.int32:
            # Narrowed to the kernels' int32, range checked first: a cast would wrap an
            # index beyond int32 into a valid-looking one.
            if indices.size and (indices.min() < 0 or indices.max() >= self.shape[1]):
                raise ValueError(f"{self.describe(b)} has column indices outside "
                                 f"[0, {self.shape[1]})")
        indices = indices.astype(np.int64 if wide else np.int32, copy=False)
        indptr -= lo
        if indices.dtype == np.int32:
            indptr = indptr.astype(np.int32)
        block = sp.csr_matrix((stop - start, self.shape[1]), dtype=self.dtype)
        # Set directly: scipy's constructor would check (and sometimes copy or reject)
        # what the data's own check reports, naming the block, on the first pass.
        block.data, block.indices, block.indptr = data, indices, indptr
        return block

    def _location(self, b: int) -> str:
        return f"Zarr CSR group {self.path}"

    def __repr__(self) -> str:
        return (f"ZarrCSR({self.path!r}, {self.shape[0]} x {self.shape[1]}, "
                f"{self._nnz} nonzeros {self.dtype}, {self.n_blocks} blocks)")
