"""The estimators on X in row blocks: a ``dask.array`` or a block source of
:mod:`fastopt.chunked`.

A binary fit leaves X where it is (the objective's passes run block by block, on the Dask
workers for a dask X, :mod:`fastopt.problems.chunked`); only y and the sample weights (8
bytes per row each) are brought to this process, to find the classes. The predictions of
a fitted model on a dask X are dask arrays with X's row chunks, as in dask-ml: each
chunk's scores (or labels, or probabilities) are computed where the chunk is, when the
caller computes them. On a block source they are NumPy arrays, computed block by block.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..problems.linear_data import is_dask_array

__all__ = ["check_binary", "chunked_fit_input", "chunked_predict"]


def chunked_fit_input(estimator, X, y, sample_weight):
    """``(X, y, sample_weight)`` for a fit on X in row blocks: X checked for shape only
    (its blocks are checked as they are read), y and the weights brought here.

    Sets ``n_features_in_`` (no ``feature_names_in_``: X in blocks has no column names).
    """
    if len(X.shape) != 2:
        raise ValueError(f"X must be 2-D; got shape {X.shape}")
    m = X.shape[0]
    if is_dask_array(X) and m != m:
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
    """X in row blocks fits binary problems only: the multinomial objective needs X in
    memory."""
    if n_classes > 2:
        raise ValueError(f"y has {n_classes} classes: the multinomial model needs X in "
                         "memory (a NumPy array or sparse matrix), not in row blocks (a "
                         "dask array or a block source); X in row blocks fits two classes")


def chunked_predict(estimator, X, what: str):
    """``estimator.<what>(X)`` for X in row blocks: for a dask X, a dask array with X's
    row chunks; for a block source, a NumPy array computed block by block.

    ``what`` is ``"decision_function"``, ``"predict"``, ``"predict_proba"`` or
    ``"predict_log_proba"``; each block goes through the fitted in-memory method.
    """
    if not is_dask_array(X):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(estimator)
        if X.shape[1] != estimator.n_features_in_:
            raise ValueError(f"X has shape {X.shape}; the model was fitted with "
                             f"{estimator.n_features_in_} features")
        method = getattr(estimator, what)
        return np.concatenate([method(X_b) for _, X_b in X.blocks()])
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
    if is_dask_array(v):
        v = v.compute()
    arr = np.asarray(v)
    if arr.ndim != 1 or arr.shape[0] != m:
        raise ValueError(f"{name} has shape {arr.shape} and X {m} rows: {name} must have one "
                         "entry per row of X")
    return arr
