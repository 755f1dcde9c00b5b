"""Fused optimizer updates, Numba twin: one pass over memory, in place, no allocation.

Same names, signatures and recurrences as :mod:`fastopt.kernels.reference.updates`
(see its docstring for the math). Each kernel reads every element of ``x``, the state
arrays and ``g`` once and writes ``x`` and the state once; scalars are cast to the
array dtype first, so float32 arrays are updated in float32 arithmetic (vectorizable,
as the NumPy twin and torch do).

Small arrays (p < ``PARALLEL_MIN``) are updated by a serial loop: a thread launch costs
microseconds, more than the whole update. Larger arrays are split into chunks of
``CHUNK`` elements processed in parallel (``prange`` over chunks, each chunk a serial
vectorizable loop). The updates are element-wise, so the result does not depend on the
number of threads.
"""

from __future__ import annotations

import math

from numba import prange

from ..._config import jit, jit_parallel

__all__ = ["gd_", "heavy_ball_", "nesterov_", "adagrad_", "rmsprop_", "adam_", "adamw_",
           "nadam_"]

#: Below this many elements the update runs on one thread.
PARALLEL_MIN = 1 << 16
#: Elements per parallel work item (64 KiB of float32 per array).
CHUNK = 1 << 14


# The *_span functions update whole (possibly sliced) arrays with `for i in
# range(x.shape[0])`: LLVM vectorizes that form (sqrt and division included), while a
# loop over range(lo, hi) on the full arrays is left scalar. The parallel drivers hand
# each chunk to a span function as views (no copy, no allocation).

# --- gradient descent -----------------------------------------------------------------

@jit
def _gd_span(x, g, lr):
    for i in range(x.shape[0]):
        x[i] -= lr * g[i]


@jit_parallel
def _gd_par(x, g, lr):
    n = x.shape[0]
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(n, lo + CHUNK)
        _gd_span(x[lo:hi], g[lo:hi], lr)


@jit
def gd_(x, g, lr):
    """x <- x - lr g (in place)."""
    a = x.dtype.type(lr)
    if x.shape[0] < PARALLEL_MIN:
        _gd_span(x, g, a)
    else:
        _gd_par(x, g, a)


# --- heavy ball -----------------------------------------------------------------------

@jit
def _hb_span(x, s, g, lr, rho):
    for i in range(x.shape[0]):
        si = rho * s[i] - lr * g[i]
        s[i] = si
        x[i] += si


@jit_parallel
def _hb_par(x, s, g, lr, rho):
    n = x.shape[0]
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(n, lo + CHUNK)
        _hb_span(x[lo:hi], s[lo:hi], g[lo:hi], lr, rho)


@jit
def heavy_ball_(x, s, g, lr, momentum):
    """s <- rho s - lr g; x <- x + s (in place)."""
    a = x.dtype.type(lr)
    rho = x.dtype.type(momentum)
    if x.shape[0] < PARALLEL_MIN:
        _hb_span(x, s, g, a, rho)
    else:
        _hb_par(x, s, g, a, rho)


# --- Nesterov (look-ahead form) -------------------------------------------------------

@jit
def _nag_span(x, s, g, lr, rho, rho_next):
    one = x.dtype.type(1.0)
    for i in range(x.shape[0]):
        s_old = s[i]
        si = rho * s_old - lr * g[i]
        s[i] = si
        x[i] += (one + rho_next) * si - rho * s_old


@jit_parallel
def _nag_par(x, s, g, lr, rho, rho_next):
    n = x.shape[0]
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(n, lo + CHUNK)
        _nag_span(x[lo:hi], s[lo:hi], g[lo:hi], lr, rho, rho_next)


@jit
def nesterov_(x, s, g, lr, momentum, momentum_next):
    """Look-ahead Nesterov step: y <- y - rho s + (1 + rho_next) s+, s+ = rho s - lr g."""
    a = x.dtype.type(lr)
    rho = x.dtype.type(momentum)
    rho_next = x.dtype.type(momentum_next)
    if x.shape[0] < PARALLEL_MIN:
        _nag_span(x, s, g, a, rho, rho_next)
    else:
        _nag_par(x, s, g, a, rho, rho_next)


# --- AdaGrad / RMSProp (one kernel: r <- c_r r + c_g g o g) ----------------------------

@jit
def _scaled_span(x, r, g, lr, c_r, c_g, eps):
    for i in range(x.shape[0]):
        gi = g[i]
        ri = c_r * r[i] + c_g * gi * gi
        r[i] = ri
        x[i] -= lr * gi / (math.sqrt(ri) + eps)


@jit_parallel
def _scaled_par(x, r, g, lr, c_r, c_g, eps):
    n = x.shape[0]
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(n, lo + CHUNK)
        _scaled_span(x[lo:hi], r[lo:hi], g[lo:hi], lr, c_r, c_g, eps)


@jit
def _scaled_(x, r, g, lr, c_r, c_g, eps):
    t = x.dtype.type
    if x.shape[0] < PARALLEL_MIN:
        _scaled_span(x, r, g, t(lr), t(c_r), t(c_g), t(eps))
    else:
        _scaled_par(x, r, g, t(lr), t(c_r), t(c_g), t(eps))


@jit
def adagrad_(x, r, g, lr, eps):
    """r <- r + g o g; x <- x - lr g / (sqrt(r) + eps) (in place)."""
    _scaled_(x, r, g, lr, 1.0, 1.0, eps)


