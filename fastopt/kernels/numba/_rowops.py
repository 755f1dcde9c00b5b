"""Building blocks shared by the Numba kernels (private: not re-exported).

Every reduction kernel of this package has the same four layers:

1. a per-chunk core (``@jit``) that streams the rows of chunk ``c`` once and reduces them
   into ``work[c]`` (and returns the chunk's loss partial);
2. a parallel driver (``@jit_parallel``): ``prange`` over the chunks;
3. a serial driver (``@jit``): ``range`` over the same chunks, in order;
4. the public kernel (``@jit``, not parallel, so that compiled solver loops can call it
   from their own jitted code) that picks a driver with :func:`use_serial` and then adds
   the partials in chunk order.

Both drivers run the very same core on the very same chunks, so the result is bitwise
identical whichever driver ran, for a fixed chunk count T.

Inside a core, rows go in blocks of :data:`ROW_BLOCK`, the per-row math of a block in
its own loop (vectorized: ``exp`` and ``log1p`` come from :mod:`._vecmath`, not from
scalar libm calls). Dense cores run a two-stage software pipeline: one sweep
(:func:`dense_axpy_dot`) does the dots of block b and, in the same j loops, the axpys
of block b - 1 (whose coefficients the block math has just produced; its rows are
still in L1: 16 rows of 100 doubles are 12.8 kB), while prefetching block b + 1. CSR
cores do the dots, the block math and then the axpys of each block (:func:`csr_block_dot`,
:func:`csr_block_axpy`). One helper call per block, not per row, so whether LLVM inlines
the helpers does not matter. The j loops index ``X[i, j]`` of a C-contiguous ``X``
directly: with fastmath ``reassoc`` LLVM vectorizes them (``vfmadd...pd ymm``),
widening float32 elements to float64 in the register (``vcvtps2pd``), so float32 data
is read at half the bytes.
"""

from __future__ import annotations

import numpy as np

from fastopt._config import PARALLEL_MIN_WORK, jit

from ._prefetch import prefetch_row

#: Rows per block in the kernels' row loops (see the module docstring).
ROW_BLOCK = 16

# --- chunking and driver choice ----------------------------------------------------------


@jit
def use_serial(work_amount, n_chunks):
    """Whether a kernel should run its serial driver (one chunk, or too little work).

    ``work_amount`` is m * n for dense data and nnz + m for CSR; the threshold is
    :data:`fastopt._config.PARALLEL_MIN_WORK`.
    """
    return n_chunks <= 1 or work_amount < PARALLEL_MIN_WORK


@jit
def chunk_start(m, n_chunks, c):
    """First row of chunk ``c`` when ``m`` rows are split into ``n_chunks`` contiguous chunks.

    Chunk ``c`` is ``[chunk_start(c), chunk_start(c + 1))``; sizes differ by at most one.
    """
    return (m * c) // n_chunks


