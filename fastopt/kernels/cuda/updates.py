"""Fused optimizer updates, CUDA twin: one pass over memory, in place, no allocation.

Built from the table of steps (:mod:`fastopt.kernels.steps`): each step's ``element`` is
compiled as a device function and called by a grid-stride kernel that reads every entry
of ``x``, the state and ``g`` once and writes ``x`` and the state once (Adam: 4 reads and
3 writes per parameter, the memory roofline of the update). The step's ``coefs`` run once
per call on the host, in float64, and are cast to the array dtype, so float32 arrays are
updated in float32 arithmetic, as the NumPy twin and ``torch.optim.Adam(fused=True)`` do.
Same names, signatures and recurrences as :mod:`fastopt.kernels.reference.updates`.

Arrays may be numba device arrays or ``__cuda_array_interface__`` objects (updated in
place, no copy) or host arrays (copied in and back: the slow path of the tests).
"""

from __future__ import annotations

from numba import cuda

from .. import steps as _steps
from . import _device
from ._device import HostBridge

__all__ = _steps.exported()


def _grid(n: int) -> tuple[int, int]:
    tpb = _device.threads_per_block()
    blocks = max(1, min((n + tpb - 1) // tpb, _device.sm_count() * (2048 // tpb) * 4))
    return blocks, tpb


# The kernel of a step is generated for its number of state arrays and of scalars (the
# scalars are separate arguments, the state arrays only those the step has).
_KERNEL = """
def kernel(x, {state}g{coefs}):
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    c = ({tuple})
    while i < x.shape[0]:
        r = element(c, g[i], x[i]{reads})
        x[i] = r[0]
{writes}
        i += stride
"""


def _compile(step):
    """The host function of ``step``: ``launch(code, x, state, g, t, lr, p, carry)``."""
    slots = [f"s{i + 1}" for i in range(len(step.state))]
    coefs = [f"c{i}" for i in range(step.n_coefs)]
    ns = {"cuda": cuda, "element": cuda.jit(device=True)(step.element)}
    exec(_KERNEL.format(  # noqa: S102 (our own text)
        state="".join(f"{s}, " for s in slots), coefs="".join(f", {c}" for c in coefs),
        tuple="".join(f"{c}, " for c in coefs), reads="".join(f", {s}[i]" for s in slots),
        writes="\n".join(f"        {s}[i] = r[{j + 1}]" for j, s in enumerate(slots))), ns)
    kernel = cuda.jit(ns["kernel"])

    def launch(code, x, state, g, t, lr, p, carry):
        c, carry_next = step.coefs(float(t), lr, p, carry)
        with HostBridge() as hb:
            xd = hb.output(x)
            if xd.shape[0]:
                dt = xd.dtype.type
                kernel[_grid(xd.shape[0])](xd, *(hb.output(s) for s in state),
                                           hb.input(g, xd.dtype), *(dt(v) for v in c))
        return carry_next

    return launch


_LAUNCH = {step.name: _compile(step) for step in _steps.STEPS}

globals().update(_steps.make_kernels(__name__, lambda step: _LAUNCH[step.name]))
