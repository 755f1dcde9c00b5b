"""A progress bar for long fits, shown only to a person watching a terminal.

:class:`Progress` is a :func:`fastopt.minimize` callback that drives a tqdm bar. The bar
appears only when stderr is a terminal and the caller did not ask for quiet, so pipes,
log files and CI stay silent. On a terminal it appears after ``delay`` seconds (default
half a second) even while no iteration has finished yet (a background thread redraws
it, so a long first iteration or a warm-up shows its elapsed time instead of nothing).

The bar shows the fraction of the run that is done, estimated from completed work only:
the largest of

* ``nit / max_iter`` (the iteration budget),
* ``elapsed / max_time`` (the time budget, when there is one),
* ``log(g_0 / g_k) / log(g_0 / tol)``: how far the gradient norm has come from its first
  value g_0 towards ``tol``, on a log scale (a linearly converging method moves along it
  at a constant speed; a superlinear one finishes early);

and the remaining time is that fraction's average rate so far (tqdm with
``smoothing=0``), so a first-order method stopped by a 5-second budget never shows a
4-hour estimate from its 10^6-iteration budget.
"""

from __future__ import annotations

import math
import sys
import threading
import time

__all__ = ["Progress", "wanted"]

#: Resolution of the fraction bar (tqdm counts integers).
_STEPS = 1000


def wanted(quiet: bool = False, stream=None) -> bool:
    """Whether a progress bar may be shown: not quiet and ``stream`` (stderr) is a TTY."""
    if quiet:
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def fraction_done(nit: int, elapsed: float, grad_norm: float | None, g0: float | None,
                  total: int | None = None, max_time: float | None = None,
                  tol: float | None = None) -> float:
    """Fraction of a run done, in [0, 1], from completed work only.

    Parameters
    ----------
    nit : int
        Iterations completed.
    elapsed : float
        Seconds since the run started.
    grad_norm, g0 : float or None
        ||grad f(x_k)|| now and at the first iterate seen (None: unknown).
    total : int or None
        Iteration budget.
    max_time : float or None
        Time budget in seconds (None or inf: none).
    tol : float or None
        Target gradient norm (None or <= 0: none).

    Returns
    -------
    float
        ``max(nit / total, elapsed / max_time, log(g0 / grad_norm) / log(g0 / tol))``,
        each term only where its budget is known, clipped to [0, 1]; 0 when none is.
    """
    done = 0.0
    if total:
        done = max(done, nit / total)
    if max_time is not None and math.isfinite(max_time) and max_time > 0:
        done = max(done, elapsed / max_time)
    if (tol is not None and tol > 0 and g0 is not None and grad_norm is not None
            and math.isfinite(g0) and math.isfinite(grad_norm) and g0 > tol
            and grad_norm > 0):
        done = max(done, math.log(g0 / grad_norm) / math.log(g0 / tol))
    return min(max(done, 0.0), 1.0)


class Progress:
    """Callback ``progress(intermediate_result)`` updating a bar of the fraction done.

    Parameters
    ----------
    total : int or None
        Iteration budget (``max_iter``); None for none.
    desc : str
        Label of the bar (the method name).
    quiet : bool
        Never show anything.
    delay : float, default 0.5
        Seconds before the bar first appears.
    stream : file, default sys.stderr
    max_time : float or None
        Time budget of the run in seconds, if any.
    tol : float or None
        Gradient-norm tolerance of the run, if any.
    refresh : float, default 0.25
        Seconds between redraws by the background thread.

    Notes
    -----
    With neither ``total``, ``max_time`` nor ``tol`` the bar is a counter (iterations
    and elapsed time), e.g. for a warm-up. Use it as a context manager so the bar is
    closed (and the line cleared) whatever happens:
    ``with Progress(max_iter, "newton", tol=1e-8) as cb: fo.minimize(..., callback=cb)``.
    The callback never asks the solver to stop (it returns None).
    """

    def __init__(self, total: int | None, desc: str = "", quiet: bool = False,
                 delay: float = 0.5, stream=None, max_time: float | None = None,
                 tol: float | None = None, refresh: float = 0.25) -> None:
        self.enabled = wanted(quiet, stream)
        self.total, self.max_time, self.tol = total, max_time, tol
        self.nit = 0
        self._bar = None
        self._g0 = None
        self._t0 = time.perf_counter()
        self._stop = threading.Event()
        self._thread = None
        if not self.enabled:
            return
        from tqdm.auto import tqdm  # imported only when a bar may be shown

        out = sys.stderr if stream is None else stream
        self._fractional = bool(total) or (max_time is not None and math.isfinite(max_time)) \
            or bool(tol and tol > 0)
        if self._fractional:
            # smoothing=0: the rate behind the estimate is the average over the run so far.
            self._bar = tqdm(total=_STEPS, desc=desc, delay=delay, leave=False, file=out,
                             smoothing=0, mininterval=0.1,
                             bar_format="{desc}: {percentage:3.0f}%|{bar}| "
                                        "[{elapsed}<{remaining}{postfix}]")
        else:
            self._bar = tqdm(total=None, desc=desc, delay=delay, leave=False, file=out,
                             mininterval=0.1, bar_format="{desc}: [{elapsed}{postfix}]")
        self._thread = threading.Thread(target=self._redraw, args=(delay, refresh),
                                        name="fastopt-progress", daemon=True)
        self._thread.start()

    def _redraw(self, delay: float, interval: float) -> None:
        """Redraw the bar every ``interval`` seconds once ``delay`` has passed, so it
        appears (with its elapsed time) while a long iteration has not reported yet."""
        if self._stop.wait(max(delay, 0.0)):
            return
        while True:
            bar = self._bar
            if bar is None:
                return
            bar.refresh()
            if self._stop.wait(interval):
                return

    def __call__(self, intermediate_result) -> None:
        bar = self._bar
        if bar is None:
            return None
        nit = int(getattr(intermediate_result, "nit", self.nit + 1))
        grad_norm = getattr(intermediate_result, "grad_norm", None)
        if grad_norm is not None:
            grad_norm = float(grad_norm)
            if self._g0 is None and math.isfinite(grad_norm):
                self._g0 = grad_norm
        fun = getattr(intermediate_result, "fun", None)
        postfix = f"it {nit}" + (f", f={fun:.6g}" if fun is not None else "")
        bar.set_postfix_str(postfix, refresh=False)
        if self._fractional:
            done = fraction_done(nit, time.perf_counter() - self._t0, grad_norm, self._g0,
                                 self.total, self.max_time, self.tol)
            step = int(done * _STEPS) - bar.n
            if step > 0:
                bar.update(step)
        elif nit > self.nit:
            bar.update(nit - self.nit)
        self.nit = max(self.nit, nit)
        return None

    def close(self) -> None:
        """Stop the redraws and close the bar (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
