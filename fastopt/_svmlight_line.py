"""One line of an svmlight / LIBSVM file: its parts, and the first thing wrong with it.

The command's loader and ``fastopt convert`` both let scikit-learn's parser read the
file and, when it refuses a line, find that line again here to say what is wrong with it
and where.
"""

from __future__ import annotations

__all__ = ["line_problem", "show", "split_line"]


def show(token: bytes) -> str:
    """``token`` for a message: decoded, quoted, cut at 24 characters."""
    text = token.decode("latin-1")
    return repr(text if len(text) <= 24 else text[:24] + "...")


def split_line(line: bytes):
    """``(label, [INDEX:VALUE tokens])`` of a line (comments and a ``qid:`` dropped), or
    None for a line with no data."""
    parts = line.split(b"#", 1)[0].split()
    if not parts:
        return None
    features = parts[1:]
    if features and features[0].startswith(b"qid"):
        features = features[1:]
    return parts[0], features


def line_problem(number: int, target: bytes, features, *, zero_based: bool, max_index: int,
                 beyond: str, zero_based_hint: str) -> str | None:
    """What is wrong with line ``number`` (its label and tokens), or None.

    Parameters
    ----------
    number : int
        The line's number in the file (from 1).
    target : bytes
    features : list of bytes
    zero_based : bool
        Whether indices start at 0 (else at 1, the LIBSVM convention).
    max_index : int
        The largest index allowed; ``beyond`` says why a larger one is refused.
    zero_based_hint : str
        How to say that the file is 0-based (the option's name where it is given).
    """
    try:
        float(target)
    except ValueError:
        if number == 1 and target.startswith(b"\xef\xbb\xbf"):
            return ("the file starts with a UTF-8 byte-order mark, which svmlight readers "
                    "do not skip; save it without one")
        return f"the label {show(target)} is not a number"
    previous = -1
    for token in features:
        index_text, colon, value = token.partition(b":")
        if not colon:
            return f"{show(token)} is not INDEX:VALUE"
        try:
            index = int(index_text)
        except ValueError:
            return f"the feature index {show(index_text)} is not an integer"
        try:
            float(value)
        except ValueError:
            return f"the value {show(value)} of feature {index} is not a number"
        if index < 0:
            return f"negative feature index {index}"
        if index == 0 and not zero_based:
            return (f"feature index 0, but indices start at 1 (the LIBSVM convention); "
                    f"{zero_based_hint} if this file's indices start at 0")
        if index <= previous:
            return f"feature indices must increase along a line ({previous} then {index})"
        if index > max_index:
            return f"feature index {index} {beyond}"
        previous = index
    return None