@jit
def rmsprop_(x, r, g, lr, rho, eps):
    """r <- rho r + (1 - rho) g o g; x <- x - lr g / (sqrt(r) + eps) (in place)."""
    _scaled_(x, r, g, lr, rho, 1.0 - rho, eps)


# --- Adam / AdamW / AMSGrad -----------------------------------------------------------

@jit
def _adam_span(x, m, v, g, step, b1, b2, c1, c2, inv_sqrt_bc2, eps, keep):
    # x <- keep x - step m / (sqrt(v) / sqrt(bc2) + eps), with step = lr / bc1 and
    # keep = 1 - lr wd: the bias corrections are folded into two scalars.
    for i in range(x.shape[0]):
        gi = g[i]
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * gi * gi
        m[i] = mi
        v[i] = vi
        x[i] = keep * x[i] - step * mi / (math.sqrt(vi) * inv_sqrt_bc2 + eps)


@jit
def _amsgrad_span(x, m, v, v_max, g, step, b1, b2, c1, c2, inv_sqrt_bc2, eps, keep):
    for i in range(x.shape[0]):
        gi = g[i]
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * gi * gi
        m[i] = mi
        v[i] = vi
        vm = max(v_max[i], vi)
        v_max[i] = vm
        x[i] = keep * x[i] - step * mi / (math.sqrt(vm) * inv_sqrt_bc2 + eps)


@jit_parallel
def _adam_par(x, m, v, v_max, g, step, b1, b2, c1, c2, inv_sqrt_bc2, eps, keep):
    n = x.shape[0]
    ams = v_max.shape[0] > 0
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(n, lo + CHUNK)
        if ams:
            _amsgrad_span(x[lo:hi], m[lo:hi], v[lo:hi], v_max[lo:hi], g[lo:hi], step,
                          b1, b2, c1, c2, inv_sqrt_bc2, eps, keep)
        else:
            _adam_span(x[lo:hi], m[lo:hi], v[lo:hi], g[lo:hi], step,
                       b1, b2, c1, c2, inv_sqrt_bc2, eps, keep)


@jit
def adamw_(x, m, v, g, t, lr, beta1, beta2, eps, weight_decay, v_max):
    """Fused AdamW step (Adam when ``weight_decay == 0``; AMSGrad when ``v_max`` is non-empty)."""
    d = x.dtype.type
    bc1 = 1.0 - beta1 ** t
    bc2 = 1.0 - beta2 ** t
    step = d(lr / bc1)
    isb = d(1.0 / math.sqrt(bc2))
    b1, b2 = d(beta1), d(beta2)
    c1, c2 = d(1.0 - beta1), d(1.0 - beta2)
    e, keep = d(eps), d(1.0 - lr * weight_decay)
    if x.shape[0] >= PARALLEL_MIN:
        _adam_par(x, m, v, v_max, g, step, b1, b2, c1, c2, isb, e, keep)
    elif v_max.shape[0] > 0:
        _amsgrad_span(x, m, v, v_max, g, step, b1, b2, c1, c2, isb, e, keep)
    else:
        _adam_span(x, m, v, g, step, b1, b2, c1, c2, isb, e, keep)


@jit
def adam_(x, m, v, g, t, lr, beta1, beta2, eps, v_max):
    """Fused Adam step (bias-corrected; AMSGrad when ``v_max`` is non-empty)."""
    adamw_(x, m, v, g, t, lr, beta1, beta2, eps, 0.0, v_max)


# --- NAdam --------------------------------------------------------------------------------

@jit
def _nadam_span(x, m, v, g, c_g, c_m, b1, b2, c1, c2, bc2, eps):
    # d = sqrt(v / bc2) + eps; x <- (x - c_g g / d) - c_m m / d (torch.optim.NAdam's order)
    for i in range(x.shape[0]):
        gi = g[i]
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * gi * gi
        m[i] = mi
        v[i] = vi
        d = math.sqrt(vi / bc2) + eps
        x[i] = (x[i] - c_g * gi / d) - c_m * mi / d


@jit_parallel
def _nadam_par(x, m, v, g, c_g, c_m, b1, b2, c1, c2, bc2, eps):
    n = x.shape[0]
    for c in prange((n + CHUNK - 1) // CHUNK):
        lo = c * CHUNK
        hi = min(n, lo + CHUNK)
        _nadam_span(x[lo:hi], m[lo:hi], v[lo:hi], g[lo:hi], c_g, c_m, b1, b2, c1, c2, bc2, eps)


@jit
def nadam_(x, m, v, g, t, lr, beta1, beta2, eps, momentum_decay, mu_product):
    """Fused NAdam step t; ``mu_product`` is prod_{s < t} mu_s (1.0 at t = 1)."""
    d = x.dtype.type
    tf = float(t)
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (tf * momentum_decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((tf + 1.0) * momentum_decay)))
    prod = mu_product * mu
    c_g = d(lr * (1.0 - mu) / (1.0 - prod))
    c_m = d(lr * mu_next / (1.0 - prod * mu_next))
    bc2 = d(1.0 - beta2 ** tf)
    b1, b2 = d(beta1), d(beta2)
    c1, c2 = d(1.0 - beta1), d(1.0 - beta2)
    if x.shape[0] >= PARALLEL_MIN:
        _nadam_par(x, m, v, g, c_g, c_m, b1, b2, c1, c2, bc2, d(eps))
    else:
        _nadam_span(x, m, v, g, c_g, c_m, b1, b2, c1, c2, bc2, d(eps))
