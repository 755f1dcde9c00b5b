"""Chunked data read in this process: passes as sums over the blocks of a block source.

:class:`BlockedLinearData` is the chunked data
(:class:`~fastopt.problems.chunked.base.ChunkedLinearData`) that runs the per-block tasks
(:mod:`fastopt.problems.chunked.tasks`) here, over a
:class:`~fastopt.problems.chunked.source.BlockSource` (in memory or on disk, the next
block read in the background); the Dask variant runs them on the workers that hold the
blocks (:mod:`fastopt.problems.chunked.dask_data`).

The targets y and the normalized weights sw are kept in memory here (8 bytes per row
each, sw not at all when unweighted): X, n times larger, is what is read block by block.
"""

from __future__ import annotations

import numpy as np

from ...kernels import backend_package
from .._validation import check_dtype_option, check_sample_weight
from ._checks import check_block
from .base import ChunkedLinearData, resolve_host_backend
from .source import BlockSource
from .tasks import block_data

__all__ = ["BlockedLinearData"]


class BlockedLinearData(ChunkedLinearData):
    """Chunked data read in this process from a block source.

    A pass reads the blocks in order (an on-disk source reads block b + 1 in a background
    thread while the kernels run on block b) and adds their terms in that order. A block
    read from disk is validated the first time it is read (values finite, CSR structure
    sound), so a bad block is a ValueError naming it, raised during the first pass,
    before any result.

    Parameters
    ----------
    source : BlockSource
    y : ndarray of shape (m,), float64
        Targets as the objective stores them.
    sw : ndarray of shape (m,) or None
        Normalized weights; None means 1/m each (not materialized).
    backend : str
        A resolved CPU backend.
    dtype : numpy.dtype
        The dtype the kernels read (blocks of another dtype are converted as read).
    """

    def __init__(self, source: BlockSource, y: np.ndarray, sw, backend: str,
                 dtype) -> None:
        self.source = source
        self.X = source
        self.y = y
        self._sw = sw
        self.backend = backend
        self.kernels = backend_package(backend)
        self.n_samples, self.n_features = source.shape
        self.dtype = np.dtype(dtype)
        self.is_sparse = source.is_sparse
        self.n_blocks = source.n_blocks
        self._checked = np.full(self.n_blocks, bool(source.checked))
        self._uniform = {}

    @classmethod
    def from_input(cls, source: BlockSource, y, sample_weight, *, check_targets,
                   backend: str, dtype=None) -> BlockedLinearData:
        """Validate y, the weights and the backend against ``source`` (X's blocks are
        validated as they are first read)."""
        forced = check_dtype_option(dtype)
        m = source.shape[0]
        if m < 1:
            raise ValueError(f"X has no rows ({source!r})")
        yc = check_targets(y, m)
        sw = None if sample_weight is None else check_sample_weight(sample_weight, m)
        resolved = resolve_host_backend(backend)
        return cls(source, yc, sw, resolved, forced or source.dtype)

    @property
    def sw(self) -> np.ndarray:
        """The normalized weights, shape (m,) (built on first use when unweighted)."""
        if self._sw is None:
            self._sw = np.full(self.n_samples, 1.0 / self.n_samples)
        return self._sw

    def _block_sw(self, start: int, stop: int) -> np.ndarray:
        if self._sw is not None:
            return self._sw[start:stop]
        k = stop - start
        if k not in self._uniform:
            self._uniform[k] = np.full(k, 1.0 / self.n_samples)
        return self._uniform[k]

    def reduce(self, task, *operands) -> np.ndarray:
        source, bounds = self.source, self.source.bounds
        total = None
        for b, Xb in source.blocks():
            if not self._checked[b]:
                check_block(Xb, self.n_features, source.describe(b))
                self._checked[b] = True
            if Xb.dtype != self.dtype:
                Xb = Xb.astype(self.dtype)
            start, stop = int(bounds[b]), int(bounds[b + 1])
            block = block_data(Xb, self.y[start:stop], self._block_sw(start, stop),
                               self.backend)
            part = task(block, *operands)
            if total is None:
                total = part
            else:
                total += part
        return total

