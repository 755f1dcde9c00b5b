"""Line searches on phi(t) = f(x + t d): backtracking Armijo and strong Wolfe (zoom).

A line search sees the objective only through a *line* object with three methods:

``value(t)``
    phi(t) = f(x + t d).
``slope(t)``
    phi'(t) = <grad f(x + t d), d>; may compute (and keep) the full gradient at x + t d.
``point(t)``
    ``(x_t, f_t, g_t)`` at an accepted step; ``g_t`` reuses the gradient of ``slope(t)``
    when it was computed there.

Two lines are provided:

:class:`ObjectiveLine`
    Any objective: each ``value`` is one call of ``objective.value`` (one pass over the
    data for a linear model), each ``slope`` one call of ``objective.loss_grad``.
:class:`PredictorLine`
    Fast path for linear-model objectives (``LinearObjective``): the predictor
    z = X w is linear in w, so with dz = X d computed once (one pass),

        phi(t) = loss_from_predictor(z + t dz, w + t d)          O(m), no pass over X

    and phi'(t) is O(m) too (from the per-row loss derivative); only the gradient at the
    accepted point costs a pass (``grad_from_predictor``, one ``rmatvec``). The predictor
    at the accepted point, z + t dz, is handed to the next iteration, so z is never
    recomputed from X.

Both searches return a :class:`LineSearchResult`; ``success=False`` means that no step
met the conditions within ``max_iter`` trials, or (backtracking) that the trials reached
the roundoff level of f without one (the caller reports ``Status.LINE_SEARCH``). The
options of both are checked once per solve by :func:`check_line_search_options`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import check_int, check_interval

__all__ = [
    "LineSearchResult",
    "ObjectiveLine",
    "PredictorLine",
    "backtracking",
    "check_line_search_options",
    "make_line",
    "strong_wolfe",
    "sufficient_decrease",
]


#: 64 ulps of 1: the relative roundoff level of a computed f (see :func:`_noise`).
_NOISE_ULPS = 64.0 * float(np.finfo(np.float64).eps)

#: A search may accept a step on the roundoff rule of :func:`sufficient_decrease` only
#: when its *first* trial promised a decrease -t0 phi'(0) of at most this many roundoffs
#: of f (the direction is at the optimum to working precision). Without the bound, any
#: continuous phi passes that rule once t is small enough, so a search along a direction
#: that does not descend (a wrong gradient, a bad model) would end on a step of ~1e-15
#: and report success instead of failing.
_NOISE_BAND = 1e4


def check_line_search_options(options: dict, *, wolfe: bool = False) -> dict:
    """Validate (and normalize in place) the line-search options of a solver.

    The one place where every second-order method checks them, so a bad value is the
    same ``ValueError``/``TypeError`` naming the parameter for all of them:

    ``c1``
        Sufficient-decrease constant, 0 < c1 < 1.
    ``c2``
        Curvature constant of the strong Wolfe conditions (``wolfe=True`` only),
        0 < c1 < c2 < 1: with c2 <= c1 a Wolfe point need not exist.
    ``shrink``
        Backtracking factor, 0 < shrink < 1 (checked when present): shrink <= 0 tries
        t = 0 or negative steps, shrink >= 1 never backtracks.
    ``max_line_search``
        Trials per search, an integer >= 1.

    Parameters
    ----------
    options : dict
        Method options with their defaults filled in.
    wolfe : bool
        Whether the method uses the strong-Wolfe search (then ``c2`` is checked).

    Returns
    -------
    dict
        ``options`` itself, with the checked values as float/int.
    """
    options["c1"] = check_interval("c1", options["c1"], 0.0, 1.0, closed_low=False)
    if wolfe:
        c2 = check_interval("c2", options["c2"], 0.0, 1.0, closed_low=False)
        if not c2 > options["c1"]:
            raise ValueError(f"c2 must be > c1 (strong Wolfe needs 0 < c1 < c2 < 1), got "
                             f"c1={options['c1']!r}, c2={c2!r}")
        options["c2"] = c2
    if "shrink" in options:
        options["shrink"] = check_interval("shrink", options["shrink"], 0.0, 1.0,
                                           closed_low=False)
    options["max_line_search"] = check_int("max_line_search", options["max_line_search"], 1)
    return options


@dataclass
class LineSearchResult:
    """Outcome of a line search.

    Attributes
    ----------
    step : float
        The accepted step t when ``success``. Otherwise: for :func:`backtracking`, the
        last step tried (``t0 / shrink`` when the first trial's predicted decrease was
        already below the roundoff of f and nothing was tried); for :func:`strong_wolfe`, the
        largest step known to satisfy sufficient decrease (0 when there is none).
    fun : float
        phi(step); NaN when no value was computed, phi(0) when ``step`` is 0.
    n_trials : int
        Trials of the search: values phi(t) computed, or, in the Wolfe search's
        slope-only phase (steps whose change of f is roundoff), slopes phi'(t).
    success : bool
        :func:`backtracking`: sufficient decrease holds at ``step``. :func:`strong_wolfe`: the
        strong-Wolfe conditions hold at ``step``, or the zoom interval shrank to roundoff
        width around a step with sufficient decrease and phi(step) < phi(0) (the best
        point the search can certify).
    """

    step: float
    fun: float
    n_trials: int
    success: bool


class ObjectiveLine:
    """phi(t) = f(x + t d) for any objective with ``value`` and ``loss_grad``.

    Parameters
    ----------
    objective : Objective
    x, d : ndarray of shape (p,)
        Base point and direction (not modified).
    fused : bool
        Compute f and the gradient together at every trial (``loss_grad``: one pass over
        the data for a linear model). Right for a Wolfe search, whose accepted trial needs
        the gradient anyway; a backtracking search only needs values (``fused=False``).
    """

    def __init__(self, objective, x, d, fused=False):
        self.objective = objective
        self.x = x
        self.d = d
        self.fused = fused
        self._values = {}
        self._g_of = None  # the step whose gradient is in _g
        self._g = None
        self._x_of = None  # the step whose point is in _xt (kept for point())
        self._xt = None

    def _x(self, t):
        if self._x_of != t:
            self._xt = self.x + t * self.d
            self._x_of = t
        return self._xt

    def value(self, t: float) -> float:
        """phi(t)."""
        f = self._values.get(t)
        if f is None:
            if self.fused:
                self._gradient(t)
                return self._values[t]
            f = float(self.objective.value(self._x(t)))
            self._values[t] = f
        return f

    def _gradient(self, t):
        if self._g_of != t:
            f, g = self.objective.loss_grad(self._x(t))
            self._values[t] = float(f)
            self._g_of, self._g = t, g
        return self._g

    def slope(self, t: float) -> float:
        """phi'(t); keeps f and the gradient at x + t d."""
        return float(self._gradient(t) @ self.d)

    def point(self, t: float):
        """``(x_t, f_t, g_t)``; the gradient is computed here unless ``slope(t)`` did."""
        g = self._gradient(t)
        return self._x(t), self._values[t], g


