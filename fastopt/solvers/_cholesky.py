"""Damped Cholesky solve: the Newton system with a shift that makes H positive definite."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg.lapack import dpotrf, dpotrs

from .._checks import check_int, check_interval, check_positive
from ._blas import small_blas

__all__ = ["DampedSolve", "checked_damped_cholesky_solve", "damped_cholesky_solve"]


@dataclass
class DampedSolve:
    """Outcome of :func:`damped_cholesky_solve`.

    Attributes
    ----------
    x : ndarray of shape (p,)
        Solution of (H + tau I) x = b.
    damping : float
        The shift tau added to the diagonal (0 when H was positive definite).
    n_factorizations : int
        Cholesky attempts made.
    """

    x: np.ndarray
    damping: float
    n_factorizations: int


def damped_cholesky_solve(H, b, tau0: float = 1e-8, growth: float = 10.0,
                          max_attempts: int = 60) -> DampedSolve:
    """Solve (H + tau I) x = b with the smallest tau in {0, tau0 s, 10 tau0 s, ...}
    for which the Cholesky factorization succeeds (Nocedal and Wright, Alg. 3.3).

    Parameters
    ----------
    H : ndarray of shape (p, p)
        Symmetric matrix (only the lower triangle is read).
    b : ndarray of shape (p,)
    tau0 : float
        First nonzero shift, relative to s = max(1, max |diag H|).
    growth : float
        Factor by which the shift grows after a failed factorization.
    max_attempts : int
        Give up (``numpy.linalg.LinAlgError``) after this many factorizations.

    Returns
    -------
    DampedSolve

    Raises
    ------
    ValueError
        If tau0 <= 0, growth <= 1 or max_attempts < 1 (a shift that does not grow
        would repeat the same failed factorization ``max_attempts`` times).
    numpy.linalg.LinAlgError
        If no shift in ``max_attempts`` factorizations made H + tau I positive definite.
    """
    tau0 = check_positive("tau0", tau0)
    growth = check_interval("growth", growth, 1.0, float("inf"), closed_low=False)
    max_attempts = check_int("max_attempts", max_attempts, 1)
    return checked_damped_cholesky_solve(H, b, tau0, growth, max_attempts)


def checked_damped_cholesky_solve(H, b, tau0: float, growth: float = 10.0,
                                  max_attempts: int = 60) -> DampedSolve:
    """:func:`damped_cholesky_solve` for arguments already checked (a solver checks its
    ``damping0`` once per solve, not once per iteration)."""
    with small_blas(H.shape[0]):
        return _damped_cholesky_solve(H, b, tau0, growth, max_attempts)


def _damped_cholesky_solve(H, b, tau0, growth, max_attempts):
    if H.shape[0] == 0:  # LAPACK's wrappers refuse empty operands
        return DampedSolve(np.zeros(0), 0.0, 1)
    tau = 0.0
    for attempt in range(1, max_attempts + 1):
        A = H if tau == 0.0 else H + tau * np.eye(H.shape[0])
        # LAPACK directly: scipy's cho_factor/cho_solve wrappers cost more than the
        # factorization itself for p in the tens (several times as much at p = 22).
        # H itself is never overwritten (overwrite_a=0): a failed attempt must leave it
        # intact.
        L, info = dpotrf(A, lower=1, clean=0, overwrite_a=0)
        if info > 0:  # not positive definite: grow the shift
            if tau == 0.0:
                # The scale only matters once H has failed (never on the pure Newton
                # step, so a positive definite H costs no pass over its diagonal).
                scale = max(1.0, float(np.max(np.abs(np.diag(H)))))
                tau = tau0 * scale
            else:
                tau *= growth
            continue
        if info < 0:
            raise ValueError(f"dpotrf: illegal argument {-info}")
        x, info = dpotrs(L, b, lower=1)
        if info != 0:
            raise ValueError(f"dpotrs: illegal argument {-info}")
        return DampedSolve(x, tau, attempt)
    raise np.linalg.LinAlgError("matrix could not be made positive definite by damping")
