# Over 500 lines: the two row kernels (dense and CSR) with every pass they run and the
# device functions of the loss table, and their launchers: one unit, always used together.
"""The two row kernels behind every CUDA linear-model kernel (dense and CSR), and their launchers.

Every kernel of ``linear`` and ``gram`` is one pass over the rows of
X that, per row i, computes dot products ``z_i = <a_i, w> (+ w_n)`` and/or
``u_i = <a_i, v> (+ v_n)``, a per-row coefficient ``c_i`` and scalar ``l_i`` (see
:func:`_row_terms`; the ``mode`` argument selects the quantity and the loss, see
:func:`mode`), and
reduces ``sum_i c_i a~_i`` and ``sum_i l_i`` (two-stage, deterministic: see
:mod:`._device`). One kernel with a run-time ``mode`` instead of twelve copies of the
same loop: the branch on ``mode`` is uniform across the grid and costs nothing next to
the memory traffic.

Dense kernel (one pass over X, whatever n)
    A block takes a tile of R consecutive rows (tiles are dealt to blocks round-robin):

    1. the tile is copied from X to shared memory (coalesced: the tile is one contiguous
       span of X; converted to float64 once; 8 loads in flight per thread);
    2. G = blockDim / R threads per row compute partial dot products, summed per row in a
       fixed order by one thread, which also computes ``c_i``, ``l_i`` (and writes the
       per-row output ``d_i`` or ``z_i`` when the mode has one);
    3. thread j owns column j (and j + blockDim, ...): it adds ``sum_t c_t a_tj`` of the
       tile to its accumulator (a register when p + 1 <= blockDim, else its own entry of
       the block's partial row in ``work``). Column n is the intercept (a_tn = 1) and
       column p the scalar.

    The shared-memory row stride ``s >= n`` is chosen with ``s = G (mod 16)`` so that
    the G threads of every row read distinct banks in step 2 (float64 = two banks).
    When one 32-row tile does not fit in 48 KiB (n larger than about 170), R is halved
    down to 1; when even one row does not fit (n > ~5900) the tile is skipped and both
    steps read X from global memory (the second read of a row hits L1/L2).

CSR kernel
    A block is one warp (:data:`._device.CSR_THREADS`) owning a contiguous range of rows,
    processed one after the other: the warp computes the row's dots (strided over its
    non-zeros, summed in order by lane 0), lane 0 computes ``c_i`` and ``l_i``, and the
    warp scatters ``c_i a_ij`` into the block's partial row: a canonical CSR row has
    distinct columns, so no two lanes write the same entry and no atomics are needed.
"""

from __future__ import annotations

import math
import sys

import numba
import numpy as np
from numba import cuda

from ..losses import LOGISTIC, POISSON
from . import _device
from ._device import HostBridge, device_work, dummy, finalize, read_scalar

__all__: list[str] = []

# --- modes ------------------------------------------------------------------------------

# A mode is ``op | (loss << 3)``: the quantity (op, below) and, for the loss ops, the loss
# code of fastopt.kernels.losses. The branches on it are uniform across the grid.
LOSS = 0     # l = sw l(z, y)
GRAD = 1     # l, c = sw l'(z, y)
GHW = 2      # l, c, d = sw l''(z, y)
HW = 3       # d only (no reduction)
HVP = 4      # c = d u  (a loss whose curvature depends on z)
WHVP = 5     # c = d u, d passed in the sw slot (no z needed)
RMATVEC = 6  # c = u, u passed in the sw slot (no dot product)
MATVEC = 7   # z only (no reduction)
_OP_BITS = 3
_OP_MASK = 7


def mode(op: int, loss: int = 0) -> int:
    """The ``mode`` argument of the kernels: quantity ``op`` of the loss of code ``loss``."""
    return op | (loss << _OP_BITS)


_CSR_THREADS = _device.CSR_THREADS
#: Most rows of a dense tile.
MAX_TILE_ROWS = 32
#: Dynamic shared memory per block in float64 words: 48 KiB (the default limit without
#: an opt-in attribute) less the static arrays below.
SMEM_WORDS = 6144 - 3 * MAX_TILE_ROWS
#: Loads in flight per thread when a tile is copied to shared memory.
UNROLL = 8


