"""Per-chunk cores and their serial/parallel drivers for the linear-model kernels (private).

The public kernels of :mod:`.linear` and :mod:`.gram` are thin
``@jit`` wrappers around two families of cores, so that only four threaded functions
(dense and CSR, "rows" and "hvp") are compiled instead of one per kernel:

``_rows_chunk`` (one pass, per row i of the chunk):
    ``z_i = <a_i, w[:n]> + w[n]``, then by ``kind`` (a loss code of
    :mod:`fastopt.kernels.losses`, or ``PREDICT``)

    * ``LOGISTIC``: loss ``wt_i log(1 + exp(-y_i z_i))``, coefficient
      ``-wt_i y_i sigma(-y_i z_i)``, Hessian weight ``wt_i sigma (1 - sigma)``;
    * ``SQUARED``: loss ``wt_i (z_i - y_i)^2 / 2``, coefficient ``wt_i (z_i - y_i)``,
      Hessian weight ``wt_i``;
    * ``POISSON``: loss ``wt_i (exp(z_i) - y_i z_i)``, coefficient
      ``wt_i (exp(z_i) - y_i)``, Hessian weight ``wt_i exp(z_i)``;
    * ``PREDICT``: ``d_out[i] = z_i`` (matvec), nothing else;

    with ``wt_i = scale * sw_i``; with ``GRAD`` the chunk's partial gradient
    ``work[c] = sum_i coef_i a~_i``; with ``HESSW`` the weights go to ``d_out[i]``.
    Rows are ``0..m-1`` or, with ``GATHER``, ``rows[0..k-1]`` (mini-batch).

``_hvp_chunk``: ``work[c] = sum_i coef_i a~_i`` with, by ``kind``,

    * a loss code: ``coef_i = d_i l''(z_i) (<a_i, v> + v[n])`` (the curvature of the
      loss, :func:`_curvatures`; only for losses whose curvature depends on z);
    * ``HVP_WEIGHTED``: ``coef_i = d_i (<a_i, v> + v[n])`` (constant curvature: least
      squares; weighted_hvp);
    * ``RMATVEC``: ``coef_i = d_i`` (``X^T u``).

Each core handles chunk ``c`` of ``n_chunks`` contiguous chunks (CSR chunks balance nnz;
``n_chunks`` is fixed by the data's size, never by the thread count, see
:func:`fastopt._config.n_chunks`)
in blocks of :data:`._rowops.ROW_BLOCK` rows, the scalar math of a block in its own loop;
dense cores fuse the axpys of block b - 1 into the dot sweeps of block b and prefetch
block b + 1, CSR cores do dots, math and axpys block by block (see :mod:`._rowops`).
``*_parallel`` runs the chunks in ``prange``; ``*_serial`` runs the same chunks in order,
so both give bitwise identical results; ``*_run`` picks one with
:func:`._rowops.use_serial`. ``flags`` and ``kind`` are runtime int64 values: one branch
per block, not one compiled specialization per kernel (and the chunk index is passed as
int64 from both drivers, so both call the very same compiled core).
"""

from __future__ import annotations

import numpy as np
from numba import carray, prange

from fastopt._config import jit, jit_parallel

from ..losses import LOGISTIC, LOSSES, POISSON
from ._rowops import (
    ROW_BLOCK,
    add_l2,
    block_index,
    chunk_start,
    csr_block_axpy,
    csr_block_dot,
    csr_block_dot2,
    csr_chunk_start,
    dense_axpy_dot,
    dense_axpy_dot2,
    intercept_of,
    l2_term,
    reduce_chunks,
    sum_partials,
    use_serial,
)
from ._stack import chunk_partials, private_row, publish_row, stack_pointer
from ._vecmath import logistic_curvature, logistic_terms

# ``flags`` of the rows cores: a kind in the low three bits (a loss code of
# fastopt.kernels.losses, or PREDICT), plus option bits. The public kernels pass
# ``np.int64(flags)``: a bare constant would be typed as a numba Literal and compile one
# specialization per flag combination (several seconds each on two cores).
KIND_MASK = 7
PREDICT = 7
GRAD = 8  # reduce coef_i a~_i into work[c]
HESSW = 16  # write the Hessian weights (PREDICT: z_i) into d_out
GATHER = 32  # rows are rows[0..k-1] (mini-batch), not 0..m-1
assert len(LOSSES) <= PREDICT, "loss codes must leave room for PREDICT in KIND_MASK"

