"""What the data readers refuse before and while they read: widths and sizes beyond
memory or plausibility, values that are not real numbers, labels that are not one finite
label per row."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import numpy as np

from .. import _memory
from .errors import CliError

#: Suffixes of the compressed files read (decompressed while streaming).
_COMPRESSED = {".gz", ".bz2"}

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