# --- per-row terms ----------------------------------------------------------------------


@cuda.jit(device=True)
def _log1pexp(t):
    """log(1 + exp(t)) without overflow for any finite t."""
    if t > 0.0:
        return t + math.log1p(math.exp(-t))
    return math.log1p(math.exp(t))


@cuda.jit(device=True)
def _sigmoid(t):
    """1 / (1 + exp(-t)) without overflow for any finite t."""
    if t >= 0.0:
        return 1.0 / (1.0 + math.exp(-t))
    e = math.exp(t)
    return e / (1.0 + e)


@cuda.jit(device=True)
def _at(a, r):
    """a[r], or 0 for the one-element placeholder of an argument the mode does not use."""
    if r < a.shape[0]:
        return a[r]
    return 0.0


#: log(DBL_MAX): e^z is inf above it. The GPU's exp returns inf there by itself; Python's
#: math.exp (the CUDA simulator) raises OverflowError instead, hence :func:`_exp`.
_EXP_MAX = math.log(sys.float_info.max)


@cuda.jit(device=True)
def _exp(z):
    """e^z, inf above ``_EXP_MAX`` (one compare; no exception on the simulator)."""
    if z > _EXP_MAX:
        return math.inf
    return math.exp(z)


# The per-row math of every loss (value, first and second derivative in z): its only place
# in this backend.


@cuda.jit(device=True)
def _loss_value(loss, z, yi):
    if loss == LOGISTIC:
        return _log1pexp(-yi * z)
    if loss == POISSON:
        return _exp(z) - yi * z
    r = z - yi  # SQUARED
    return 0.5 * r * r


@cuda.jit(device=True)
def _loss_slope(loss, z, yi):
    if loss == LOGISTIC:
        return -yi * _sigmoid(-yi * z)
    if loss == POISSON:
        return _exp(z) - yi
    return z - yi  # SQUARED


@cuda.jit(device=True)
def _loss_curvature(loss, z, yi):
    if loss == LOGISTIC:
        return _sigmoid(z) * _sigmoid(-z)
    if loss == POISSON:
        return _exp(z)
    return 1.0  # SQUARED


@cuda.jit(device=True)
def _row_terms(mode, z, u, yi, swi):
    """(c_i, l_i, d_i) of one row: coefficient of a~_i, scalar term, per-row output."""
    op = mode & _OP_MASK
    loss_code = mode >> _OP_BITS
    c = 0.0
    loss = 0.0
    d = 0.0
    if op <= HVP:
        if op == LOSS or op == GRAD or op == GHW:
            loss = swi * _loss_value(loss_code, z, yi)
        if op == GRAD or op == GHW:
            c = swi * _loss_slope(loss_code, z, yi)
        if op == GHW or op == HW or op == HVP:
            d = swi * _loss_curvature(loss_code, z, yi)
        if op == HVP:
            c = d * u
    elif op == WHVP:
        c = swi * u
    elif op == RMATVEC:
        c = swi
    else:  # MATVEC
        d = z
    return c, loss, d


@cuda.jit(device=True)
def _mode_flags(mode):
    """(need_w, need_v, reduce, need_grad, write_aux) of a mode."""
    op = mode & _OP_MASK
    need_w = op != WHVP and op != RMATVEC
    need_v = op == HVP or op == WHVP
    reduce = op != HW and op != MATVEC
    need_grad = reduce and op != LOSS
    write_aux = op == GHW or op == HW or op == MATVEC
    return need_w, need_v, reduce, need_grad, write_aux


# --- dense --------------------------------------------------------------------------------


