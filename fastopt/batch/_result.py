"""The result of a batch of fits: per-problem arrays, one row per problem."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels.batch_codes import MESSAGES

__all__ = ["BatchResult"]


@dataclass(frozen=True, eq=False)
class BatchResult:
    """K fits, one row per problem (in the order of the stacked slabs, of the sorted group
    ids, of the target columns or of the weight vectors).

    Attributes
    ----------
    coef : ndarray of shape (K, n)
        Coefficients; NaN rows for problems that were not solved (see ``status``).
    intercept : ndarray of shape (K,)
        Intercepts (zeros without ``fit_intercept``; NaN where not solved).
    fun : ndarray of shape (K,)
        Objective value at ``coef`` (normalized: weighted mean loss plus lam/2 ||w||^2).
    grad_norm : ndarray of shape (K,)
        ||grad f|| at ``coef``.
    n_iter : ndarray of shape (K,)
        Newton iterations.
    status : ndarray of shape (K,)
        Code of each problem's outcome (``fastopt.kernels.batch_codes``; 0: converged);
        ``messages`` says each in words.
    success : ndarray of bool of shape (K,)
        ``status == 0``.
    lam : ndarray of shape (K,)
        The L2 strength of each problem.
    groups : ndarray of shape (K,) or None
        The group id of each problem (groups input only).
    classes : ndarray of shape (2,) or None
        Logistic fits: the two labels (``classes[1]`` is the positive class).
    """

    coef: np.ndarray
    intercept: np.ndarray
    fun: np.ndarray
    grad_norm: np.ndarray
    n_iter: np.ndarray
    status: np.ndarray
    success: np.ndarray
    lam: np.ndarray
    groups: np.ndarray | None = None
    classes: np.ndarray | None = None

    @property
    def messages(self) -> list[str]:
        """One sentence per problem, from its status code."""
        return [MESSAGES[int(code)] for code in self.status]

    def __len__(self) -> int:
        return self.coef.shape[0]

    def __repr__(self) -> str:
        K = len(self)
        solved = int(np.count_nonzero(self.success))
        return (f"BatchResult({K} problems, {solved} converged, n_features="
                f"{self.coef.shape[1]}, n_iter max {int(self.n_iter.max()) if K else 0})")
