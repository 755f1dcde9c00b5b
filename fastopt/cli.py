"""The ``fastopt`` command (console script, also ``python -m fastopt``).

Subcommands::

    fastopt demo                 every method on a9a with lam = 1/m: table and convergence plot
    fastopt fit DATA             fit L2 logistic regression to a file, write the coefficients
    fastopt compare DATA         fastopt's methods beside scikit-learn's solvers, table and plot
    fastopt experiment NAME      a study of one method's behaviour, with its plot
    fastopt info                 versions, backends, threads

DATA is a file (svmlight/libsvm, also .gz/.bz2; .npz; .npy; .csv) or the name of a
bundled data set (``a9a``, ``w8a``, ``mushrooms``, ``ijcnn1``). Errors that come from the
user's input (a missing or malformed file, a bad option) are one line on stderr and exit
status 2; a progress bar is drawn on stderr for fits that last more than half a second
when stderr is a terminal (``--quiet`` turns it off).

Times are honest whatever ``--backend`` is: before a method is timed it runs untimed on a
few rows of the same data (the *warm-up*, where numba compiles what the method calls and
any backend pays its first-call costs); the warm-up and its compilation are printed on
their own line, and compilation that still happens inside a timed run is detected,
reported and subtracted (:mod:`fastopt._timing`).
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import math
import os
import sys
import time
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from . import _memory
from ._npy_header import read_npy_header

__all__ = ["main", "load_data", "EXPERIMENTS"]

_SVMLIGHT_SUFFIXES = {".svm", ".svmlight", ".libsvm", ".txt", ".dat", ".t", ""}
_COMPRESSED = {".gz", ".bz2"}


class CliError(ValueError):
    """An error caused by the user's input: reported in one line, exit status 2.

    A ``ValueError``, so that :func:`load_data` refuses bad input from Python as the rest
    of the API does.
    """


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (argparse prints the usage block and exits)."""

    def error(self, message):
        raise CliError(f"{self.prog}: {message}")


# ---------------------------------------------------------------------------- data

#: Most features any input may have. sklearn's svmlight parser holds a column index in a
#: C ``int`` (a larger one overflows it) and the kernels keep CSR column indices in int32
#: where they fit; no public data set comes near it.
MAX_FEATURES = 2**31 - 1

#: Without ``--n-features``, a sparse file whose width exceeds
#: ``max(PLAUSIBLE_MIN_FEATURES, PLAUSIBLE_FEATURES_PER_NONZERO * nnz)`` is refused: a
#: column that holds no nonzero only costs memory (its coefficient is 0 under the L2
#: penalty), yet every dense work vector of a fit has one entry per column, so one stray
#: index such as ``1000000000:1`` would cost gigabytes. The sparsest public LIBSVM sets
#: (news20, url, kdd2010, webspam) have far under one feature per nonzero, and 2^20
#: columns (8 MB per vector) stay cheap whatever the file.
PLAUSIBLE_MIN_FEATURES = 2**20
PLAUSIBLE_FEATURES_PER_NONZERO = 64

#: float64 vectors of ``n_params`` entries a fit may hold at once (iterate, gradient,
#: search directions, L-BFGS pairs, the per-chunk partial gradients of the kernels): an
#: upper estimate, used to refuse a width whose work arrays cannot fit in memory.
WORK_VECTORS = 40

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

    from . import datasets

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


def _check_memory(nbytes: int, what: str) -> None:
    """CliError when ``nbytes`` exceed the share of the available memory that any request
    may take (:func:`fastopt._memory.check_fits`); ``what`` starts the message: it says
    what needs the memory."""
    try:
        _memory.check_fits(nbytes, what)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _check_work_memory(n_params: int, what: str, newton: bool = False) -> None:
    """Refuse a model whose dense work arrays (:data:`WORK_VECTORS` vectors of
    ``n_params``, plus two ``n_params`` x ``n_params`` Hessians for ``newton``, the
    matrix and its Cholesky factor) would not fit in memory."""
    nbytes = 8 * n_params * WORK_VECTORS + (16 * n_params * n_params if newton else 0)
    _check_memory(nbytes, what)


def _plausible_width(nnz: int) -> int:
    """Widest sparse matrix of ``nnz`` nonzeros read without a stated width."""
    return max(PLAUSIBLE_MIN_FEATURES, PLAUSIBLE_FEATURES_PER_NONZERO * nnz)


def _check_plausible_width(n: int, nnz: int, spec: str, names) -> None:
    """Refuse a sparse matrix far wider than its nonzeros can use (see
    :data:`PLAUSIBLE_MIN_FEATURES`), unless the user gave its width."""
    if n > MAX_FEATURES:
        raise CliError(f"{spec}: {n} columns, more than the {MAX_FEATURES} supported")
    if n > _plausible_width(nnz):
        raise CliError(f"{spec}: {n} columns for {nnz} nonzeros is implausible (more "
                       f"than max(2^20, {PLAUSIBLE_FEATURES_PER_NONZERO} x nonzeros) = "
                       f"{_plausible_width(nnz)}); pass {names['n_features']} {n} if it "
                       "is right")


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


def _check_values(a, spec: str, what: str) -> None:
    """Refuse an array that does not hold real numbers (complex, text, objects)."""
    if a.dtype.kind == "c":
        raise CliError(f"{spec}: {what} is complex ({a.dtype}); fastopt fits real data only")
    if a.dtype.kind not in "biuf":
        raise CliError(f"{spec}: {what} must hold real numbers; got dtype {a.dtype}")


def _first_nonfinite(a) -> int | None:
    """Flat index of the first NaN or infinity of a float array, or None."""
    if a.dtype.kind != "f":
        return None
    finite = np.isfinite(a.reshape(-1))
    if finite.all():
        return None
    return int(np.argmin(finite))


def _check_labels(y, spec: str, where) -> np.ndarray:
    """y as one label per row: 1-D, real or text, finite. ``where(i)`` names row i."""
    if y.ndim != 1:
        raise CliError(f"{spec}: y must be 1-D (one label per row); got shape {y.shape}")
    if y.dtype.kind == "c":
        raise CliError(f"{spec}: the labels are complex ({y.dtype})")
    if y.dtype.kind not in "biufU":
        raise CliError(f"{spec}: the labels must be numbers or text; got dtype {y.dtype}")
    bad = _first_nonfinite(y)
    if bad is not None:
        raise CliError(f"{spec}, {where(bad)}: the label is {y[bad]}, not a finite number")
    return y


# .npy headers: shapes and sizes are checked before any array is allocated, so that a
# small (or truncated) file whose header claims a huge shape is refused in one line
# instead of allocating what the header says.


def _check_npy_header(header, stored: int, spec: str, what: str) -> None:
    """Refuse an array that needs pickle, is complex, claims more bytes than ``stored``
    (its stored size) or would not fit in memory."""
    if header is None:
        return
    shape, dtype = header
    if dtype.hasobject:
        raise CliError(f"{spec}: {what} holds Python objects (dtype object), which only "
                       "pickle could read; fastopt never unpickles a data file")
    if dtype.kind == "c":
        raise CliError(f"{spec}: {what} is complex ({dtype}); fastopt fits real data only")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > stored:
        raise CliError(f"{spec}: {what} claims shape {shape} "
                       f"({_memory.format_bytes(nbytes)}) but only {stored} bytes are "
                       "stored: the file is truncated or corrupt")
    # Twice: the array, and the copy that a dtype conversion or the split of the label
    # column makes of it.
    _check_memory(2 * nbytes, f"{spec}: {what} of shape {shape}")