#: Scratch of a rows core (stack): margins, loss, slope, curvature and weight of a block.
_SCRATCH_ROWS = 5
_SCRATCH_SIZE = _SCRATCH_ROWS * ROW_BLOCK

# ``kind`` of the HVP cores: a loss code (curvature from z), or one of these.
HVP_WEIGHTED = 8
RMATVEC = 9


@jit(inline="always")
def no_rows():
    """The ``rows`` argument of a full-batch call (empty, never read; no allocation)."""
    return carray(stack_pointer(1, np.int64), 0)


@jit(inline="always")
def no_work(p):
    """A (0, p) ``work`` argument for calls that reduce nothing (never read; no allocation)."""
    return carray(stack_pointer(1, np.float64), (0, p))


@jit
def _unpack(flags):
    """``(kind, want_grad, want_d, gather)`` from a rows-core ``flags`` value."""
    return flags & KIND_MASK, (flags & GRAD) != 0, (flags & HESSW) != 0, (flags & GATHER) != 0


# --- scalar phases (one block): the per-row math of every loss lives here, and only here


@jit
def _rows_scalar(kind, y, sw, idx, nb, z, scale, want_d, d_out, scratch):
    """Per-row math of one block; ``z[k]`` is replaced by the axpy coefficient.

    Returns the block's loss. Logistic, with ``t = y_i z_i``: ``log(1 + exp(-t))``,
    ``sigma(-t)`` and the curvature come from :func:`._vecmath.logistic_terms`, one
    vectorized loop over the block's margins (no overflow for any finite t); the gathers
    of ``y_i``, ``sw_i`` and the scatter into ``d_out`` stay in scalar loops around it,
    since AVX2 has no scatter and a gather in the loop would keep it from vectorizing.
    ``scratch`` is a (5, ROW_BLOCK) float64 buffer of the chunk (on its stack).
    """
    acc = 0.0
    if kind == LOGISTIC:
        t = scratch[0]
        loss = scratch[1]
        slope = scratch[2]
        curvature = scratch[3]
        weight = scratch[4]
        for k in range(nb):
            i = idx[k]
            yi = y[i]
            t[k] = yi * z[k]
            weight[k] = scale * sw[i]
            z[k] = -yi  # times weight * slope below
        logistic_terms(t, nb, loss, slope, curvature)
        for k in range(nb):
            acc += weight[k] * loss[k]
            z[k] *= weight[k] * slope[k]
        if want_d:
            for k in range(nb):
                d_out[idx[k]] = weight[k] * curvature[k]
    elif kind == POISSON:
        # exp overflows to inf for z > ~709: the loss is then inf, as it is
        for k in range(nb):
            i = idx[k]
            wt = scale * sw[i]
            e = np.exp(z[k])
            acc += wt * (e - y[i] * z[k])
            z[k] = wt * (e - y[i])
            if want_d:
                d_out[i] = wt * e
    elif kind == PREDICT:
        for k in range(nb):
            d_out[idx[k]] = z[k]
    else:  # SQUARED
        for k in range(nb):
            i = idx[k]
            wt = scale * sw[i]
            res = z[k] - y[i]
            a = wt * res
            acc += a * res
            z[k] = a
            if want_d:
                d_out[i] = wt
        acc *= 0.5
    return acc


@jit
def _curvatures(kind, z, nb, curvature):
    """``curvature[k] = l''(z[k])`` of the loss ``kind`` whose curvature depends on z only
    (logistic: ``sigma(z)(1 - sigma(z))``, symmetric in y = +-1; Poisson: ``exp(z)``)."""
    if kind == LOGISTIC:
        logistic_curvature(z, nb, curvature)
    else:  # POISSON
        for k in range(nb):
            curvature[k] = np.exp(z[k])


@jit
def _hvp_scalar(kind, d, idx, nb, z, u, curvature):
    """Per-row coefficient of one HVP block into ``u[k]`` (see the module docstring)."""
    if kind == HVP_WEIGHTED:
        for k in range(nb):
            u[k] = d[idx[k]] * u[k]
    elif kind == RMATVEC:
        for k in range(nb):
            u[k] = d[idx[k]]
    else:
        _curvatures(kind, z, nb, curvature)
        for k in range(nb):
            u[k] = d[idx[k]] * curvature[k] * u[k]


# --- dense cores -------------------------------------------------------------------------


