"""Numba CPU linear-model kernels, generic in the loss (docs/contract.md).

Every kernel takes the loss's integer code first (:mod:`fastopt.kernels.losses`: 0
logistic, 1 squared, 2 Poisson). With ``z_i = <a_i, w[:n]> + w[n]``:

.. math::

    f(w) = \\sum_i sw_i \\, l(z_i, y_i) + \\frac{\\lambda}{2} \\|w_{:n}\\|^2,
    \\qquad \\nabla f = \\sum_i sw_i \\, l'(z_i, y_i) \\tilde a_i + \\lambda w_{:n},
    \\qquad d_i = sw_i \\, l''(z_i, y_i)

Every kernel is a thin ``@jit`` wrapper around the shared cores of :mod:`._linear`
(where the per-row math of each loss lives, :func:`._linear._rows_scalar` and
:func:`._linear._curvatures`): the m rows (or the k mini-batch indices) are split into
``T = work.shape[0]`` contiguous chunks; each chunk streams its rows once, in blocks of
16 (dots, then the per-row math of the block, then the axpys into the chunk's own
partial row ``work[c]`` while the rows are in L1), so X is read exactly once per call.
Small problems (m n below ``fastopt._config.PARALLEL_MIN_WORK``) run the chunks
serially, large ones in ``prange``: the same code on the same chunks either way. The
partial rows and the per-chunk loss partials are then added in chunk order: bitwise
reproducible for a fixed ``T``, which the objectives choose from the data's size
(:func:`fastopt._config.n_chunks`), never from the thread count. The loss code is a
run-time int64 (one compiled specialization serves every loss); the kernels are plain
``@jit`` functions, callable from other jitted code (the compiled solver loops); nothing
of size m is allocated. They trust their inputs, the loss code included (the objectives
take it from :data:`fastopt.kernels.losses.LOSSES`).

Shapes: ``X`` (m, n) float32/float64 C-contiguous; ``y``, ``sw`` (m,) float64; ``w``,
``v``, ``grad_out``, ``out`` (p,) float64 with p = n or n + 1 (intercept ``w[n]``, never
penalized); ``d_out`` (m,); ``work`` (T, p); ``rows`` (k,) int64. CSR twins take ``data,
indices, indptr, n_features`` in place of ``X`` (canonical CSR).
"""

from __future__ import annotations

import numpy as np

from fastopt._config import jit

from ..losses import CONSTANT_CURVATURE_MASK
from ._linear import (
    GATHER,
    GRAD,
    HESSW,
    HVP_WEIGHTED,
    hvp_run,
    hvp_run_csr,
    loss_pass,
    loss_pass_csr,
    no_rows,
    no_work,
    rows_run,
    rows_run_csr,
)
from ._rowops import add_l2, reduce_chunks
from ._stack import chunk_partials

__all__ = [
    "linear_loss",
    "linear_loss_grad",
    "linear_grad_hess_weights",
    "linear_hess_weights",
    "linear_hvp",
    "linear_loss_grad_rows",
    "linear_loss_csr",
    "linear_loss_grad_csr",
    "linear_grad_hess_weights_csr",
    "linear_hess_weights_csr",
    "linear_hvp_csr",
    "linear_loss_grad_rows_csr",
]

#: Rows per chunk of the Hessian-weight kernels (no reduction, no ``work`` argument, so
#: any chunking gives the same result).
_MAP_CHUNK_ROWS = 8192


