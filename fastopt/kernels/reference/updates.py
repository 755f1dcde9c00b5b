"""Fused optimizer updates, NumPy reference twin (the oracle of the tests, the baseline of bench/).

Every kernel updates ``x`` and its state arrays in place. ``x``, the state arrays and
``g`` share one shape (p,) and one dtype (float32 or float64); arithmetic is done in
that dtype (scalars are cast to it once), as the compiled twins do. The compiled twins
make one pass over memory; this twin is written for clarity and uses temporaries.

Recurrences (alpha = ``lr``, rho = ``momentum``, element-wise operations):

    gd_          x <- x - alpha g
    heavy_ball_  s <- rho s - alpha g;  x <- x + s
    nesterov_    look-ahead form, see :func:`nesterov_`
    adagrad_     r <- r + g o g;  x <- x - alpha g / (sqrt(r) + eps)
    rmsprop_     r <- rho r + (1 - rho) g o g;  x <- x - alpha g / (sqrt(r) + eps)
    adam_        m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g o g;
                 [amsgrad: v_max <- max(v_max, v), used in place of v below]
                 x <- x - alpha (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    adamw_       x <- x - alpha wd x, then the Adam step (decoupled weight decay)
    nadam_       mu_t = b1 (1 - 0.5 * 0.96^(t psi));  P_t = mu_product mu_t;
                 m, v as Adam;  d = sqrt(v / (1 - b2^t)) + eps;
                 x <- x - alpha (1 - mu_t) / (1 - P_t) g / d
                        - alpha mu_{t+1} / (1 - P_t mu_{t+1}) m / d
                 (torch.optim.NAdam; ``mu_product`` = prod_{s < t} mu_s, 1 at t = 1)
    adamax_      m <- b1 m + (1 - b1) g;  u <- max(b2 u, |g| + eps);
                 x <- x - alpha / (1 - b1^t) m / u   (torch.optim.Adamax)

``v_max`` is an array of shape (p,) for AMSGrad, or an empty array (shape (0,)) to
switch AMSGrad off; ``t`` is the 1-based step count used for the bias corrections. A
step with a running scalar (NAdam's ``mu_product``) returns its next value, as every
backend's kernel built from :mod:`fastopt.kernels.steps` does.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gd_", "heavy_ball_", "nesterov_", "adagrad_", "rmsprop_", "adam_", "adamw_",
           "nadam_", "adamax_"]


def gd_(x, g, lr):
    """x <- x - lr g."""
    x -= x.dtype.type(lr) * g


def heavy_ball_(x, s, g, lr, momentum):
    """Polyak momentum: s <- rho s - lr g; x <- x + s."""
    s *= x.dtype.type(momentum)
    s -= x.dtype.type(lr) * g
    x += s


def nesterov_(x, s, g, lr, momentum, momentum_next):
    """Nesterov momentum in look-ahead form.

    ``x`` holds the look-ahead point y_k = x_k + rho_k s_k, where ``g`` = grad f(y_k)
    was evaluated; with rho_k = ``momentum`` and rho_{k+1} = ``momentum_next``:

        s_{k+1} = rho_k s_k - lr g
        x_{k+1} = x_k + s_{k+1}                   (the underlying iterate, not stored)
        y_{k+1} = x_{k+1} + rho_{k+1} s_{k+1} = y_k - rho_k s_k + (1 + rho_{k+1}) s_{k+1}

    so the next gradient is again taken at the stored ``x``. x_k = y_k - rho_k s_k.
    """
    dt = x.dtype.type
    rho, rho_next = dt(momentum), dt(momentum_next)
    x -= rho * s
    s *= rho
    s -= dt(lr) * g
    x += (dt(1) + rho_next) * s


def adagrad_(x, r, g, lr, eps):
    """r <- r + g o g; x <- x - lr g / (sqrt(r) + eps)."""
    r += g * g
    x -= x.dtype.type(lr) * g / (np.sqrt(r) + x.dtype.type(eps))


def rmsprop_(x, r, g, lr, rho, eps):
    """r <- rho r + (1 - rho) g o g; x <- x - lr g / (sqrt(r) + eps)."""
    dt = x.dtype.type
    r *= dt(rho)
    r += dt(1.0 - rho) * (g * g)
    x -= dt(lr) * g / (np.sqrt(r) + dt(eps))


def adamw_(x, m, v, g, t, lr, beta1, beta2, eps, weight_decay, v_max):
    """Adam with decoupled weight decay (``weight_decay = 0`` is Adam); see the module doc."""
    dt = x.dtype.type
    if weight_decay != 0.0:
        x *= dt(1.0 - lr * weight_decay)
    m *= dt(beta1)
    m += dt(1.0 - beta1) * g
    v *= dt(beta2)
    v += dt(1.0 - beta2) * (g * g)
    if v_max.shape[0] > 0:
        np.maximum(v_max, v, out=v_max)
        second = v_max
    else:
        second = v
    bc1 = 1.0 - beta1 ** t
    bc2 = 1.0 - beta2 ** t
    x -= dt(lr) * (m / dt(bc1)) / (np.sqrt(second / dt(bc2)) + dt(eps))


def adam_(x, m, v, g, t, lr, beta1, beta2, eps, v_max):
    """Adam (bias-corrected; AMSGrad when ``v_max`` is non-empty); see the module doc."""
    adamw_(x, m, v, g, t, lr, beta1, beta2, eps, 0.0, v_max)


def nadam_(x, m, v, g, t, lr, beta1, beta2, eps, momentum_decay, mu_product):
    """NAdam step t (Nesterov momentum in Adam, with torch's warming momentum schedule);
    returns the next ``mu_product`` (prod_{s <= t} mu_s)."""
    dt = x.dtype.type
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * momentum_decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * momentum_decay)))
    prod = mu_product * mu
    m *= dt(beta1)
    m += dt(1.0 - beta1) * g
    v *= dt(beta2)
    v += dt(1.0 - beta2) * (g * g)
    d = np.sqrt(v / dt(1.0 - beta2 ** t)) + dt(eps)
    x -= dt(lr * (1.0 - mu) / (1.0 - prod)) * g / d
    x -= dt(lr * mu_next / (1.0 - prod * mu_next)) * m / d
    return prod


def adamax_(x, m, u, g, t, lr, beta1, beta2, eps):
    """Adamax step t: Adam with the infinity norm in place of the second moment."""
    dt = x.dtype.type
    m *= dt(beta1)
    m += dt(1.0 - beta1) * g
    np.maximum(dt(beta2) * u, np.abs(g) + dt(eps), out=u)
    x -= dt(lr / (1.0 - beta1 ** t)) * m / u
