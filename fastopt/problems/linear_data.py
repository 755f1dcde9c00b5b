"""The data of a linear model as one value: validated X, y, sw and the backend reading them.

Every linear-model objective (:class:`~fastopt.problems.linear_objective.LinearObjective`
and :class:`~fastopt.problems.Multinomial`) holds one :class:`LinearData` and reads its
data only through it: the leading kernel arguments (``args``), the per-row vectors the
kernels take (``kernel_y``, ``kernel_sw``), the backend's kernels by name
(:meth:`LinearData.kernel`) and the reduction scratch (:meth:`LinearData.make_work`).
Its device variant, :class:`DeviceLinearData`, has the same interface with X, y and sw
copied to the GPU once: an objective built on either runs the same code, and only
vectors of length p cross the bus per call.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .. import _config
from ..kernels import DEVICE_BACKENDS, backend_package, is_device, resolve_backend
from ._cuda import check_device_data, is_device_input, to_host
from ._validation import check_data, check_dtype_option, check_sample_weight

__all__ = ["DeviceLinearData", "HoldsLinearData", "LinearData", "is_chunked_input",
           "is_dask_array"]


class LinearData:
    """Validated data of a linear model on the host, with the backend whose kernels read it.

    Build it with :meth:`from_input` (which checks everything); the constructor trusts
    its arguments. The arrays are never modified, and never copied when they already
    have the layout the kernels take.

    Parameters
    ----------
    X : ndarray of shape (m, n), C-contiguous float32/float64, or canonical CSR matrix
    y : ndarray of shape (m,)
        Targets as the objective stores them (float64, or int64 class indices).
    sw : ndarray of shape (m,), float64
        Normalized sample weights (sum 1).
    backend : str
        A resolved backend name.

    Attributes
    ----------
    X, y, sw
        As given (host arrays).
    n_samples, n_features : int
        m and n.
    dtype : numpy.dtype
        dtype of X.
    is_sparse : bool
    backend : str
    kernels : module
        The backend's kernel package.
    args : tuple
        The leading arguments of every kernel: ``(X,)`` or
        ``(data, indices, indptr, n)`` for CSR.
    kernel_y, kernel_sw : arrays of shape (m,)
        y and sw as the kernels take them (here the host arrays themselves).
    on_device : bool
        False here; True for the device variant.
    in_memory : bool
        True: X is one array, and the objective offers its O(m) row-vector methods
        (False for chunked data).
    """

    on_device = False
    in_memory = True

    def __init__(self, X, y: np.ndarray, sw: np.ndarray, backend: str) -> None:
        self.X = X
        self.y = y
        self.sw = sw
        self.backend = backend
        self.kernels = backend_package(backend)
        m, n = X.shape
        self.n_samples, self.n_features = int(m), int(n)
        self.dtype = X.dtype
        self.is_sparse = sp.issparse(X)
        self.args = (X.data, X.indices, X.indptr, n) if self.is_sparse else (X,)
        self.kernel_y, self.kernel_sw = y, sw

    @classmethod
    def from_input(cls, X, y, sample_weight=None, *, check_targets, backend: str = "auto",
                   dtype=None, allow_device: bool = True) -> LinearData:
        """Validate user input and return the data (on the device when the backend is one).

        Checks, in this order, ``dtype``, ``X``, ``y`` (by ``check_targets(y, m)``, which
        returns the targets to store), the sample weights and ``backend``.

        Parameters
        ----------
        X : array_like of shape (m, n), scipy sparse matrix, or GPU array
            Dense input becomes a C-contiguous float32/float64 array (no copy when it
            already is one), sparse input canonical CSR. A GPU array (numba, CuPy,
            PyTorch) is used in place and needs a device backend.
        y : array_like of shape (m,)
        sample_weight : None or array_like of shape (m,)
        check_targets : callable ``(y, m) -> ndarray``
            The objective's target check.
        backend : str
            ``"auto"`` or a backend name (:func:`fastopt.backends`).
        dtype : None, numpy.float32 or numpy.float64
            Force the floating dtype of X.
        allow_device : bool
            Accept a GPU array X and return the device variant for a device backend.
            When False (objectives without device kernels) a GPU array goes through the
            host checks like any other input, and the data stay on the host whatever the
            backend, so the objective can refuse a backend that lacks its kernels before
            anything is copied to a device.

        Returns
        -------
        LinearData, or its device variant for a device backend

        Raises
        ------
        ValueError
            X is read in row blocks (:func:`is_chunked_input`): the objectives that take
            such an X build chunked data instead
            (:func:`fastopt.problems.chunked.inputs.chunked_from_input`).
        """
        if is_chunked_input(X):
            raise ValueError(f"X is read in row blocks ({type(X).__name__}); this "
                             "objective needs X in memory as one array")
        forced = check_dtype_option(dtype)
        on_gpu = allow_device and is_device_input(X)
        if on_gpu:
            # Used in place and checked on the device; y and the weights are small and
            # validated on the host.
            Xc = check_device_data(X, "X", forced)
            y, sample_weight = to_host(y), to_host(sample_weight)
        else:
            Xc = check_data(X, "X", forced)
        m = Xc.shape[0]
        yc = check_targets(y, m)
        sw = check_sample_weight(sample_weight, m)
        if not isinstance(backend, str):
            raise TypeError(f"backend must be a string; got {backend!r}")
        resolved = resolve_backend(backend)
        if on_gpu and not is_device(resolved):
            raise ValueError(f"X is a GPU array; it needs a GPU backend ('cuda'), not "
                             f"{backend!r}")
        if allow_device and is_device(resolved):
            return DeviceLinearData(Xc, yc, sw, resolved)
        return cls(Xc, yc, sw, resolved)

    def kernel(self, name: str):
        """The backend's kernel ``name`` for this layout (``name + "_csr"`` for CSR X).

        Raises
        ------
        NotImplementedError
            The backend has no such kernel.
        """
        full = name + "_csr" if self.is_sparse else name
        try:
            return getattr(self.kernels, full)
        except AttributeError:
            raise NotImplementedError(
                f"backend {self.backend!r} has no kernel {full!r}") from None

    def make_work(self, n_cols: int, work_factor: int = 1) -> np.ndarray:
        """Zeroed scratch of the parallel reductions, shape (T, n_cols), float64.

        ``T = fastopt._config.n_chunks(work of a pass over X times work_factor, n_cols)``
        depends on the data's size only, never on the thread count, so every result is
        the same for any number of threads.
        """
        amount = _config.data_work(self.X) * work_factor
        return np.zeros((_config.n_chunks(amount, n_cols), n_cols))

    def host_X(self):
        """X on the host (the device variant copies a GPU X once)."""
        return self.X

    def to_device(self) -> DeviceLinearData:
        """The device variant of these data: X, y and sw copied to the GPU once."""
        return DeviceLinearData(self.X, self.y, self.sw, min(DEVICE_BACKENDS))

    def __repr__(self) -> str:
        kind = "CSR" if self.is_sparse else "dense"
        where = "device" if self.on_device else "host"
        return (f"{type(self).__name__}(m={self.n_samples}, n={self.n_features}, {kind} "
                f"{self.dtype}, {where}, backend={self.backend!r})")


class DeviceLinearData(LinearData):
    """The device variant of :class:`LinearData`: X, y and sw on the GPU, copied once.

    Same interface: ``args``, ``kernel_y`` and ``kernel_sw`` are the device copies (an X
    that already lives on the GPU is used without a copy) and ``kernels`` the device
    backend's package, whose kernels take host or device vectors of length p. ``X``,
    ``y`` and ``sw`` stay what was given, so the O(m) NumPy work of an objective (line
    searches from a predictor) still reads host vectors.

    Parameters
    ----------
    X : ndarray (m, n), scipy CSR matrix, or device array (m, n)
        Validated data (canonical layout).
    y, sw : ndarray of shape (m,), float64
    backend : str
        A device backend (:data:`fastopt.kernels.DEVICE_BACKENDS`).
    """

    on_device = True

    def __init__(self, X, y: np.ndarray, sw: np.ndarray, backend: str) -> None:
        from ..kernels.cuda._device import as_device

        super().__init__(X, y, sw, backend)
        if self.is_sparse:
            self.args = (as_device(X.data), as_device(X.indices), as_device(X.indptr),
                         self.n_features)
        else:
            self.args = (as_device(X),)
        self.kernel_y = as_device(y, np.float64)
        self.kernel_sw = as_device(sw, np.float64)
        self._X_host = None

    def make_work(self, n_cols: int, work_factor: int = 1):
        """The device scratch of the row reductions for vectors of length ``n_cols``."""
        nnz = int(self.X.nnz) if self.is_sparse else None
        return self.kernels.cuda_work(self.n_samples, n_cols, nnz)

    def host_X(self):
        """X on the host: a GPU X is copied once, on the first call."""
        if not is_device_input(self.X):
            return self.X
        if self._X_host is None:
            self._X_host = to_host(self.X)
        return self._X_host

    @property
    def nbytes(self) -> int:
        """Bytes of data held on the device (X, y and sw)."""
        arrays = [*self.args, self.kernel_y, self.kernel_sw]
        return sum(a.nbytes for a in arrays if hasattr(a, "nbytes"))

    def launch_loss_grad(self, loss: int, w, lam: float, grad_out, work,
                         intercept: bool) -> None:
        """Stage 1 and 2 of f and grad f at device ``w`` into device ``grad_out``, no sync.

        f stays on the device in ``work[-1, -1]`` (read it with the backend's
        ``iteration_stats``), so a solver loop pays one small device-to-host copy per
        iteration.
        """
        from ..kernels.cuda import _rowwise as rw
        from ..kernels.cuda._device import dummy, finalize

        mode = rw.mode(rw.GRAD, loss)
        n = self.n_features
        if self.is_sparse:
            rw.launch_csr(mode, *self.args[:3], n, self.kernel_y, self.kernel_sw, w, dummy(),
                          dummy(), None, 1.0, intercept, work)
        else:
            rw.launch_dense(mode, self.args[0], self.kernel_y, self.kernel_sw, w, dummy(),
                            dummy(), None, 1.0, intercept, work)
        finalize(work, grad_out, vec=w, n_reg=n, lam_vec=lam, wsq=w, n_sq=n, lam_sq=lam)


def is_chunked_input(X) -> bool:
    """Whether ``X`` is read in row blocks: a block source
    (:class:`fastopt.problems.chunked.source.BlockSource`, known by its ``bounds`` and
    ``blocks``) or a ``dask.array``; checked without importing either."""
    return (hasattr(X, "bounds") and callable(getattr(X, "blocks", None))) \
        or is_dask_array(X)


def is_dask_array(X) -> bool:
    """Whether ``X`` is a ``dask.array.Array`` (without importing Dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "chunks") \
        and hasattr(X, "dask")


def _view(name: str, doc: str) -> property:
    return property(lambda self: getattr(self.data, name), doc=doc)


class HoldsLinearData:
    """Read-only views of an objective's :class:`LinearData` (``self.data``).

    The objective keeps no copy of these: they are the data's, whichever variant (host
    or device) it holds.
    """

    data: LinearData

    X = _view("X", "X as validated (dense C-contiguous or canonical CSR, or a GPU array).")
    y = _view("y", "Targets as stored, shape (m,).")
    sw = _view("sw", "Normalized sample weights, shape (m,), float64.")
    n_samples = _view("n_samples", "m, the number of rows.")
    n_features = _view("n_features", "n, the number of columns of X.")
    dtype = _view("dtype", "dtype of X (float32 or float64).")
    is_sparse = _view("is_sparse", "Whether X is CSR.")
    backend = _view("backend", "The resolved backend name.")
    kernels = _view("kernels", "The backend's kernel package.")
