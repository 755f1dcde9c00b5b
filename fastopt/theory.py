"""Theory constants, optimal parameters, convergence bounds and certificates.

Notation: L and mu are the largest and smallest eigenvalues of
the Hessian (over the region of interest; at a point for the estimates below), and
kappa = L / mu.

    gradient descent is stable for alpha < 2 / L
    heavy ball, optimal on quadratics:  alpha* = 4 / (sqrt L + sqrt mu)^2,
                                        rho*   = ((sqrt L - sqrt mu) / (sqrt L + sqrt mu))^2
    Nesterov, strongly convex:          alpha = 1 / L, rho = (sqrt kappa - 1) / (sqrt kappa + 1)
    GD with alpha <= 1/L, no convexity:
        min_{i<=k} ||grad f(x_i)|| <= sqrt(2 (f(x_0) - f*) / (alpha (k+1)))

A run is checked against its bound with :func:`certify_gd`, which returns a
:class:`Certificate` saying ``held`` or ``violated`` with the numbers.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

# The formulas the solvers use for their defaults live at the solvers level (a layer
# below); they are public here under their theory names.
from ._checks import check_int, check_nonnegative, check_positive, check_real
from .solvers._parameters import check_L_mu, heavy_ball_parameters, nesterov_parameters

__all__ = [
    "hessian_extremes", "lipschitz_estimate", "strong_convexity_estimate",
    "condition_number", "heavy_ball_parameters", "nesterov_parameters", "step_bound",
    "gd_nonconvex_bound", "gd_iterations_needed", "Certificate", "certify_gd",
]


# ARPACK counts its restarts in a Fortran INTEGER (32 bits).
_MAX_ITER = 2**31 - 1


def _check_hvp_objective(name: str, objective):
    """``TypeError`` naming ``name`` unless ``objective`` has a callable ``hvp``."""
    if not callable(getattr(objective, "hvp", None)):
        raise TypeError(f"{name} must be an objective with an hvp(x, v) method, "
                        f"got {type(objective).__name__}")
    return objective


def _check_point(objective, x) -> np.ndarray:
    """``x`` as a finite float64 vector of the objective's size."""
    try:
        arr = np.asarray(x)
    except ValueError:  # a ragged nested sequence
        raise TypeError("x must be an array of real numbers, got a ragged sequence") from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"x must be an array of real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    n_params = getattr(objective, "n_params", None)
    if n_params is None:
        if arr.ndim != 1 or arr.shape[0] < 1:
            raise ValueError(f"x must be a non-empty 1-D array, got shape {arr.shape}")
    else:
        n_params = check_int("objective.n_params", n_params, 1)
        if arr.shape != (n_params,):
            raise ValueError(f"x must have shape ({n_params},), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("x contains NaN or infinity")
    return arr


def _check_seed(seed):
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    return check_int("seed", seed, 0)


def _hvp_operator(objective, x):
    x = np.asarray(x, dtype=np.float64)
    p = x.shape[0]

    def matvec(v):
        hv = objective.hvp(x, v)
        try:
            out = np.asarray(hv, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"objective.hvp(x, v) must return an array of real numbers, "
                            f"got {type(hv).__name__}") from None
        if out.shape != (p,):
            raise ValueError(f"objective.hvp(x, v) must return shape ({p},), "
                             f"got shape {out.shape}")
        if not np.isfinite(out).all():
            raise ValueError("objective.hvp(x, v) is not finite at this x: the Hessian "
                             "extremes are undefined there")
        return out

    return matvec


def _power_iteration(matvec, p, max_iter, tol, rng, shift=0.0):
    """Largest eigenvalue of (A - shift I) by power iteration (A symmetric PSD-ish)."""
    v = rng.standard_normal(p)
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(max_iter):
        w = matvec(v) - shift * v
        lam_new = float(v @ w)
        norm = np.linalg.norm(w)
        if norm == 0.0:
            return 0.0
        v = w / norm
        if abs(lam_new - lam) <= tol * max(1.0, abs(lam_new)):
            return lam_new
        lam = lam_new
    return lam


def _eigsh_top(op, matvec, p, v0, max_iter, tol, rng):
    """Largest algebraic eigenvalue of ``op`` by ARPACK, its errors as ``ValueError``."""
    from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, eigsh

    try:
        return float(eigsh(op, k=1, which="LA", v0=v0, maxiter=min(max_iter * p, _MAX_ITER),
                           tol=tol, return_eigenvectors=False)[0])
    except ArpackNoConvergence:
        raise ValueError(f"ARPACK did not converge within max_iter={max_iter} "
                         f"(tol={tol!r}): raise max_iter or tol, or use method='power'"
                         ) from None
    except ArpackError as exc:
        if not str(exc).startswith("ARPACK error -9:"):
            raise ValueError(f"ARPACK failed on the Hessian-vector operator ({exc}); "
                             f"try method='power'") from None
        # "Starting vector is zero": the operator vanishes on the Krylov space (a Hessian
        # that is a multiple of the identity, shifted by its own eigenvalue); power
        # iteration handles it (w = 0 gives 0).
        return _power_iteration(matvec, p, max_iter, tol, rng)


def hessian_extremes(objective, x, method: str = "lanczos", max_iter: int = 200,
                     tol: float = 1e-8, seed: int = 0) -> tuple[float, float]:
    """(mu, L): smallest and largest Hessian eigenvalues at ``x`` from Hessian-vector products.

    Parameters
    ----------
    objective : object with ``hvp(x, v)`` (and optionally ``n_params``)
    x : array_like of shape (p,)
        A finite point.
    method : {"lanczos", "power"}
        ``"lanczos"``: scipy's ARPACK (implicitly restarted Lanczos) on the HVP operator.
        ``"power"``: power iteration for L, then on L I - H for L - mu.
    max_iter : int
        Iteration budget, 1 <= max_iter <= 2**31 - 1 (ARPACK gets ``max_iter * p``
        restarts, at most 2**31 - 1).
    tol : float
        Relative tolerance, finite and >= 0 (0: ARPACK's machine precision).
    seed : int >= 0, numpy Generator or None
        Seed of the start vector.

    Returns
    -------
    (float, float)
        mu and L.

    Raises
    ------
    TypeError
        If ``objective`` has no ``hvp`` method, or ``x``, ``method``, ``max_iter``,
        ``tol`` or ``seed`` has the wrong type.
    ValueError
        If ``x`` is not finite or has the wrong shape, ``method`` is unknown, ``max_iter``,
        ``tol`` or ``seed`` is out of range, the Hessian-vector products are not finite
        at ``x``, or ARPACK does not converge within the budget.
    """
    objective = _check_hvp_objective("objective", objective)
    x = _check_point(objective, x)
    if not isinstance(method, str):
        raise TypeError(f"method must be 'lanczos' or 'power', got {method!r}")
    if method not in ("lanczos", "power"):
        raise ValueError(f"method must be 'lanczos' or 'power', got {method!r}")
    max_iter = check_int("max_iter", max_iter, 1)
    if max_iter > _MAX_ITER:
        raise ValueError(f"max_iter must be <= {_MAX_ITER}, got {max_iter!r}")
    tol = check_nonnegative("tol", tol)
    seed = _check_seed(seed)
    p = x.shape[0]
    matvec = _hvp_operator(objective, x)
    rng = np.random.default_rng(seed)
    if p == 1:
        h = float(matvec(np.ones(1))[0])
        return h, h
    if method == "power":
        L = _power_iteration(matvec, p, max_iter, tol, rng)
        gap = _power_iteration(matvec, p, max_iter, tol, rng, shift=L)  # = mu - L <= 0
        mu = L + gap
    elif p <= 2:
        H = np.column_stack([matvec(e) for e in np.eye(p)])
        ev = np.linalg.eigvalsh(0.5 * (H + H.T))
        mu, L = float(ev[0]), float(ev[-1])
    else:
        from scipy.sparse.linalg import LinearOperator

        op = LinearOperator((p, p), matvec=matvec, dtype=np.float64)
        v0 = rng.standard_normal(p)
        L = _eigsh_top(op, matvec, p, v0, max_iter, tol, rng)
        # mu from the largest eigenvalue of L I - H: ARPACK converges far faster on
        # the top of a spectrum than with which="SA".

        def shifted_matvec(v):
            return L * v - matvec(v)

        shifted = LinearOperator((p, p), matvec=shifted_matvec, dtype=np.float64)
        top = _eigsh_top(shifted, shifted_matvec, p, v0, max_iter, tol, rng)
        mu = L - top
    if not (math.isfinite(mu) and math.isfinite(L)):
        raise ValueError(f"the Hessian extremes at x overflow (mu={mu!r}, L={L!r})")
    return mu, L


def lipschitz_estimate(objective, x, method: str = "lanczos", *, max_iter: int = 200,
                       tol: float = 1e-8, seed: int = 0) -> float:
    """L estimated as lambda_max(hess f(x)) from Hessian-vector products.

    Parameters
    ----------
    objective, x, method, max_iter, tol, seed
        As in :func:`hessian_extremes`.

    Returns
    -------
    float

    Raises
    ------
    TypeError, ValueError
        As :func:`hessian_extremes`.
    """
    return hessian_extremes(objective, x, method, max_iter=max_iter, tol=tol, seed=seed)[1]


def strong_convexity_estimate(objective, x, method: str = "lanczos", *, max_iter: int = 200,
                              tol: float = 1e-8, seed: int = 0) -> float:
    """mu estimated as lambda_min(hess f(x)) from Hessian-vector products.

    Parameters
    ----------
    objective, x, method, max_iter, tol, seed
        As in :func:`hessian_extremes`.

    Returns
    -------
    float

    Raises
    ------
    TypeError, ValueError
        As :func:`hessian_extremes`.
    """
    return hessian_extremes(objective, x, method, max_iter=max_iter, tol=tol, seed=seed)[0]


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


@dataclass
class Certificate:
    """Outcome of checking a run against a bound.

    Attributes
    ----------
    name : str
        The bound checked.
    held : bool
        True if every checked iterate satisfied the bound.
    observed, bound : ndarray
        What the run did and what the bound allows, at ``iterations``.
    iterations : ndarray of int
    worst_ratio : float
        max(observed / bound): <= 1 when the bound held.
    details : dict
        The constants used (alpha, L, f0, f*), and any precondition that failed.
    """

    name: str
    held: bool
    observed: np.ndarray
    bound: np.ndarray
    iterations: np.ndarray
    worst_ratio: float
    details: dict = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "held" if self.held else "violated"

    def __str__(self) -> str:
        d = ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in self.details.items())
        return (f"{self.name}: {self.verdict} at {len(self.iterations)} checked iterations "
                f"(worst observed/bound = {self.worst_ratio:.4g}; {d})")


