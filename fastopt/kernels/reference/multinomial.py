"""Multinomial (softmax) logistic regression kernels: the NumPy reference twin.

These are the oracle for the compiled twins in ``fastopt/kernels/numba/multinomial.py``:
same names, same signatures, same results to rounding.

Model and layout
----------------
K classes, data rows a_i in R^n, labels c_i in {0, ..., K-1}. The coefficients are a
matrix W of shape (p, K), p = n or n + 1, stored flat in C order as ``w`` of length
P = p * K: ``w.reshape(p, K)[j, k]`` is the weight of feature j for class k, and, when
p = n + 1, row n is the vector of the K intercepts (X is never copied to append a
column of ones). This feature-major layout is the one scikit-learn's solvers use
internally (``coef.reshape(n_classes, -1, order="F")``), and it makes the inner loop of
every kernel a contiguous K-vector update, for dense and CSR rows alike.

With logits z_i = W[:n]^T a_i + W[n] (the last term only with an intercept), softmax
probabilities p_ik = exp(z_ik) / sum_l exp(z_il) and normalized sample weights sw::

    f(W)      = sum_i sw_i (logsumexp(z_i) - z_{i, c_i}) + lam/2 ||W[:n]||_F^2
    grad f(W) = sum_i a~_i (sw_i (p_i - e_{c_i}))^T + lam W      (lam not on the intercepts)
    H(W) V    = sum_i a~_i (sw_i (p_i o u_i - p_i <p_i, u_i>))^T + lam V,   u_i = V^T a~_i

a~_i = [a_i, 1] with an intercept. This is the full, overparametrized K-class model that
scikit-learn fits (adding a constant to every class's intercept changes nothing); the L2
term makes the coefficient part unique, and sum_k W[j, k] = 0 at the optimum.

Arguments (besides those of docs/contract.md)
---------------------------------------------
y : ndarray of shape (m,), int64
    Class indices in [0, K).
n_classes : int
    K.
proba, proba_out : ndarray of shape (m, K), float64
    Softmax probabilities p_ik at the point where the gradient was taken; the
    ``_proba`` kernels write them, :func:`multinomial_hvp_proba` reuses them (no exp).
work : ndarray of shape (T, P + 2 K + 1), float64
    Scratch: per chunk of rows, a partial gradient (P columns), two K-vectors of
    per-row scratch (logits and V^T a~_i) and a partial loss. T =
    ``fastopt._config.n_chunks((nnz + m or m (n + 1)) K, P + 2 K + 1)``, fixed by the
    data's size. Contents on entry are ignored.

The reference twin ignores ``work`` beyond its shape (NumPy does the reductions) and
materializes the m x K logits, which the compiled twins never do.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "multinomial_loss",
    "multinomial_loss_csr",
    "multinomial_loss_grad",
    "multinomial_loss_grad_csr",
    "multinomial_loss_grad_proba",
    "multinomial_loss_grad_proba_csr",
    "multinomial_hvp",
    "multinomial_hvp_csr",
    "multinomial_hvp_proba",
    "multinomial_hvp_proba_csr",
]


def _split(w, n, n_classes):
    """W[:n] (n, K) and the intercept row (K,) or None."""
    W = np.asarray(w, dtype=np.float64).reshape(-1, n_classes)
    return W[:n], (W[n] if W.shape[0] == n + 1 else None)


def _logits(X, w, n, n_classes):
    coef, intercept = _split(w, n, n_classes)
    Z = np.asarray(X @ coef, dtype=np.float64) if X.shape[0] else np.zeros((0, n_classes))
    if intercept is not None:
        Z = Z + intercept
    return Z


def _log_softmax(Z):
    """(log-sum-exp of each row, softmax probabilities), stable for any finite Z."""
    zmax = Z.max(axis=1, keepdims=True) if Z.shape[0] else np.zeros((0, 1))
    E = np.exp(Z - zmax)
    s = E.sum(axis=1, keepdims=True)
    return zmax[:, 0], np.log(s[:, 0]), E / s


def _value(Z, y, sw, w, lam, n, n_classes):
    m = Z.shape[0]
    zmax, logs, P = _log_softmax(Z)
    # (zmax - z_c) + log s rather than logsumexp - z_c: no cancellation for huge logits.
    zc = Z[np.arange(m), y] if m else np.zeros(0)
    loss = float(sw @ ((zmax - zc) + logs)) if m else 0.0
    coef = np.asarray(w, dtype=np.float64)[: n * n_classes]
    return loss + 0.5 * lam * float(coef @ coef), P


def _grad_from_residual(X, R, w, lam, n, n_classes, grad_out):
    """grad_out = X~^T R + lam W (lam on W[:n] only), flattened."""
    G = grad_out.reshape(-1, n_classes)
    G[:n] = np.asarray(X.T @ R, dtype=np.float64) if X.shape[0] else 0.0
    if G.shape[0] == n + 1:
        G[n] = R.sum(axis=0)
    grad_out[: n * n_classes] += lam * np.asarray(w, dtype=np.float64)[: n * n_classes]


def _residual(P, y, sw):
    R = P.copy()
    R[np.arange(P.shape[0]), y] -= 1.0
    R *= sw[:, None]
    return R


def multinomial_loss(X, y, sw, w, lam, n_classes, work):
    """f(W) (see the module docstring). X: (m, n) dense."""
    n = X.shape[1]
    f, _ = _value(_logits(X, w, n, n_classes), y, sw, w, lam, n, n_classes)
    return f


def multinomial_loss_grad(X, y, sw, w, lam, n_classes, grad_out, work):
    """f(W) returned, grad f(W) written to ``grad_out`` (P,), one pass over X."""
    n = X.shape[1]
    f, P = _value(_logits(X, w, n, n_classes), y, sw, w, lam, n, n_classes)
    _grad_from_residual(X, _residual(P, y, sw), w, lam, n, n_classes, grad_out)
    return f


def multinomial_loss_grad_proba(X, y, sw, w, lam, n_classes, grad_out, proba_out, work):
    """As :func:`multinomial_loss_grad`, also writing the probabilities to ``proba_out`` (m, K)."""
    n = X.shape[1]
    f, P = _value(_logits(X, w, n, n_classes), y, sw, w, lam, n, n_classes)
    proba_out[...] = P
    _grad_from_residual(X, _residual(P, y, sw), w, lam, n, n_classes, grad_out)
    return f


def _hvp_from_proba(X, sw, P, v, lam, n, n_classes, out):
    coef_v, intercept_v = _split(v, n, n_classes)
    U = np.asarray(X @ coef_v, dtype=np.float64) if X.shape[0] else np.zeros((0, n_classes))
    if intercept_v is not None:
        U = U + intercept_v
    R = sw[:, None] * P * (U - (P * U).sum(axis=1, keepdims=True))
    _grad_from_residual(X, R, v, lam, n, n_classes, out)


def multinomial_hvp_proba(X, sw, proba, v, lam, out, work):
    """H(W) v written to ``out`` (P,), with H at the point whose probabilities are ``proba``."""
    n_classes = proba.shape[1]
    _hvp_from_proba(X, sw, proba, v, lam, X.shape[1], n_classes, out)


def multinomial_hvp(X, y, sw, w, v, lam, n_classes, out, work):
    """H(W) v written to ``out`` (P,), one pass over X (logits and V^T a~_i per row)."""
    n = X.shape[1]
    _, _, P = _log_softmax(_logits(X, w, n, n_classes))
    _hvp_from_proba(X, sw, P, v, lam, n, n_classes, out)


def _csr(data, indices, indptr, n_features):
    import scipy.sparse as sp

    m = indptr.shape[0] - 1
    return sp.csr_matrix((data, indices, indptr), shape=(m, n_features))


def multinomial_loss_csr(data, indices, indptr, n_features, y, sw, w, lam, n_classes, work):
    """CSR twin of :func:`multinomial_loss`."""
    X = _csr(data, indices, indptr, n_features)
    return multinomial_loss(X, y, sw, w, lam, n_classes, work)


def multinomial_loss_grad_csr(data, indices, indptr, n_features, y, sw, w, lam, n_classes,
                              grad_out, work):
    """CSR twin of :func:`multinomial_loss_grad`."""
    X = _csr(data, indices, indptr, n_features)
    return multinomial_loss_grad(X, y, sw, w, lam, n_classes, grad_out, work)


def multinomial_loss_grad_proba_csr(data, indices, indptr, n_features, y, sw, w, lam,
                                    n_classes, grad_out, proba_out, work):
    """CSR twin of :func:`multinomial_loss_grad_proba`."""
    X = _csr(data, indices, indptr, n_features)
    return multinomial_loss_grad_proba(X, y, sw, w, lam, n_classes, grad_out, proba_out, work)


def multinomial_hvp_proba_csr(data, indices, indptr, n_features, sw, proba, v, lam, out, work):
    """CSR twin of :func:`multinomial_hvp_proba`."""
    X = _csr(data, indices, indptr, n_features)
    multinomial_hvp_proba(X, sw, proba, v, lam, out, work)


def multinomial_hvp_csr(data, indices, indptr, n_features, y, sw, w, v, lam, n_classes, out,
                        work):
    """CSR twin of :func:`multinomial_hvp`."""
    X = _csr(data, indices, indptr, n_features)
    multinomial_hvp(X, y, sw, w, v, lam, n_classes, out, work)