@jit
def _rows_chunk(flags, X, y, sw, w, rows, scale, d_out, work, c, n_chunks):
    kind, want_grad, want_d, gather = _unpack(flags)
    n = X.shape[1]
    total = rows.shape[0] if gather else X.shape[0]
    lo = chunk_start(total, n_chunks, c)
    hi = chunk_start(total, n_chunks, c + 1)
    b = intercept_of(w, n)
    has_b = w.shape[0] > n
    prev = carray(stack_pointer(ROW_BLOCK, np.int64), ROW_BLOCK)
    cur = carray(stack_pointer(ROW_BLOCK, np.int64), ROW_BLOCK)
    ahead = carray(stack_pointer(ROW_BLOCK, np.int64), ROW_BLOCK)
    z = carray(stack_pointer(ROW_BLOCK, np.float64), ROW_BLOCK)
    coef = carray(stack_pointer(ROW_BLOCK, np.float64), ROW_BLOCK)
    scratch = carray(stack_pointer(_SCRATCH_SIZE, np.float64), (_SCRATCH_ROWS, ROW_BLOCK))
    g, r = private_row(work, c)
    acc = 0.0
    n_prev = 0
    nb = block_index(cur, rows, gather, lo, hi)
    # pipeline (see _rowops): the sweep of block b does its dots and the axpys of block
    # b - 1; one more sweep after the last block does the last axpys
    for r0 in range(lo, hi + ROW_BLOCK, ROW_BLOCK):
        n_ahead = block_index(ahead, rows, gather, r0 + ROW_BLOCK, hi)
        dense_axpy_dot(g, r, X, prev, coef, n_prev, cur, nb, w, b, z, ahead, n_ahead,
                       has_b)
        if nb > 0:
            acc += _rows_scalar(kind, y, sw, cur, nb, z, scale, want_d, d_out, scratch)
        n_prev = nb if want_grad else 0
        prev, cur, ahead = cur, ahead, prev
        coef, z = z, coef
        nb = n_ahead
    if want_grad:
        publish_row(g, r, work, c)
    return acc


@jit_parallel
def _rows_parallel(flags, X, y, sw, w, rows, scale, d_out, work, n_chunks, partial):
    for c in prange(n_chunks):
        partial[c] = _rows_chunk(flags, X, y, sw, w, rows, scale, d_out, work, np.int64(c),
                                 n_chunks)


@jit
def _rows_serial(flags, X, y, sw, w, rows, scale, d_out, work, n_chunks, partial):
    for c in range(n_chunks):
        partial[c] = _rows_chunk(flags, X, y, sw, w, rows, scale, d_out, work, np.int64(c),
                                 n_chunks)


@jit
def rows_run(flags, X, y, sw, w, rows, scale, d_out, work, n_chunks, partial):
    """Fill ``partial[c]`` (loss) and, with ``GRAD``, ``work[c]`` for every chunk."""
    total = rows.shape[0] if flags & GATHER else X.shape[0]
    if use_serial(total * X.shape[1], n_chunks):
        _rows_serial(flags, X, y, sw, w, rows, scale, d_out, work, n_chunks, partial)
    else:
        _rows_parallel(flags, X, y, sw, w, rows, scale, d_out, work, n_chunks, partial)


@jit
def _hvp_chunk(kind, X, d, w, v, work, c, n_chunks):
    m, n = X.shape
    lo = chunk_start(m, n_chunks, c)
    hi = chunk_start(m, n_chunks, c + 1)
    has_b = work.shape[1] > n
    b = intercept_of(w, n)
    vb = intercept_of(v, n)
    prev = carray(stack_pointer(ROW_BLOCK, np.int64), ROW_BLOCK)
    cur = carray(stack_pointer(ROW_BLOCK, np.int64), ROW_BLOCK)
    ahead = carray(stack_pointer(ROW_BLOCK, np.int64), ROW_BLOCK)
    z = carray(stack_pointer(ROW_BLOCK, np.float64), ROW_BLOCK)
    u = carray(stack_pointer(ROW_BLOCK, np.float64), ROW_BLOCK)
    coef = carray(stack_pointer(ROW_BLOCK, np.float64), ROW_BLOCK)
    curvature = carray(stack_pointer(ROW_BLOCK, np.float64), ROW_BLOCK)
    g, r = private_row(work, c)
    n_prev = 0
    nb = block_index(cur, prev, False, lo, hi)
    # the pipeline of _rows_chunk; RMATVEC needs no dot (its sweeps only do the axpys)
    for r0 in range(lo, hi + ROW_BLOCK, ROW_BLOCK):
        n_ahead = block_index(ahead, prev, False, r0 + ROW_BLOCK, hi)
        if kind == HVP_WEIGHTED:
            dense_axpy_dot(g, r, X, prev, coef, n_prev, cur, nb, v, vb, u, ahead, n_ahead,
                           has_b)
        elif kind == RMATVEC:
            dense_axpy_dot(g, r, X, prev, coef, n_prev, cur, 0, v, vb, u, ahead, n_ahead,
                           has_b)
        else:
            dense_axpy_dot2(g, r, X, prev, coef, n_prev, cur, nb, w, v, b, vb, z, u, ahead,
                            n_ahead, has_b)
        _hvp_scalar(kind, d, cur, nb, z, u, curvature)
        n_prev = nb
        prev, cur, ahead = cur, ahead, prev
        coef, u = u, coef
        nb = n_ahead
    publish_row(g, r, work, c)


