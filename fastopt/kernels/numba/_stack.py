"""Fixed-size scratch arrays on the stack for the numba kernels (private).

Kernels allocate nothing per call on hot paths. The per-chunk cores
need a few blocks of :data:`._rowops.ROW_BLOCK` values and the public kernels one loss
partial per chunk; ``np.empty`` would take them from numba's heap allocator (NRT) on
every call. :func:`stack_pointer` reserves them in the calling function's frame instead
(an LLVM ``alloca`` in its entry block, so a loop around the call does not grow the
stack), and ``numba.carray`` views them as arrays.

The memory lives as long as the *function whose code contains the alloca*: use the
arrays only in that function and its callees, never return them, except from a helper
compiled with ``inline="always"`` (numba then lowers the helper's code inside the
caller, so the alloca is the caller's).
"""

from __future__ import annotations

import numpy as np
from numba import carray, types
from numba.core import cgutils
from numba.extending import intrinsic

from fastopt._config import jit

#: Loss partials up to this many chunks live on the stack (8 kB); more use the heap.
MAX_STACK_CHUNKS = 1024


#: Alignment of the stack buffers, bytes: a cache line, so that the 32-byte vector loads
#: and stores of a private gradient row never straddle two lines (LLVM's default for a
#: double is 8 bytes).
STACK_ALIGN = 64


@intrinsic
def stack_pointer(typingctx, size, dtype):
    """A pointer to ``size`` uninitialized elements of ``dtype`` in the caller's frame.

    ``size`` must be a compile-time integer (a literal or a module-level int constant).
    """
    if not isinstance(size, types.IntegerLiteral):
        return None
    if not isinstance(dtype, (types.DType, types.NumberClass)):
        return None
    elem = dtype.dtype
    count = size.literal_value

    def codegen(context, builder, signature, args):
        ty = context.get_value_type(elem)
        ptr = cgutils.alloca_once(builder, ty, size=context.get_constant(types.intp, count))
        ptr.align = STACK_ALIGN
        return ptr

    return types.CPointer(elem)(size, dtype), codegen


@jit(inline="always")
def chunk_partials(n_chunks):
    """An uninitialized float64 array of ``n_chunks`` loss partials, on the stack when it
    fits (:data:`MAX_STACK_CHUNKS`), else on the heap."""
    buf = carray(stack_pointer(MAX_STACK_CHUNKS, np.float64), MAX_STACK_CHUNKS)
    if n_chunks <= MAX_STACK_CHUNKS:
        return buf[:n_chunks]
    return np.empty(n_chunks)


#: Gradient rows of up to this many entries are accumulated in a private stack buffer
#: (16 kB); longer ones go straight into ``work[c]`` (see :func:`private_row`).
PRIVATE_ROW_MAX = 2048


@jit(inline="always")
def private_row(work, c):
    """``(acc, r)``: the zeroed row ``acc[r]`` where a chunk core accumulates its partial
    ``work[c]``.

    ``work`` is one C-ordered (T, p) array, so with p = 100 float64 the end of row c and
    the start of row c + 1 share a cache line; two threads adding into their own rows
    every few data rows then bounce that line between their cores. On a dense
    10^6 x 100 pass with two threads, that false sharing cost a visible share of the pass.
    A private row in the core's frame (``acc[0]``, copied to ``work[c]`` once at the end
    with :func:`publish_row`) has no shared line. Rows longer than
    :data:`PRIVATE_ROW_MAX` use ``work[c]`` directly (zeroed here when it exists: a core
    that reduces nothing gets a (0, p) ``work``), where the one shared line is
    negligible next to the row.
    """
    p = work.shape[1]
    if p <= PRIVATE_ROW_MAX:
        acc = carray(stack_pointer(PRIVATE_ROW_MAX, np.float64), (1, p))
        for j in range(p):
            acc[0, j] = 0.0
        return acc, 0
    if c < work.shape[0]:
        for j in range(p):
            work[c, j] = 0.0
    return work, c


@jit
def publish_row(acc, r, work, c):
    """``work[c] = acc[r]`` unless ``acc`` is ``work`` itself (a private row was used)."""
    if work.shape[1] <= PRIVATE_ROW_MAX:
        for j in range(work.shape[1]):
            work[c, j] = acc[r, j]
