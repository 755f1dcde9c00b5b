"""L-BFGS two-loop recursion, compiled (twin of ``fastopt.kernels.reference.lbfgs``).

Serial on purpose: the work is O(k p) with p at most a few thousand, far below what a
thread team pays for itself; fusing each dot product with the following axpy keeps the
whole recursion at 2 k reads of the memory rows.
"""

from __future__ import annotations

from ..._config import jit

__all__ = ["lbfgs_direction"]


@jit
def lbfgs_direction(g, S, Y, rho, start, count, gamma, alpha_work, d_out):
    """Quasi-Newton direction d = -H_k g by the two-loop recursion.

    Same arguments and result as :func:`fastopt.kernels.reference.lbfgs.lbfgs_direction`:
    ``g`` (p,), ``S``/``Y`` (k, p) ring buffers (oldest pair in row ``start``,
    ``count`` pairs), ``rho`` (k,) = 1 / <s_j, y_j>, ``gamma`` the H_0 scale,
    ``alpha_work`` (k,) scratch, ``d_out`` (p,) overwritten with -H_k g.
    """
    k = S.shape[0]
    p = g.shape[0]
    for t in range(p):
        d_out[t] = g[t]
    for i in range(count - 1, -1, -1):
        j = (start + i) % k
        acc = 0.0
        for t in range(p):
            acc += S[j, t] * d_out[t]
        a = rho[j] * acc
        alpha_work[j] = a
        for t in range(p):
            d_out[t] -= a * Y[j, t]
    for t in range(p):
        d_out[t] *= gamma
    for i in range(count):
        j = (start + i) % k
        acc = 0.0
        for t in range(p):
            acc += Y[j, t] * d_out[t]
        c = alpha_work[j] - rho[j] * acc
        for t in range(p):
            d_out[t] += c * S[j, t]
    for t in range(p):
        d_out[t] = -d_out[t]