@cuda.jit
def _dense_kernel(X, y, sw, w, v, aux, rows, use_rows, scale, mode, icpt, R, G, s, use_tile,
                  work):
    dyn = cuda.shared.array(0, dtype=numba.float64)
    rid = cuda.shared.array(MAX_TILE_ROWS, dtype=numba.int64)
    coef_s = cuda.shared.array(MAX_TILE_ROWS, dtype=numba.float64)
    loss_s = cuda.shared.array(MAX_TILE_ROWS, dtype=numba.float64)
    lbuf = cuda.local.array(UNROLL, dtype=numba.float64)

    tid = cuda.threadIdx.x
    tpb = cuda.blockDim.x
    b = cuda.blockIdx.x
    nb = cuda.gridDim.x
    n = X.shape[1]
    M = rows.shape[0] if use_rows else X.shape[0]
    need_w, need_v, reduce, need_grad, write_aux = _mode_flags(mode)

    off_w = R * s if use_tile else 0
    off_v = off_w + tpb
    drow = tid // G  # row of this thread in the dot phase
    dq = tid - drow * G  # its lane within the row's G threads
    # Tile copy: linear index k = tid + i * tpb over the R x n tile, kept as (row, col)
    # and advanced by (tpb // n, tpb % n) to avoid a division per element.
    lt0 = 0
    lj0 = 0
    ldt = 0
    ldj = 0
    if use_tile and n > 0:
        lt0 = tid // n
        lj0 = tid - lt0 * n
        ldt = tpb // n
        ldj = tpb - ldt * n

    P1 = work.shape[1] if reduce else 0
    P = P1 - 1
    in_reg = P1 <= tpb
    racc = 0.0
    if reduce and not in_reg:
        for j in range(tid, P1, tpb):
            work[b, j] = 0.0

    n_tiles = (M + R - 1) // R
    for tile in range(b, n_tiles, nb):
        base = tile * R
        rv = min(R, M - base)
        if tid < rv:
            rid[tid] = rows[base + tid] if use_rows else base + tid
        if use_tile:
            t = lt0
            j = lj0
            while t < rv:
                # UNROLL independent loads first (in flight together), then the stores;
                # the store positions are re-walked rather than kept (fewer registers).
                tt = t
                jj = j
                for k in range(UNROLL):
                    if tt < rv:
                        r = rows[base + tt] if use_rows else base + tt
                        lbuf[k] = X[r, jj]
                    jj += ldj
                    tt += ldt
                    if jj >= n:
                        jj -= n
                        tt += 1
                tt = t
                jj = j
                for k in range(UNROLL):
                    if tt < rv:
                        dyn[tt * s + jj] = lbuf[k]
                    jj += ldj
                    tt += ldt
                    if jj >= n:
                        jj -= n
                        tt += 1
                t = tt
                j = jj
        cuda.syncthreads()

        # Step 2a: partial dot products, G threads per row.
        if drow < rv:
            zp = 0.0
            up = 0.0
            for j in range(dq, n, G):
                if use_tile:
                    a = dyn[drow * s + j]
                else:
                    a = float(X[rid[drow], j])
                if need_w:
                    zp += a * w[j]
                if need_v:
                    up += a * v[j]
            dyn[off_w + tid] = zp
            dyn[off_v + tid] = up
        cuda.syncthreads()

        # Step 2b: one thread per row sums its G partials in order and applies the loss.
        if tid < rv:
            z = 0.0
            u = 0.0
            for q in range(G):
                z += dyn[off_w + tid * G + q]
                u += dyn[off_v + tid * G + q]
            if icpt:
                if need_w:
                    z += w[n]
                if need_v:
                    u += v[n]
            r = rid[tid]
            c, loss, dval = _row_terms(mode, z, u, _at(y, r), _at(sw, r) * scale)
            coef_s[tid] = c
            loss_s[tid] = loss
            if write_aux:
                aux[r] = dval
        cuda.syncthreads()

        # Step 3: column owners accumulate sum_t c_t a_tj (column n: intercept, P: scalar).
        if reduce:
            for j in range(tid, P1, tpb):
                acc = 0.0
                if j == P:
                    for t in range(rv):
                        acc += loss_s[t]
                elif j < n:
                    if need_grad:
                        if use_tile:
                            for t in range(rv):
                                acc += coef_s[t] * dyn[t * s + j]
                        else:
                            for t in range(rv):
                                acc += coef_s[t] * X[rid[t], j]
                elif need_grad:
                    for t in range(rv):
                        acc += coef_s[t]
                if in_reg:
                    racc += acc
                else:
                    work[b, j] += acc
        cuda.syncthreads()

    if reduce and in_reg and tid < P1:
        work[b, tid] = racc


