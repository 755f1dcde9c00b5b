"""Reader of svmlight/libsvm files (also .gz/.bz2), whose problems are reported with
their line."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
