"""The table of fused optimizer steps: each element-wise update written once, for every backend.

A step is what one first-order method does to one entry of the parameters and of its
state, in one pass over memory. Its row of :data:`STEPS` holds:

- ``state``: the names of its state arrays (zeros at the start), in the order the
  kernels take them;
- ``params``: its hyper-parameters, each with the check it must pass and its default in
  the public function (``fo.updates.<name>_``);
- ``coefs(t, lr, p, carry) -> (c, carry')``: the scalars of step ``t`` (from 1), computed
  once per call in float64 from the step size ``lr``, the hyper-parameters ``p`` (a
  sequence in ``params`` order) and the method's running scalar ``carry`` (NAdam's
  product of momentum coefficients; steps without one pass it through);
- ``element(c, g, x, *state) -> (x', *state')``: the update of one entry, in the
  arithmetic of the array's dtype (``c`` is cast to it first).

From these two functions numba compiles the CPU kernels and the numba loop's update
(:mod:`fastopt.kernels.numba.updates`), and CUDA the device kernels
(:mod:`fastopt.kernels.cuda.updates`); the C twin of both lives in
``fastopt/kernels/cython/_updates.h``, indexed by the step codes that ``setup.py``
generates from this table (``_step_table.h``), and the NumPy twin, written independently
as the tests' oracle, in :mod:`fastopt.kernels.reference.updates`. Every kernel of a step
has the signature ``name_(x, *state, g, [t], lr, *params, [carry])`` and returns the next
carry where the step has one.

Adding a method: its row and two functions here, its C twin, its NumPy twin, and its
entry in :mod:`fastopt.solvers.fo_methods`.

This file is plain Python (``math`` only), so that ``setup.py`` can execute it without
importing fastopt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__: list[str] = []  # no kernels here: each backend builds its own from the table

#: Largest number of hyper-parameters and of per-call scalars of any step (the C loop's
#: fixed buffers).
MAX_PARAMS = 8
MAX_COEFS = 8


@dataclass(frozen=True)
class Param:
    """A hyper-parameter: name, check (``"positive"``: finite > 0; ``"unit"``: in [0, 1);
    ``"nonnegative"``: finite >= 0) and default (None: the caller must give it)."""

    name: str
    check: str
    default: float | None = None


@dataclass(frozen=True)
class Step:
    """One fused update (see the module docstring)."""

    name: str
    state: tuple
    params: tuple
    coefs: object
    element: object
    math: str
    uses_t: bool = False
    carry0: float | None = None
    lr_default: float | None = None
    export: bool = True

    @property
    def code(self) -> int:
        return CODES[self.name]

    @property
    def kernel(self) -> str:
        """The kernel's name in every backend package."""
        return self.name + "_"

    @property
    def param_names(self) -> tuple:
        return tuple(p.name for p in self.params)

    @property
    def n_coefs(self) -> int:
        return len(self.coefs(1.0, 1.0, [0.5] * len(self.params), 1.0)[0])

    def slot(self, name: str) -> int:
        """Index of hyper-parameter ``name`` (-1 if the step has none)."""
        return self.param_names.index(name) if name in self.param_names else -1

    def signature(self) -> list[str]:
        """The kernels' arguments: ``x, *state, g, [t], lr, *params, [carry]``."""
        return (["x", *self.state, "g"] + (["t"] if self.uses_t else []) + ["lr"]
                + list(self.param_names) + (["carry"] if self.carry0 is not None else []))


# --- the steps: per-call scalars (float64) and the update of one entry ---------------------

def _gd_coefs(t, lr, p, carry):
    return (lr,), carry


def _gd(c, g, x):
    return (x - c[0] * g,)


def _heavy_ball_coefs(t, lr, p, carry):
    return (lr, p[0]), carry


def _heavy_ball(c, g, x, s):
    lr, rho = c
    s_new = rho * s - lr * g
    return x + s_new, s_new