def _check_gd_result(result):
    """The history of ``result``; ``TypeError`` unless it is a run with a history."""
    history = getattr(result, "history", None)
    if history is None or not all(hasattr(history, c)
                                  for c in ("iteration", "fun", "grad_norm", "step_size")):
        raise TypeError(f"result must be an OptimizeResult with a history (from "
                        f"fastopt.minimize), got {type(result).__name__}")
    method = getattr(result, "method", None)
    if isinstance(method, str) and method != "gd":
        raise ValueError(f"result must be a run of method='gd', got method={method!r}")
    return history


def certify_gd(result, f_star: float, alpha: float | None = None, L: float | None = None,
               tol_rel: float = 1e-12) -> Certificate:
    """Check a gradient-descent run against the nonconvex bound.

    At every recorded iteration k, min_{i<=k, recorded} ||grad f(x_i)|| is compared
    with sqrt(2 (f(x_0) - f*) / (alpha (k + 1))). With ``history_every > 1`` only the
    recorded iterates enter the minimum, which can only make the check stricter.

    Parameters
    ----------
    result : OptimizeResult
        A run of ``method="gd"`` with a constant step, with its history.
    f_star : float
        A lower bound on f, finite and <= f(x_0) (the optimal value, or any lower bound:
        a smaller f* only loosens the bound).
    alpha : float, optional
        The constant step, finite and > 0 (default: the history's ``step_size`` column).
    L : float, optional
        If given (finite and > 0), the precondition alpha <= 1/L is checked and reported.
    tol_rel : float
        Relative slack of the comparison, finite and >= 0.

    Returns
    -------
    Certificate

    Raises
    ------
    TypeError
        If ``result`` is not a result with a history, or ``f_star``, ``alpha``, ``L`` or
        ``tol_rel`` is not a real number.
    ValueError
        If ``result`` is not a ``method="gd"`` run, has no history, no constant step or a
        non-finite f(x_0); if ``f_star``, ``alpha``, ``L`` or ``tol_rel`` is not finite
        or out of range (``f_star > f(x_0)`` included); or if the bound overflows.
    """
    h = _check_gd_result(result)
    f_star = check_real("f_star", f_star)
    if alpha is not None:
        alpha = check_positive("alpha", alpha)
    if L is not None:
        L = check_positive("L", L)
    tol_rel = check_nonnegative("tol_rel", tol_rel)
    k = h.iteration
    gnorm = h.grad_norm
    if len(k) == 0:
        raise ValueError("the result has no history to check (history_every=0?)")
    if alpha is None:
        steps = h.step_size[np.isfinite(h.step_size)]
        if steps.size == 0:
            raise ValueError("alpha not given and the history has no step size")
        alpha = float(steps[0])
        if not np.allclose(steps, alpha, rtol=1e-12):
            raise ValueError("the bound is for a constant step; the run's step size varied")
        if not alpha > 0:
            raise ValueError(f"the history's step size must be > 0, got {alpha!r}")
    f0 = float(h.fun[0])
    _check_gap(f0, f_star, "the history's f(x_0)")
    observed = np.minimum.accumulate(np.where(np.isfinite(gnorm), gnorm, np.inf))
    bound = np.asarray(gd_nonconvex_bound(f0, f_star, alpha, k), dtype=np.float64)
    with np.errstate(over="ignore"):
        ratio = observed / np.maximum(bound, np.finfo(float).tiny)
    held = bool(np.all(observed <= bound * (1.0 + tol_rel)))
    details = {"alpha": float(alpha), "f0": f0, "f_star": float(f_star),
               "every": int(getattr(h, "every", 1))}
    if L is not None:
        details["L"] = float(L)
        details["precondition alpha <= 1/L"] = bool(alpha <= 1.0 / L * (1 + 1e-12))
    return Certificate("GD nonconvex bound min ||grad f|| <= sqrt(2 (f0 - f*) / (alpha (k+1)))",
                       held, observed, bound, k, float(np.max(ratio)), details)
