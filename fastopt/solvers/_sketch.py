"""Row sampling for Hessians of the form R^T diag(h) R (+ ridge): uniform or by
approximate leverage scores, each kept row reweighted by 1 / (s p_i).

With rows i_1..i_s drawn with probabilities p (with replacement),

    H~ = sum_j h_{i_j} / (s p_{i_j}) r_{i_j} r_{i_j}^T

is an unbiased estimate of R^T diag(h) R; with leverage-score probabilities of
diag(h)^{1/2} R, O(n log n / eps^2) rows give (1 - eps) H <= H~ <= (1 + eps) H with high
probability.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ._blas import small_blas

__all__ = ["approximate_leverage_scores", "csr_row_of", "sample_rows", "sampled_gram",
           "sketch_size"]

# Rows per block when a product with the m rows would otherwise allocate an m x k array.
_BLOCK = 1 << 16


def sketch_size(n_params: int, eps: float, constant: float = 1.0) -> int:
    """s = ceil(constant * p log(p) / eps^2), at least p + 1 (spectral accuracy eps)."""
    p = max(int(n_params), 2)
    return max(p + 1, math.ceil(constant * p * math.log(p) / eps ** 2))


#: Rows per block of the dense CountSketch (a few MB of rows at a time).
_SKETCH_BLOCK = 8192

#: Density of the sampled rows above which their Gram is formed densely.
_DENSE_DENSITY = 0.05

#: Largest m x k product made in one piece (elements); above it, blocks of _BLOCK rows.
_ONE_SHOT = 1 << 22


def _row_block_product(R, M):
    """R @ M (R dense or CSR), in one piece when the m x k result is small, else block
    by block of rows (slicing a CSR matrix copies its rows: avoided when possible);
    yields (start, block product)."""
    M = np.ascontiguousarray(M)
    if sp.issparse(R) and R.shape[0] * M.shape[1] <= _ONE_SHOT:
        yield 0, np.asarray(R @ M)
        return
    # Dense: blocks small enough that the block product and its row norms stay in cache.
    block = _BLOCK if sp.issparse(R) else _SKETCH_BLOCK // 2
    for start in range(0, R.shape[0], block):
        yield start, np.asarray(R[start:start + block] @ M)


def csr_row_of(R) -> np.ndarray:
    """The row index of every stored entry of a CSR matrix (nnz,), int64."""
    return np.repeat(np.arange(R.shape[0], dtype=np.int64), np.diff(R.indptr))


def approximate_leverage_scores(R, h, ridge, intercept, rng, jl_dim=12, row_of=None):
    """Approximate ridge leverage scores of diag(h)^{1/2} R~ (R~ = [R, 1] with an
    intercept): l_i ~ h_i r~_i^T (R~^T diag(h) R~ + ridge)^{-1} r~_i.

    A CountSketch S (4p rows) of diag(h)^{1/2} R~ (one pass), stacked on the ridge
    block, gives by QR a p x p triangle T with T^T T ~ R~^T diag(h) R~ + ridge; then
    l_i ~ h_i ||r~_i^T T^{-1} G||^2 with a Gaussian G of ``jl_dim`` columns (a second
    pass; G = I when ``jl_dim >= p``). Costs O(nnz(R) (1 + jl_dim / p)) plus O(p^3).

    Parameters
    ----------
    R : ndarray of shape (m, n) or CSR
    h : ndarray of shape (m,)
        Nonnegative row weights (|h| is used).
    ridge : ndarray of shape (p,)
        Diagonal ridge added to the Gram (lam, 0 on the intercept).
    intercept : bool
    rng : numpy.random.Generator
    jl_dim : int
        Columns of the Johnson-Lindenstrauss projection.
    row_of : ndarray of shape (nnz,), optional
        :func:`csr_row_of` of a CSR ``R``, when the caller keeps it between calls.

    Returns
    -------
    ndarray of shape (m,)
    """
    m, n = R.shape
    p = n + int(intercept)
    root = np.sqrt(np.abs(h))
    k = min(m, 4 * p)
    bucket = rng.integers(0, k, size=m)
    # Random signs +-1 (integers, then an affine map: far cheaper than rng.choice).
    scale = (rng.integers(0, 2, size=m) * 2.0 - 1.0) * root
    SR = np.zeros((k + p, p))
    if sp.issparse(R):
        # CountSketch of a CSR matrix as one scatter-add over its nonzeros: O(nnz).
        if row_of is None:
            row_of = csr_row_of(R)
        flat = np.bincount(bucket[row_of] * n + R.indices,
                           weights=R.data * scale[row_of], minlength=k * n)
        SR[:k, :n] = flat.reshape(k, n)
    else:
        # Block by block of rows: the scatter of each block's rows into the k buckets
        # then reads a few MB that stay in cache (faster than one k x m product).
        for start in range(0, m, _SKETCH_BLOCK):
            stop = min(m, start + _SKETCH_BLOCK)
            S = sp.csr_matrix((scale[start:stop], (bucket[start:stop],
                                                   np.arange(stop - start))),
                              shape=(k, stop - start))
            SR[:k, :n] += S @ R[start:stop]
    if intercept:
        SR[:k, n] = np.bincount(bucket, weights=scale, minlength=k)
    SR[k:] = np.diag(np.sqrt(ridge))
    with small_blas(p):
        T = scipy.linalg.qr(SR, mode="r", check_finite=False)[0][:p]
        diag = np.abs(np.diag(T))
        floor = 1e-12 * max(float(diag.max()), 1e-300)
        T[np.diag_indices(p)] = np.where(diag < floor, floor, np.diag(T))
        if jl_dim >= p:
            # No projection needed: ||r~_i^T T^{-1}||^2 exactly (up to the CountSketch).
            M = scipy.linalg.solve_triangular(T, np.eye(p), check_finite=False)
        else:
            G = rng.standard_normal((p, jl_dim)) / math.sqrt(jl_dim)
            M = scipy.linalg.solve_triangular(T, G, check_finite=False)
    scores = np.empty(m)
    for start, block in _row_block_product(R, M[:n]):
        if intercept:
            block = block + M[n]
        scores[start:start + block.shape[0]] = np.einsum("ij,ij->i", block, block)
    scores *= np.abs(h)
    return scores


def sample_rows(m, s, rng, scores=None, uniform_mix=0.1):
    """Draw s of m rows: uniformly without replacement (``scores`` None) or with
    replacement with p = (1 - uniform_mix) scores / sum(scores) + uniform_mix / m.

    Returns
    -------
    rows : ndarray of shape (s,), int64
    scale : ndarray of shape (s,)
        1 / (s p_i) per drawn row: the reweighting that makes H~ unbiased.
    """
    if scores is None:
        rows = np.sort(rng.choice(m, size=s, replace=False)) if s < m else np.arange(m)
        return rows.astype(np.int64), np.full(rows.shape[0], m / rows.shape[0])
    total = float(scores.sum())
    prob = np.full(m, 1.0 / m) if not total > 0 else (
        (1.0 - uniform_mix) * scores / total + uniform_mix / m)
    rows = np.sort(rng.choice(m, size=s, replace=True, p=prob))
    return rows.astype(np.int64), 1.0 / (s * prob[rows])


def sampled_gram(R, rows, weights, intercept):
    """R~_S^T diag(weights) R~_S of shape (p, p) from the rows ``rows`` (O(s p^2))."""
    Rs = R[rows]
    n = R.shape[1]
    p = n + int(intercept)
    G = np.empty((p, p))
    if sp.issparse(Rs) and Rs.nnz >= _DENSE_DENSITY * Rs.shape[0] * n:
        # Fairly dense sampled rows (a9a, ijcnn1): a dense s x n copy and one GEMM beat
        # a sparse-sparse product by far.
        Rs = Rs.toarray()
    if sp.issparse(Rs):
        Rw = Rs.multiply(weights[:, None]).tocsr()
        G[:n, :n] = (Rs.T @ Rw).toarray()
        col = np.asarray(Rw.sum(axis=0)).ravel() if intercept else None
    else:
        Rs = np.asarray(Rs, dtype=np.float64)
        Rw = Rs * weights[:, None]
        G[:n, :n] = Rs.T @ Rw
        col = Rw.sum(axis=0) if intercept else None
    if intercept:
        G[:n, n] = col
        G[n, :n] = col
        G[n, n] = weights.sum()
    return G