def _read_npz(path: Path, spec: str):
    """``(X, y)`` of an .npz archive: dense ``X`` or a saved sparse matrix, and ``y``.

    Every member's header is checked before NumPy allocates it (:func:`_check_npy_header`);
    nothing is unpickled.
    """
    if not zipfile.is_zipfile(path):
        # np.load would try pickle on it and suggest allow_pickle, which is never used.
        raise CliError(f"{spec} is not an .npz archive (not a zip file, or a truncated one)")
    with np.load(path, allow_pickle=False) as archive:
        if not hasattr(archive, "files"):
            raise CliError(f"{spec} holds a single array, not an .npz archive of X and y")
        keys = set(archive.files)
        members = set(archive.zip.namelist())

        def get(key):
            member = f"{key}.npy" if f"{key}.npy" in members else key
            with archive.zip.open(member) as fp:
                header = read_npy_header(fp)
            _check_npy_header(header, archive.zip.getinfo(member).file_size, spec,
                              f"array {key!r}")
            return archive[key]

        if "y" not in keys:
            raise CliError(f"{spec}: the .npz archive has no array 'y' (found: "
                           f"{', '.join(sorted(keys)) or 'nothing'})")
        y = get("y")
        if "X" in keys:
            X = get("X")
            if X.ndim != 2:
                raise CliError(f"{spec}: X must be 2-D; got shape {X.shape}")
            _check_values(X, spec, "X")
            bad = _first_nonfinite(X)
            if bad is not None:
                row, col = divmod(bad, X.shape[1])
                raise CliError(f"{spec}: X[{row}, {col}] is {X[row, col]}, not a finite "
                               "number")
            X = np.ascontiguousarray(X)
        elif {"data", "indices", "indptr", "shape"} <= keys:
            X = _sparse_from_npz(get, keys, spec)
        else:
            raise CliError(f"{spec}: the .npz archive needs an array 'X' (or a sparse "
                           "matrix's data, indices, indptr, shape) beside 'y'")
    y = _check_labels(y, spec, lambda i: f"row {i}")
    return X, y


def _sparse_from_npz(get, keys, spec: str):
    """The CSR matrix of a ``scipy.sparse.save_npz`` archive (CSR or CSC).

    dtypes, the shape and the values are checked here, then the index structure by
    :func:`fastopt.problems._validation.check_sparse_structure` (the objectives' check),
    so a malformed matrix is refused in one line naming the file.
    """
    import scipy.sparse as sp

    fmt = "csr"
    if "format" in keys:
        raw = get("format")
        fmt = raw.item().decode("ascii", "replace") if raw.dtype.kind == "S" else str(raw)
    if fmt not in ("csr", "csc"):
        raise CliError(f"{spec}: sparse format {fmt!r} is not read (CSR or CSC only)")
    data, indices, indptr, shape = (get(k) for k in ("data", "indices", "indptr", "shape"))
    _check_values(data, spec, "the sparse matrix's data")
    for name, a in (("indices", indices), ("indptr", indptr), ("shape", shape)):
        if a.dtype.kind not in "iu" or a.ndim != 1:
            raise CliError(f"{spec}: the sparse matrix's {name} must be a 1-D integer "
                           f"array; got dtype {a.dtype}, shape {a.shape}")
    if shape.shape != (2,) or shape.min() < 0:
        raise CliError(f"{spec}: the sparse matrix's shape must be two sizes >= 0; got "
                       f"{shape.tolist()}")
    if data.ndim != 1:
        raise CliError(f"{spec}: the sparse matrix's data must be 1-D; got shape "
                       f"{data.shape}")
    bad = _first_nonfinite(data)
    if bad is not None:
        raise CliError(f"{spec}: the sparse matrix holds {data[bad]}, not a finite number "
                       f"(stored value {bad})")
    shape = (int(shape[0]), int(shape[1]))
    X = (sp.csc_matrix if fmt == "csc" else sp.csr_matrix)((data, indices, indptr),
                                                           shape=shape)
    # The structure (indices in range, indptr monotone) is checked before the CSC -> CSR
    # conversion, which writes through the row indices, with the objectives' own check.
    from .problems._validation import check_sparse_structure

    try:
        X = check_sparse_structure(X, f"{spec}: X")
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return X.tocsr()


def _read_table(path: Path, spec: str, kind: str, label_column: int, names):
    """``(X, y)`` of a .npy array or a CSV/TSV table, the labels in ``label_column``."""
    header_lines = 0
    if kind == ".npy":
        with open(path, "rb") as fp:
            header = read_npy_header(fp)
        _check_npy_header(header, path.stat().st_size, spec, "the array")
        table = np.load(path, allow_pickle=False)
    else:
        delimiter = "," if kind == ".csv" else "\t"
        # loadtxt grows a float64 array (8 bytes a value, twice while it grows) and the
        # label column's split copies it once more.
        _check_text_size(path, spec, delimiter.encode(), per_value=24, per_line=24)
        try:
            table = np.loadtxt(path, delimiter=delimiter, ndmin=2)
        except ValueError:
            # One header line is allowed.
            table = np.loadtxt(path, delimiter=delimiter, ndmin=2, skiprows=1)
            header_lines = 1
    if table.ndim != 2 or table.shape[1] < 2:
        raise CliError(f"{spec}: expected a 2-D table with a label column and at least one "
                       f"feature column; got shape {table.shape}")
    _check_values(table, spec, "the table")
    ncols = table.shape[1]
    if not -ncols <= label_column < ncols:
        raise CliError(f"{names['label_column']} {label_column} is out of range: {spec} "
                       f"has {ncols} columns (0 to {ncols - 1}, or -1 to -{ncols} from the "
                       "end)")
    bad = _first_nonfinite(table)
    if bad is not None:
        row, col = divmod(bad, ncols)
        where = (f"row {row}" if kind == ".npy"
                 else f"line {_text_line_of_row(path, row, header_lines)}")
        raise CliError(f"{spec}, {where}: column {col} is {table[row, col]}, not a finite "
                       "number")
    col = label_column % ncols
    y = table[:, col]
    X = np.delete(table, col, axis=1)
    return np.ascontiguousarray(X), y


#: Bytes of memory per byte of the longest line while a parser splits it (the line, and
#: one Python bytes object of about 40 bytes per token of at least 4 bytes).
_PER_LINE_BYTE = 12


def _check_text_size(path: Path, spec: str, separator: bytes, per_value: int,
                     per_line: int) -> None:
    """Refuse a text file whose parsed arrays would not fit in memory, before parsing.

    A compressed file can expand a thousandfold (a few MB of .gz holding gigabytes of
    text): its content is counted in one streaming pass, values (``separator``s) and
    lines, stopping as soon as the estimate, ``per_value`` bytes a value,
    ``per_line`` a line and :data:`_PER_LINE_BYTE` a byte of the longest line, exceeds
    the budget. A plain file whose every byte could be a value (8 x its size) fits the
    budget is not read twice.
    """
    available = _memory.available_bytes()
    budget = _memory.MAX_FRACTION * available
    if (path.suffix.lower() not in _COMPRESSED
            and max(per_value, per_line, _PER_LINE_BYTE) * path.stat().st_size <= budget):
        return
    values = lines = longest = run = 0  # run: length of the line still open
    with _open_binary(path) as f:
        while chunk := f.read(1 << 24):
            values += chunk.count(separator)
            ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
            lines += ends.size
            if ends.size:
                longest = max(longest, run + int(ends[0]) + 1,
                              int(np.diff(ends).max(initial=0)))
                run = len(chunk) - int(ends[-1]) - 1
            else:
                run += len(chunk)
            longest = max(longest, run)
            need = values * per_value + (lines + 1) * per_line + longest * _PER_LINE_BYTE
            if need > budget:
                raise CliError(f"{spec}: reading it would need more than "
                               f"{_memory.format_bytes(need)} of memory (at least {values} "
                               f"values on {lines} lines), more than "
                               f"{_memory.MAX_FRACTION:.0%} of the "
                               f"{_memory.format_bytes(available)} available")


