"""Where a fastopt warning points: the user's line, not fastopt's internals."""

from __future__ import annotations

import os
import sys

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_stacklevel() -> int:
    """The ``stacklevel`` for a ``warnings.warn`` in the caller of this function that names
    the first frame outside the fastopt package (``fo.minimize``'s caller, or the
    estimator's ``fit``'s), whatever the depth of the call chain inside fastopt."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level
