"""A progress bar for long fits, shown only to a person watching a terminal.

:class:`Progress` is a :func:`fastopt.minimize` callback that drives a tqdm bar. The bar
appears only when stderr is a terminal, the caller did not ask for quiet, and the fit
has lasted more than ``delay`` seconds (tqdm's own ``delay``): short fits, pipes, log
files and CI stay silent.
"""

from __future__ import annotations

import sys

__all__ = ["Progress", "wanted"]


def wanted(quiet: bool = False, stream=None) -> bool:
    """Whether a progress bar may be shown: not quiet and ``stream`` (stderr) is a TTY."""
    if quiet:
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


class Progress:
    """Callback ``progress(intermediate_result)`` updating a bar to iteration ``nit``.

    Parameters
    ----------
    total : int or None
        Iteration budget (``max_iter``); None for an open-ended bar.
    desc : str
        Label of the bar (the method name).
    quiet : bool
        Never show anything.
    delay : float, default 1.0
        Seconds before the bar first appears.
    stream : file, default sys.stderr

    Notes
    -----
    Use it as a context manager so the bar is closed (and the line cleared) whatever
    happens: ``with Progress(max_iter, "newton") as cb: fo.minimize(..., callback=cb)``.
    The callback never asks the solver to stop (it returns None).
    """

    def __init__(self, total: int | None, desc: str = "", quiet: bool = False,
                 delay: float = 1.0, stream=None) -> None:
        self.enabled = wanted(quiet, stream)
        self._bar = None
        self._last = 0
        if self.enabled:
            from tqdm.auto import tqdm  # imported only when a bar may be shown

            self._bar = tqdm(total=total, desc=desc, delay=delay, leave=False,
                             file=sys.stderr if stream is None else stream, unit="it")

    def __call__(self, intermediate_result) -> None:
        if self._bar is None:
            return None
        nit = int(getattr(intermediate_result, "nit", self._last + 1))
        if nit > self._last:
            self._bar.update(nit - self._last)
            self._last = nit
        fun = getattr(intermediate_result, "fun", None)
        if fun is not None:
            self._bar.set_postfix_str(f"f={fun:.6g}", refresh=False)
        return None

    def close(self) -> None:
        """Close the bar (idempotent)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