def _open_binary(path: Path):
    """The file as a binary stream, decompressed for .gz and .bz2."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, "rb")
    if suffix == ".bz2":
        return bz2.open(path, "rb")
    return open(path, "rb")


def _text_line_of_row(path: Path, row: int, skip: int) -> int:
    """Line number (from 1) of data row ``row`` (from 0) of a CSV/TSV file read by
    ``np.loadtxt`` after ``skip`` lines (blank and ``#`` comment lines hold no row)."""
    with _open_binary(path) as f:
        seen = -1
        for number, line in enumerate(f, start=1):
            if number > skip and line.split(b"#", 1)[0].strip():
                seen += 1
                if seen == row:
                    return number
    return 0


# svmlight files: scikit-learn's compiled parser reads them (O(nnz) memory: it builds
# the CSR arrays, nothing dense), and reports neither the line of a problem nor the
# problems it lets through (a huge index). The file is read again, in Python, only to
# find the line of a problem already known to exist.


def _svmlight_lines(path: Path):
    """``(line number, label, feature tokens)`` of each data line, as the parser splits
    them (``#`` starts a comment, a leading ``qid:`` token is dropped)."""
    with _open_binary(path) as f:
        for number, line in enumerate(f, start=1):
            parts = line.split(b"#", 1)[0].split()
            if not parts:
                continue
            features = parts[1:]
            if features and features[0].startswith(b"qid"):
                features = features[1:]
            yield number, parts[0], features


def _show(token: bytes) -> str:
    text = token.decode("latin-1")
    return repr(text if len(text) <= 24 else text[:24] + "...")


def _svmlight_problem(path: Path, zero_based: bool, max_index: int, why: str, names):
    """``(line, problem)`` of the first line that the parser refuses or that holds an
    index above ``max_index`` (``why`` says why that is a problem), or None."""
    for number, target, features in _svmlight_lines(path):
        try:
            float(target)
        except ValueError:
            if number == 1 and target.startswith(b"\xef\xbb\xbf"):
                return number, ("the file starts with a UTF-8 byte-order mark, which "
                                "svmlight readers do not skip; save it without one")
            return number, f"the label {_show(target)} is not a number"
        previous = -1
        for token in features:
            index_text, colon, value = token.partition(b":")
            if not colon:
                return number, f"{_show(token)} is not INDEX:VALUE"
            try:
                index = int(index_text)
            except ValueError:
                return number, f"the feature index {_show(index_text)} is not an integer"
            try:
                float(value)
            except ValueError:
                return number, f"the value {_show(value)} of feature {index} is not a number"
            if index < 0:
                return number, f"negative feature index {index}"
            if index == 0 and not zero_based:
                return number, (f"feature index 0, but indices start at 1 (the LIBSVM "
                                f"convention); pass {names['zero_based']} if this file's indices "
                                "start at 0")
            if index <= previous:
                return number, (f"feature indices must increase along a line ({previous} "
                                f"then {index})")
            if index > max_index:
                return number, f"feature index {index} {why}"
            previous = index
    return None


def _svmlight_line_of_row(path: Path, row: int) -> int:
    """Line number (from 1) of data row ``row`` (from 0) of an svmlight file."""
    for i, (number, _, _) in enumerate(_svmlight_lines(path)):
        if i == row:
            return number
    return 0


def _read_svmlight(path: Path, spec: str, dt, zero_based: bool, n_features, names):
    """``(X, y)`` of an svmlight/libsvm file: CSR X of dtype ``dt``, float labels.

    Refused, naming the line: what the parser refuses (syntax, an index 0 in a 1-based
    file, unsorted indices), an index beyond :data:`MAX_FEATURES`, beyond ``n_features``
    or (without it) beyond the plausible width, and NaN or infinity.
    """
    import scipy.sparse as sp
    from sklearn.datasets import load_svmlight_file

    # The parser keeps an int64 index and a value per nonzero and an indptr entry and a
    # label per line, in arrays that grow by reallocation (twice, at the peak).
    _check_text_size(path, spec, b":", per_value=2 * (8 + dt.itemsize), per_line=32)
    shift = 0 if zero_based else 1  # file index = column + shift
    hard = f"is more than the {MAX_FEATURES} features supported"
    try:
        # zero_based is always explicit: sklearn's "auto" would read a 1-based file that
        # holds an index 0 as 0-based, shifting every column without a word.
        X, y = load_svmlight_file(str(path), dtype=dt, zero_based=bool(zero_based))
    except (ValueError, OverflowError):
        # OverflowError: an index beyond a C int; ValueError: anything else it refuses.
        found = _svmlight_problem(path, zero_based, MAX_FEATURES - 1 + shift, hard, names)
        if found is None:
            raise
        raise CliError(f"{spec}, line {found[0]}: {found[1]}") from None
    X = sp.csr_matrix(X)
    width = X.shape[1]
    if n_features is not None:
        limit, why = n_features, f"is beyond {names['n_features']} {n_features}"
    else:
        limit = min(_plausible_width(X.nnz), MAX_FEATURES)
        why = (f"is implausible for a file of {X.nnz} nonzeros: the limit is max(2^20, "
               f"{PLAUSIBLE_FEATURES_PER_NONZERO} x nonzeros) = {limit} features, as every "
               f"dense work array of a fit has one entry per feature; pass "
               f"{names['n_features']} if it is right")
    if width > limit:
        found = _svmlight_problem(path, zero_based, limit - 1 + shift, why, names)
        number, problem = found if found is not None else (0, f"index {width} {why}")
        raise CliError(f"{spec}, line {number}: {problem}")
    bad = _first_nonfinite(X.data)
    if bad is not None:
        row = int(np.searchsorted(X.indptr, bad, side="right")) - 1
        raise CliError(f"{spec}, line {_svmlight_line_of_row(path, row)}: the value "
                       f"{X.data[bad]} of a feature is not a finite number")
    y = _check_labels(np.asarray(y).reshape(-1), spec,
                      lambda i: f"line {_svmlight_line_of_row(path, i)}")
    return X, y


# ---------------------------------------------------------------------------- options


def _real(low: float, strict: bool = False, high: float = math.inf):
    """argparse type: a finite number >= ``low`` (> ``low`` when ``strict``), at most
    ``high``; argparse puts the flag's name before the message."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(
                f"must be a finite number {'>' if strict else '>='} {low:g}; got {text}")
        if value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:g}; got {text}")
        return value

    return parse


def _integer(low: int, high: int | None = None):
    """argparse type: an integer from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer; got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"must be an integer {bound}; got {text}")
        return value

    return parse


_OUT_SUFFIXES = (".npz", ".npy", ".csv", ".txt")

#: Largest ``demo --budget``: a day. A larger one is a typo (1e308 s), not a plan.
MAX_BUDGET_S = 86_400.0


def _fit_out_path(args, name: str) -> Path:
    """Where ``fit`` writes the coefficients: ``--out``, else NAME.coef.npz."""
    if args.out:
        return Path(args.out)
    return Path(f"{Path(name).name.split('.')[0]}.coef.npz")


