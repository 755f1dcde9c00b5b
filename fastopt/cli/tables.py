"""Readers of tables: .npz archives (dense X, or a saved sparse matrix), .npy arrays and
CSV/TSV text, each array's size checked before it is allocated."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from .. import _memory
from .._npy_header import read_npy_header
from .checks import (
    _check_labels,
    _check_memory,
    _check_text_size,
    _check_values,
    _first_nonfinite,
    _open_binary,
)
from .errors import CliError

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
    from ..problems._validation import check_sparse_structure

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
