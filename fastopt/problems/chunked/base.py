"""The interface of chunked data: X in row blocks, every pass a sum over the blocks.

:class:`ChunkedLinearData` is what a linear objective holds when X does not sit in memory
as one array. Its one operation, :meth:`~ChunkedLinearData.reduce`, runs a per-block task
(:mod:`fastopt.problems.chunked.tasks`) on every block and returns the sum of the
results, taken in a fixed order. The variants: blocks read in this process
(:mod:`.data`) and blocks held by Dask workers (:mod:`.dask_data`).
"""

from __future__ import annotations

import numpy as np

from ...kernels import is_device, resolve_backend

__all__ = ["ChunkedLinearData", "resolve_host_backend"]


class ChunkedLinearData:
    """X in row blocks; every pass is a sum of per-block terms, taken in block order.

    The results do not depend on the thread or worker count: each block's term is
    computed by the backend's kernels with a chunk count fixed by the block's size, and
    the terms are added in a fixed order.

    Attributes
    ----------
    n_samples, n_features : int
    dtype : numpy.dtype
    is_sparse : bool
    backend : str
        A resolved CPU backend.
    kernels : module
    n_blocks : int
    on_device, in_memory : bool
        Both False: objectives holding these data offer no O(m) row-vector methods
        (predictor, Hessian weights), and solvers use their generic paths.
    """

    on_device = False
    in_memory = False
    n_samples: int
    n_features: int
    dtype: np.dtype
    is_sparse: bool
    backend: str
    n_blocks: int

    def reduce(self, task, *operands) -> np.ndarray:
        """``sum_b task(block_b, *operands)`` over the blocks in order, a new float64 array."""
        raise NotImplementedError

    def host_X(self):
        raise ValueError(f"X is read in row blocks ({self!r}); this method needs X in "
                         "memory as one array")

    def to_device(self):
        raise ValueError(f"X is read in row blocks ({self!r}); the GPU backend needs X in "
                         "memory")

    def __repr__(self) -> str:
        kind = "CSR" if self.is_sparse else "dense"
        return (f"{type(self).__name__}(m={self.n_samples}, n={self.n_features}, {kind} "
                f"{self.dtype}, {self.n_blocks} blocks, backend={self.backend!r})")


def resolve_host_backend(backend) -> str:
    """A resolved CPU backend name for chunked data (a GPU backend is refused)."""
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string; got {backend!r}")
    resolved = resolve_backend(backend)
    if is_device(resolved):
        raise ValueError(f"X is read in row blocks; backend {backend!r} needs X in memory "
                         "on the GPU: use a CPU backend ('auto', 'cython', 'numba')")
    return resolved