@jit
def csr_chunk_start(indptr, n_chunks, c):
    """First row of chunk ``c`` when CSR rows are split into chunks of about equal nnz.

    Balancing by nonzeros rather than rows keeps threads busy when row lengths vary; the
    split depends only on ``indptr`` and ``n_chunks``, so results stay deterministic.
    """
    m = indptr.shape[0] - 1
    if c <= 0:
        return 0
    if c >= n_chunks:
        return m
    lo_nnz = indptr[0]
    target = lo_nnz + ((indptr[m] - lo_nnz) * c) // n_chunks
    # first row r with indptr[r] >= target (binary search over indptr[0..m])
    lo = 0
    hi = m
    while lo < hi:
        mid = (lo + hi) // 2
        if indptr[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo


@jit
def block_index(idx, rows, gather, r0, stop):
    """Fill ``idx[k]`` with the data row of position ``r0 + k`` (``rows[r0 + k]`` with
    ``gather``, else ``r0 + k``) for the block of up to :data:`ROW_BLOCK` positions below
    ``stop``; returns the block's length (0 at or past ``stop``)."""
    nb = max(min(ROW_BLOCK, stop - r0), 0)
    if gather:
        for k in range(nb):
            idx[k] = rows[r0 + k]
    else:
        for k in range(nb):
            idx[k] = r0 + k
    return nb


# --- dense blocks ------------------------------------------------------------------------


@jit
def _axpy_rest(work, c, X, prev, coef, k0, n_prev, s_b, has_b):
    """The axpys of ``prev[k0:n_prev]`` left after the fused rows of a sweep, then the
    intercept entry: ``work[c, n] += s_b + sum coef[k0:n_prev]``."""
    n = X.shape[1]
    for k in range(k0, n_prev):
        ip = prev[k]
        a = coef[k]
        s_b += a
        for j in range(n):
            work[c, j] += a * np.float64(X[ip, j])
    if has_b:
        work[c, n] += s_b


@jit
def dense_axpy_dot(work, c, X, prev, coef, n_prev, cur, nb, w, b, z, ahead, n_ahead, has_b):
    """One sweep of the software pipeline of the dense cores.

    ``work[c, :n] += sum_k coef[k] X[prev[k], :n]`` for ``k < n_prev`` (the axpys of the
    previous block, whose coefficients are now known; ``work[c, n] += sum coef`` with an
    intercept) and ``z[k] = <X[cur[k], :n], w[:n]> + b`` for ``k < nb`` (the dots of the
    current block), accumulated in float64, while the rows ``ahead[:n_ahead]`` (the next
    block) are prefetched.

    Row k of both blocks goes in one j loop: the loads of the new row (from memory) are
    interleaved with the arithmetic on the old one (in L1), and the prefetches run a
    block ahead. On 10^6 x 100 with two threads this beat dots, block math and then
    axpys of the same block, in float64 and float32 alike. Sweeping four rows of each
    block at once needs fewer loads and stores of ``work`` (faster in cache) but was
    slower on the stream.
    """
    n = X.shape[1]
    s_b = 0.0
    both = min(n_prev, nb)
    for k in range(both):
        if k < n_ahead:
            prefetch_row(X, ahead[k])
        ip = prev[k]
        ic = cur[k]
        a = coef[k]
        s_b += a
        s = 0.0
        for j in range(n):
            work[c, j] += a * np.float64(X[ip, j])
            s += np.float64(X[ic, j]) * w[j]
        z[k] = s + b
    for k in range(both, nb):
        if k < n_ahead:
            prefetch_row(X, ahead[k])
        ic = cur[k]
        s = 0.0
        for j in range(n):
            s += np.float64(X[ic, j]) * w[j]
        z[k] = s + b
    _axpy_rest(work, c, X, prev, coef, both, n_prev, s_b, has_b)


@jit
def dense_axpy_dot2(work, c, X, prev, coef, n_prev, cur, nb, w, v, b, vb, z, u, ahead,
                    n_ahead, has_b):
    """:func:`dense_axpy_dot` with two dots of the current block's rows in the same read:
    ``z[k] = <X[cur[k]], w> + b`` and ``u[k] = <X[cur[k]], v> + vb`` (logistic HVP)."""
    n = X.shape[1]
    s_b = 0.0
    both = min(n_prev, nb)
    for k in range(both):
        if k < n_ahead:
            prefetch_row(X, ahead[k])
        ip = prev[k]
        ic = cur[k]
        a = coef[k]
        s_b += a
        zk = 0.0
        uk = 0.0
        for j in range(n):
            work[c, j] += a * np.float64(X[ip, j])
            x = np.float64(X[ic, j])
            zk += x * w[j]
            uk += x * v[j]
        z[k] = zk + b
        u[k] = uk + vb
    for k in range(both, nb):
        if k < n_ahead:
            prefetch_row(X, ahead[k])
        ic = cur[k]
        zk = 0.0
        uk = 0.0
        for j in range(n):
            x = np.float64(X[ic, j])
            zk += x * w[j]
            uk += x * v[j]
        z[k] = zk + b
        u[k] = uk + vb
    _axpy_rest(work, c, X, prev, coef, both, n_prev, s_b, has_b)


# --- CSR blocks --------------------------------------------------------------------------
#
# The nonzero loops run over uint64 bounds and index with ``np.uint64(indices[q])``: with
# int32 ``indptr`` the loop counter would otherwise be int32 (sign extension in the
# loop), and unsigned indices need no negative-index wraparound select, neither for
# ``w[indices[q]]`` nor for ``data[q]``. int64 bounds brought the gather dot and the
# scatter from well behind scipy's C++ matvec and transposed product to level with them;
# uint64 bounds (no select on ``data[q]`` either) made both faster again (float64 and
# float32, in cache and streaming, single thread).


@jit
def csr_block_dot(data, indices, indptr, idx, nb, w, b, z):
    """``z[k] = <a_i, w> + b`` for the CSR rows ``i = idx[k]`` (a gather per nonzero)."""
    for k in range(nb):
        i = idx[k]
        s = 0.0
        for q in range(np.uint64(indptr[i]), np.uint64(indptr[i + 1])):
            s += np.float64(data[q]) * w[np.uint64(indices[q])]
        z[k] = s + b


@jit
def csr_block_dot2(data, indices, indptr, idx, nb, w, v, b, vb, z, u):
    """``z[k] = <a_i, w> + b``, ``u[k] = <a_i, v> + vb`` for ``i = idx[k]``, one read."""
    for k in range(nb):
        i = idx[k]
        zk = 0.0
        uk = 0.0
        for q in range(np.uint64(indptr[i]), np.uint64(indptr[i + 1])):
            x = np.float64(data[q])
            j = np.uint64(indices[q])
            zk += x * w[j]
            uk += x * v[j]
        z[k] = zk + b
        u[k] = uk + vb


@jit
def csr_block_axpy(work, c, n, data, indices, indptr, idx, nb, coef, has_b):
    """``work[c, indices[row]] += coef[k] * data[row]`` for ``row = idx[k]`` (a scatter).

    Indices are unique within a canonical CSR row, so the scatter has no conflicts.
    """
    s = 0.0
    for k in range(nb):
        i = idx[k]
        a = coef[k]
        s += a
        for q in range(np.uint64(indptr[i]), np.uint64(indptr[i + 1])):
            work[c, np.uint64(indices[q])] += a * np.float64(data[q])
    if has_b:
        work[c, n] += s


# --- reductions --------------------------------------------------------------------------


@jit
def intercept_of(w, n):
    """``w[n]`` when ``w`` carries an intercept (p = n + 1), else 0."""
    if w.shape[0] > n:
        return w[n]
    return 0.0


@jit
def sum_partials(partials):
    """``sum_c partials[c]`` in chunk order (deterministic)."""
    total = 0.0
    for c in range(partials.shape[0]):
        total += partials[c]
    return total


@jit
def reduce_chunks(work, out):
    """``out = sum_c work[c, :]``, adding the chunks in order (deterministic)."""
    p = out.shape[0]
    for j in range(p):
        out[j] = 0.0
    for c in range(work.shape[0]):
        for j in range(p):
            out[j] += work[c, j]


@jit
def add_l2(out, w, n, lam):
    """``out[:n] += lam w[:n]``; returns ``lam/2 ||w[:n]||^2`` (never the intercept)."""
    sq = 0.0
    for j in range(n):
        out[j] += lam * w[j]
        sq += w[j] * w[j]
    return 0.5 * lam * sq


@jit
def l2_term(w, n, lam):
    """``lam/2 ||w[:n]||^2``."""
    sq = 0.0
    for j in range(n):
        sq += w[j] * w[j]
    return 0.5 * lam * sq
