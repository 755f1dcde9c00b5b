"""The row-block sources of a chunked X: what a chunked :class:`LinearData` reads.

A source is X split into row blocks ``[bounds[b], bounds[b + 1])``, read one block at a
time. :class:`BlockSource` is the interface; :class:`ArrayBlocks` the in-memory one (an
array or CSR matrix cut into views). The on-disk sources (``.npy`` files, Zarr arrays,
CSR blocks) read each block into reused buffers, the next one in a background thread
while the kernels run on the current one (:mod:`fastopt.problems.chunked.prefetch`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

from ._checks import check_block_rows

__all__ = ["ArrayBlocks", "BlockSource", "even_bounds"]


def even_bounds(m: int, block_rows: int) -> np.ndarray:
    """Row bounds of blocks of ``block_rows`` rows (the last one shorter), shape (K + 1,)."""
    return np.append(np.arange(0, m, block_rows, dtype=np.int64), np.int64(m)) if m else \
        np.zeros(1, np.int64)


class BlockSource:
    """X of shape (m, n) in row blocks; subclasses say how a block is read.

    Attributes
    ----------
    shape : tuple (m, n)
    dtype : numpy.dtype
        float32 or float64.
    is_sparse : bool
        Whether blocks are CSR matrices.
    bounds : ndarray of shape (K + 1,), int64
        Row bounds: block b holds rows ``bounds[b]:bounds[b + 1]``.
    checked : bool
        True when every block was validated when the source was built (in memory);
        False when blocks are validated as they are first read (on disk).
    """

    shape: tuple[int, int]
    dtype: np.dtype
    is_sparse: bool = False
    bounds: np.ndarray
    checked: bool = False

    @property
    def n_blocks(self) -> int:
        return len(self.bounds) - 1

    @property
    def nbytes(self) -> int:
        """Bytes of X's values (and indices for CSR) as stored."""
        raise NotImplementedError

    def read(self, b: int):
        """Block ``b`` as the kernels take it: C-contiguous dense array or canonical CSR."""
        raise NotImplementedError

    def blocks(self) -> Iterator[tuple[int, object]]:
        """``(b, X_b)`` for b = 0..K-1 in order. A block may live in a reused buffer:
        it is valid until the next one is asked for."""
        for b in range(self.n_blocks):
            yield b, self.read(b)

    def describe(self, b: int) -> str:
        """Block ``b`` in words, for error messages: its rows, and where it is read from
        (:meth:`_location`)."""
        return (f"block {b} (rows {self.bounds[b]} to {self.bounds[b + 1] - 1}) of "
                f"{self._location(b)}")

    def _location(self, b: int) -> str:
        """Where block ``b`` is read from, in words (the source itself by default)."""
        return repr(self)


class ArrayBlocks(BlockSource):
    """An in-memory X (dense array or sparse matrix) read in row blocks (views, no copy).

    Built by :func:`fastopt.chunked.from_array`, which validates X first; blocks are
    views of X's arrays (a CSR block gets only its own small row-pointer array).

    Parameters
    ----------
    X : ndarray (m, n) C-contiguous float32/float64, or canonical CSR matrix
        Validated data.
    block_rows : int
        Rows per block (the last block may be shorter).
    """

    checked = True

    def __init__(self, X, block_rows: int) -> None:
        self.X = X
        self.shape = (int(X.shape[0]), int(X.shape[1]))
        self.dtype = X.dtype
        self.is_sparse = sp.issparse(X)
        self.bounds = even_bounds(self.shape[0], check_block_rows(block_rows))

    @property
    def nbytes(self) -> int:
        X = self.X
        if self.is_sparse:
            return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
        return X.nbytes

    def read(self, b: int):
        start, stop = int(self.bounds[b]), int(self.bounds[b + 1])
        if not self.is_sparse:
            return self.X[start:stop]
        X = self.X
        lo, hi = int(X.indptr[start]), int(X.indptr[stop])
        indptr = X.indptr[start:stop + 1] - X.indptr[start]
        return sp.csr_matrix((X.data[lo:hi], X.indices[lo:hi], indptr),
                             shape=(stop - start, self.shape[1]), copy=False)

    def __repr__(self) -> str:
        kind = "CSR" if self.is_sparse else "dense"
        return (f"ArrayBlocks({self.shape[0]} x {self.shape[1]} {kind} {self.dtype}, "
                f"{self.n_blocks} blocks)")
