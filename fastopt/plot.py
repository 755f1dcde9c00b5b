"""Convergence plots of optimization runs, for the command line and for notebooks.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot: nothing
is registered in pyplot's global figure list (a loop that draws a thousand figures leaks
none), ``fig.savefig(path)`` writes a file, and a notebook displays the figure when it is
the value of a cell. On a machine without a display the Agg backend is selected at
import (unless pyplot was already imported with another backend), so the command line
works over ssh and in CI.

Examples
--------
>>> import fastopt as fo
>>> X, y = fo.datasets.load("a9a")
>>> obj = fo.problems.Logistic(X, y, lam=1 / X.shape[0])
>>> runs = {m: fo.minimize(obj, None, method=m) for m in ("gd", "nesterov", "newton")}
>>> fig = fo.plot.convergence(runs, f_star=fo.datasets.REFERENCE_OPTIMA["a9a"])
>>> fig.savefig("a9a.png")
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from types import SimpleNamespace

import matplotlib
import numpy as np

if ("matplotlib.pyplot" not in sys.modules and sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")):
    matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

__all__ = ["convergence", "curves", "trajectories"]

#: y quantities of :func:`convergence`: name -> (History column, axis label).
_QUANTITIES = {
    "gap": ("fun", "f(x_k) - f*"),
    "grad_norm": ("grad_norm", "||grad f(x_k)||"),
    "fun": ("fun", "f(x_k)"),
    "step_norm": ("step_norm", "||x_k - x_(k-1)||"),
}
_X_AXES = {"iteration": "iteration k", "time": "time (s)"}


def _runs(value) -> list:
    """One result or a sequence of results (e.g. several seeds) -> list of results."""
    if isinstance(value, Mapping) and "history" in value:
        return [value]
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return [value]


def _history(res):
    """The History of a result; a dict of columns (``History.as_dict()``) is accepted."""
    history = res["history"] if isinstance(res, Mapping) else getattr(res, "history", None)
    if isinstance(history, Mapping):
        history = SimpleNamespace(**{k: np.asarray(v) for k, v in history.items()})
        n = len(getattr(history, "fun", ()))
    else:
        n = 0 if history is None else len(history)
    if n == 0:
        raise ValueError("every result needs a recorded history (history_every >= 1)")
    return history


def convergence(results: Mapping, f_star: float | None = None,
                x_axis: str | Sequence[str] = ("iteration", "time"),
                y: Sequence[str] = ("gap", "grad_norm"), title: str | None = None,
                figsize: tuple[float, float] | None = None) -> Figure:
    """Convergence curves of several runs on log scale.

    Parameters
    ----------
    results : dict
        Label -> :class:`~fastopt.OptimizeResult`, or label -> list of them (runs of
        one method with several seeds: drawn in one color, labelled once). Each result
        needs its ``history`` (iteration, f, ||grad f||, time per recorded iteration).
    f_star : float, optional
        The optimal value f*, for the ``"gap"`` panels. Default: the smallest f
        recorded over all runs (so the gap of the best run reaches zero, and its last
        point is not drawn: log scale).
    x_axis : str or sequence of str, default ("iteration", "time")
        One column of panels per entry: ``"iteration"`` or ``"time"`` (seconds).
    y : sequence of str, default ("gap", "grad_norm")
        One row of panels per entry: ``"gap"`` (f - f*), ``"grad_norm"``, ``"fun"``,
        ``"step_norm"``.
    title : str, optional
        Figure title.
    figsize : (float, float), optional
        Default: 5 x 3.6 inches per panel.

    Returns
    -------
    matplotlib.figure.Figure
        ``len(y)`` x ``len(x_axis)`` axes (``fig.axes`` in row-major order), every one
        with a log y scale (``"fun"`` excepted when f takes non-positive values) and one
        line per run. Values that cannot be drawn on a log scale (<= 0, NaN) are left
        out of their line.
    """
    if not isinstance(results, Mapping) or not results:
        raise ValueError("results must be a non-empty dict: label -> OptimizeResult(s)")
    x_axes = [x_axis] if isinstance(x_axis, str) else list(x_axis)
    for name in x_axes:
        if name not in _X_AXES:
            raise ValueError(f"x_axis entries must be in {sorted(_X_AXES)}; got {name!r}")
    for name in y:
        if name not in _QUANTITIES:
            raise ValueError(f"y entries must be in {sorted(_QUANTITIES)}; got {name!r}")
    runs = {label: _runs(value) for label, value in results.items()}
    if f_star is None and "gap" in y:
        f_star = min(float(np.nanmin(_history(r).fun)) for rs in runs.values() for r in rs)

    rows, cols = len(y), len(x_axes)
    fig = Figure(figsize=figsize or (5.0 * cols, 3.6 * rows), layout="constrained")
    axes = np.asarray(fig.subplots(rows, cols, squeeze=False))
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ("-", "--", ":", "-.")  # after the colors run out, the line style changes
    for i, quantity in enumerate(y):
        column, ylabel = _QUANTITIES[quantity]
        for j, xname in enumerate(x_axes):
            ax = axes[i, j]
            for c, (label, rs) in enumerate(runs.items()):
                for r_index, res in enumerate(rs):
                    h = _history(res)
                    xs = h.iteration if xname == "iteration" else h.time
                    values = np.asarray(getattr(h, column), dtype=np.float64)
                    if quantity == "gap":
                        values = values - f_star
                    keep = np.isfinite(values) & np.isfinite(xs)
                    if quantity != "fun":
                        keep &= values > 0
                    ax.plot(xs[keep], values[keep], color=colors[c % len(colors)],
                            linestyle=styles[(c // len(colors)) % len(styles)],
                            alpha=1.0 if len(rs) == 1 else 0.6, lw=1.4,
                            label=label if r_index == 0 else None)
            if quantity != "fun" or all(
                    np.nanmin(_history(r).fun) > 0 for rs in runs.values() for r in rs):
                ax.set_yscale("log")
            ax.set_xlabel(_X_AXES[xname])
            ax.set_ylabel(ylabel)
            ax.grid(True, which="major", alpha=0.3)
    axes[0, 0].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def curves(x, series: Mapping, xlabel: str, ylabel: str, logx: bool = False,
           logy: bool = True, title: str | None = None, markers: bool = True,
           figsize: tuple[float, float] = (6.0, 4.0)) -> Figure:
    """One panel of y-against-x curves (parameter sweeps).

    Used for the momentum sweep (iterations to tolerance against rho, one curve per
    method) and the sketch-size study (iterations or time against sketch size).

    Parameters
    ----------
    x : array_like of shape (k,)
        Shared abscissae (e.g. the values of rho).
    series : dict
        Label -> array_like of shape (k,) (NaN or inf: no point drawn, e.g. a run that
        did not reach the tolerance).
    xlabel, ylabel : str
    logx, logy : bool
        Log scales.
    title : str, optional
    markers : bool
        Draw a marker at each point.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, one line per series.
    """
    x = np.asarray(x, dtype=np.float64)
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.subplots()
    for label, values in series.items():
        values = np.asarray(values, dtype=np.float64)
        if values.shape != x.shape:
            raise ValueError(f"series {label!r} has shape {values.shape}; x has {x.shape}")
        keep = np.isfinite(values) & (values > 0 if logy else True)
        ax.plot(x[keep], values[keep], marker="o" if markers else None, ms=3, label=label)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return fig


def trajectories(paths: Mapping, f=None, f_star: float = 0.0, title: str | None = None,
                 figsize: tuple[float, float] = (11.0, 4.0)) -> Figure:
    """Iterates x_k of 1-D runs and f(x_k) - f* against k, side by side.

    Made for the heavy-ball counterexample (heavy ball with its quadratic-optimal
    parameters on the piecewise quadratic, beside gradient descent and Nesterov): the
    left panel shows whether x_k settles at the minimizer or keeps cycling; the right
    one the gap on a log scale.

    Parameters
    ----------
    paths : dict
        Label -> array_like of shape (k+1,): the iterates x_0..x_k (1-D problems), or
        of shape (k+1, d): then the first coordinate is drawn.
    f : callable, optional
        f(x) for one iterate; without it only the trajectories are drawn.
    f_star : float, default 0.0
        The optimal value (0 for the piecewise quadratic).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Two axes (one without ``f``): x_k against k; f(x_k) - f* against k (log y).
    """
    fig = Figure(figsize=figsize if f is not None else (figsize[0] / 2, figsize[1]),
                 layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, 2 if f is not None else 1))
    for label, path in paths.items():
        xs = np.asarray(path, dtype=np.float64)
        xs = xs[:, 0] if xs.ndim == 2 else xs
        k = np.arange(xs.shape[0])
        axes[0].plot(k, xs, lw=1.2, label=label)
        if f is not None:
            gap = np.array([f(x) for x in xs], dtype=np.float64) - f_star
            keep = np.isfinite(gap) & (gap > 0)
            axes[1].plot(k[keep], gap[keep], lw=1.2, label=label)
    axes[0].set_xlabel("iteration k")
    axes[0].set_ylabel("x_k")
    axes[0].grid(True, alpha=0.3)
    axes[0].legend(fontsize="small")
    if f is not None:
        axes[1].set_yscale("log")
        # Below 1e-18 a gap is rounding (or exactly zero): don't let it stretch the axis.
        low, high = axes[1].get_ylim()
        axes[1].set_ylim(max(low, 1e-18), high)
        axes[1].set_xlabel("iteration k")
        axes[1].set_ylabel("f(x_k) - f*")
        axes[1].grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig
