"""``load_data``: a data file or a bundled data set name to ``(X, y, name)``, every check
done before any fit (the readers are in :mod:`.tables` and :mod:`.svmlight`)."""

from __future__ import annotations

import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .checks import _COMPRESSED, MAX_FEATURES, _check_plausible_width, _check_work_memory
from .errors import CliError
from .svmlight import _read_svmlight
from .tables import _read_npz, _read_table

#: What the loader's messages call its options: flag names on the command line, keyword
#: names in the Python API (each user reads their own vocabulary).
_API_NAMES = {"label_column": "label_column", "n_features": "n_features",
              "zero_based": "zero_based=True"}
_CLI_NAMES = {"label_column": "--label-column", "n_features": "--n-features",
              "zero_based": "--zero-based"}

#: Exceptions that mean "this file cannot be read as that format" (zlib.error and
#: zipfile.BadZipFile derive from neither OSError nor ValueError; a Warning is one that
#: the loader turned into an error so that it cannot print a second line).
_READ_ERRORS = (ValueError, TypeError, OSError, KeyError, EOFError, UnicodeDecodeError,
                OverflowError, zlib.error, zipfile.BadZipFile, Warning)


def load_data(spec: str, dtype=None, label_column: int | None = None, *, zero_based: bool = False,
              n_features: int | None = None):
    """Read ``(X, y, name)`` from a file or a bundled data set name.

    Every check happens here, before any fit: a file that cannot be read, an index or
    shape that would make the fit's work arrays outgrow memory, NaN or infinity, complex
    values, labels that are not one per row all raise a one-line ``ValueError`` that
    names the file (and, for svmlight files, the line). The file is only read.

    Parameters
    ----------
    spec : str
        A path: svmlight/libsvm (``.svm``, ``.svmlight``, ``.libsvm``, ``.txt``, no
        suffix; ``.gz``/``.bz2`` compressed too), ``.npz`` (arrays ``X`` and ``y``, or a
        scipy sparse CSR/CSC matrix saved by ``scipy.sparse.save_npz`` plus an array
        ``y``), ``.npy`` (a 2-D array whose ``label_column`` holds the labels) or
        ``.csv``/``.tsv`` (the same as text, one optional header line). Or the name of a
        bundled data set when no such file exists.
    dtype : None, "float32" or "float64"
        dtype of X (None: float64).
    label_column : int, optional
        Label column of .npy, .csv and .tsv files (default: the last); negative values
        count from the end. Out of range is an error, and so is a label column given for
        a file of another kind (svmlight and .npz files store the labels apart).
    zero_based : bool, default False
        Whether the column indices of an svmlight file start at 0. The default is the
        LIBSVM convention, indices from 1, where an index 0 is an error; never guessed
        from the file (a guess would shift every column of a 1-based file that holds
        an index 0).
    n_features : int, optional
        Number of columns of X. For svmlight and sparse .npz files it may exceed the
        largest index (columns that no row uses); it also accepts a width that the
        plausibility limit would refuse (more than ``max(2**20, 64 * nnz)`` columns).
        Dense files must have exactly this many feature columns.

    Returns
    -------
    X : ndarray of shape (m, n) or scipy.sparse.csr_matrix
    y : ndarray of shape (m,)
    name : str

    Raises
    ------
    ValueError
        Missing file, unknown format, unreadable, truncated or malformed content, an
        implausible or too large width, non-finite or complex values, labels that are
        not one per row, or a bad argument (one line; :class:`CliError` is a subclass).
    """
    return _load_data(spec, dtype, label_column, zero_based, n_features, _API_NAMES)