@jit_parallel
def _hvp_parallel(kind, X, d, w, v, work, n_chunks):
    for c in prange(n_chunks):
        _hvp_chunk(kind, X, d, w, v, work, np.int64(c), n_chunks)


@jit
def _hvp_serial(kind, X, d, w, v, work, n_chunks):
    for c in range(n_chunks):
        _hvp_chunk(kind, X, d, w, v, work, np.int64(c), n_chunks)


@jit
def hvp_run(kind, X, d, w, v, work):
    """Fill ``work[c]`` with chunk c's ``sum_i coef_i a~_i`` for every chunk."""
    n_chunks = work.shape[0]
    if use_serial(X.shape[0] * X.shape[1], n_chunks):
        _hvp_serial(kind, X, d, w, v, work, n_chunks)
    else:
        _hvp_parallel(kind, X, d, w, v, work, n_chunks)


# --- CSR cores ---------------------------------------------------------------------------


@jit
def _csr_bounds(indptr, total, gather, n_chunks, c):
    if gather:
        return chunk_start(total, n_chunks, c), chunk_start(total, n_chunks, c + 1)
    return csr_chunk_start(indptr, n_chunks, c), csr_chunk_start(indptr, n_chunks, c + 1)


@jit
def _rows_chunk_csr(flags, data, indices, indptr, n, y, sw, w, rows, scale, d_out, work, c,
                    n_chunks):
    kind, want_grad, want_d, gather = _unpack(flags)
    total = rows.shape[0] if gather else indptr.shape[0] - 1
    lo, hi = _csr_bounds(indptr, total, gather, n_chunks, c)
    b = intercept_of(w, n)
    has_b = w.shape[0] > n
    idx = carray(stack_pointer(ROW_BLOCK, np.int64), ROW_BLOCK)
    z = carray(stack_pointer(ROW_BLOCK, np.float64), ROW_BLOCK)
    scratch = carray(stack_pointer(_SCRATCH_SIZE, np.float64), (_SCRATCH_ROWS, ROW_BLOCK))
    g, r = private_row(work, c)
    acc = 0.0
    for r0 in range(lo, hi, ROW_BLOCK):
        nb = block_index(idx, rows, gather, r0, hi)
        csr_block_dot(data, indices, indptr, idx, nb, w, b, z)
        acc += _rows_scalar(kind, y, sw, idx, nb, z, scale, want_d, d_out, scratch)
        if want_grad:
            csr_block_axpy(g, r, n, data, indices, indptr, idx, nb, z, has_b)
    if want_grad:
        publish_row(g, r, work, c)
    return acc


@jit_parallel
def _rows_parallel_csr(flags, data, indices, indptr, n, y, sw, w, rows, scale, d_out, work,
                       n_chunks, partial):
    for c in prange(n_chunks):
        partial[c] = _rows_chunk_csr(flags, data, indices, indptr, n, y, sw, w, rows, scale,
                                     d_out, work, np.int64(c), n_chunks)


@jit
def _rows_serial_csr(flags, data, indices, indptr, n, y, sw, w, rows, scale, d_out, work,
                     n_chunks, partial):
    for c in range(n_chunks):
        partial[c] = _rows_chunk_csr(flags, data, indices, indptr, n, y, sw, w, rows, scale,
                                     d_out, work, np.int64(c), n_chunks)


@jit
def _csr_amount(indptr, rows, gather):
    """Work of a CSR call for :func:`use_serial`: nnz + rows (estimated for a mini-batch)."""
    m = indptr.shape[0] - 1
    nnz = indptr[m] - indptr[0]
    if gather:
        k = rows.shape[0]
        return k + (k * nnz) // max(m, 1)
    return m + nnz


