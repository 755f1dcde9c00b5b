"""The validated data of a linear model and its backend: the one constructor path of the
linear objectives (:class:`~fastopt.problems.linear_objective.LinearObjective`) and of
:class:`~fastopt.problems.Multinomial`."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..kernels import get_backend, resolve_backend
from ._cuda import check_device_data, is_device_input, to_host
from ._validation import check_data, check_dtype_option, check_lam, check_sample_weight

__all__ = ["setup_linear_data"]


def setup_linear_data(obj, X, y, lam, sample_weight, fit_intercept, backend, dtype,
                      allow_device: bool = True) -> None:
    """Validate the data of a linear-model objective and pick its backend (shared setup).

    The one constructor path of :class:`LinearObjective` and
    :class:`~fastopt.problems.Multinomial`. Checks, in this order, ``dtype``, ``X``,
    ``y`` (by ``obj._check_targets(y, m)``, which returns the stored targets), the sample
    weights, ``lam``, ``fit_intercept`` and ``backend``, and sets on ``obj``: ``X``, ``y``,
    ``sw``, ``lam``, ``fit_intercept``, ``backend`` (resolved), ``kernels``,
    ``n_samples``, ``n_features``, ``dtype``, ``is_sparse`` and ``_data`` (``(X,)`` or the
    CSR arrays ``(data, indices, indptr, n)`` that the kernels take). The caller sets
    ``n_params``, its kernels and its scratch.

    Parameters
    ----------
    obj : object
        The objective being constructed.
    X, y, lam, sample_weight, fit_intercept, backend, dtype
        As in :class:`LinearObjective`.
    allow_device : bool
        Accept a GPU array X (used in place; needs ``backend="cuda"``). When False a GPU
        array goes through the host checks like any other input.
    """
    forced = check_dtype_option(dtype)
    if allow_device and is_device_input(X):
        # A GPU array (numba, CuPy, PyTorch) is used in place, checked on the device;
        # y and the sample weights are small and validated on the host.
        if backend != "cuda":
            raise ValueError(f"X is a GPU array; it needs backend='cuda', not {backend!r}")
        obj.X = check_device_data(X, "X", forced)
        y, sample_weight = to_host(y), to_host(sample_weight)
    else:
        obj.X = check_data(X, "X", forced)
    m, n = obj.X.shape
    obj.y = obj._check_targets(y, m)
    obj.sw = check_sample_weight(sample_weight, m)
    obj.lam = check_lam(lam)
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be a bool; got {fit_intercept!r}")
    obj.fit_intercept = bool(fit_intercept)
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string; got {backend!r}")
    obj.backend = resolve_backend(backend)
    obj.kernels = get_backend(obj.backend)
    obj.n_samples = m
    obj.n_features = n
    obj.dtype = obj.X.dtype
    obj.is_sparse = sp.issparse(obj.X)
    obj._data = (obj.X.data, obj.X.indices, obj.X.indptr, n) if obj.is_sparse else (obj.X,)