def _nesterov_coefs(t, lr, p, carry):
    return (lr, p[0], 1.0 + p[1]), carry


def _nesterov(c, g, x, s):
    # x holds the look-ahead point y = x_k + rho s: y' = y - rho s + (1 + rho_next) s'
    lr, rho, grow = c
    s_new = rho * s - lr * g
    return x + (grow * s_new - rho * s), s_new


def _adagrad_coefs(t, lr, p, carry):
    return (lr, 1.0, 1.0, p[0]), carry


def _rmsprop_coefs(t, lr, p, carry):
    return (lr, p[0], 1.0 - p[0], p[1]), carry


def _scaled(c, g, x, r):
    # r <- c_r r + c_g g^2; x <- x - lr g / (sqrt(r) + eps): AdaGrad and RMSProp
    lr, c_r, c_g, eps = c
    r_new = c_r * r + c_g * g * g
    return x - lr * g / (math.sqrt(r_new) + eps), r_new


def _adam_coefs(t, lr, p, carry):
    # the bias corrections folded into step = lr / (1 - b1^t) and isb = 1 / sqrt(1 - b2^t);
    # keep = 1 - lr wd is the decoupled weight decay
    b1, b2, eps, wd = p[0], p[1], p[2], p[3]
    bc1 = 1.0 - b1 ** t
    bc2 = 1.0 - b2 ** t
    return (lr / bc1, b1, b2, 1.0 - b1, 1.0 - b2, 1.0 / math.sqrt(bc2), eps,
            1.0 - lr * wd), carry


def _adam(c, g, x, m, v):
    step, b1, b2, c1, c2, isb, eps, keep = c
    m_new = b1 * m + c1 * g
    v_new = b2 * v + c2 * g * g
    return keep * x - step * m_new / (math.sqrt(v_new) * isb + eps), m_new, v_new


def _amsgrad(c, g, x, m, v, v_max):
    step, b1, b2, c1, c2, isb, eps, keep = c
    m_new = b1 * m + c1 * g
    v_new = b2 * v + c2 * g * g
    vm = max(v_max, v_new)
    return keep * x - step * m_new / (math.sqrt(vm) * isb + eps), m_new, v_new, vm


def _nadam_coefs(t, lr, p, carry):
    # torch.optim.NAdam's scalars of step t in its order of operations:
    # mu_t = b1 (1 - 0.5 0.96^(t psi)); carry = prod_{s<t} mu_s on entry, prod_{s<=t} after
    b1, b2, eps, psi = p[0], p[1], p[2], p[3]
    mu = b1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
    mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((t + 1.0) * psi)))
    prod = carry * mu
    return (lr * (1.0 - mu) / (1.0 - prod), lr * mu_next / (1.0 - prod * mu_next), b1, b2,
            1.0 - b1, 1.0 - b2, 1.0 - b2 ** t, eps), prod


def _nadam(c, g, x, m, v):
    c_g, c_m, b1, b2, c1, c2, bc2, eps = c
    m_new = b1 * m + c1 * g
    v_new = b2 * v + c2 * g * g
    d = math.sqrt(v_new / bc2) + eps
    return (x - c_g * g / d) - c_m * m_new / d, m_new, v_new


def _adamax_coefs(t, lr, p, carry):
    # torch.optim.Adamax: the bias correction of m folded into the step lr / (1 - b1^t)
    b1, b2, eps = p[0], p[1], p[2]
    return (lr / (1.0 - b1 ** t), b1, 1.0 - b1, b2, eps), carry


def _adamax(c, g, x, m, u):
    step, b1, c1, b2, eps = c
    m_new = b1 * m + c1 * g
    u_new = max(b2 * u, abs(g) + eps)
    return x - step * m_new / u_new, m_new, u_new


_ADAM_PARAMS = (Param("beta1", "unit", 0.9), Param("beta2", "unit", 0.999),
                Param("eps", "positive", 1e-8), Param("weight_decay", "nonnegative", 0.0))