def _writable_dir(folder: Path, flag: str, value) -> None:
    """CliError unless ``folder`` is (or can be created as) a writable directory."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise CliError(f"{flag} {value}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CliError(f"{flag} {value}: the directory {existing} is not writable")


def _check_args(args) -> None:
    """Checks of the options that need no data, done before any work starts, with
    messages that name the flag (argparse's types have checked each number alone)."""
    if getattr(args, "lam", None) is not None and getattr(args, "C", None) is not None:
        raise CliError("give --lam or --C, not both")
    backend = getattr(args, "backend", "auto")
    if backend != "auto":
        from .kernels import BACKEND_MODULES

        if backend not in BACKEND_MODULES:
            raise CliError(f"--backend must be auto or one of {', '.join(BACKEND_MODULES)}; "
                           f"got {backend!r}")
        from .kernels import resolve_backend

        try:
            resolve_backend(backend)
        except ValueError as exc:
            raise CliError(f"--backend {backend}: {exc}") from None
    methods = getattr(args, "methods", None)
    flag = "--methods"
    if getattr(args, "method", "auto") != "auto":
        methods, flag = args.method, "--method"
    if methods is not None:
        from .solvers import registry

        for method in methods.split(","):
            if method not in registry.names():
                raise CliError(f"{flag}: unknown method {method!r}; known: "
                               f"{', '.join(registry.names())}")
    if args.command == "demo":
        from . import datasets

        if args.data not in datasets.names():
            raise CliError(f"--data must be a bundled data set ({', '.join(datasets.names())}"
                           f"); got {args.data!r}")
    if getattr(args, "out_dir", None) is not None:
        _writable_dir(Path(args.out_dir), "--out-dir", args.out_dir)
    if args.command == "fit":
        out = _fit_out_path(args, args.data)
        what = f"--out {args.out}" if args.out else f"the output {out} (default name)"
        if out.suffix.lower() not in _OUT_SUFFIXES:
            raise CliError(f"--out must end in {', '.join(_OUT_SUFFIXES)}; got {args.out}")
        if out.is_dir():
            raise CliError(f"{what} is a directory")
        parent = out.parent
        if not parent.is_dir():
            raise CliError(f"{what}: the directory {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise CliError(f"{what}: the directory {parent} is not writable")
        data = Path(args.data)
        if out.exists() and data.exists() and os.path.samefile(out, data):
            raise CliError(f"{what} is the data file itself; fastopt never overwrites its "
                           "input" + ("" if args.out else ": pass --out"))


# ---------------------------------------------------------------------------- helpers


def _lam_from(args, m: int) -> tuple[float, str]:
    """lam of the normalized objective from --lam or --C (sklearn's C: lam = 1/(C m))."""
    if args.lam is not None and args.C is not None:
        raise CliError("give --lam or --C, not both")
    if args.lam is not None:
        if not (math.isfinite(args.lam) and args.lam >= 0):
            raise CliError(f"--lam must be a finite number >= 0; got {args.lam}")
        return args.lam, f"lam = {args.lam:g}"
    C = 1.0 if args.C is None else args.C
    if not (math.isfinite(C) and C > 0):
        raise CliError(f"--C must be a finite number > 0; got {C}")
    return 1.0 / (C * m), f"C = {C:g} (lam = 1/(C m) = {1.0 / (C * m):.4g})"


def _fmt(value, spec=".3e") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def _table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Fixed-width text table: columns are (key, header, format spec or '' for str)."""
    cells = [[h for _, h, _ in columns]]
    for row in rows:
        cells.append([_fmt(row.get(k), spec) if spec else str(row.get(k, "-"))
                      for k, _, spec in columns])
    widths = [max(len(r[j]) for r in cells) for j in range(len(columns))]
    lines = []
    for i, r in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if j else c.ljust(w)
                               for j, (c, w) in enumerate(zip(r, widths, strict=True))))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _out_path(args, default_name: str) -> Path:
    out_dir = Path(args.out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create the output directory {out_dir}: {exc}") from None
    return out_dir / default_name


def _save_figure(fig, path: Path) -> None:
    try:
        fig.savefig(path, dpi=120)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc}") from None


def _noop_callback(intermediate_result) -> None:
    """Stands in for the progress bar during a warm-up: a callback selects the solver's
    Python loop over a compiled one, so the warm-up must have one exactly when the timed
    run does."""
    return None


def _run_method(objective, method, x0, quiet, **options):
    """Timed ``fo.minimize`` with a progress bar (on a terminal, after half a second).

    Returns
    -------
    res : OptimizeResult
    compiled : float
        Seconds numba compiled inside the run (0 after a complete warm-up; NaN when
        unknown); ``res.time`` still includes them, the callers subtract and report them.
    """
    from ._progress import Progress
    from ._timing import CompileClock
    from .minimize import minimize

    with Progress(options.get("max_iter"), desc=method, quiet=quiet,
                  max_time=options.get("max_time"), tol=options.get("tol")) as progress:
        callback = progress if progress.enabled else None
        with CompileClock() as clock:
            res = minimize(objective, x0, method=method, callback=callback, **options)
    return res, clock.seconds


def _warm_up_method(make_objective, X, y, method, quiet, **options) -> tuple[float, float]:
    """Run ``method`` once, untimed, on a few rows of the data; returns (seconds, compiled).

    Same objective class, dtypes, sparse format, classes and options as the timed run
    (with a callback exactly when the timed run has one, a time limit exactly when it
    has one: they select the loop), but three iterations, no effective time limit and
    ``tol = 0`` so that every part of an iteration runs: each kernel the
    timed run calls is compiled here (numba), and first-call costs of any backend are
    paid here too. ``compiled`` is the part of ``seconds`` that numba spent compiling.
    """
    from ._progress import Progress, wanted
    from ._timing import CompileClock, touch_objective, warm_up_rows
    from .minimize import minimize

    rows = warm_up_rows(y)
    opts = dict(options, max_iter=min(3, int(options.get("max_iter", 3))), tol=0.0)
    if math.isfinite(opts.get("max_time", math.inf)):
        # Still finite (a time limit selects the Python loop), but far beyond what the
        # compilation takes, or the warm-up would stop before its first step.
        opts["max_time"] = 1e9
    callback = _noop_callback if wanted(quiet) else None
    t0 = time.perf_counter()
    with Progress(None, desc=f"{method}: warm-up", quiet=quiet), CompileClock() as clock:
        small = make_objective(X[rows], y[rows])
        minimize(small, np.zeros(small.n_params), method=method, callback=callback, **opts)
        touch_objective(small)
    return time.perf_counter() - t0, clock.seconds


def _warm_rows_note(y) -> str:
    from ._timing import warm_up_rows

    return f"{warm_up_rows(y).size} rows"


def _untimed_compile_note(compiled: dict) -> str:
    """One line on the numba compilation inside the timed runs: none, or where and how
    long (subtracted from the times shown)."""
    unknown = [k for k, v in compiled.items() if math.isnan(v)]
    late = {k: v for k, v in compiled.items() if not math.isnan(v) and v > 0}
    if not unknown and not late:
        return "timed runs compiled nothing (numba compilation 0 s)"
    parts = [f"{k} {v:.3f} s" for k, v in late.items()]
    parts += [f"{k} unknown (numba first loaded during the run)" for k in unknown]
    return ("numba compiled inside timed runs, subtracted from their times: "
            + ", ".join(parts))


def _net_time(res, compiled: float) -> float:
    """The run's time without the numba compilation measured inside it."""
    if math.isnan(compiled):
        return res.time
    return max(res.time - compiled, 0.0)


def _final_grad_norm(res) -> float:
    if res.get("jac") is not None:
        return float(np.linalg.norm(res.jac))
    h = res.history
    return float(h.grad_norm[-1]) if len(h) else math.nan


# ---------------------------------------------------------------------------- demo

#: Per-method options of the demo that differ from the defaults: the adaptive methods'
#: default steps (1e-3) are tuned for deep networks, far too small for a9a.
_DEMO_OPTIONS = {
    "adagrad": {"lr": 0.5},
    "rmsprop": {"lr": 0.01},
    "adam": {"lr": 0.02},
    "adamw": {"lr": 0.02, "weight_decay": 0.0},
}


def cmd_demo(args) -> int:
    from . import datasets
    from .plot import convergence
    from .problems import Logistic
    from .solvers import registry

    X, y = datasets.load(args.data)
    m = X.shape[0]
    lam = 1.0 / m if args.lam is None else args.lam
    objective = Logistic(X, y, lam=lam, backend=args.backend)
    f_star = datasets.REFERENCE_OPTIMA.get(args.data) if args.lam is None else None
    methods = args.methods.split(",") if args.methods else registry.names()
    for method in methods:
        registry.get(method)  # unknown names are reported before any work
    first_order = [m for m in methods if registry.get(m).order == 1]
    # The time budget is shared by the first-order methods, which would otherwise run to
    # their iteration budget; the second-order ones converge in a few passes.
    per_method = args.budget / max(len(first_order), 1)
    print(f"fastopt demo: {args.data} ({m} rows, {X.shape[1]} features), L2 logistic "
          f"regression, lam = {lam:.4g}, no intercept, backend {objective.backend}; "
          f"{len(methods)} methods, first-order ones stopped after {per_method:.1f} s")
    results, rows, compiled = {}, [], {}
    x0 = np.zeros(objective.n_params)
    warm_total = warm_compiled = 0.0
    for method in methods:
        options = dict(_DEMO_OPTIONS.get(method, {}))
        options.update(tol=args.tol)
        if method in first_order:
            options.update(max_time=per_method, max_iter=1_000_000)
        else:
            # quasi-Newton needs hundreds of iterations on a9a; Newton stops within ten
            options.update(max_iter=2_000)
        # Compilation and first-call costs are paid here, untimed (see fastopt._timing).
        warm, warm_c = _warm_up_method(
            lambda Xs, ys: Logistic(Xs, ys, lam=lam, backend=args.backend),
            X, y, method, args.quiet, **options)
        warm_total += warm
        warm_compiled += 0.0 if math.isnan(warm_c) else warm_c
        res, compiled[method] = _run_method(objective, method, x0, args.quiet, **options)
        results[method] = res
        rows.append({"method": method, "nit": res.nit, "passes": res.get("n_passes"),
                     "time": _net_time(res, compiled[method]), "warm": warm,
                     "fun": res.fun, "grad": _final_grad_norm(res),
                     "stop": res.message.split(":")[0]})
    if f_star is None:
        f_star = min(r["fun"] for r in rows)
        star_note = "f* = smallest f found"
    else:
        star_note = f"f* = {f_star:.17g} (published optimum)"
    for row in rows:
        row["gap"] = row["fun"] - f_star
    print(_table(rows, [("method", "method", ""), ("nit", "iterations", "d"),
                        ("passes", "passes over X", ".4g"), ("time", "time (s)", ".3f"),
                        ("gap", "f - f*", ".3e"), ("grad", "||grad f||", ".3e"),
                        ("stop", "stopped", ""), ("warm", "warm-up (s)", ".3f")]))
    print(star_note)
    print(f"warm-up (untimed, each method on {_warm_rows_note(y)} first): "
          f"{warm_total:.3f} s, of which numba compilation {warm_compiled:.3f} s; "
          + _untimed_compile_note(compiled))
    fig = convergence(results, f_star=f_star,
                      title=f"{args.data}, L2 logistic regression, lam = {lam:.3g}")
    path = _out_path(args, "fastopt-demo.png")
    _save_figure(fig, path)
    print(f"convergence plot written to {path.resolve()}")
    return 0


# ---------------------------------------------------------------------------- fit


def _encode_classes(y, name: str):
    """Class labels and each row's class index; one-line errors for labels that are not
    classes (one class only, or continuous values), as the estimator would refuse them."""
    from ._solver_choice import encode_labels

    classes, y_index = encode_labels(np.asarray(y))
    if classes.size < 2:
        raise CliError(f"{name}: the labels hold one class only ({classes[0]}); a "
                       "classifier needs at least two")
    if classes.dtype.kind == "f" and not np.all(np.mod(classes, 1) == 0):
        raise CliError(f"{name}: the labels are continuous values (e.g. {classes[0]:g}), not "
                       "classes; give integer or two-valued labels")
    return classes, np.asarray(y_index)


def cmd_fit(args) -> int:
    """The estimator's fit (same objective, solver rule and coefficients as
    ``fo.LogisticRegression(alpha=lam)``), run on the objective directly: the estimator's
    class derives from scikit-learn's, whose import would cost a fresh process more than
    the fit of a bundled set."""
    from ._solver_choice import auto_solver, gram_work_ratio
    from .problems import Logistic, Multinomial

    X, y, name = _load_data(args.data, args.dtype, args.label_column, args.zero_based,
                            args.n_features, _CLI_NAMES)
    lam, lam_note = _lam_from(args, X.shape[0])
    classes, y_index = _encode_classes(y, name)
    K = classes.size
    n_params = (X.shape[1] + args.intercept) * (1 if K == 2 else K)
    # Before the objective allocates its work arrays (one entry per parameter each).
    what = ("a fit" if args.method == "auto" else f"--method {args.method}")
    _check_work_memory(n_params, f"{what} with {n_params} parameters",
                       newton=args.method == "newton")

    def make_objective(Xs, index):
        if K == 2:  # classes[1] is the positive class, as in scikit-learn
            return Logistic(Xs, index == 1, lam=lam, fit_intercept=args.intercept,
                            backend=args.backend)
        return Multinomial(Xs, index, lam=lam, fit_intercept=args.intercept,
                           backend=args.backend)

    try:
        objective = make_objective(X, y_index)
    except ValueError as exc:
        # The objective's checks of X and y (CSR structure, ...): name the file.
        raise CliError(f"{name}: {' '.join(str(exc).split())}") from None
    solver = (auto_solver(objective.n_params, K, gram_work_ratio(X))
              if args.method == "auto" else args.method)
    options = {"tol": args.tol, "max_iter": args.max_iter}
    warm, warm_compiled = _warm_up_method(make_objective, X, y_index, solver, args.quiet,
                                          **options)
    res, late = _run_method(objective, solver, np.zeros(objective.n_params), args.quiet,
                            **options)
    coef, intercept = _coefficients(objective, res.x, K, args.intercept)
    scores = X @ coef.T + intercept
    predicted = (scores[:, 0] > 0).astype(np.intp) if K == 2 else np.argmax(scores, axis=1)
    accuracy = float(np.mean(predicted == y_index))
    kind = f"CSR, {X.nnz} nonzeros" if hasattr(X, "nnz") else "dense"
    shown = ", ".join(str(c) for c in classes[:10])
    print(f"data: {name} ({X.shape[0]} rows, {X.shape[1]} features, {kind}, {X.dtype})")
    print(f"model: L2 logistic regression ({'binary' if K == 2 else 'multinomial'}"
          f", classes {shown}), {lam_note}, intercept {'yes' if args.intercept else 'no'}")
    print(f"method: {solver}{' (auto)' if args.method == 'auto' else ''}, "
          f"backend {objective.backend}")
    print(f"result: {res.message} after {res.nit} iterations, "
          f"{res.get('n_passes', 0):.4g} passes over X, {_net_time(res, late):.3f} s")
    print(f"f = {res.fun:.12g}, ||grad f|| = {_final_grad_norm(res):.3e}, "
          f"training accuracy {accuracy:.4f}")
    print(f"warm-up (untimed, {_warm_rows_note(y_index)}): {warm:.3f} s, of which numba "
          f"compilation {0.0 if math.isnan(warm_compiled) else warm_compiled:.3f} s; "
          + _untimed_compile_note({solver: late}))
    out = _fit_out_path(args, name)
    _write_coefficients(out, coef, intercept, classes, lam)
    print(f"coefficients written to {out}")
    return 0 if res.success else 1


def _coefficients(objective, x, n_classes: int, fit_intercept: bool):
    """``coef`` (1 or K, n) and ``intercept`` (1 or K,) from a solution vector, as the
    estimator reports them (multinomial intercepts shifted to sum to zero: the loss does
    not change when one constant is added to all of them)."""
    n = objective.n_features
    x = np.asarray(x, dtype=np.float64)
    if n_classes == 2:
        return x[:n].reshape(1, n).copy(), np.array([x[n] if fit_intercept else 0.0])
    coef, intercept = objective.unflatten(x)
    if intercept is None:
        return coef, np.zeros(n_classes)
    return coef, intercept - intercept.mean()


def _write_coefficients(out: Path, coef, intercept, classes, lam: float) -> None:
    """.npz: coef, intercept, classes, lam; .npy: coef with the intercept as last column;
    .csv/.txt: the same table as text, one row per coefficient vector."""
    table = np.column_stack([coef, intercept])
    suffix = out.suffix.lower()
    try:
        if suffix == ".npz":
            np.savez(out, coef=coef, intercept=intercept, classes=classes, lam=lam)
        elif suffix == ".npy":
            np.save(out, table)
        elif suffix in (".csv", ".txt"):
            header = ",".join([f"w{j}" for j in range(coef.shape[1])] + ["intercept"])
            np.savetxt(out, table, delimiter=",", header=header, comments="")
        else:
            raise CliError(f"--out must end in .npz, .npy, .csv or .txt; got {out}")
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc}") from None


# ---------------------------------------------------------------------------- compare


def _sklearn_solvers(n_classes: int, fit_intercept: bool) -> list[str]:
    solvers = ["lbfgs", "newton-cg", "newton-cholesky", "sag", "saga"]
    if n_classes == 2 and not fit_intercept:
        # liblinear penalizes the intercept, so it solves another problem with one.
        solvers.append("liblinear")
    return solvers


def _as_params(objective, clf) -> np.ndarray:
    """sklearn's coef_/intercept_ as a parameter vector of the fastopt objective."""
    if clf.coef_.shape[0] == 1:
        x = np.zeros(objective.n_params)
        x[: objective.n_features] = clf.coef_[0]
        if objective.fit_intercept:
            x[objective.n_features] = clf.intercept_[0]
        return x
    return objective.flatten(clf.coef_, clf.intercept_ if objective.fit_intercept else None)


def _int32_indices(X):
    """X with int32 CSR indices where they fit (liblinear refuses int64 ones)."""
    import scipy.sparse as sp

    if not sp.issparse(X) or X.nnz >= 2**31 - 1:
        return X
    X = sp.csr_matrix(X)
    if X.indices.dtype == np.int32 and X.indptr.dtype == np.int32:
        return X
    return sp.csr_matrix((X.data, X.indices.astype(np.int32), X.indptr.astype(np.int32)),
                         shape=X.shape)


def cmd_compare(args) -> int:
    import warnings

    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression

    from ._timing import warm_up_rows
    from .plot import convergence
    from .problems import Logistic, Multinomial

    X, y, name = _load_data(args.data, args.dtype, args.label_column, args.zero_based,
                            args.n_features, _CLI_NAMES)
    m = X.shape[0]
    lam, lam_note = _lam_from(args, m)
    n_classes = np.unique(y).size
    n_params = (X.shape[1] + args.intercept) * (1 if n_classes == 2 else n_classes)
    # Before the objective allocates its work arrays (one entry per parameter each).
    newton = "newton" in args.methods.split(",")
    _check_work_memory(n_params, f"{'--methods newton' if newton else 'a fit'} with "
                       f"{n_params} parameters", newton=newton)
    sk_solvers = _sklearn_solvers(n_classes, args.intercept)
    try:
        _check_work_memory(n_params, "", newton=True)
    except CliError:
        # scikit-learn's newton-cholesky forms the p x p Hessian: left out, not an error.
        sk_solvers.remove("newton-cholesky")
        print(f"scikit-learn's newton-cholesky left out: its {n_params} x {n_params} "
              "Hessian would not fit in memory")
    model = Logistic if n_classes == 2 else Multinomial

    def make_objective(Xs, ys):
        return model(Xs, ys, lam=lam, fit_intercept=args.intercept, backend=args.backend)

    try:
        objective = make_objective(X, y)
    except ValueError as exc:
        # The objective's checks of X and y (CSR structure, ...): name the file.
        raise CliError(f"{name}: {' '.join(str(exc).split())}") from None
    methods = args.methods.split(",")
    print(f"fastopt compare: {name} ({m} rows, {X.shape[1]} features, {n_classes} classes), "
          f"{lam_note}, intercept {'yes' if args.intercept else 'no'}, fastopt backend "
          f"{objective.backend}")
    results, rows, compiled = {}, [], {}
    x0 = np.zeros(objective.n_params)
    warm_fo = warm_fo_compiled = 0.0
    for method in methods:
        options = {"tol": args.tol, "max_iter": args.max_iter}
        warm, warm_c = _warm_up_method(make_objective, X, y, method, args.quiet, **options)
        warm_fo += warm
        warm_fo_compiled += 0.0 if math.isnan(warm_c) else warm_c
        res, compiled[method] = _run_method(objective, method, x0, args.quiet, **options)
        results[f"fastopt {method}"] = res
        rows.append({"solver": method, "library": "fastopt", "nit": res.nit,
                     "time": _net_time(res, compiled[method]), "fun": res.fun,
                     "grad": _final_grad_norm(res)})
    sk_points = []
    C = 1.0 / (lam * m) if lam > 0 else 1e12
    X_sk = _int32_indices(X)
    warm_rows = warm_up_rows(y)
    warm_sk = 0.0
    for solver in sk_solvers:
        clf = SkLogisticRegression(C=C, solver=solver, tol=args.sk_tol,
                                   max_iter=args.sk_max_iter, fit_intercept=args.intercept)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            # The same untimed warm-up as fastopt's (first-call costs: lazy imports, ...).
            t0 = time.perf_counter()
            clone(clf).set_params(max_iter=3).fit(X_sk[warm_rows], y[warm_rows])
            warm_sk += time.perf_counter() - t0
            t0 = time.perf_counter()
            clf.fit(X_sk, y)
            elapsed = time.perf_counter() - t0
        x = _as_params(objective, clf)
        f, g = objective.loss_grad(x)
        rows.append({"solver": solver, "library": "scikit-learn",
                     "nit": int(np.max(clf.n_iter_)), "time": elapsed, "fun": f,
                     "grad": float(np.linalg.norm(g))})
        sk_points.append((solver, elapsed, f, float(np.linalg.norm(g))))
    f_star = min(r["fun"] for r in rows)
    for row in rows:
        row["gap"] = row["fun"] - f_star
    reference = next((r["time"] for r in rows if r["solver"] == "lbfgs"
                      and r["library"] == "scikit-learn"), None)
    for row in rows:
        row["ratio"] = row["time"] / reference if reference else math.nan
    print(_table(rows, [("library", "library", ""), ("solver", "solver", ""),
                        ("nit", "iterations", "d"), ("time", "time (s)", ".3f"),
                        ("ratio", "time / sklearn lbfgs", ".3f"), ("gap", "f - f*", ".3e"),
                        ("grad", "||grad f||", ".3e")]))
    print("f* = smallest f found; scikit-learn solvers run with "
          f"tol = {args.sk_tol:g}, fastopt's with tol = {args.tol:g} on ||grad f||")
    print(f"warm-up (untimed, each solver on {warm_rows.size} rows first): fastopt "
          f"{warm_fo:.3f} s, of which numba compilation {warm_fo_compiled:.3f} s; "
          f"scikit-learn {warm_sk:.3f} s")
    print(_untimed_compile_note(compiled))
    fig = convergence(results, f_star=f_star, x_axis="time",
                      title=f"{name}: fastopt (lines) and scikit-learn (markers)")
    markers = "osD^vP*X"
    for i, (solver, t, f, gnorm) in enumerate(sk_points):
        for ax, value in zip(fig.axes, (f - f_star, gnorm), strict=True):
            if value > 0:
                ax.plot([t], [value], linestyle="none", marker=markers[i % len(markers)],
                        color="black", label=f"sklearn {solver}")
    fig.axes[0].legend(fontsize="small")
    path = _out_path(args, f"fastopt-compare-{Path(name).name.split('.')[0]}.png")
    _save_figure(fig, path)
    print(f"plot written to {path.resolve()}")
    return 0


# ---------------------------------------------------------------------------- experiments


class Study:
    """What an experiment produced: a printable summary and a figure."""

    def __init__(self, summary: str, figure):
        self.text = summary
        self.figure = figure

    def summary(self) -> str:
        return self.text

    def plot(self):
        return self.figure


def _experiment_momentum(args) -> Study:
    """Iterations to tolerance against rho for heavy ball and Nesterov, L2 logistic on
    mushrooms, step 1/L, with the theory's optimal rho marked."""
    from . import datasets, experiments, theory
    from .plot import curves
    from .problems import Logistic

    X, y = datasets.load("mushrooms")
    if args.quick:
        X, y = X[:1000], y[:1000]
    objective = Logistic(X, y, lam=3e-2)
    rhos = np.linspace(0.0, 0.95, 6 if args.quick else 20)
    tol = 1e-4 if args.quick else 1e-6
    out = experiments.momentum_sweep(objective, rhos, tol=tol,
                                     max_iter=500 if args.quick else 5000)
    L, mu = objective.lipschitz(), objective.strong_convexity()
    _, rho_hb = theory.heavy_ball_parameters(L, mu)
    _, rho_nag = theory.nesterov_parameters(L, mu)
    series, lines = {}, []
    for method in ("heavy-ball", "nesterov"):
        r = out[method]
        series[method] = np.where(r["converged"], r["nit"], np.nan)
        lines.append(f"{method:10s} fastest rho = {r['best_rho']}, iterations "
                     + " ".join(str(int(k)) if c else "-" for k, c in
                                zip(r["nit"], r["converged"], strict=True)))
    fig = curves(rhos, series, "momentum rho", f"iterations to ||grad f|| <= {tol:g}",
                 title=f"mushrooms, lam = 3e-2, step 1/L (kappa = {L / mu:.0f})")
    ax = fig.axes[0]
    ax.axvline(rho_hb, color="C0", ls=":", label=f"heavy-ball rho* = {rho_hb:.3f}")
    ax.axvline(rho_nag, color="C1", ls=":", label=f"Nesterov rho = {rho_nag:.3f}")
    ax.legend(fontsize="small")
    head = f"rho: {' '.join(f'{r:.2f}' for r in rhos)}"
    return Study("\n".join([head, *lines]), fig)


def _experiment_heavy_ball(args) -> Study:
    """Heavy ball with alpha*, rho* on the piecewise quadratic, beside GD and Nesterov."""
    from . import experiments, theory
    from .minimize import minimize
    from .plot import trajectories
    from .problems import PiecewiseQuadratic

    out = experiments.heavy_ball_counterexample(max_iter=300 if args.quick else 2000)
    lines = [f"heavy ball: lr = {out['lr']:.4f}, momentum = {out['momentum']:.4f}"]
    for run in out["runs"]:
        tail = " ".join(f"{v:.3f}" for v in run["tail"][-4:])
        lines.append(f"  x0 = {run['x0']:6.2f}: {'converged' if run['converged'] else 'FAILED'}"
                     f" after {run['nit']} iterations, x_k = {run['final_x']:.4g}, "
                     f"last iterates {tail}")
    failing = [r["x0"] for r in out["runs"] if not r["converged"]]
    x0 = failing[0] if failing else out["runs"][0]["x0"]
    obj = PiecewiseQuadratic()
    L, mu = obj.lipschitz(), obj.strong_convexity()
    lr_nag, rho_nag = theory.nesterov_parameters(L, mu)
    setups = {"heavy ball (alpha*, rho*)": ("heavy-ball", {"lr": out["lr"],
                                                          "momentum": out["momentum"]}),
              "gradient descent (1/L)": ("gd", {"lr": 1.0 / L}),
              "Nesterov (1/L, strongly convex rho)": ("nesterov", {"lr": lr_nag,
                                                                    "momentum": rho_nag})}
    paths = {}
    for label, (method, options) in setups.items():
        xs = []  # the callback sees every iterate, x_0 included
        minimize(obj, np.array([x0]), method=method, tol=0.0, max_iter=100,
                 history_every=0, callback=lambda xk, xs=xs: xs.append(float(xk[0])),
                 **options)
        paths[label] = np.asarray(xs)
    fig = trajectories(paths, f=lambda x: obj.value(np.array([x])), f_star=0.0,
                       title=f"piecewise quadratic (L = 25, mu = 1), x0 = {x0:g}")
    return Study("\n".join(lines), fig)


def _softmax_relu_problem(n: int, d: int, seed: int = 0, weight: float = 0.05):
    from .problems import SoftmaxReLU

    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d)) / np.sqrt(d)
    b = rng.random(n)
    b /= 2.0 * np.linalg.norm(b)  # ||b|| <= 1, as the paper assumes
    return SoftmaxReLU(A, b, np.full(n, weight))