@jit
def _map_chunks(m):
    return max(1, min(m // _MAP_CHUNK_ROWS, 1024))


@jit(inline="always")
def _constant_curvature(loss):
    """l'' == 1 (squared loss): Hessian weights sw, an HVP without the predictor z."""
    return (CONSTANT_CURVATURE_MASK >> loss) & 1


@jit(inline="always")
def _hvp_kind(loss):
    """The HVP core's kind: weighted by sw for a constant curvature, else the loss code."""
    return np.int64(HVP_WEIGHTED) if _constant_curvature(loss) else np.int64(loss)


# --- dense -------------------------------------------------------------------------------


@jit
def linear_loss(loss, X, y, sw, w, lam, work):
    """Loss ``f(w)`` (float) of the loss of code ``loss``; one pass over ``X``."""
    # sw stands in for the outputs these flags never write
    return loss_pass(np.int64(loss), X, y, sw, w, no_rows(), 1.0, lam, sw, sw, work)


@jit
def linear_loss_grad(loss, X, y, sw, w, lam, grad_out, work):
    """Loss (returned) and gradient (into ``grad_out``), fused in one pass over ``X``."""
    # sw stands in for the outputs these flags never write
    return loss_pass(np.int64(loss | GRAD), X, y, sw, w, no_rows(), 1.0, lam, grad_out, sw,
                     work)


@jit
def linear_grad_hess_weights(loss, X, y, sw, w, lam, grad_out, d_out, work):
    """Loss (returned), gradient (``grad_out``) and Hessian weights (``d_out``), one pass."""
    return loss_pass(np.int64(loss | GRAD | HESSW), X, y, sw, w, no_rows(), 1.0, lam,
                     grad_out, d_out, work)


@jit
def linear_hess_weights(loss, X, y, sw, w, d_out):
    """Hessian weights ``d_out[i] = sw_i l''(z_i, y_i)``; one pass (none for a constant
    curvature: a copy of ``sw``), no reduction."""
    if _constant_curvature(loss):
        d_out[:] = sw
        return
    T = _map_chunks(X.shape[0])
    rows_run(np.int64(loss | HESSW), X, y, sw, w, no_rows(), 1.0, d_out,
             no_work(w.shape[0]), T, chunk_partials(T))


@jit
def linear_hvp(loss, X, y, sw, w, v, lam, out, work):
    """``out = X~^T diag(d(w)) X~ v + lam v[:n]``: z_i and <a~_i, v> from one read per row
    (only <a~_i, v> for a constant curvature)."""
    hvp_run(_hvp_kind(loss), X, sw, w, v, work)
    reduce_chunks(work, out)
    add_l2(out, v, X.shape[1], lam)


@jit
def linear_loss_grad_rows(loss, X, y, sw, w, lam, rows, scale, grad_out, work):
    """Loss and gradient over the rows ``rows`` only, weights ``scale * sw``; L2 once."""
    # sw stands in for the outputs these flags never write
    return loss_pass(np.int64(loss | GRAD | GATHER), X, y, sw, w, rows, float(scale), lam,
                     grad_out, sw, work)


# --- CSR ---------------------------------------------------------------------------------


@jit
def linear_loss_csr(loss, data, indices, indptr, n_features, y, sw, w, lam, work):
    """CSR twin of :func:`linear_loss`."""
    return loss_pass_csr(np.int64(loss), data, indices, indptr, n_features, y, sw, w,
                         no_rows(), 1.0, lam, sw, sw, work)


@jit
def linear_loss_grad_csr(loss, data, indices, indptr, n_features, y, sw, w, lam, grad_out,
                         work):
    """CSR twin of :func:`linear_loss_grad`."""
    return loss_pass_csr(np.int64(loss | GRAD), data, indices, indptr, n_features, y, sw, w,
                         no_rows(), 1.0, lam, grad_out, sw, work)


@jit
def linear_grad_hess_weights_csr(
    loss, data, indices, indptr, n_features, y, sw, w, lam, grad_out, d_out, work
):
    """CSR twin of :func:`linear_grad_hess_weights`."""
    return loss_pass_csr(np.int64(loss | GRAD | HESSW), data, indices, indptr, n_features, y,
                         sw, w, no_rows(), 1.0, lam, grad_out, d_out, work)


@jit
def linear_hess_weights_csr(loss, data, indices, indptr, n_features, y, sw, w, d_out):
    """CSR twin of :func:`linear_hess_weights`."""
    if _constant_curvature(loss):
        d_out[:] = sw
        return
    T = _map_chunks(indptr.shape[0] - 1)
    rows_run_csr(np.int64(loss | HESSW), data, indices, indptr, n_features, y, sw, w,
                 no_rows(), 1.0, d_out, no_work(w.shape[0]), T, chunk_partials(T))


@jit
def linear_hvp_csr(loss, data, indices, indptr, n_features, y, sw, w, v, lam, out, work):
    """CSR twin of :func:`linear_hvp`."""
    hvp_run_csr(_hvp_kind(loss), data, indices, indptr, n_features, sw, w, v, work)
    reduce_chunks(work, out)
    add_l2(out, v, n_features, lam)


@jit
def linear_loss_grad_rows_csr(
    loss, data, indices, indptr, n_features, y, sw, w, lam, rows, scale, grad_out, work
):
    """CSR twin of :func:`linear_loss_grad_rows`."""
    return loss_pass_csr(np.int64(loss | GRAD | GATHER), data, indices, indptr, n_features, y,
                         sw, w, rows, float(scale), lam, grad_out, sw, work)
