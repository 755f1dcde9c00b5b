"""Step sizes, rates and iteration bounds from the constants L and mu: the condition
number, the stable step 2/L, the optimal momentum parameters and the nonconvex bound of
gradient descent."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._checks import check_int, check_positive, check_real

# The formulas the solvers use for their defaults live at the solvers level (a layer
# below); they are public here under their theory names.
from ..solvers._parameters import check_L_mu, heavy_ball_parameters, nesterov_parameters

__all__ = ["condition_number", "heavy_ball_parameters", "nesterov_parameters", "step_bound",
           "gd_nonconvex_bound", "gd_iterations_needed"]


def condition_number(L: float, mu: float) -> float:
    """kappa = L / mu.

    Parameters
    ----------
    L, mu : float
        Largest and smallest Hessian eigenvalues, 0 < mu <= L < inf.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``L`` or ``mu`` is not a real number.
    ValueError
        If ``L`` or ``mu`` is not finite, not > 0, ``mu > L``, or L / mu overflows.
    """
    L, mu = check_L_mu(L, mu)
    kappa = L / mu
    if not math.isfinite(kappa):
        raise ValueError(f"L / mu overflows (L={L!r}, mu={mu!r})")
    return kappa


def step_bound(L: float) -> float:
    """2 / L: gradient descent with a constant step is stable below it (on quadratics, iff).

    Parameters
    ----------
    L : float
        Smoothness constant, 0 < L < inf.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``L`` is not a real number.
    ValueError
        If ``L`` is not finite, not > 0, or so small that 2 / L overflows.
    """
    L = check_positive("L", L)
    bound = 2.0 / L
    if not math.isfinite(bound):
        raise ValueError(f"2 / L overflows (L={L!r})")
    return bound


def _check_gap(f0, f_star, f0_name: str = "f0") -> float:
    """f0 - f_star, finite and >= 0 (f_star is a lower bound on f)."""
    f0 = check_real(f0_name, f0)
    f_star = check_real("f_star", f_star)
    if f_star > f0:
        raise ValueError(f"f_star must be <= {f0_name} (a lower bound on f), "
                         f"got f_star={f_star!r}, {f0_name}={f0!r}")
    gap = f0 - f_star
    if not math.isfinite(gap):
        raise ValueError(f"{f0_name} - f_star overflows ({f0_name}={f0!r}, f_star={f_star!r})")
    return gap


def _check_iterations(k) -> np.ndarray:
    """``k`` as a float64 array of whole numbers >= 0."""
    if isinstance(k, numbers.Integral) and not isinstance(k, bool):
        k = check_int("k", k, 0, maximum=math.inf)  # its own limit below
        if k >= 2**1023:
            raise ValueError("k must be < 2**1023 (a float), got a larger integer")
        return np.asarray(float(k))
    try:
        arr = np.asarray(k)
    except ValueError:  # a ragged nested sequence
        raise TypeError("k must be an integer or an array of integers, got a ragged "
                        "sequence") from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"k must be an integer or an array of integers, got "
                        f"{type(k).__name__} of dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError("k contains NaN or infinity")
    bad = (arr < 0) | (arr != np.floor(arr))
    if bad.any():
        raise ValueError(f"k must be whole numbers >= 0 (iteration counts), "
                         f"got {float(arr[bad].flat[0])!r}")
    return arr


def gd_nonconvex_bound(f0: float, f_star: float, alpha: float, k) -> np.ndarray | float:
    """sqrt(2 (f(x_0) - f*) / (alpha (k + 1))): bound on min_{i<=k} ||grad f(x_i)||.

    Valid for gradient descent with a constant step alpha <= 1/L, without convexity.

    Parameters
    ----------
    f0 : float
        f(x_0), finite.
    f_star : float
        A lower bound on f, finite and <= f0.
    alpha : float
        The constant step, finite and > 0.
    k : int or array_like of int
        Iteration counts, >= 0.

    Returns
    -------
    float or ndarray
        A float for a scalar ``k``, an array of ``k``'s shape otherwise.

    Raises
    ------
    TypeError
        If an argument is not a real number (``k``: not integers).
    ValueError
        If an argument is not finite, ``alpha <= 0``, ``f_star > f0``, ``k`` is not whole
        numbers >= 0, or the bound overflows.
    """
    gap = _check_gap(f0, f_star)
    alpha = check_positive("alpha", alpha)
    kk = _check_iterations(k)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        out = np.sqrt(2.0 * gap / (alpha * (kk + 1.0)))
    if not np.isfinite(out).all():
        raise ValueError(f"the bound overflows: 2 (f0 - f_star) / (alpha (k + 1)) is not "
                         f"finite (f0 - f_star={gap!r}, alpha={alpha!r})")
    return float(out) if out.ndim == 0 else out


def gd_iterations_needed(f0: float, f_star: float, alpha: float, eps: float) -> int:
    """Smallest k with the bound above <= eps: k + 1 >= 2 (f0 - f*) / (alpha eps^2).

    Parameters
    ----------
    f0 : float
        f(x_0), finite.
    f_star : float
        A lower bound on f, finite and <= f0.
    alpha : float
        The constant step, finite and > 0.
    eps : float
        The target gradient norm, finite and > 0.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If an argument is not a real number.
    ValueError
        If an argument is not finite, ``alpha`` or ``eps`` is not > 0, ``f_star > f0``,
        or the count overflows (2 (f0 - f*) / (alpha eps^2) is not a finite float).
    """
    gap = _check_gap(f0, f_star)
    alpha = check_positive("alpha", alpha)
    eps = check_positive("eps", eps)
    if gap == 0.0:
        return 0
    denom = alpha * eps * eps
    # alpha eps^2 can underflow to 0 where the quotient is still a float.
    ratio = 2.0 * gap / denom if denom > 0.0 else 2.0 * gap / alpha / eps / eps
    if not math.isfinite(ratio):
        raise ValueError(f"the iteration count overflows: 2 (f0 - f_star) / (alpha eps^2) "
                         f"is not finite (f0 - f_star={gap!r}, alpha={alpha!r}, eps={eps!r})")
    return max(0, math.ceil(ratio - 1.0))