#: Every step, in code order (the code of a step is its position).
STEPS: tuple = (
    Step("gd", (), (), _gd_coefs, _gd, "x <- x - lr g"),
    Step("heavy_ball", ("s",), (Param("momentum", "unit"),), _heavy_ball_coefs, _heavy_ball,
         "s <- rho s - lr g;  x <- x + s"),
    Step("nesterov", ("s",), (Param("momentum", "unit"), Param("momentum_next", "unit")),
         _nesterov_coefs, _nesterov,
         "look-ahead form: s' = rho s - lr g;  x <- x - rho s + (1 + rho_next) s'"),
    Step("adagrad", ("r",), (Param("eps", "positive", 1e-10),), _adagrad_coefs, _scaled,
         "r <- r + g o g;  x <- x - lr g / (sqrt(r) + eps)"),
    Step("rmsprop", ("r",), (Param("rho", "unit", 0.9), Param("eps", "positive", 1e-8)),
         _rmsprop_coefs, _scaled,
         "r <- rho r + (1 - rho) g o g;  x <- x - lr g / (sqrt(r) + eps)"),
    Step("adam_moments", ("m", "v"), _ADAM_PARAMS, _adam_coefs, _adam,
         "AdamW without AMSGrad (the kernels adam_ and adamw_ choose)", uses_t=True,
         export=False),
    Step("amsgrad_moments", ("m", "v", "v_max"), _ADAM_PARAMS, _adam_coefs, _amsgrad,
         "AdamW with AMSGrad's running max", uses_t=True, export=False),
    Step("nadam", ("m", "v"),
         (Param("beta1", "unit", 0.9), Param("beta2", "unit", 0.999),
          Param("eps", "positive", 1e-8), Param("momentum_decay", "nonnegative", 4e-3)),
         _nadam_coefs, _nadam,
         "mu_t = b1 (1 - 0.5 * 0.96^(t psi)),  P_t = mu_1 ... mu_t;  m, v as Adam;\n"
         "d = sqrt(v / (1 - b2^t)) + eps;\n"
         "x <- x - lr (1 - mu_t) / (1 - P_t) g / d - lr mu_{t+1} / (1 - P_t mu_{t+1}) m / d\n"
         "(torch.optim.NAdam; the carry is P_{t-1}, 1 at t = 1)",
         uses_t=True, carry0=1.0, lr_default=2e-3),
    Step("adamax", ("m", "u"),
         (Param("beta1", "unit", 0.9), Param("beta2", "unit", 0.999),
          Param("eps", "positive", 1e-8)),
         _adamax_coefs, _adamax,
         "m <- b1 m + (1 - b1) g;  u <- max(b2 u, |g| + eps);\n"
         "x <- x - lr / (1 - b1^t) m / u  (Adam in the infinity norm; torch.optim.Adamax)",
         uses_t=True, lr_default=2e-3),
)

CODES = {step.name: i for i, step in enumerate(STEPS)}
BY_NAME = {step.name: step for step in STEPS}

assert all(len(s.params) <= MAX_PARAMS and s.n_coefs <= MAX_COEFS for s in STEPS)


def get(name: str) -> Step:
    """The step called ``name``."""
    return BY_NAME[name]


# --- what every backend builds from the table ----------------------------------------------

def kernel_source(step: Step, call: str, separate_state: bool) -> str:
    """Source of ``step.kernel`` with the step's signature, forwarding to ``call``.

    ``call(code, x, <state>, g, t, lr, params, carry)`` is the backend's generic kernel;
    ``<state>`` is the state as one tuple, or (``separate_state``) as three arrays with
    ``x[:0]`` for the unused slots (numba, which compiles this source). ``t`` and
    ``carry`` are 0 for a step without them.
    """
    args = step.signature()
    params = "".join(f"{p}, " for p in step.param_names)
    if separate_state:
        state = ", ".join([*step.state, *["x[:0]"] * (3 - len(step.state))])
    else:
        state = "(" + "".join(f"{s}, " for s in step.state) + ")"
    t = "t" if step.uses_t else "0"
    has_carry = step.carry0 is not None
    carry = "carry" if has_carry else "0.0"
    return (f"def {step.kernel}({', '.join(args)}):\n"
            f"    {'return ' if has_carry else ''}"
            f"{call}({step.code}, x, {state}, g, {t}, lr, ({params}), {carry})\n")


