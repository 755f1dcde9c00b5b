"""Timed runs of a method, each after an untimed warm-up on a few rows (see
:mod:`fastopt._timing`), and the notes that report the warm-up and the compilation."""

from __future__ import annotations

import math
import time
import warnings

import numpy as np


def _noop_callback(intermediate_result) -> None:
    """Stands in for the progress bar during a warm-up: a callback selects the solver's
    Python loop over a compiled one, so the warm-up must have one exactly when the timed
    run does."""
    return None


def _run_method(objective, method, x0, quiet, **options):
    """Timed ``fo.minimize`` with a progress bar (on a terminal, after half a second).

    Returns
    -------
    res : OptimizeResult
    compiled : float
        Seconds numba compiled inside the run (0 after a complete warm-up; NaN when
        unknown); ``res.time`` still includes them, the callers subtract and report them.
    """
    from .._progress import Progress
    from .._timing import CompileClock
    from ..minimize import minimize

    with Progress(options.get("max_iter"), desc=method, quiet=quiet,
                  max_time=options.get("max_time"), tol=options.get("tol")) as progress:
        callback = progress if progress.enabled else None
        with CompileClock() as clock:
            res = minimize(objective, x0, method=method, callback=callback, **options)
    return res, clock.seconds


def _warm_up_method(make_objective, X, y, method, quiet, **options) -> tuple[float, float]:
    """Run ``method`` once, untimed, on a few rows of the data; returns (seconds, compiled).

    Same objective class, dtypes, sparse format, classes and options as the timed run
    (with a callback exactly when the timed run has one, a time limit exactly when it
    has one: they select the loop), but three iterations, no effective time limit and
    ``tol = 0`` so that every part of an iteration runs: each kernel the
    timed run calls is compiled here (numba), and first-call costs of any backend are
    paid here too. ``compiled`` is the part of ``seconds`` that numba spent compiling.
    """
    from .._progress import Progress, wanted
    from .._timing import CompileClock, touch_objective, warm_up_rows
    from ..minimize import minimize

    rows = warm_up_rows(y)
    opts = dict(options, max_iter=min(3, int(options.get("max_iter", 3))), tol=0.0)
    if math.isfinite(opts.get("max_time", math.inf)):
        # Still finite (a time limit selects the Python loop), but far beyond what the
        # compilation takes, or the warm-up would stop before its first step.
        opts["max_time"] = 1e9
    callback = _noop_callback if wanted(quiet) else None
    t0 = time.perf_counter()
    with Progress(None, desc=f"{method}: warm-up", quiet=quiet), CompileClock() as clock, \
            warnings.catch_warnings():
        # Three iterations on a few rows are not a fit: what a solver would warn about
        # here (stopped before converging) says nothing about the timed run.
        warnings.simplefilter("ignore")
        small = make_objective(X[rows], y[rows])
        minimize(small, np.zeros(small.n_params), method=method, callback=callback, **opts)
        touch_objective(small)
    return time.perf_counter() - t0, clock.seconds


def _warm_rows_note(y) -> str:
    from .._timing import warm_up_rows

    return f"{warm_up_rows(y).size} rows"


def _untimed_compile_note(compiled: dict) -> str:
    """One line on the numba compilation inside the timed runs: none, or where and how
    long (subtracted from the times shown)."""
    unknown = [k for k, v in compiled.items() if math.isnan(v)]
    late = {k: v for k, v in compiled.items() if not math.isnan(v) and v > 0}
    if not unknown and not late:
        return "timed runs compiled nothing (numba compilation 0 s)"
    parts = [f"{k} {v:.3f} s" for k, v in late.items()]
    parts += [f"{k} unknown (numba first loaded during the run)" for k in unknown]
    return ("numba compiled inside timed runs, subtracted from their times: "
            + ", ".join(parts))


def _net_time(res, compiled: float) -> float:
    """The run's time without the numba compilation measured inside it."""
    if math.isnan(compiled):
        return res.time
    return max(res.time - compiled, 0.0)


def _final_grad_norm(res) -> float:
    if res.get("jac") is not None:
        return float(np.linalg.norm(res.jac))
    h = res.history
    return float(h.grad_norm[-1]) if len(h) else math.nan
