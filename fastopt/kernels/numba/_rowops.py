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

Inside a core, rows go in blocks of :data:`ROW_BLOCK`: first the dot products of the
block (:func:`dense_block_dot`), then the per-row math of the block in its own loop
(vectorized: ``exp`` and ``log1p`` come from :mod:`._vecmath`, not from scalar libm
calls), then the axpys of the block (:func:`dense_block_axpy`) while the block's rows
are still in L1 (16 rows of 100 doubles are 12.8 kB). One helper call
per block, not per row, so whether LLVM inlines the helpers does not matter. The j loops
index ``X[i, j]`` of a C-contiguous ``X`` directly: with fastmath ``reassoc`` LLVM
vectorizes them (``vfmadd...pd ymm``), widening float32 elements to float64 in the
register (``vcvtps2pd``), so float32 data is read at half the bytes.
"""

from __future__ import annotations

import numpy as np

from fastopt._config import PARALLEL_MIN_WORK, jit

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
def block_index(idx, rows, gather, r0, nb):
    """``idx[k]`` = the data row of block entry k: ``rows[r0 + k]`` or ``r0 + k``."""
    if gather:
        for k in range(nb):
            idx[k] = rows[r0 + k]
    else:
        for k in range(nb):
            idx[k] = r0 + k


# --- dense blocks ------------------------------------------------------------------------


@jit
def dense_block_dot(X, idx, nb, w, b, z):
    """``z[k] = <X[idx[k], :n], w[:n]> + b`` for ``k < nb``, accumulated in float64.

    One row at a time: LLVM already interleaves the vectorized j loop with four ymm
    accumulators. Tiling four rows on top (16 accumulators) spilled registers; two rows
    per sweep over ``w`` were 10-20% faster in cache (n = 10, 1000) but slower on the
    m = 10^6, n = 100 stream from memory (float64 loss+grad 65-80 ms against 51-61 ms,
    two threads), so the stream wins.
    """
    n = X.shape[1]
    for k in range(nb):
        i = idx[k]
        s = 0.0
        for j in range(n):
            s += np.float64(X[i, j]) * w[j]
        z[k] = s + b


@jit
def dense_block_dot2(X, idx, nb, w, v, b, vb, z, u):
    """``z[k] = <X[idx[k]], w> + b`` and ``u[k] = <X[idx[k]], v> + vb`` in one read."""
    n = X.shape[1]
    for k in range(nb):
        i = idx[k]
        zk = 0.0
        uk = 0.0
        for j in range(n):
            x = np.float64(X[i, j])
            zk += x * w[j]
            uk += x * v[j]
        z[k] = zk + b
        u[k] = uk + vb


@jit
def dense_block_axpy(work, c, X, idx, nb, coef, has_b):
    """``work[c, :n] += sum_k coef[k] X[idx[k], :n]`` (and ``work[c, n] += sum coef``).

    Four rows per sweep: ``work[c, j]`` is loaded and stored once per four rows instead
    of once per row, which was the bottleneck of the one-row axpy (measured 25-30%
    faster for float32 at n = 100 and n = 1000, equal or better for float64).
    """
    n = X.shape[1]
    s = 0.0
    k = 0
    while k + 4 <= nb:
        i0 = idx[k]
        i1 = idx[k + 1]
        i2 = idx[k + 2]
        i3 = idx[k + 3]
        a0 = coef[k]
        a1 = coef[k + 1]
        a2 = coef[k + 2]
        a3 = coef[k + 3]
        s += (a0 + a1) + (a2 + a3)
        for j in range(n):
            work[c, j] += ((a0 * np.float64(X[i0, j]) + a1 * np.float64(X[i1, j]))
                           + (a2 * np.float64(X[i2, j]) + a3 * np.float64(X[i3, j])))
        k += 4
    while k < nb:
        i = idx[k]
        a = coef[k]
        s += a
        for j in range(n):
            work[c, j] += a * np.float64(X[i, j])
        k += 1
    if has_b:
        work[c, n] += s


# --- CSR blocks --------------------------------------------------------------------------
#
# The nonzero loops run over uint64 bounds and index with ``np.uint64(indices[q])``: with
# int32 ``indptr`` the loop counter would otherwise be int32 (sign extension in the
# loop), and unsigned indices need no negative-index wraparound select, neither for
# ``w[indices[q]]`` nor for ``data[q]``. Measured on 1e7 nonzeros, int64 bounds took the
# gather dot from ~2.4x to ~1.0x the time of scipy's C++ matvec and the scatter from ~3x
# to ~1x scipy's transposed product; uint64 bounds (no select on ``data[q]`` either) cut
# another 25-45% from the dot and 15-30% from the scatter (float64 and float32, in
# cache and streaming, single thread).


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