class PredictorLine:
    """phi(t) = f(w + t d) for a linear-model objective in O(m) per trial.

    Parameters
    ----------
    objective : LinearObjective
        Must provide ``linear_predictor``, ``loss_from_predictor`` and
        ``grad_from_predictor`` (docs/contract.md). When it also gives the per-row
        derivative of the loss, u_i = sw_i l'(z_i) (``dloss_from_predictor``), the slope
        is O(m) as well: phi'(t) = <u(z + t dz), dz> + lam <w_t[:n], d[:n]>.
    w, d : ndarray of shape (p,)
        Base point and direction.
    z : ndarray of shape (m,)
        The predictor at w, X w[:n] + w[n]. Not modified.
    dz : ndarray of shape (m,), optional
        X d[:n] + d[n]; computed here (one pass over X) when not given.

    Attributes
    ----------
    dz : ndarray of shape (m,)
    z_t : ndarray of shape (m,)
        After :meth:`point`, the predictor at the accepted point (one buffer reused
        between trials: no allocation per trial).
    """

    def __init__(self, objective, w, d, z, dz=None):
        self.objective = objective
        self.w = w
        self.d = d
        self.z = z
        # z(w + t d) = z(w) + t z(d): the predictor is linear in w, intercept included.
        self.dz = objective.linear_predictor(d) if dz is None else dz
        self.z_t = np.empty_like(z)
        self._zt_of = None  # the step z_t currently holds
        self._values = {}  # t -> phi(t) of the trials so far
        self._g_of = None  # the step whose full gradient is in _g
        self._g = None
        self._dloss = getattr(objective, "dloss_from_predictor", None)
        self._u = None  # buffer of the per-row derivatives (allocated on first slope)
        n = getattr(objective, "n_features", w.shape[0])
        self._lam = float(getattr(objective, "lam", 0.0))
        self._wd = float(np.dot(w[:n], d[:n]))
        self._dd = float(np.dot(d[:n], d[:n]))

    def _fill(self, t):
        if self._zt_of != t:
            np.multiply(self.dz, t, out=self.z_t)
            self.z_t += self.z
            self._zt_of = t
        return self.z_t

    def value(self, t: float) -> float:
        """phi(t) from the predictor z + t dz: O(m), no pass over X."""
        f = self._values.get(t)
        if f is None:
            f = float(self.objective.loss_from_predictor(self._fill(t), self.w + t * self.d))
            self._values[t] = f
        return f

    def slope(self, t: float) -> float:
        """phi'(t): O(m) from the per-row loss derivative when the objective gives it,
        else from the gradient at w + t d (one pass over X, kept for :meth:`point`)."""
        if self._dloss is not None:
            if self._u is None:
                self._u = np.empty_like(self.z)
            u = self._dloss(self._fill(t), out=self._u)
            # einsum, not BLAS ddot: a threaded m-length dot competes with the numba
            # threads of the data passes for nothing (it is memory bound).
            return float(np.einsum("i,i->", u, self.dz)) + self._lam * (self._wd
                                                                     + t * self._dd)
        self._gradient(t)
        return float(self._g @ self.d)

    def _gradient(self, t):
        if self._g_of != t:
            self._g = self.objective.grad_from_predictor(self._fill(t), self.w + t * self.d)
            self._g_of = t
        return self._g

    def point_predictor(self, t: float) -> np.ndarray:
        """z + t dz, the predictor at w + t d (``z_t``; no pass over X)."""
        return self._fill(t)

    def point(self, t: float):
        """``(w_t, f_t, g_t)`` (the gradient costs one pass over X unless the slope
        already computed it); ``self.z_t`` then holds the predictor at w_t."""
        f = self.value(t)
        g = self._gradient(t)
        self._fill(t)
        return self.w + t * self.d, f, g


