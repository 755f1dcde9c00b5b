"""Which chunked data an X in row blocks becomes: a block source is read in this process,
a ``dask.array`` on its workers."""

from __future__ import annotations

from ..linear_data import is_dask_array
from .base import ChunkedLinearData
from .data import BlockedLinearData

__all__ = ["chunked_from_input"]


def chunked_from_input(X, y, sample_weight, *, check_targets, backend="auto",
                       dtype=None) -> ChunkedLinearData:
    """The validated chunked data of X in row blocks: a block source (read in this
    process) or a ``dask.array`` (passes on its workers)."""
    if is_dask_array(X):
        from .dask_data import DaskLinearData

        return DaskLinearData.from_input(X, y, sample_weight, check_targets=check_targets,
                                         backend=backend, dtype=dtype)
    return BlockedLinearData.from_input(X, y, sample_weight, check_targets=check_targets,
                                        backend=backend, dtype=dtype)