def make_kernels(module: str, call_for, separate_state: bool = False, wrap=None) -> dict:
    """Every step's kernel for the backend module ``module``, forwarding to
    ``call_for(step)`` (see :func:`kernel_source`), plus ``adam_`` and ``adamw_`` built on
    the two Adam steps; ``wrap`` (numba's jit) is applied to each generated function."""
    out = {}
    for step in STEPS:
        ns = {"_call": call_for(step), "__name__": module}
        exec(kernel_source(step, "_call", separate_state), ns)  # noqa: S102 (our own text)
        fn = ns[step.kernel]
        fn.__doc__ = f"Fused {step.name} step, in place: {step.math}."
        out[step.kernel] = wrap(fn) if wrap is not None else fn
    for fn in _adam_kernels(out["adam_moments_"], out["amsgrad_moments_"]).values():
        fn.__module__ = module
        out[fn.__name__] = fn
    return out


def _adam_kernels(plain, amsgrad) -> dict:
    def adamw_(x, m, v, g, t, lr, beta1, beta2, eps, weight_decay, v_max):
        """Fused AdamW step (Adam when ``weight_decay == 0``; AMSGrad when ``v_max`` is
        non-empty)."""
        # Anything but an empty array of x's dtype goes to the AMSGrad kernel, whose
        # checks refuse it by name.
        if getattr(v_max, "shape", None) == (0,) and getattr(v_max, "dtype", None) == x.dtype:
            return plain(x, m, v, g, t, lr, beta1, beta2, eps, weight_decay)
        return amsgrad(x, m, v, v_max, g, t, lr, beta1, beta2, eps, weight_decay)

    def adam_(x, m, v, g, t, lr, beta1, beta2, eps, v_max):
        """Fused Adam step (bias-corrected; AMSGrad when ``v_max`` is non-empty)."""
        return adamw_(x, m, v, g, t, lr, beta1, beta2, eps, 0.0, v_max)

    return {"adamw_": adamw_, "adam_": adam_}


def exported() -> list[str]:
    """The kernel names every backend's ``updates`` module exports."""
    return [s.kernel for s in STEPS if s.export] + ["adam_", "adamw_"]


def c_header() -> str:
    """``_step_table.h``: the step codes and layouts for the C kernels and the Cython loop."""
    def row(values):
        return "{" + ", ".join(str(v) for v in values) + "}"

    lines = ["/* Generated by setup.py from fastopt/kernels/steps.py: do not edit. */",
             "#ifndef FASTOPT_STEP_TABLE_H", "#define FASTOPT_STEP_TABLE_H", "enum {"]
    lines += [f"    FO_STEP_{s.name.upper()} = {s.code}," for s in STEPS]
    lines += [f"    FO_N_STEPS = {len(STEPS)},", f"    FO_MAX_PARAMS = {MAX_PARAMS},",
              f"    FO_MAX_COEFS = {MAX_COEFS}", "};"]
    lines.append(f"static const int FO_STEP_NSTATE[] = {row(len(s.state) for s in STEPS)};")
    lines.append(f"static const int FO_STEP_NPARAMS[] = {row(len(s.params) for s in STEPS)};")
    for name in ("momentum", "momentum_next"):
        lines.append(f"static const int FO_STEP_{name.upper()}_SLOT[] = "
                     f"{row(s.slot(name) for s in STEPS)};")
    lines += ["#endif", ""]
    return "\n".join(lines)
