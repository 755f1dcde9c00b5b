"""Bundled real datasets for binary logistic regression.

Four public sets from the LIBSVM collection ship inside the package, gzip-compressed in
svmlight format (``fastopt/datasets/data/*.svm.gz``; provenance and checksums of the
published counts in ``data/PROVENANCE.md``):

========== ======= ======== ==========================================
name        rows    features origin
========== ======= ======== ==========================================
a9a         32,561  123      UCI Adult, binarized features
w8a         49,749  300      web page classification
mushrooms   8,124   112      UCI Mushroom
ijcnn1      49,990  22       IJCNN 2001 challenge
========== ======= ======== ==========================================

:func:`load` returns ``(X, y)`` with ``X`` a canonical scipy CSR matrix (sorted indices,
no duplicates, no explicit zeros) and ``y`` a float64 array in {-1, +1} (the larger of
the file's two label values maps to +1), ready for :class:`fastopt.problems.Logistic`.

Examples
--------
>>> import fastopt as fo
>>> X, y = fo.datasets.load("a9a")
>>> X.shape
(32561, 123)
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import scipy.sparse as sp

from . import _cache

__all__ = ["REFERENCE_OPTIMA", "info", "load", "names"]

#: name -> (file, number of features, origin). The feature count is passed to the reader
#: because a column that no row uses is absent from the file and would otherwise be lost.
_DATASETS = {
    "a9a": ("a9a.svm.gz", 123, "UCI Adult, binarized features (LIBSVM collection)"),
    "w8a": ("w8a.svm.gz", 300, "web page classification (LIBSVM collection)"),
    "mushrooms": ("mushrooms.svm.gz", 112, "UCI Mushroom (LIBSVM collection)"),
    "ijcnn1": ("ijcnn1.svm.gz", 22, "IJCNN 2001 challenge (LIBSVM collection)"),
}

#: Published optimal values f* of L2 logistic regression without intercept,
#: f(w) = (1/m) sum_i log(1 + exp(-b_i <a_i, w>)) + lam/2 ||w||^2 with lam = 1/m
#: (Rodomanov and Kropotov, ICML 2016, results accompanying their code).
REFERENCE_OPTIMA = {"a9a": 0.32337958246484583, "w8a": 0.12618068651052491}


def names() -> list[str]:
    """Names of the bundled datasets, sorted."""
    return sorted(_DATASETS)


def _check_name(name) -> str:
    # isinstance first: an unhashable name (a list, ...) would raise TypeError in the test.
    if not isinstance(name, str) or name not in _DATASETS:
        raise ValueError(f"unknown dataset name {name!r}; the bundled datasets are {names()}")
    return name


def _data_path(filename: str):
    return resources.files(__name__).joinpath("data", filename)


def _parse(name: str):
    """Parse and canonicalize one bundled file (float64): ``(X, y)``."""
    from sklearn.datasets import load_svmlight_file  # sklearn imported only when used

    filename, n_features, _ = _DATASETS[name]
    with resources.as_file(_data_path(filename)) as path:
        X, labels = load_svmlight_file(str(path), n_features=n_features, dtype=np.float64)
    X = sp.csr_matrix(X)
    # ijcnn1 stores explicit zeros; they would cost work in every CSR pass.
    X.eliminate_zeros()
    X.sum_duplicates()
    X.sort_indices()
    if X.indices.dtype != np.int32 and max(X.nnz, X.shape[1]) < np.iinfo(np.int32).max:
        # The reader returns int64 indices; scipy's copies (every load hands out one)
        # shrink them to int32 anyway, and int32 makes the cache entry a quarter smaller.
        X = sp.csr_matrix((X.data, X.indices.astype(np.int32), X.indptr.astype(np.int32)),
                          shape=X.shape)
    values = np.unique(labels)
    if values.size != 2:
        raise RuntimeError(f"dataset {name!r} has labels {values}, expected two values")
    y = np.where(labels == values[1], 1.0, -1.0)
    return X, y


@functools.cache
def _load_cached(name: str):
    """One dataset, float64, once per process; never handed out directly.

    Read from the on-disk cache (:mod:`fastopt.datasets._cache`) when it holds a valid
    entry for this exact file, else parsed and written there for the next process.
    """
    filename, n_features, _ = _DATASETS[name]
    sha256 = _cache.file_sha256(_data_path(filename).read_bytes())
    path = _cache.entry_path(name, sha256)
    entry = None if path is None else _cache.read(path, sha256, n_features)
    if entry is not None:
        data, indices, indptr, shape, y = entry
        return sp.csr_matrix((data, indices, indptr), shape=shape), y
    X, y = _parse(name)
    if path is not None:
        _cache.write(path, sha256, X.data, X.indices, X.indptr, X.shape, y)
    return X, y


def load(name: str, dtype=np.float64) -> tuple[sp.csr_matrix, np.ndarray]:
    """Load a bundled dataset.

    Parameters
    ----------
    name : str
        One of :func:`names` (``"a9a"``, ``"ijcnn1"``, ``"mushrooms"``, ``"w8a"``).
    dtype : {numpy.float64, numpy.float32}, default numpy.float64
        dtype of the matrix values.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (m, n)
        Canonical CSR (sorted indices, no duplicates, explicit zeros removed). The file
        is parsed once per machine and kept in binary form in a cache folder
        (``$FASTOPT_CACHE_DIR``, else ``$XDG_CACHE_HOME/fastopt``, else
        ``~/.cache/fastopt``; parsed again if that is not writable, or if an entry is
        damaged or stale), and once per process in memory; each call returns a fresh
        copy, which the caller may modify.
    y : ndarray of shape (m,), float64
        Labels in {-1, +1}; the larger of the two label values in the file maps to +1
        (a fresh copy).

    Raises
    ------
    ValueError
        If ``name`` is not a bundled dataset (the message lists them), or ``dtype`` is
        not float32/float64.
    """
    _check_name(name)
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        # np.dtype raises TypeError for a name it does not know ("float", "f9", ...).
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dtype is None or dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    X, y = _load_cached(name)
    # Copies (a few MB, milliseconds): the caller owns them and the cache stays intact.
    return X.astype(dt, copy=True), y.copy()


def info(name: str) -> dict:
    """Facts about a bundled dataset (loads it).

    Returns
    -------
    dict
        ``name``, ``rows``, ``features``, ``nonzeros``, ``positives``, ``negatives``,
        ``origin``, ``file``, ``reference_optimum`` (f* with lam = 1/m, or None) and
        ``provenance`` (text of PROVENANCE.md).
    """
    _check_name(name)
    X, y = load(name)
    filename, n_features, origin = _DATASETS[name]
    return {
        "name": name,
        "rows": X.shape[0],
        "features": X.shape[1],
        "nonzeros": int(X.nnz),
        "positives": int(np.count_nonzero(y > 0)),
        "negatives": int(np.count_nonzero(y < 0)),
        "origin": origin,
        "file": filename,
        "reference_optimum": REFERENCE_OPTIMA.get(name),
        "provenance": _data_path("PROVENANCE.md").read_text(encoding="utf-8"),
    }
