"""The result object every solver returns, and the per-iteration history."""

from __future__ import annotations

import enum

import numpy as np


class Status(enum.IntEnum):
    """Why a run stopped. ``success`` is true for the converged codes (< 10)."""

    GTOL = 0  #: ||grad f|| <= tol
    XTOL = 1  #: ||x_{k+1} - x_k|| <= xtol
    FTOL = 2  #: |f_k - f_{k+1}| <= ftol * max(1, |f_k|)
    MAX_ITER = 10  #: iteration budget spent
    MAX_TIME = 11  #: time budget spent
    CALLBACK = 12  #: the callback asked to stop (raised StopIteration or returned True)
    DIVERGED = 20  #: NaN/inf or f grew past the divergence bound; x is the best finite iterate
    LINE_SEARCH = 21  #: the line search found no acceptable step
    NUMERICAL = 22  #: a numerical failure (e.g. a Hessian that could not be factorized)

    @property
    def success(self) -> bool:
        return self < 10


MESSAGES = {
    Status.GTOL: "converged: gradient norm below tol",
    Status.XTOL: "converged: step norm below xtol",
    Status.FTOL: "converged: relative decrease of f below ftol",
    Status.MAX_ITER: "stopped: maximum number of iterations reached",
    Status.MAX_TIME: "stopped: maximum time reached",
    Status.CALLBACK: "stopped by the callback",
    Status.DIVERGED: "diverged: returned the best finite iterate",
    Status.LINE_SEARCH: "stopped: line search failed to find an acceptable step",
    Status.NUMERICAL: "stopped: numerical failure",
}


class OptimizeResult(dict):
    """Result of :func:`fastopt.minimize`, a dict with attribute access (as in scipy).

    It behaves as ``scipy.optimize.OptimizeResult`` does (keys are attributes, ``repr``
    lists them) without importing ``scipy.optimize``, whose import alone costs a
    noticeable part of a fresh process's start.

    Attributes
    ----------
    x : ndarray of shape (p,)
        The solution (for a diverged run: the best finite iterate).
    fun : float
        f(x).
    jac : ndarray of shape (p,)
        grad f(x) (None where it was not computed).
    nit, nfev, njev : int
        Iterations, function and gradient evaluations.
    nhev : int
        Hessian or Hessian-vector product evaluations.
    n_passes : int
        Passes over the data matrix, where the objective counts them.
    status : int
        A :class:`Status` code; ``message`` says it in words.
    success : bool
        True when a convergence test was met.
    history : History
        Per-iteration record (see :class:`History`).
    method : str
        The method that produced it.
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    __setattr__ = dict.__setitem__
    __delattr__ = dict.__delitem__

    def __dir__(self):
        return list(self.keys())

    def __repr__(self) -> str:
        if not self:
            return f"{type(self).__name__}()"
        width = max(len(str(k)) for k in self) + 1
        lines = []
        for key, value in self.items():
            text = repr(value).replace("\n", "\n" + " " * (width + 2))
            lines.append(f"{str(key).rjust(width)}: {text}")
        return "\n".join(lines)


class History:
    """Per-iteration record of a run, kept every ``every`` iterations.

    Columns: ``iteration``, ``fun`` (f(x_k)), ``grad_norm`` (||grad f(x_k)||),
    ``step_norm`` (||x_k - x_{k-1}||), ``step_size`` (the step size used), ``time``
    (seconds since the start). Missing values are NaN. Storage grows geometrically, so
    recording costs O(1) amortized and nothing allocates per iteration.
    """

    COLUMNS = ("iteration", "fun", "grad_norm", "step_norm", "step_size", "time")

    def __init__(self, every: int = 1, capacity: int = 256):
        if every < 1:
            raise ValueError(f"history_every must be >= 1, got {every}")
        self.every = int(every)
        self._data = np.full((max(capacity, 1), len(self.COLUMNS)), np.nan)
        self._n = 0

    def wants(self, k: int) -> bool:
        """Whether iteration ``k`` is one to record."""
        return k % self.every == 0

    def record(self, k, fun=np.nan, grad_norm=np.nan, step_norm=np.nan, step_size=np.nan,
               time=np.nan) -> None:
        """Append one row (unconditionally; use :meth:`wants` to thin)."""
        if self._n == self._data.shape[0]:
            grown = np.full((2 * self._data.shape[0], len(self.COLUMNS)), np.nan)
            grown[: self._n] = self._data
            self._data = grown
        self._data[self._n] = (k, fun, grad_norm, step_norm, step_size, time)
        self._n += 1

    def extend(self, rows: np.ndarray) -> None:
        """Append rows of shape (k, 6) (from a compiled loop) in one copy."""
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, len(self.COLUMNS))
        need = self._n + rows.shape[0]
        if need > self._data.shape[0]:
            grown = np.full((max(need, 2 * self._data.shape[0]), len(self.COLUMNS)), np.nan)
            grown[: self._n] = self._data[: self._n]
            self._data = grown
        self._data[self._n:need] = rows
        self._n = need

    def __len__(self) -> int:
        return self._n

    def __getattr__(self, name):
        if name in History.COLUMNS:
            col = self._data[: self._n, History.COLUMNS.index(name)]
            return col.astype(np.int64) if name == "iteration" else col
        raise AttributeError(name)

    def as_dict(self) -> dict:
        """The columns as a dict of 1-D arrays."""
        return {c: getattr(self, c) for c in self.COLUMNS}

    def __repr__(self) -> str:
        return f"History({self._n} rows, every={self.every})"
