"""Software prefetch of a row of a C-ordered 2-D array (private to the numba kernels).

The dense cores of :mod:`._linear` stream X from memory while doing arithmetic on rows
already in L1. Without help the core issues its memory requests in bursts (when a dot
product reaches the next row) and computes in between, so the two barely overlap: on the
two cores here a 10^6 x 100 logistic loss+gradient took about the time of a pure read
of X *plus* the time of the same pass over data in cache. Asking for the next block's
rows while the current block is swept (:func:`prefetch_row`, one ``prefetcht0`` per
64-byte line) spreads the requests over the pass; with the fused sweep of
:func:`._rowops.dense_axpy_dot` it cut that pass by 10-20% (see ``_rowops``).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

#: Rows longer than this are not prefetched: the hardware stream prefetcher already
#: keeps ahead of a long contiguous row, and a block of such rows ahead would not fit L1.
PREFETCH_MAX_ROW_BYTES = 4096

_LINE = 64


@intrinsic
def prefetch_row(typingctx, X, i):
    """Hint the CPU to load row ``i`` of the C-contiguous 2-D array ``X`` into cache.

    Emits ``llvm.prefetch`` (read, high locality, data) for every cache line of the row,
    nothing for rows over :data:`PREFETCH_MAX_ROW_BYTES`. A prefetch never faults and
    changes no value; ``i`` must still be a valid row (callers clamp it).
    """
    if not (isinstance(X, types.Array) and X.ndim == 2 and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, value=args[0])
        i64 = ir.IntType(64)
        i32 = ir.IntType(32)
        bytep = ir.IntType(8).as_pointer()
        itemsize = context.get_abi_sizeof(context.get_value_type(aryty.dtype))
        n = builder.extract_value(ary.shape, 1)
        row_bytes = builder.mul(n, ir.Constant(i64, itemsize))
        row = context.cast(builder, args[1], signature.args[1], types.int64)
        start = builder.gep(builder.bitcast(ary.data, bytep), [builder.mul(row, row_bytes)])
        fnty = ir.FunctionType(ir.VoidType(), [bytep, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        small = builder.icmp_signed("<=", row_bytes, ir.Constant(i64, PREFETCH_MAX_ROW_BYTES))
        with builder.if_then(small):
            with cgutils.for_range_slice(builder, ir.Constant(i64, 0), row_bytes,
                                         ir.Constant(i64, _LINE)) as (off, _):
                builder.call(fn, [builder.gep(start, [off]), ir.Constant(i32, 0),
                                  ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(X, i), codegen