def make_line(objective, x, d, z=None, fused=False):
    """:class:`PredictorLine` when the predictor ``z`` = X x is given (linear models),
    :class:`ObjectiveLine` otherwise."""
    if z is not None:
        return PredictorLine(objective, x, d, z)
    return ObjectiveLine(objective, x, d, fused=fused)


def backtracking(line, f0: float, slope0: float, t0: float = 1.0, c1: float = 1e-4,
                 shrink: float = 0.5, max_iter: int = 60) -> LineSearchResult:
    """Backtracking (Armijo) line search.

    Finds the first t in t0, shrink t0, shrink^2 t0, ... with

        phi(t) <= phi(0) + c1 t phi'(0).

    Parameters
    ----------
    line : ObjectiveLine or PredictorLine
    f0, slope0 : float
        phi(0) and phi'(0) (< 0 for a descent direction).
    t0 : float
        First trial step (1 for Newton-type directions).
    c1 : float
        Sufficient-decrease constant in (0, 1).
    shrink : float
        Factor in (0, 1) applied after each rejected trial.
    max_iter : int
        Maximum number of trials.

    Returns
    -------
    LineSearchResult
        ``success=False`` also when the trials reach the roundoff level of f (predicted
        decrease -t phi'(0) below it) without an acceptable step, unless the first
        trial's predicted decrease was itself within ``_NOISE_BAND`` roundoffs (the
        optimum to working precision): no step of ~1e-15 is ever passed off as
        progress.
    """
    t = float(t0)
    f = math.nan
    noise = _noise(f0)
    # An ascent direction (slope0 > 0) is never "near the optimum": no step along it is
    # accepted on roundoff grounds.
    near = slope0 <= 0.0 and -slope0 * t <= _NOISE_BAND * noise
    for k in range(1, max_iter + 1):
        if not near and -slope0 * t <= noise:
            # Shrunk from far above the roundoff of f down to it without an acceptable
            # step: from here on the values cannot certify a decrease (at the end
            # x + t d == x and f == f0 "passes"), so the search has failed.
            return LineSearchResult(t / shrink, f, k - 1, False)
        f = line.value(t)
        if sufficient_decrease(f, f0, t, slope0, c1, t0=t0):
            return LineSearchResult(t, f, k, True)
        t *= shrink
    return LineSearchResult(t / shrink, f, max_iter, False)


