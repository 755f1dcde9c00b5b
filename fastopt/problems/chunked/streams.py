"""Input files read as a stream of row blocks, for converting them to a chunked store.

Each reader yields ``(X_b, y_b, position)``: a block of at most ``block_rows`` rows, its
labels (float64), and how far into the file it got (bytes, for a progress bar). Only a
block of lines is in memory at a time, so a file larger than memory converts. A line the
format refuses is a ValueError naming the file and the line.

* svmlight / LIBSVM (also ``.gz`` / ``.bz2``): ``LABEL INDEX:VALUE ...`` lines, parsed by
  scikit-learn's compiled reader one block of lines at a time; X blocks are CSR.
* CSV: comma-separated numbers, one row per line, the label in ``label_column``; a first
  line that is not all numbers is a header and skipped.
* ``.npy``: a 2-D float array, read block by block (:class:`~.npy.NpyFile`), the label in
  ``label_column``.
"""

from __future__ import annotations

import bz2
import gzip
import io
import zlib
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..._svmlight_line import line_problem, show, split_line
from .npy import NpyFile

__all__ = ["csv_blocks", "npy_blocks", "open_text", "svmlight_blocks"]

#: Column indices must fit the kernels' int32 indices.
_MAX_INDEX = 2**31 - 2
#: Without ``n_features``, a width beyond max(2^20, this x nonzeros) is taken for a typo.
PLAUSIBLE_FEATURES_PER_NONZERO = 64


