"""Fused optimizer updates, CUDA twin: one pass over memory, in place, no allocation.

Same names, signatures and recurrences as :mod:`fastopt.kernels.reference.updates` (see
its docstring for the math): ``x`` first, then the state arrays, then ``g``, then ``t``
where needed, then the hyper-parameters. Each kernel is a grid-stride loop reading every
element of ``x``, the state and ``g`` once and writing ``x`` and the state once (Adam:
4 reads and 3 writes per parameter, the memory roofline of the update). Scalars are
cast to the array dtype on the host, so float32 arrays are updated in float32
arithmetic, as the NumPy twin and ``torch.optim.Adam(fused=True)`` do; the bias
corrections ``1 - beta^t`` are computed once per call on the host.

Arrays may be numba device arrays or ``__cuda_array_interface__`` objects (updated in
place, no copy) or host arrays (copied in and back: the slow path of the tests).
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from . import _device
from ._device import HostBridge

__all__ = ["gd_", "heavy_ball_", "nesterov_", "adagrad_", "rmsprop_", "adam_", "adamw_",
           "nadam_"]


def _grid(n: int) -> tuple[int, int]:
    tpb = _device.threads_per_block()
    blocks = max(1, min((n + tpb - 1) // tpb, _device.sm_count() * (2048 // tpb) * 4))
    return blocks, tpb


# --- kernels (grid-stride loops) ---------------------------------------------------------


@cuda.jit
def _gd_kernel(x, g, lr):
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < x.shape[0]:
        x[i] -= lr * g[i]
        i += stride


@cuda.jit
def _heavy_ball_kernel(x, s, g, lr, rho):
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < x.shape[0]:
        si = rho * s[i] - lr * g[i]
        s[i] = si
        x[i] += si
        i += stride


@cuda.jit
def _nesterov_kernel(x, s, g, lr, rho, one_plus_rho_next):
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < x.shape[0]:
        si = s[i]
        xi = x[i] - rho * si
        si = rho * si - lr * g[i]
        s[i] = si
        x[i] = xi + one_plus_rho_next * si
        i += stride


@cuda.jit
def _adagrad_kernel(x, r, g, lr, eps):
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < x.shape[0]:
        gi = g[i]
        ri = r[i] + gi * gi
        r[i] = ri
        x[i] -= lr * gi / (math.sqrt(ri) + eps)
        i += stride


@cuda.jit
def _rmsprop_kernel(x, r, g, lr, rho, one_minus_rho, eps):
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < x.shape[0]:
        gi = g[i]
        ri = rho * r[i] + one_minus_rho * (gi * gi)
        r[i] = ri
        x[i] -= lr * gi / (math.sqrt(ri) + eps)
        i += stride


@cuda.jit
def _adam_kernel(x, m, v, g, v_max, amsgrad, decay, decay_factor, lr, beta1, one_minus_beta1,
                 beta2, one_minus_beta2, bc1, bc2, eps):
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < x.shape[0]:
        gi = g[i]
        xi = x[i]
        if decay:
            xi = xi * decay_factor
        mi = beta1 * m[i] + one_minus_beta1 * gi
        vi = beta2 * v[i] + one_minus_beta2 * (gi * gi)
        m[i] = mi
        v[i] = vi
        if amsgrad:
            vi = max(v_max[i], vi)
            v_max[i] = vi
        x[i] = xi - lr * (mi / bc1) / (math.sqrt(vi / bc2) + eps)
        i += stride


@cuda.jit
def _nadam_kernel(x, m, v, g, c_g, c_m, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2,
                  eps):
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < x.shape[0]:
        gi = g[i]
        mi = beta1 * m[i] + one_minus_beta1 * gi
        vi = beta2 * v[i] + one_minus_beta2 * (gi * gi)
        m[i] = mi
        v[i] = vi
        d = math.sqrt(vi / bc2) + eps
        x[i] = (x[i] - c_g * gi / d) - c_m * mi / d
        i += stride


# --- public updates ----------------------------------------------------------------------


def gd_(x, g, lr):
    """x <- x - lr g (in place)."""
    with HostBridge() as hb:
        xd = hb.output(x)
        dt = xd.dtype.type
        if xd.shape[0]:
            _gd_kernel[_grid(xd.shape[0])](xd, hb.input(g, xd.dtype), dt(lr))


def heavy_ball_(x, s, g, lr, momentum):
    """Polyak momentum: s <- rho s - lr g; x <- x + s (in place)."""
    with HostBridge() as hb:
        xd = hb.output(x)
        dt = xd.dtype.type
        if xd.shape[0]:
            _heavy_ball_kernel[_grid(xd.shape[0])](xd, hb.output(s), hb.input(g, xd.dtype),
                                                   dt(lr), dt(momentum))


def nesterov_(x, s, g, lr, momentum, momentum_next):
    """Nesterov momentum, look-ahead form (``x`` holds the look-ahead point); see the reference."""
    with HostBridge() as hb:
        xd = hb.output(x)
        dt = xd.dtype.type
        if xd.shape[0]:
            _nesterov_kernel[_grid(xd.shape[0])](xd, hb.output(s), hb.input(g, xd.dtype),
                                                 dt(lr), dt(momentum),
                                                 dt(1) + dt(momentum_next))


def adagrad_(x, r, g, lr, eps):
    """r <- r + g o g; x <- x - lr g / (sqrt(r) + eps) (in place)."""
    with HostBridge() as hb:
        xd = hb.output(x)
        dt = xd.dtype.type
        if xd.shape[0]:
            _adagrad_kernel[_grid(xd.shape[0])](xd, hb.output(r), hb.input(g, xd.dtype),
                                                dt(lr), dt(eps))


def rmsprop_(x, r, g, lr, rho, eps):
    """r <- rho r + (1 - rho) g o g; x <- x - lr g / (sqrt(r) + eps) (in place)."""
    with HostBridge() as hb:
        xd = hb.output(x)
        dt = xd.dtype.type
        if xd.shape[0]:
            _rmsprop_kernel[_grid(xd.shape[0])](xd, hb.output(r), hb.input(g, xd.dtype),
                                                dt(lr), dt(rho), dt(1.0 - rho), dt(eps))


def adamw_(x, m, v, g, t, lr, beta1, beta2, eps, weight_decay, v_max):
    """Adam with decoupled weight decay (0 is Adam); AMSGrad when ``v_max`` is non-empty."""
    with HostBridge() as hb:
        xd = hb.output(x)
        if not xd.shape[0]:
            return
        dt = xd.dtype.type
        amsgrad = v_max.shape[0] > 0
        vmax_d = hb.output(v_max) if amsgrad else _device.dummy(np.dtype(xd.dtype).type)
        _adam_kernel[_grid(xd.shape[0])](
            xd, hb.output(m), hb.output(v), hb.input(g, xd.dtype), vmax_d, amsgrad,
            weight_decay != 0.0, dt(1.0 - lr * weight_decay), dt(lr), dt(beta1),
            dt(1.0 - beta1), dt(beta2), dt(1.0 - beta2), dt(1.0 - beta1 ** t),
            dt(1.0 - beta2 ** t), dt(eps))


def adam_(x, m, v, g, t, lr, beta1, beta2, eps, v_max):
    """Adam, bias-corrected (AMSGrad when ``v_max`` is non-empty); see the reference."""
    adamw_(x, m, v, g, t, lr, beta1, beta2, eps, 0.0, v_max)


def nadam_(x, m, v, g, t, lr, beta1, beta2, eps, momentum_decay, mu_product):
    """NAdam step t (``mu_product`` = prod_{s < t} mu_s); see the reference."""
    with HostBridge() as hb:
        xd = hb.output(x)
        if not xd.shape[0]:
            return
        dt = xd.dtype.type
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * momentum_decay)))
        prod = mu_product * mu
        _nadam_kernel[_grid(xd.shape[0])](
            xd, hb.output(m), hb.output(v), hb.input(g, xd.dtype),
            dt(lr * (1.0 - mu) / (1.0 - prod)), dt(lr * mu_next / (1.0 - prod * mu_next)),
            dt(beta1), dt(1.0 - beta1), dt(beta2), dt(1.0 - beta2), dt(1.0 - beta2 ** t),
            dt(eps))
