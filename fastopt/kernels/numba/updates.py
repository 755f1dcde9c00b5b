"""Fused optimizer updates, Numba twin: one pass over memory, in place, no allocation.

Built from the table of steps (:mod:`fastopt.kernels.steps`): for each step numba
compiles its ``element`` into a loop over a span of entries and its ``coefs`` into the
per-call scalars, which are cast to the array dtype first, so float32 arrays are updated
in float32 arithmetic (vectorizable, as the NumPy twin and torch do). Same names,
signatures and recurrences as :mod:`fastopt.kernels.reference.updates`.

Small arrays (p < ``PARALLEL_MIN``) are updated by a serial loop: a thread launch costs
microseconds, more than the whole update. Larger arrays are split into chunks of
``CHUNK`` elements processed in parallel (``prange`` over chunks, each chunk a serial
vectorizable loop). The updates are element-wise, so the result does not depend on the
number of threads.

:func:`step_update` is the update of any step by its code, for the numba loop.
"""

from __future__ import annotations

from numba import prange

from ..._config import jit, jit_parallel
from .. import steps as _steps

__all__ = _steps.exported()

#: Below this many elements the update runs on one thread.
PARALLEL_MIN = 1 << 16
#: Elements per parallel work item (64 KiB of float32 per array).
CHUNK = 1 << 14


# The span loops are generated per step (the number of state arrays and of scalars fixes
# the text): `for i in range(x.shape[0])` over whole (possibly sliced) arrays is the form
# LLVM vectorizes, sqrt and division included; the parallel driver hands each chunk to the
# span as views (no copy, no allocation).
_SPAN = """
def span(x, s1, s2, s3, g, c):
    dt = x.dtype.type
    cc = ({casts})
    for i in range(x.shape[0]):
        r = element(cc, g[i], x[i]{reads})
        x[i] = r[0]
{writes}
"""

_PAR = """
def par(x, s1, s2, s3, g, c):
    n = x.shape[0]
    for k in prange((n + CHUNK - 1) // CHUNK):
        lo = k * CHUNK
        hi = min(n, lo + CHUNK)
        span(x[lo:hi], s1[lo:hi], s2[lo:hi], s3[lo:hi], g[lo:hi], c)
"""


def _compile(step):
    """The generic kernel of ``step``: ``run(code, x, s1, s2, s3, g, t, lr, p, carry)``."""
    k = len(step.state)
    slots = ("s1", "s2", "s3")[:k]
    ns = {"element": jit(step.element), "prange": prange, "CHUNK": CHUNK}
    exec(_SPAN.format(casts="".join(f"dt(c[{i}]), " for i in range(step.n_coefs)),  # noqa: S102
                      reads="".join(f", {s}[i]" for s in slots),
                      writes="\n".join(f"        {s}[i] = r[{j + 1}]"
                                       for j, s in enumerate(slots))), ns)
    span = ns["span"] = jit(ns["span"])
    exec(_PAR, ns)  # noqa: S102
    par = jit_parallel(ns["par"])
    coefs = jit(step.coefs)

    @jit
    def run(code, x, s1, s2, s3, g, t, lr, p, carry):
        c, carry_next = coefs(float(t), lr, p, carry)
        if x.shape[0] < PARALLEL_MIN:
            span(x, s1, s2, s3, g, c)
        else:
            par(x, s1, s2, s3, g, c)
        return carry_next

    return run


_RUN = {step.name: _compile(step) for step in _steps.STEPS}

globals().update(_steps.make_kernels(__name__, lambda step: _RUN[step.name],
                                     separate_state=True, wrap=jit))


def _dispatch():
    """``step_update(code, x, s1, s2, s3, g, t, lr, p, carry)``: the update of the step
    with that code (an if-chain over the table, generated)."""
    ns = {f"run_{s.code}": _RUN[s.name] for s in _steps.STEPS}
    src = "def step_update(code, x, s1, s2, s3, g, t, lr, p, carry):\n"
    for s in _steps.STEPS:
        src += (f"    if code == {s.code}:\n"
                f"        return run_{s.code}(code, x, s1, s2, s3, g, t, lr, p, carry)\n")
    src += "    return carry\n"
    exec(src, ns)  # noqa: S102 (our own text)
    return jit(ns["step_update"])


step_update = _dispatch()