def _experiment_adaptive(args) -> Study:
    """AdaGrad, RMSProp and Adam with a linear-ramp step on the (nonconvex) softmax-ReLU
    regression loss."""
    from . import experiments, schedules
    from .plot import convergence

    objective = _softmax_relu_problem(300 if args.quick else 2000, 20 if args.quick else 50)
    max_iter = 200 if args.quick else 2000
    base = {"adagrad": 0.5, "rmsprop": 0.02, "adam": 0.05}
    ramp = max_iter // 2
    lrs = {m: schedules.linear(lr, lr / 10.0, ramp) for m, lr in base.items()}
    x0 = np.full(objective.n_params, 0.1)
    out = experiments.adaptive_study(objective, methods=tuple(base), lrs=lrs, x0=x0,
                                     max_iter=max_iter, tol=1e-10)
    lines = [f"linear ramp: alpha_t from alpha_0 to alpha_0/10 over {ramp} steps"]
    for method, r in out.items():
        lines.append(f"  {method:8s} alpha_0 = {base[method]:g}: {r['nit']} iterations, "
                     f"f = {r['fun']:.8g}")
    fig = convergence(out, title="adaptive methods, linear-ramp steps, softmax-ReLU loss")
    return Study("\n".join(lines), fig)


def _experiment_sketch(args) -> Study:
    """Sketched Newton on the softmax-ReLU loss: convergence against the sketch size."""
    from .minimize import minimize
    from .plot import convergence

    n, d = (400, 20) if args.quick else (4000, 50)
    objective = _softmax_relu_problem(n, d, weight=0.5)
    # x = 0 is a stationary point of the ReLU model (every ReLU inactive): start off it.
    x0 = np.full(objective.n_params, 0.5)
    results = {"exact Newton": minimize(objective, x0, method="newton", tol=1e-10,
                                        max_iter=50)}
    sizes = [2 * d, 4 * d, 8 * d, 16 * d]
    lines = []
    for s in sizes:
        res = minimize(objective, x0, method="sketch-newton", sketch_size=s, tol=1e-10,
                       max_iter=50, seed=0)
        results[f"sketch size {s}"] = res
    f_star = min(r.fun for r in results.values())
    for label, res in results.items():
        lines.append(f"  {label:18s} {res.nit:3d} iterations, {res.time:.3f} s, "
                     f"f - f* = {res.fun - f_star:.3e}, {res.message}")
    fig = convergence(results, f_star=f_star,
                      title=f"sketched Newton, softmax-ReLU loss (n = {n}, d = {d})")
    return Study("\n".join(lines), fig)