def open_text(path: Path):
    """``path`` opened for reading bytes, decompressed for ``.gz`` / ``.bz2``."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    return open(path, "rb")


def _line_blocks(path: Path, block_rows: int, is_data):
    """``(lines, line numbers of the data lines, byte position)`` per block of
    ``block_rows`` data lines (lines for which ``is_data`` holds); a file that cannot be
    read or decompressed to its end is a ValueError naming it."""
    try:
        yield from _raw_line_blocks(path, block_rows, is_data)
    except (OSError, EOFError, zlib.error) as exc:
        # A truncated .gz ends in EOFError, damaged compressed data in zlib.error.
        raise ValueError(f"{path}: cannot read the file ({type(exc).__name__}: {exc})"
                         ) from None


def _raw_line_blocks(path: Path, block_rows: int, is_data):
    with open_text(path) as f:
        raw = getattr(f, "fileobj", None) or getattr(f, "_fp", None) or f
        lines, numbers = [], []
        for number, line in enumerate(f, start=1):
            lines.append(line)
            if is_data(line):
                numbers.append(number)
                if len(numbers) == block_rows:
                    yield lines, numbers, _tell(raw)
                    lines, numbers = [], []
        if numbers:
            yield lines, numbers, _tell(raw)


def _tell(raw) -> int:
    try:
        return raw.tell()
    except (OSError, ValueError, AttributeError):
        return 0


def _svm_content(line: bytes) -> bytes:
    return line.split(b"#", 1)[0].strip()


def _svm_problem(lines, first: int, zero_based: bool):
    """``(line number, problem)`` of the first line of a block the format refuses."""
    for number, line in enumerate(lines, start=first):
        parts = split_line(line)
        if parts is None:
            continue
        problem = line_problem(number, *parts, zero_based=zero_based,
                               max_index=_MAX_INDEX, beyond="is beyond the supported 2^31 - 2",
                               zero_based_hint="pass zero_based=True")
        if problem is not None:
            return number, problem
    return None


def svmlight_blocks(path: Path, block_rows: int, *, zero_based: bool = False,
                    n_features: int | None = None):
    """Blocks of an svmlight / LIBSVM file: ``(X_b CSR float64, y_b float64, position)``.

    X_b's width is the block's own largest index + 1 (at most ``n_features`` when given);
    the caller sets the final width. Explicit zeros are dropped.

    Raises
    ------
    ValueError
        A line scikit-learn's parser refuses (syntax, index 0 in a 1-based file, indices
        not increasing), an index at or beyond ``n_features``, a NaN or infinite value or
        label, or no data line at all; named with the file and line.
    """
    from sklearn.datasets import load_svmlight_file

    first_line = 1
    seen = False
    nnz, widest = 0, (0, 0)  # (width, line of the largest index)
    for lines, numbers, position in _line_blocks(path, block_rows,
                                                 lambda line: bool(_svm_content(line))):
        try:
            X, y = load_svmlight_file(io.BytesIO(b"".join(lines)), dtype=np.float64,
                                      zero_based=bool(zero_based))
        except (ValueError, OverflowError) as exc:
            found = _svm_problem(lines, first_line, zero_based)
            if found is None:
                raise ValueError(f"{path}, lines {first_line} to "
                                 f"{first_line + len(lines) - 1}: {exc}") from None
            raise ValueError(f"{path}, line {found[0]}: {found[1]}") from None
        X = sp.csr_matrix(X)
        if X.shape[0] != len(numbers):  # our idea of a data line differs from the parser's
            raise ValueError(f"{path}, lines {first_line} to {first_line + len(lines) - 1}: "
                             f"{X.shape[0]} rows parsed from {len(numbers)} data lines")
        bad = np.flatnonzero(~np.isfinite(X.data))
        if bad.size:
            row = int(np.searchsorted(X.indptr, bad[0], side="right")) - 1
            raise ValueError(f"{path}, line {numbers[row]}: the value {X.data[bad[0]]} is "
                             "not a finite number")
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            raise ValueError(f"{path}, line {numbers[bad[0]]}: the label {y[bad[0]]} is not "
                             "a finite number")
        if X.nnz and n_features is not None and X.indices.max() >= n_features:
            at = int(np.argmax(X.indices >= n_features))
            row = int(np.searchsorted(X.indptr, at, side="right")) - 1
            raise ValueError(f"{path}, line {numbers[row]}: feature index "
                             f"{X.indices[at] + (0 if zero_based else 1)} is beyond "
                             f"n_features = {n_features}")
        if X.nnz and X.shape[1] > widest[0]:
            at = int(np.argmax(X.indices))
            row = int(np.searchsorted(X.indptr, at, side="right")) - 1
            widest = (int(X.shape[1]), numbers[row])
        nnz += X.nnz
        X.eliminate_zeros()
        first_line += len(lines)
        seen = True
        yield X, np.asarray(y, dtype=np.float64), position
    if not seen:
        raise ValueError(f"{path}: no data line (an svmlight file has LABEL INDEX:VALUE ... "
                         "lines)")
    limit = max(2**20, PLAUSIBLE_FEATURES_PER_NONZERO * nnz)
    if n_features is None and widest[0] > limit:
        # Raised before the store is marked complete: every work array of a fit would
        # have one entry per feature, so a stray huge index would cost that much memory.
        raise ValueError(f"{path}, line {widest[1]}: feature index "
                         f"{widest[0] - (1 if zero_based else 0)} is implausible for a file "
                         f"of {nnz} nonzeros (the limit is max(2^20, "
                         f"{PLAUSIBLE_FEATURES_PER_NONZERO} x nonzeros) = {limit} features); "
                         "pass n_features if it is right")


def _label_split(block: np.ndarray, label_column: int, where: str):
    """``(X_b, y_b)``: the label column out of a table block."""
    n = block.shape[1]
    if not -n <= label_column < n:
        raise ValueError(f"{where}: label column {label_column} is outside the table's {n} "
                         "columns")
    if n < 2:
        raise ValueError(f"{where}: one column only; X needs at least one column beside "
                         "the labels")
    j = label_column % n
    return np.ascontiguousarray(np.delete(block, j, axis=1)), block[:, j].astype(np.float64)


def _csv_fields(line: bytes) -> list[bytes]:
    return line.split(b"#", 1)[0].strip().split(b",")


def _csv_problem(lines, first: int, width: int):
    for number, line in enumerate(lines, start=first):
        if not _csv_content(line):
            continue
        fields = _csv_fields(line)
        if len(fields) != width:
            return number, f"{len(fields)} fields, the table has {width}"
        for j, field in enumerate(fields):
            try:
                float(field)
            except ValueError:
                return number, f"field {j + 1} ({show(field.strip())}) is not a number"
    return None


def _csv_content(line: bytes) -> bytes:
    return line.split(b"#", 1)[0].strip()


def csv_blocks(path: Path, block_rows: int, *, label_column: int = -1, dtype=np.float64):
    """Blocks of a CSV table: ``(X_b dense, y_b float64, position)``.

    Raises
    ------
    ValueError
        A ragged line (a field count other than the first line's), a field that is not a
        number, NaN or infinity, or no data line; named with the file and line.
    """
    width = None
    first_line = 1
    header_done = seen = False
    for lines, numbers, position in _line_blocks(path, block_rows,
                                                 lambda line: bool(_csv_content(line))):
        if not header_done:
            header_done = True
            fields = _csv_fields(lines[numbers[0] - first_line])
            try:
                [float(f) for f in fields]
            except ValueError:
                # A header: the first data line is not all numbers.
                cut = numbers[0] - first_line + 1
                first_line, lines, numbers = numbers[0] + 1, lines[cut:], numbers[1:]
            width = len(fields)
            if not numbers:
                continue
        problem = _csv_problem(lines, first_line, width)
        if problem is not None:
            raise ValueError(f"{path}, line {problem[0]}: {problem[1]}")
        block = np.loadtxt(io.BytesIO(b"".join(lines)), delimiter=",", dtype=np.float64,
                           ndmin=2, comments="#")
        bad = np.flatnonzero(~np.isfinite(block).all(axis=1))
        if bad.size:
            raise ValueError(f"{path}, line {numbers[bad[0]]}: NaN or infinity")
        X, y = _label_split(block, label_column, str(path))
        first_line += len(lines)
        seen = True
        yield X.astype(dtype, copy=False), y, position
    if not seen:
        raise ValueError(f"{path}: no data line")


def npy_blocks(path: Path, block_rows: int, *, label_column: int = -1, dtype=np.float64):
    """Blocks of a 2-D float ``.npy`` table: ``(X_b dense, y_b float64, position)``.

    Raises
    ------
    ValueError
        What :class:`~.npy.NpyFile` refuses, a label column outside the table, NaN or
        infinity (naming the row).
    """
    source = NpyFile(path, block_rows)
    row_bytes = source.shape[1] * source.dtype.itemsize
    if source.shape[0] < 1:
        raise ValueError(f"{path}: the array has no rows")
    for b, block in source.blocks():
        bad = np.flatnonzero(~np.isfinite(block).all(axis=1))
        if bad.size:
            raise ValueError(f"{path}, row {int(source.bounds[b]) + int(bad[0])}: NaN or "
                             "infinity")
        X, y = _label_split(block, label_column, str(path))
        yield X.astype(dtype, copy=False), y, int(source.bounds[b + 1]) * row_bytes
