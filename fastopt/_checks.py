"""Checks of scalar hyper-parameters at the API boundary, shared by every layer above
the kernels, so that each bad value is the same clear ``ValueError`` naming the parameter.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def check_real(name: str, value) -> float:
    """``value`` as a finite float; ``TypeError``/``ValueError`` naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        value = float(value)
    except OverflowError:  # an integer beyond float64 (10**400)
        raise ValueError(f"{name} must be finite, got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def check_positive(name: str, value) -> float:
    """A finite float > 0."""
    value = check_real(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return value


def check_nonnegative(name: str, value) -> float:
    """A finite float >= 0."""
    value = check_real(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def check_interval(name: str, value, low: float, high: float, *, closed_low: bool = True,
                   closed_high: bool = False) -> float:
    """A finite float in the interval from ``low`` to ``high`` (ends as given)."""
    value = check_real(name, value)
    above = value >= low if closed_low else value > low
    below = value <= high if closed_high else value < high
    if not (above and below):
        interval = f"{'[' if closed_low else '('}{low}, {high}{']' if closed_high else ')'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return value


def check_flag(name: str, value) -> bool:
    """A boolean option (``bool`` or ``numpy.bool_``); ``TypeError`` naming ``name``
    otherwise, so that ``line_search="no"`` is not silently truthy (``bool("False")`` is
    True)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


#: Largest integer option accepted: the compiled loops hold counts in 64-bit integers.
MAX_INT = 2**62


def check_int(name: str, value, minimum: int, maximum: int = MAX_INT) -> int:
    """An integer in [``minimum``, ``maximum``]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    if value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value!r}")
    return int(value)