def sufficient_decrease(f: float, f0: float, t: float, slope0: float, c1: float,
                        t0: float | None = None) -> bool:
    """The Armijo test f <= f0 + c1 t slope0 of :func:`backtracking`, roundoff-aware.

    Near the optimum the predicted decrease -t phi'(0) falls below the roundoff of f
    itself; the value test cannot tell a good step from a bad one there, so a step that
    does not raise f beyond that roundoff is accepted, not shrunk away. That rule only
    applies when the search's first trial ``t0`` (default: ``t``) promised a decrease
    within ``_NOISE_BAND`` roundoffs: a search that started far above the roundoff and
    only got there by shrinking has failed (the direction does not descend), and must
    say so rather than take a step of ~1e-15. False for a NaN f.
    """
    noise = _noise(f0)
    first = t if t0 is None else t0
    near = slope0 <= 0.0 and -slope0 * first <= _NOISE_BAND * noise
    # f0 + c1 t slope0 < f0 in exact arithmetic; f >= f0 passes only by the rounding of
    # that sum (a tiny t, or x + t d == x), which certifies nothing away from the optimum.
    if f <= f0 + c1 * t * slope0 and (f < f0 or near):
        return True
    return near and -slope0 * t <= noise and f <= f0 + noise


def _noise(f0: float) -> float:
    """Roundoff level of a computed f near f0 (a sum over m rows: a few ulps and more)."""
    return _NOISE_ULPS * max(1.0, abs(f0))


def _interpolate(t_lo, f_lo, g_lo, t_hi, f_hi):
    """Minimizer of the quadratic through (t_lo, f_lo, slope g_lo) and (t_hi, f_hi),
    safeguarded to the middle 80% of [t_lo, t_hi] (bisection otherwise)."""
    dt = t_hi - t_lo
    denom = 2.0 * (f_hi - f_lo - g_lo * dt)
    lo, hi = min(t_lo, t_hi), max(t_lo, t_hi)
    if denom > 0.0:
        t = t_lo - g_lo * dt * dt / denom
        margin = 0.1 * (hi - lo)
        if lo + margin <= t <= hi - margin:
            return t
    return 0.5 * (t_lo + t_hi)


