"""The chunked store: X and y in one Zarr group, written once, read by row blocks.

Layout (version 1), a Zarr group (a directory) with:

* the attribute ``"fastopt": {"format": "chunked", "version": 1, "complete": true,
  "shape": [m, n], "sparse": bool, "source": "<input file name>"}``;
* ``X``: dense, a 2-D float array of shape (m, n) chunked by ``block_rows`` rows; sparse,
  a CSR group in the layout of :mod:`.zarr_source` (``data``, ``indices``, ``indptr``,
  ``bounds``, blocks of ``block_rows`` rows);
* ``y``: a 1-D float64 array of the m labels (or targets).

:func:`write_store` builds it under a temporary name beside the destination and renames
it when complete, so an interrupted or failed conversion leaves nothing that opens as a
store (and removes its temporary directory when it can). :func:`open_store` refuses a
group without the ``complete`` mark.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from ._checks import check_block_rows
from .zarr_source import CSR_FORMAT, ZarrBlocks, ZarrCSR, _fastopt_attrs, import_zarr, open_zarr

__all__ = ["STORE_FORMAT", "is_store", "open_store", "write_store"]

STORE_FORMAT = "chunked"
#: Elements per chunk of the 1-D CSR arrays (8 MB of float64 values).
_FLAT_CHUNK = 2**16


def _create(group, name: str, shape, chunks, dtype):
    """A new array in ``group`` (``create_array`` in Zarr 3, ``create_dataset`` in 2)."""
    make = getattr(group, "create_array", None) or group.create_dataset
    return make(name, shape=shape, chunks=chunks, dtype=dtype)


def is_store(path) -> bool:
    """Whether ``path`` holds a group written by :func:`write_store` (complete or not)."""
    try:
        zarr = import_zarr()
        group = zarr.open_group(str(path), mode="r")
    except Exception:  # noqa: BLE001  not a group, not readable, no zarr: not a store
        return False
    return _fastopt_attrs(group).get("format") == STORE_FORMAT


class _Writer:
    """Appends blocks of rows to the arrays of a store being written."""

    def __init__(self, group, *, sparse: bool, dtype, block_rows: int) -> None:
        self.group, self.sparse, self.dtype = group, sparse, np.dtype(dtype)
        self.block_rows = block_rows
        self.m = 0
        self.width = 0
        self.X = None
        self.y = _create(group, "y", (0,), (max(block_rows, _FLAT_CHUNK),), np.float64)
        if sparse:
            self.sub = group.create_group("X")
            self.data = _create(self.sub, "data", (0,), (_FLAT_CHUNK,), self.dtype)
            self.indices = _create(self.sub, "indices", (0,), (_FLAT_CHUNK,), np.int32)
            self.indptr = _create(self.sub, "indptr", (1,), (_FLAT_CHUNK,), np.int64)
            self.indptr[:] = np.zeros(1, np.int64)
            self.nnz = 0
            self.bounds = [0]

    def append(self, X, y) -> None:
        rows = X.shape[0]
        if rows == 0:
            return
        if self.sparse:
            self.data.append(np.asarray(X.data, dtype=self.dtype))
            self.indices.append(np.asarray(X.indices, dtype=np.int32))
            self.indptr.append(np.asarray(X.indptr[1:], dtype=np.int64) + self.nnz)
            self.nnz += int(X.nnz)
            self.width = max(self.width, int(X.shape[1]))
        else:
            if self.X is None:
                self.width = int(X.shape[1])
                self.X = _create(self.group, "X", (0, self.width),
                                 (self.block_rows, self.width), self.dtype)
            self.X.append(np.ascontiguousarray(X, dtype=self.dtype))
        self.y.append(np.asarray(y, dtype=np.float64))
        self.m += rows
        if self.sparse:
            self.bounds.append(self.m)

    def finish(self, n_features, source: str) -> tuple[int, int]:
        n = self.width if n_features is None else int(n_features)
        if self.sparse:
            bounds = np.asarray(self.bounds, np.int64)
            _create(self.sub, "bounds", bounds.shape, (max(1, bounds.size),),
                    np.int64)[:] = bounds
            self.sub.attrs["fastopt"] = {"format": CSR_FORMAT, "version": 1,
                                         "shape": [self.m, n]}
        self.group.attrs["fastopt"] = {"format": STORE_FORMAT, "version": 1,
                                       "complete": True, "shape": [self.m, n],
                                       "sparse": self.sparse, "source": source}
        return self.m, n


def write_store(dst, blocks, *, sparse: bool, block_rows: int, dtype=np.float64,
                n_features=None, overwrite: bool = False, source: str = "",
                on_block=None) -> tuple[int, int]:
    """Write the blocks ``(X_b, y_b, ...)`` of ``blocks`` as a store at ``dst``.

    Parameters
    ----------
    dst : path-like
        The store's directory; must not exist, unless ``overwrite`` and it is a store.
    blocks : iterable of tuples ``(X_b, y_b, ...)``
        Consecutive row blocks: X_b of shape (k, n_b) dense (all n_b equal) or CSR (the
        width is the largest n_b, or ``n_features``); y_b of shape (k,).
    sparse : bool
    block_rows : int
        Rows per chunk of dense X (blocks of CSR X are the given blocks).
    dtype : numpy.float32 or numpy.float64
        dtype of X's values as stored.
    n_features : int, optional
        Width of sparse X (default: its largest column index + 1).
    overwrite : bool
        Replace an existing store at ``dst`` (never anything else).
    source : str
        The input's name, recorded in the store's attributes.
    on_block : callable, optional
        Called with each block tuple after it is written (progress).

    Returns
    -------
    (m, n) : tuple of int

    Raises
    ------
    ValueError
        ``dst`` exists (and is not a store, or ``overwrite`` is False), dense blocks of
        different widths, or whatever ``blocks`` raises (the temporary directory is
        removed, ``dst`` left as it was).
    """
    zarr = import_zarr()
    block_rows = check_block_rows(block_rows)
    dst = Path(dst)
    if dst.exists() or dst.is_symlink():
        if not overwrite:
            raise ValueError(f"{dst} already exists; choose another destination or pass "
                             "overwrite=True (only a store written by convert is replaced)")
        if not is_store(dst):
            raise ValueError(f"{dst} exists and is not a store written by convert; not "
                             "replaced")
    tmp = dst.with_name(f".{dst.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        group = zarr.open_group(str(tmp), mode="w")
        group.attrs["fastopt"] = {"format": STORE_FORMAT, "version": 1, "complete": False}
        writer = _Writer(group, sparse=sparse, dtype=dtype, block_rows=block_rows)
        for item in blocks:
            X, y = item[0], item[1]
            if not sparse and writer.X is not None and X.shape[1] != writer.width:
                raise ValueError(f"{source}: rows of {X.shape[1]} and of {writer.width} "
                                 "columns")
            writer.append(X, y)
            if on_block is not None:
                on_block(item)
        if writer.m == 0:
            raise ValueError(f"{source}: no rows to convert")
        shape = writer.finish(n_features, source)
        if dst.exists() or dst.is_symlink():
            shutil.rmtree(dst)  # a store (checked above), replaced as asked
        os.replace(tmp, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return shape


def open_store(path, block_rows=None):
    """``(X source, y)`` of the store at ``path``.

    Returns
    -------
    X : ZarrBlocks or ZarrCSR
        X read in row blocks (dense: ``block_rows`` rows, default whole chunks of about
        64 MB; CSR: the blocks it was written in).
    y : ndarray of shape (m,), float64

    Raises
    ------
    ValueError
        Not a Zarr group, not a store written by convert, incomplete, or its X or y
        missing or inconsistent; the message names the path.
    """
    zarr = import_zarr()
    group = open_zarr(path)
    attrs = _fastopt_attrs(group) if isinstance(group, zarr.Group) else {}
    if attrs.get("format") != STORE_FORMAT:
        raise ValueError(f"{path}: not a store written by fastopt.chunked.convert (no "
                         "fastopt.format = 'chunked' attribute)")
    if attrs.get("complete") is not True:
        raise ValueError(f"{path}: an incomplete store (its conversion did not finish)")
    for name in ("X", "y"):
        if name not in group:
            raise ValueError(f"{path}: the store has no {name!r}")
    x_path = str(Path(path) / "X")
    if isinstance(group["X"], zarr.Group):
        X = ZarrCSR(x_path)
    else:
        X = ZarrBlocks(x_path, block_rows)
    y_arr = group["y"]
    if not isinstance(y_arr, zarr.Array) or y_arr.ndim != 1 \
            or int(y_arr.shape[0]) != X.shape[0]:
        raise ValueError(f"{path}: 'y' must be a 1-D array of {X.shape[0]} labels; got shape "
                         f"{tuple(getattr(y_arr, 'shape', ()))}")
    y = np.asarray(y_arr[:])
    if y.dtype.kind not in "fiub":
        raise ValueError(f"{path}: 'y' has dtype {y.dtype}; labels must be numbers")
    return X, y.astype(np.float64)