def _no_reduction(mode) -> bool:
    """A per-row map (HW, MATVEC): no reduction, no ``work``."""
    return (mode & _OP_MASK) in (HW, MATVEC)


def dense_layout(n: int, tpb: int):
    """(R, G, s, use_tile): tile rows, threads per row, shared row stride, tile or not."""
    R = MAX_TILE_ROWS
    while R >= 1:
        G = max(1, tpb // R)
        s = n + ((G - n) % 16)
        if R * s + 2 * tpb <= SMEM_WORDS:
            return R, G, s, True
        R //= 2
    return MAX_TILE_ROWS, max(1, tpb // MAX_TILE_ROWS), max(n, 1), False


def launch_dense(mode, X, y, sw, w, v, aux, rows, scale, icpt, work):
    """Launch stage 1 of the dense kernel on device arrays (``work`` unused for HW/MATVEC).

    ``rows``: device int64 array of row indices, or None for every row.
    """
    tpb = _device.threads_per_block()
    n = X.shape[1]
    R, G, s, use_tile = dense_layout(n, tpb)
    use_rows = rows is not None
    if rows is None:
        rows = dummy(np.int64)
    if _no_reduction(mode):
        grid = _device.n_blocks_for(X.shape[0], 0)
        work = dummy()
        work = work.reshape(1, 1)
    else:
        grid = work.shape[0] - 1
    smem = ((R * s if use_tile else 0) + 2 * tpb) * 8
    _dense_kernel[grid, tpb, 0, smem](X, y, sw, w, v, aux, rows, use_rows, float(scale),
                                      mode, bool(icpt), R, G, s, use_tile, work)


# --- CSR ----------------------------------------------------------------------------------


@cuda.jit
def _csr_kernel(data, indices, indptr, n, y, sw, w, v, aux, rows, use_rows, scale, mode, icpt,
                work):
    part_w = cuda.shared.array(_CSR_THREADS, dtype=numba.float64)
    part_v = cuda.shared.array(_CSR_THREADS, dtype=numba.float64)
    coef = cuda.shared.array(1, dtype=numba.float64)
    tid = cuda.threadIdx.x
    tpb = cuda.blockDim.x
    b = cuda.blockIdx.x
    nb = cuda.gridDim.x
    M = rows.shape[0] if use_rows else indptr.shape[0] - 1
    need_w, need_v, reduce, need_grad, write_aux = _mode_flags(mode)
    P1 = work.shape[1] if reduce else 0
    P = P1 - 1

    if reduce:
        for j in range(tid, P1, tpb):
            work[b, j] = 0.0
    cuda.syncthreads()
    loss_acc = 0.0
    icpt_acc = 0.0
    lo = (b * M) // nb
    hi = ((b + 1) * M) // nb
    for i in range(lo, hi):
        r = rows[i] if use_rows else i
        start = indptr[r]
        end = indptr[r + 1]
        zp = 0.0
        up = 0.0
        for k in range(start + tid, end, tpb):
            a = float(data[k])
            if need_w:
                zp += a * w[indices[k]]
            if need_v:
                up += a * v[indices[k]]
        part_w[tid] = zp
        part_v[tid] = up
        cuda.syncthreads()
        if tid == 0:
            z = 0.0
            u = 0.0
            for q in range(tpb):
                z += part_w[q]
                u += part_v[q]
            if icpt:
                if need_w:
                    z += w[n]
                if need_v:
                    u += v[n]
            c, loss, dval = _row_terms(mode, z, u, _at(y, r), _at(sw, r) * scale)
            loss_acc += loss
            icpt_acc += c
            coef[0] = c
            if write_aux:
                aux[r] = dval
        cuda.syncthreads()
        if need_grad:
            c = coef[0]
            for k in range(start + tid, end, tpb):
                work[b, indices[k]] += c * data[k]
    if reduce and tid == 0:
        if icpt and need_grad:
            work[b, n] += icpt_acc
        work[b, P] = loss_acc


def launch_csr(mode, data, indices, indptr, n, y, sw, w, v, aux, rows, scale, icpt, work):
    """Launch stage 1 of the CSR kernel on device arrays (``work`` unused for HW/MATVEC)."""
    use_rows = rows is not None
    if rows is None:
        rows = dummy(np.int64)
    m = indptr.shape[0] - 1
    if _no_reduction(mode):
        grid = max(1, min(m, _device.max_blocks(csr=True)))
        work = dummy().reshape(1, 1)
    else:
        grid = work.shape[0] - 1
    _csr_kernel[grid, _CSR_THREADS](data, indices, indptr, int(n), y, sw, w, v, aux, rows,
                                           use_rows, float(scale), mode, bool(icpt), work)


# --- host-facing calls shared by the kernel modules ---------------------------------------

_F64 = np.float64


def _vec(hb, a):
    return dummy() if a is None else hb.input(a, _F64)


def call(mode, X_or_csr, y, sw, w, v, lam, out, aux, rows, scale, work, l2):
    """Run one kernel: stage 1, stage 2, and the scalar when the mode has one.

    Parameters
    ----------
    mode : int
    X_or_csr : (X,) or (data, indices, indptr, n_features)
    y, sw, w, v : (m,), (m,), (p,), (p,) arrays or None (unused by the mode)
    lam : float
    out : (p,) output vector or None (loss only)
    aux : (m,) per-row output or None
    rows : (k,) int64 row indices or None
    scale : float
    work : the device work buffer (anything else: a buffer is allocated)
    l2 : "loss" (lam w in the vector, lam/2 ||w||^2 in the scalar), "hvp" (lam v), or None

    Returns
    -------
    float or None
        The scalar (loss) for reducing modes with a loss, else None.
    """
    csr = len(X_or_csr) == 4
    with HostBridge() as hb:
        if csr:
            data, indices, indptr, n = X_or_csr
            n = int(n)
            data_d = hb.input(data)
            indices_d = hb.input(indices)
            indptr_d = hb.input(indptr)
            m = indptr_d.shape[0] - 1
        else:
            X_d = hb.input(X_or_csr[0])
            m, n = X_d.shape
        y_d = _vec(hb, y)
        sw_d = _vec(hb, sw)
        w_d = _vec(hb, w)
        v_d = _vec(hb, v)
        out_d = None if out is None else hb.output(out)
        aux_d = dummy() if aux is None else hb.output(aux)
        rows_d = None if rows is None else hb.input(rows, np.int64)
        if out is not None:
            p = out.shape[0]
        elif w is not None:
            p = w.shape[0]
        else:
            p = v.shape[0]
        icpt = p == n + 1
        reducing = not _no_reduction(mode)
        if reducing:
            nnz = data_d.shape[0] if csr else None
            work = device_work(work, p, m if rows is None else rows_d.shape[0], nnz)
        if csr:
            launch_csr(mode, data_d, indices_d, indptr_d, n, y_d, sw_d, w_d, v_d, aux_d, rows_d,
                       scale, icpt, work)
        else:
            launch_dense(mode, X_d, y_d, sw_d, w_d, v_d, aux_d, rows_d, scale, icpt, work)
        if not reducing:
            return None
        if l2 == "loss":
            finalize(work, out_d, vec=w_d, n_reg=n, lam_vec=lam, wsq=w_d, n_sq=n, lam_sq=lam)
        elif l2 == "hvp":
            finalize(work, out_d, vec=v_d, n_reg=n, lam_vec=lam)
        else:
            finalize(work, out_d)
        if (mode & _OP_MASK) in (LOSS, GRAD, GHW):
            return read_scalar(work)
        return None