#: Experiment name -> (runner, one-line description).
EXPERIMENTS = {
    "momentum": (_experiment_momentum,
                 "sweep of rho for heavy ball and Nesterov on L2 logistic regression"),
    "heavy-ball-counterexample": (_experiment_heavy_ball,
                                  "heavy ball with its quadratic-optimal parameters on the "
                                  "piecewise quadratic, beside GD and Nesterov"),
    "adaptive": (_experiment_adaptive,
                 "AdaGrad, RMSProp and Adam with a linear-ramp schedule, nonconvex problem"),
    "sketch-newton": (_experiment_sketch, "sketched Newton: convergence against sketch size"),
}


def cmd_experiment(args) -> int:
    if args.name not in EXPERIMENTS:
        raise CliError(f"unknown experiment {args.name!r}; known: {', '.join(EXPERIMENTS)}")
    runner, description = EXPERIMENTS[args.name]
    print(f"fastopt experiment {args.name}: {description}")
    study = runner(args)
    print(study.summary())
    path = _out_path(args, f"fastopt-{args.name}.png")
    _save_figure(study.plot(), path)
    print(f"plot written to {path.resolve()}")
    return 0


# ---------------------------------------------------------------------------- info


def cmd_info(args) -> int:
    from ._info import info

    print(info())
    return 0


