"""The CUDA side of the linear-model objectives: data moved to the device once.

:class:`DeviceLinearData` holds X (dense, or the three CSR arrays), y, sw and the work
buffer of the reductions on the device, and evaluates the objective on device vectors
(``loss_grad``, ``hvp``): nothing but an 8- or 16-byte scalar crosses the bus per call.
The device-resident solver loop (:mod:`fastopt.solvers.cuda_loop`) works on it.

:func:`attach_device` turns a validated :class:`~fastopt.problems.linear_objective.LinearObjective`
into a device-resident one: the data are copied once (or, for an X that already lives on
the GPU, used without a copy) and every kernel of the objective is routed to the device
copies, so the Objective protocol (``loss_grad(w)`` on host vectors, Newton's
``hessian``, ``lipschitz`` ...) keeps working with only p-vectors crossing the bus.

:func:`is_device_input` and :func:`check_device_data` let the objectives accept a GPU X
(a numba device array or anything with ``__cuda_array_interface__``: CuPy, PyTorch)
without copying it to the host: its shape, dtype and layout are checked on the host and
its finiteness on the device.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["DeviceLinearData", "attach_device", "check_device_data", "is_device_input",
           "to_host"]


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


class DeviceLinearData:
    """X, y, sw and the work buffer of a linear model, on the device.

    Parameters
    ----------
    X : ndarray (m, n), scipy CSR matrix, or device array (m, n)
        Validated data (canonical layout); a device array is used without a copy.
    y, sw : ndarray of shape (m,), float64
    n_params : int
        p (n, or n + 1 with an intercept).
    loss : int
        The loss code (:mod:`fastopt.kernels.losses`), first argument of every kernel.
    lam : float

    Attributes
    ----------
    data : tuple
        ``(X,)`` or ``(data, indices, indptr, n)`` on the device, the leading arguments
        of every kernel.
    y, sw : device arrays (m,)
    work : device array (n_blocks + 1, p + 1), the reduction scratch
    kernels : module
        :mod:`fastopt.kernels.cuda`.
    """

    def __init__(self, X, y, sw, n_params: int, loss: int, lam: float) -> None:
        import scipy.sparse as sp

        from ..kernels import cuda as kernels
        from ..kernels.cuda._device import as_device

        self.kernels = kernels
        self.loss = int(loss)
        self.lam = float(lam)
        self.n_params = int(n_params)
        if sp.issparse(X):
            self.data = (as_device(X.data), as_device(X.indices), as_device(X.indptr),
                         int(X.shape[1]))
            nnz = int(X.nnz)
        else:
            self.data = (as_device(X),)
            nnz = None
        self.n_samples, self.n_features = int(X.shape[0]), int(X.shape[1])
        self.y = as_device(y, np.float64)
        self.sw = as_device(sw, np.float64)
        self.work = kernels.cuda_work(self.n_samples, self.n_params, nnz)
        suffix = "_csr" if nnz is not None else ""
        self._loss_grad = getattr(kernels, f"linear_loss_grad{suffix}")
        self._hvp = getattr(kernels, f"linear_hvp{suffix}")

    @property
    def host_to_device(self) -> dict:
        """Size in bytes of what lives on the device (data and work)."""
        sizes = [a.nbytes for a in self.data if hasattr(a, "nbytes")]
        return {"data": sum(sizes), "work": self.work.nbytes}

    def loss_grad(self, w, grad_out) -> float:
        """f(w), with grad f(w) written into ``grad_out``; device vectors (p,) in and out."""
        return self._loss_grad(self.loss, *self.data, self.y, self.sw, w, self.lam, grad_out,
                               self.work)

    def launch_loss_grad(self, w, grad_out) -> None:
        """Stage 1 and 2 of f and grad f at device ``w`` into device ``grad_out``, no sync.

        f stays on the device in ``work[-1, -1]`` (read it with
        :func:`fastopt.kernels.cuda._device.read_scalar` or ``iteration_stats``), so a
        solver loop pays one small device-to-host copy per iteration.
        """
        from ..kernels.cuda import _rowwise as rw
        from ..kernels.cuda._device import dummy, finalize

        mode = rw.mode(rw.GRAD, self.loss)
        n = self.n_features
        icpt = self.n_params == n + 1
        if len(self.data) == 4:
            rw.launch_csr(mode, *self.data[:3], n, self.y, self.sw, w, dummy(), dummy(), None,
                          1.0, icpt, self.work)
        else:
            rw.launch_dense(mode, self.data[0], self.y, self.sw, w, dummy(), dummy(), None, 1.0,
                            icpt, self.work)
        finalize(self.work, grad_out, vec=w, n_reg=n, lam_vec=self.lam, wsq=w, n_sq=n,
                 lam_sq=self.lam)

    def hvp(self, w, v, out) -> None:
        """Hessian at ``w`` times ``v`` into ``out``; device vectors (p,)."""
        self._hvp(self.loss, *self.data, self.y, self.sw, w, v, self.lam, out, self.work)


class _DeviceKernel:
    """A CUDA kernel called with the objective's host arrays swapped for their device copies.

    The base class calls ``kernel(*self._data, self.y, self.sw, ...)``; the host arrays it
    passes are recognized by identity (they are kept alive by the objective, so their ids
    cannot be reused) and replaced by the device copies made once by
    :class:`DeviceLinearData`. Vectors of length p (w, v, outputs) are copied per call.
    """

    def __init__(self, kernel, swap: dict):
        self.kernel = kernel
        self.swap = swap
        self.__name__ = getattr(kernel, "__name__", "kernel")

    def __call__(self, *args):
        return self.kernel(*[self.swap.get(id(a), a) for a in args])


def attach_device(objective) -> DeviceLinearData:
    """Move a linear objective's data to the device once and route its kernels there.

    After the call ``objective.device`` is the :class:`DeviceLinearData`, ``objective.backend
    == "cuda"``, ``objective.kernels`` is :mod:`fastopt.kernels.cuda`, and every bound
    kernel (``objective._k_*``) reads the device copies. Called by
    :class:`~fastopt.problems.linear_objective.LinearObjective` for ``backend="cuda"``; the
    tests call it on an objective built with another backend to run the CUDA path on the
    simulator.
    """
    from ..kernels import cuda as kernels

    dev = DeviceLinearData(objective.X, objective.y, objective.sw, objective.n_params,
                           objective.loss.code, objective.lam)
    objective.device = dev
    objective.backend = "cuda"
    objective.kernels = kernels
    host = objective._data
    swap = {id(h): d for h, d in zip(host, dev.data, strict=True) if not isinstance(h, int)}
    swap[id(objective.y)] = dev.y
    swap[id(objective.sw)] = dev.sw
    objective._swap_keepalive = (host, objective.y, objective.sw)
    objective._bind_kernels()
    objective.work = dev.work
    for name in [a for a in vars(objective) if a.startswith("_k_")]:
        setattr(objective, name, _DeviceKernel(getattr(objective, name), swap))
    return dev
