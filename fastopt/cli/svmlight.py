"""Reader of svmlight/libsvm files (also .gz/.bz2), whose problems are reported with
their line."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._svmlight_line import line_problem, split_line
from .checks import (
    MAX_FEATURES,
    PLAUSIBLE_FEATURES_PER_NONZERO,
    _check_labels,
    _check_text_size,
    _first_nonfinite,
    _open_binary,
    _plausible_width,
)
from .errors import CliError

# svmlight files: scikit-learn's compiled parser reads them (O(nnz) memory: it builds
# the CSR arrays, nothing dense), and reports neither the line of a problem nor the
# problems it lets through (a huge index). The file is read again, in Python, only to
# find the line of a problem already known to exist.


def _svmlight_lines(path: Path):
    """``(line number, label, feature tokens)`` of each data line, as the parser splits
    them (``#`` starts a comment, a leading ``qid:`` token is dropped)."""
    with _open_binary(path) as f:
        for number, line in enumerate(f, start=1):
            parts = split_line(line)
            if parts is not None:
                yield number, *parts


def _svmlight_problem(path: Path, zero_based: bool, max_index: int, why: str, names):
    """``(line, problem)`` of the first line that the parser refuses or that holds an
    index above ``max_index`` (``why`` says why that is a problem), or None."""
    hint = f"pass {names['zero_based']}"
    for number, target, features in _svmlight_lines(path):
        problem = line_problem(number, target, features, zero_based=zero_based,
                               max_index=max_index, beyond=why, zero_based_hint=hint)
        if problem is not None:
            return number, problem
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