# ---------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``fastopt`` command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar")
    data_opts = argparse.ArgumentParser(add_help=False)
    data_opts.add_argument("data", help="data file (svmlight, .npz, .npy, .csv) or a bundled "
                                        "data set name")
    data_opts.add_argument("--lam", type=_real(0.0), default=None,
                           help="L2 strength of the normalized objective")
    data_opts.add_argument("--C", type=_real(0.0, strict=True), default=None,
                           help="scikit-learn's C (lam = 1/(C m)); default C = 1")
    data_opts.add_argument("--intercept", action="store_true", help="fit an intercept")
    data_opts.add_argument("--backend", default="auto", help="kernel backend (default auto)")
    data_opts.add_argument("--dtype", choices=("float32", "float64"), default=None,
                           help="dtype of X (default float64)")
    data_opts.add_argument("--label-column", type=int, default=None,
                           help="label column of .npy/.csv tables (default: last; negative "
                                "counts from the end)")
    data_opts.add_argument("--zero-based", action="store_true",
                           help="the column indices of an svmlight file start at 0 "
                                "(default: at 1, the LIBSVM convention)")
    data_opts.add_argument("--n-features", type=_integer(1, MAX_FEATURES), default=None,
                           help="number of features of a sparse file (default: its largest "
                                "index); needed above max(2^20, 64 x nonzeros)")
    data_opts.add_argument("--tol", type=_real(0.0), default=1e-8,
                           help="tolerance on ||grad f|| (default 1e-8)")
    data_opts.add_argument("--max-iter", type=_integer(0), default=1000,
                           help="iteration budget (default 1000)")
    out_dir = argparse.ArgumentParser(add_help=False)
    out_dir.add_argument("--out-dir", default=".", help="where plots go (default .)")

    parser = _Parser(prog="fastopt", description="fastopt: compiled first- and second-order "
                     "optimization. Errors exit with status 2.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    demo = sub.add_parser("demo", parents=[common, out_dir],
                          help="every method on a bundled data set: table and plot")
    demo.add_argument("--data", default="a9a", help="bundled data set (default a9a)")
    demo.add_argument("--lam", type=_real(0.0), default=None,
                      help="L2 strength (default 1/m)")
    demo.add_argument("--methods", default=None, help="comma-separated methods (default all)")
    demo.add_argument("--budget", type=_real(0.0, strict=True, high=MAX_BUDGET_S),
                      default=40.0,
                      help="total seconds shared by the methods (default 40, at most a day)")
    demo.add_argument("--tol", type=_real(0.0), default=1e-8, help="tolerance on ||grad f||")
    demo.add_argument("--backend", default="auto", help="kernel backend (default auto)")
    demo.set_defaults(func=cmd_demo)

    fit = sub.add_parser("fit", parents=[common, data_opts],
                         help="fit L2 logistic regression to DATA, write the coefficients")
    fit.add_argument("--method", default="auto", help="method (default auto)")
    fit.add_argument("--out", default=None,
                     help="coefficient file (.npz, .npy, .csv); default NAME.coef.npz")
    fit.set_defaults(func=cmd_fit)

    compare = sub.add_parser("compare", parents=[common, data_opts, out_dir],
                             help="fastopt's methods beside scikit-learn's solvers")
    compare.add_argument("--methods", default="newton,newton-cg,lbfgs",
                         help="fastopt methods (default newton,newton-cg,lbfgs)")
    compare.add_argument("--sk-tol", type=_real(0.0), default=1e-4,
                         help="scikit-learn's tol (default 1e-4, its own default)")
    compare.add_argument("--sk-max-iter", type=_integer(0), default=1000,
                         help="scikit-learn's max_iter (default 1000)")
    compare.set_defaults(func=cmd_compare)

    experiment = sub.add_parser("experiment", parents=[common, out_dir],
                                help="a study of one method's behaviour, with its plot: "
                                     + ", ".join(EXPERIMENTS))
    experiment.add_argument("name", help="one of: " + ", ".join(EXPERIMENTS))
    experiment.add_argument("--quick", action="store_true",
                            help="smaller problems and grids (seconds, for tests)")
    experiment.set_defaults(func=cmd_experiment)

    info = sub.add_parser("info", parents=[common], help="versions, backends, threads")
    info.set_defaults(func=cmd_info)
    return parser


def main(argv=None) -> int:
    """Run the ``fastopt`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success; 1 when a fit stopped without converging; 2 for a usage or input
        error (reported in one line on stderr); 130 on Ctrl-C.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check_args(args)
        return int(args.func(args))
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except CliError as exc:
        print(f"fastopt: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError) as exc:
        # Raised by the library's validation of what the user gave (labels, options).
        message = " ".join(str(exc).split())
        print(f"fastopt: error: {message}", file=sys.stderr)
        return 2
    except MemoryError:
        # The checks before the work bound what it allocates; should a fit still run out
        # (memory taken by others meanwhile), one line rather than a traceback.
        print("fastopt: error: out of memory; free memory or use a smaller problem",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastopt: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
