"""GPU input to the linear-model objectives: recognizing, checking and copying it back.

:func:`is_device_input` and :func:`check_device_data` let the objectives accept a GPU X
(a numba device array or anything with ``__cuda_array_interface__``: CuPy, PyTorch)
without copying it to the host: its shape, dtype and layout are checked on the host and
its finiteness on the device. The data held on the device are
:class:`~fastopt.problems.linear_data.DeviceLinearData`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["check_device_data", "is_device_input", "to_host"]


def is_device_input(a) -> bool:
    """Whether ``a`` lives on a GPU (numba device array, CuPy, PyTorch CUDA tensor, ...)."""
    return bool(getattr(a, "__cuda_ndarray__", False)) or hasattr(a, "__cuda_array_interface__")


def to_host(a):
    """``a`` copied to a host ndarray when it lives on a GPU; otherwise ``a`` itself."""
    if not is_device_input(a):
        return a
    from ..kernels.cuda._device import as_device

    return as_device(a).copy_to_host()


def _finite_kernel():
    from numba import cuda

    @cuda.jit
    def all_finite(a, flag):
        # flag[0] stays 0 unless an element is NaN or inf; racing writers all write 1.
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        while i < a.shape[0]:
            if not math.isfinite(a[i]):
                flag[0] = 1
            i += stride

    return all_finite


_FINITE = None


def check_device_data(X, name: str = "X", dtype=None):
    """Validate a GPU data matrix without copying it; returns a numba device array view.

    Parameters
    ----------
    X : numba device array or object with ``__cuda_array_interface__``, shape (m, n)
    name : str
        Argument name for the messages.
    dtype : None or numpy dtype
        Forced dtype: a device X must already have it (no silent device copy).

    Raises
    ------
    ValueError
        Not 2-D, not C-contiguous, or holding NaN/inf.
    TypeError
        Not float32/float64, or not the forced dtype.
    """
    global _FINITE
    from ..kernels.cuda._device import as_device

    Xd = as_device(X)
    if Xd.ndim != 2:
        raise ValueError(f"{name} must be 2-D; got a device array of shape {Xd.shape}")
    if np.dtype(Xd.dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{name} on the GPU must be float32 or float64 (it is not copied); "
                        f"got {Xd.dtype}")
    if dtype is not None and np.dtype(Xd.dtype) != np.dtype(dtype):
        raise TypeError(f"{name} on the GPU has dtype {Xd.dtype}, not the requested {dtype}")
    if not Xd.is_c_contiguous():
        raise ValueError(f"{name} on the GPU must be C-contiguous (it is not copied)")
    if Xd.size:
        from numba import cuda

        if _FINITE is None:
            _FINITE = _finite_kernel()
        flag = cuda.to_device(np.zeros(1, dtype=np.int32))
        flat = Xd.reshape(Xd.size)
        _FINITE[min(1024, (Xd.size + 255) // 256), 256](flat, flag)
        if flag.copy_to_host()[0]:
            raise ValueError(f"{name} contains NaN or inf")
    return Xd
