"""CUDA kernels (numba.cuda): every kernel of every submodule, re-exported (docs/contract.md).

Same names and argument order as the CPU backends. Array arguments may be numba device
arrays, objects with ``__cuda_array_interface__`` (CuPy, PyTorch; used without a copy)
or host NumPy arrays (copied in and out: the slow path of the tests). The reductions
take a device ``work`` buffer of shape ``(n_blocks + 1, p + 1)``, float64, allocated
once with :func:`cuda_work` (see :mod:`._device`).

:func:`is_usable` reports whether a real GPU is usable: the CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``, used to test these kernels on a CPU) does not count, so
``fastopt.backends()`` lists ``"cuda"`` only on a machine with a working GPU, and
``backend="cuda"`` elsewhere is a ``ValueError`` that says why.
"""

from .._collect import collect
from ._device import cuda_work, iteration_stats

__all__ = collect(__name__, __path__, globals())


def is_usable():
    """None when a real CUDA GPU is usable through numba.cuda, else the reason it is not."""
    from numba import cuda

    from ._device import SIMULATOR

    if SIMULATOR:
        return ("NUMBA_ENABLE_CUDASIM=1: numba's CUDA simulator runs kernels on the CPU; "
                "it is for tests, not a backend")
    try:
        available = cuda.is_available()
    except Exception as exc:  # a broken driver install
        return f"numba.cuda cannot use the GPU: {type(exc).__name__}: {exc}"
    if not available:
        return "no usable CUDA GPU (numba.cuda.is_available() is False: no GPU or no driver)"
    return None


__all__ += ["cuda_work", "iteration_stats", "is_usable"]