def strong_wolfe(line, f0: float, slope0: float, t0: float = 1.0, c1: float = 1e-4,
                 c2: float = 0.9, t_max: float = 1e10, max_iter: int = 40) -> LineSearchResult:
    """Strong-Wolfe line search: bracketing, then zoom (Nocedal and Wright, Alg. 3.5/3.6).

    Finds t with

        phi(t) <= phi(0) + c1 t phi'(0)        (sufficient decrease)
        |phi'(t)| <= c2 |phi'(0)|              (curvature)

    ``line.slope`` (the expensive call: a gradient) is evaluated only at trial points
    that passed the sufficient-decrease test and improved on the bracket's low end;
    interpolation uses the quadratic through phi(lo), phi'(lo) and phi(hi), so no
    derivative is ever needed at a rejected point.

    Parameters
    ----------
    line : ObjectiveLine or PredictorLine
    f0, slope0 : float
        phi(0) and phi'(0) < 0.
    t0 : float
        First trial (1 for quasi-Newton directions).
    c1, c2 : float
        0 < c1 < c2 < 1.
    t_max : float
        Largest step tried while bracketing.
    max_iter : int
        Maximum number of trials in all.

    Returns
    -------
    LineSearchResult
    """
    noise = _noise(f0)
    t = float(t0)
    if -slope0 * max(t, 1.0) <= noise:
        # The decrease along d is below the roundoff of f: value comparisons are noise,
        # so search on the slope alone (it is computed to full relative accuracy).
        return _slope_search(line, f0, slope0, t, c2, noise, max_iter)
    t_prev, f_prev, g_prev = 0.0, f0, slope0
    n = 0
    # Bracketing phase: grow t until the interval (t_prev, t) holds a Wolfe point.
    while n < max_iter:
        f = line.value(t)
        n += 1
        # Written as "not (passes)" so that a NaN value fails the test, as inf does.
        if not f <= f0 + c1 * t * slope0 + noise or (n > 1 and not f < f_prev):
            return _zoom(line, f0, slope0, t_prev, f_prev, g_prev, t, f, c1, c2, n,
                         max_iter, noise)
        g = line.slope(t)
        if abs(g) <= -c2 * slope0:
            return LineSearchResult(t, f, n, True)
        if g >= 0.0:
            return _zoom(line, f0, slope0, t, f, g, t_prev, f_prev, c1, c2, n, max_iter,
                         noise)
        t_prev, f_prev, g_prev = t, f, g
        if t >= t_max:
            break
        t = min(2.0 * t, t_max)
    return LineSearchResult(t_prev, f_prev, n, False)


def _slope_search(line, f0, slope0, t, c2, noise, max_iter):
    """Strong-Wolfe point by the slope alone, for steps whose change of f is roundoff:
    bracket a sign change of phi'(t), then safeguarded secant steps, until
    |phi'(t)| <= c2 |phi'(0)| at a t where f has not risen beyond its roundoff."""
    t_lo, g_lo = 0.0, slope0
    t_hi = g_hi = None
    for n in range(1, max_iter + 1):
        g = line.slope(t)
        if abs(g) <= -c2 * slope0:
            f = line.value(t)
            if f <= f0 + noise:
                return LineSearchResult(t, f, n, True)
        if g < 0.0:
            t_lo, g_lo = t, g
        else:
            t_hi, g_hi = t, g
        if t_hi is None:
            t = 2.0 * t
            continue
        width = t_hi - t_lo
        t = t_lo + width * g_lo / (g_lo - g_hi) if g_lo != g_hi else t_lo + 0.5 * width
        t = min(max(t, t_lo + 0.1 * width), t_hi - 0.1 * width)
    return LineSearchResult(t_lo, line.value(t_lo) if t_lo > 0 else f0, max_iter, False)


def _zoom(line, f0, slope0, t_lo, f_lo, g_lo, t_hi, f_hi, c1, c2, n, max_iter, noise):
    """Zoom phase: shrink [t_lo, t_hi] (t_lo: the best point satisfying sufficient
    decrease, with its slope g_lo) until a strong-Wolfe point is found."""
    while n < max_iter:
        t = _interpolate(t_lo, f_lo, g_lo, t_hi, f_hi)
        f = line.value(t)
        n += 1
        if not f <= f0 + c1 * t * slope0 + noise or not f < f_lo:  # NaN: rejected
            t_hi, f_hi = t, f
        else:
            g = line.slope(t)
            if abs(g) <= -c2 * slope0:
                return LineSearchResult(t, f, n, True)
            if g * (t_hi - t_lo) >= 0.0:
                t_hi, f_hi = t_lo, f_lo
            t_lo, f_lo, g_lo = t, f, g
        if abs(t_hi - t_lo) <= 1e-16 * max(1.0, abs(t_lo)):
            break
    # No strong-Wolfe point found: t_lo still satisfies sufficient decrease (if > 0).
    return LineSearchResult(t_lo, f_lo, n, t_lo > 0.0 and f_lo < f0)
