"""Curvature at a point: the Hessian's extreme eigenvalues from Hessian-vector products
(ARPACK's Lanczos, or power iteration), and the estimates of L and mu built on them."""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_int, check_nonnegative

__all__ = ["hessian_extremes", "lipschitz_estimate", "strong_convexity_estimate"]

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
