"""Input checks shared by the estimators: malformed sparse structure refused before
scikit-learn reads it, and scikit-learn's input errors as one-line messages."""

from __future__ import annotations

import contextlib

import scipy.sparse as sp

from ..problems._validation import check_sparse_structure


def _check_structure(X):
    """Refuse malformed sparse index arrays before scikit-learn's conversions read them.

    ``validate_data`` converts CSC/COO to CSR and sorts indices in compiled code that
    trusts ``indptr`` and ``indices``: an out-of-range index there is a segfault, not an
    error. Returns ``X``, with signed index arrays (scipy refuses unsigned ones).
    """
    return check_sparse_structure(X, "X") if sp.issparse(X) else X


@contextlib.contextmanager
def _one_line_errors(arguments: str):
    """scikit-learn's input errors as one-line ValueErrors that name the arguments.

    Its messages span lines ("Expected 2D array, got 1D array instead:\narray=...") and
    some name no argument ("Found input variables with inconsistent numbers of
    samples"): they are joined into one line and prefixed with ``arguments``.
    """
    try:
        yield
    except ValueError as exc:
        text = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
        raise ValueError(f"{arguments}: {text}") from exc