def _load_data(spec, dtype, label_column, zero_based, n_features, names):
    """:func:`load_data`, with the messages naming the options as in ``names``."""
    import scipy.sparse as sp

    from .. import datasets

    if dtype not in (None, "float32", "float64", np.float32, np.float64):
        raise CliError(f"dtype must be None, 'float32' or 'float64'; got {dtype!r}")
    if label_column is not None and (isinstance(label_column, bool)
                                     or not isinstance(label_column, (int, np.integer))):
        raise CliError(f"{names['label_column']} must be an integer; got {label_column!r}")
    if n_features is not None and (isinstance(n_features, bool) or not isinstance(
            n_features, (int, np.integer)) or not 1 <= n_features <= MAX_FEATURES):
        raise CliError(f"{names['n_features']} must be an integer from 1 to {MAX_FEATURES}; "
                       f"got {n_features!r}")
    dt = np.dtype(dtype or np.float64)
    path = Path(spec)
    if not path.exists():
        if spec in datasets.names():
            X, y = datasets.load(spec, dtype=dt)
            return _set_width(X, n_features, spec, names), y, spec
        raise CliError(f"no such file: {spec} (nor a bundled data set: "
                       f"{', '.join(datasets.names())})")
    if path.is_dir():
        raise CliError(f"{spec} is a directory, not a data file")
    if not path.is_file():
        # A pipe, a device such as /dev/zero: reading it could block forever or never
        # end (one endless line), so only regular files are read.
        raise CliError(f"{spec} is not a regular file (a pipe or a device); save the data "
                       "to a file first")
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] in _COMPRESSED
    if compressed:
        suffixes = suffixes[:-1]
    kind = suffixes[-1] if suffixes else ""
    if compressed and kind in (".npz", ".npy"):
        raise CliError(f"{spec}: compressed {kind} files are not read; decompress it, or "
                       "save the arrays with numpy.savez_compressed")
    what = {".npz": "an .npz archive", ".npy": "a .npy array", ".csv": "CSV",
            ".tsv": "TSV"}.get(kind, "svmlight/libsvm")
    if label_column is not None and kind not in (".npy", ".csv", ".tsv"):
        # Silently ignored, it would suggest that a column was chosen.
        raise CliError(f"{names['label_column']} applies to .npy, .csv and .tsv tables; "
                       f"{spec} is {what}, whose labels are stored apart")
    if kind not in (".npz", ".npy", ".csv", ".tsv"):
        # Imported outside the block below, whose warnings filter would turn an import's
        # DeprecationWarning into a read error.
        from sklearn.datasets import load_svmlight_file  # noqa: F401
    try:
        with warnings.catch_warnings():
            # A NumPy warning (empty file, complex cast, ...) would print lines of its
            # own; as an error it becomes the one line below.
            warnings.simplefilter("error")
            if kind == ".npz":
                X, y = _read_npz(path, spec)
            elif kind in (".npy", ".csv", ".tsv"):
                X, y = _read_table(path, spec, kind,
                                   -1 if label_column is None else label_column, names)
            else:
                X, y = _read_svmlight(path, spec, dt, zero_based, n_features, names)
    except CliError:
        raise
    except MemoryError:
        raise CliError(f"{spec}: not enough memory to read it") from None
    except _READ_ERRORS as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise CliError(f"could not read {spec} as {what}: {reason[:300]}") from None
    if X.shape[0] != y.shape[0]:
        raise CliError(f"{spec}: X has {X.shape[0]} rows but y has {y.shape[0]} labels")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise CliError(f"{spec}: no data (X has shape {X.shape})")
    X = _set_width(X, n_features, spec, names)
    if sp.issparse(X) and n_features is None and kind == ".npz":
        # svmlight files were checked line by line in _read_svmlight.
        _check_plausible_width(X.shape[1], X.nnz, spec, names)
    _check_work_memory(X.shape[1], f"{names['n_features']} {n_features}: a fit"
                       if n_features is not None else
                       f"{spec} has {X.shape[1]} features; a fit")
    X = X.astype(dt, copy=False)
    return X, y, path.name


def _set_width(X, n_features, spec: str, names):
    """X with ``n_features`` columns: a sparse X is widened (columns no row uses), a
    dense X must already have them."""
    import scipy.sparse as sp

    if n_features is None or X.shape[1] == n_features:
        return X
    if X.shape[1] > n_features:
        raise CliError(f"{spec} has {X.shape[1]} feature columns, more than "
                       f"{names['n_features']} {n_features}")
    if not sp.issparse(X):
        raise CliError(f"{spec} has {X.shape[1]} feature columns, not "
                       f"{names['n_features']} {n_features} (only sparse data is widened)")
    X = sp.csr_matrix(X)
    return sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], n_features))