@jit
def rows_run_csr(flags, data, indices, indptr, n, y, sw, w, rows, scale, d_out, work,
                 n_chunks, partial):
    """CSR twin of :func:`rows_run`."""
    if use_serial(_csr_amount(indptr, rows, flags & GATHER), n_chunks):
        _rows_serial_csr(flags, data, indices, indptr, n, y, sw, w, rows, scale, d_out, work,
                         n_chunks, partial)
    else:
        _rows_parallel_csr(flags, data, indices, indptr, n, y, sw, w, rows, scale, d_out, work,
                           n_chunks, partial)


@jit
def _hvp_chunk_csr(kind, data, indices, indptr, n, d, w, v, work, c, n_chunks):
    lo = csr_chunk_start(indptr, n_chunks, c)
    hi = csr_chunk_start(indptr, n_chunks, c + 1)
    has_b = work.shape[1] > n
    b = intercept_of(w, n)
    vb = intercept_of(v, n)
    idx = carray(stack_pointer(ROW_BLOCK, np.int64), ROW_BLOCK)
    z = carray(stack_pointer(ROW_BLOCK, np.float64), ROW_BLOCK)
    u = carray(stack_pointer(ROW_BLOCK, np.float64), ROW_BLOCK)
    curvature = carray(stack_pointer(ROW_BLOCK, np.float64), ROW_BLOCK)
    g, r = private_row(work, c)
    for r0 in range(lo, hi, ROW_BLOCK):
        nb = block_index(idx, idx, False, r0, hi)
        if kind == HVP_WEIGHTED:
            csr_block_dot(data, indices, indptr, idx, nb, v, vb, u)
        elif kind != RMATVEC:
            csr_block_dot2(data, indices, indptr, idx, nb, w, v, b, vb, z, u)
        _hvp_scalar(kind, d, idx, nb, z, u, curvature)
        csr_block_axpy(g, r, n, data, indices, indptr, idx, nb, u, has_b)
    publish_row(g, r, work, c)


@jit_parallel
def _hvp_parallel_csr(kind, data, indices, indptr, n, d, w, v, work, n_chunks):
    for c in prange(n_chunks):
        _hvp_chunk_csr(kind, data, indices, indptr, n, d, w, v, work, np.int64(c), n_chunks)


@jit
def _hvp_serial_csr(kind, data, indices, indptr, n, d, w, v, work, n_chunks):
    for c in range(n_chunks):
        _hvp_chunk_csr(kind, data, indices, indptr, n, d, w, v, work, np.int64(c), n_chunks)


@jit
def hvp_run_csr(kind, data, indices, indptr, n, d, w, v, work):
    """CSR twin of :func:`hvp_run`."""
    n_chunks = work.shape[0]
    if use_serial(_csr_amount(indptr, indptr, 0), n_chunks):
        _hvp_serial_csr(kind, data, indices, indptr, n, d, w, v, work, n_chunks)
    else:
        _hvp_parallel_csr(kind, data, indices, indptr, n, d, w, v, work, n_chunks)


# --- whole passes: loss (+ gradient) of a rows core, reduced, plus the L2 term ----------


@jit
def loss_pass(flags, X, y, sw, w, rows, scale, lam, grad_out, d_out, work):
    """Loss (returned) of one :func:`rows_run` pass plus ``lam/2 ||w[:n]||^2``.

    With ``GRAD`` in ``flags`` the chunk partials are reduced into ``grad_out`` and
    ``lam w[:n]`` added to it; without, ``grad_out`` is never touched (callers pass any
    float64 vector). ``d_out`` is written only with ``HESSW``. The public kernels of
    :mod:`.linear` are one call of this with their ``flags``.
    """
    T = work.shape[0]
    partial = chunk_partials(T)
    rows_run(flags, X, y, sw, w, rows, scale, d_out, work, T, partial)
    if flags & GRAD:
        reduce_chunks(work, grad_out)
        return sum_partials(partial) + add_l2(grad_out, w, X.shape[1], lam)
    return sum_partials(partial) + l2_term(w, X.shape[1], lam)


@jit
def loss_pass_csr(flags, data, indices, indptr, n, y, sw, w, rows, scale, lam, grad_out,
                  d_out, work):
    """CSR twin of :func:`loss_pass`."""
    T = work.shape[0]
    partial = chunk_partials(T)
    rows_run_csr(flags, data, indices, indptr, n, y, sw, w, rows, scale, d_out, work, T,
                 partial)
    if flags & GRAD:
        reduce_chunks(work, grad_out)
        return sum_partials(partial) + add_l2(grad_out, w, n, lam)
    return sum_partials(partial) + l2_term(w, n, lam)
