"""The estimators on a ``dask.array`` X: fit input kept on the workers, lazy predictions.

A binary fit on a dask X leaves X where Dask keeps it (the objective's passes run on the
workers, :mod:`fastopt.problems.chunked.dask_data`); only y and the sample weights (8
bytes per row each) are computed to this process, to find the classes. The predictions
of a fitted model on a dask X are dask arrays with X's row chunks, as in dask-ml: each
chunk's scores (or labels, or probabilities) are computed where the chunk is, when the
caller computes them.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["dask_fit_input", "dask_predict"]


def dask_fit_input(estimator, X, y, sample_weight):
    """``(X, y, sample_weight)`` for a fit on a dask X: X checked for shape only (its
    blocks are checked on the workers), y and a dask ``sample_weight`` computed here.

    Sets ``n_features_in_`` (no ``feature_names_in_``: a dask array has no column names).
    """
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D dask array; got shape {X.shape}")
    m = X.shape[0]
    if m != m:
        raise ValueError(f"X has unknown chunk sizes ({X!r}); call X.compute_chunk_sizes() "
                         "first")
    y = _host_vector(y, "y", m)
    if sample_weight is not None:
        sample_weight = _host_vector(sample_weight, "sample_weight", m)
    estimator.n_features_in_ = int(X.shape[1])
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    return X, y, sample_weight


def check_binary(n_classes: int) -> None:
    """A dask X fits binary problems only: the multinomial objective needs X in memory."""
    if n_classes > 2:
        raise ValueError(f"y has {n_classes} classes: the multinomial model needs X in "
                         "memory (a NumPy array or sparse matrix), not a dask array; a dask "
                         "X fits two classes")


def dask_predict(estimator, X, what: str):
    """``estimator.<what>(X)`` for a dask X as a dask array with X's row chunks.

    ``what`` is ``"decision_function"``, ``"predict"``, ``"predict_proba"`` or
    ``"predict_log_proba"``; the chunks are computed by the fitted in-memory method.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    if X.ndim != 2 or X.shape[1] != estimator.n_features_in_:
        raise ValueError(f"X has shape {X.shape}; the model was fitted with "
                         f"{estimator.n_features_in_} features")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    k = estimator.classes_.size
    if what == "predict":
        return X.map_blocks(_chunk_method, estimator, what, drop_axis=1,
                            dtype=estimator.classes_.dtype,
                            meta=np.empty(0, estimator.classes_.dtype))
    if what == "decision_function" and k == 2:
        return X.map_blocks(_chunk_method, estimator, what, drop_axis=1, dtype=np.float64,
                            meta=np.empty(0))
    return X.map_blocks(_chunk_method, estimator, what, chunks=(X.chunks[0], (k,)),
                        dtype=np.float64, meta=np.empty((0, 0)))


def _chunk_method(X_b, estimator, what: str):
    """The fitted model's ``what`` on one chunk (runs where the chunk is)."""
    if not sp.issparse(X_b):
        X_b = np.asarray(X_b)
    return getattr(estimator, what)(X_b)


def _host_vector(v, name: str, m: int) -> np.ndarray:
    """``v`` as a 1-D host array of length m (a dask array is computed here once)."""
    from ..problems.linear_data import is_dask_array

    if is_dask_array(v):
        v = v.compute()
    arr = np.asarray(v)
    if arr.ndim != 1 or arr.shape[0] != m:
        raise ValueError(f"{name} has shape {arr.shape} and X {m} rows: {name} must have one "
                         "entry per row of X")
    return arr
