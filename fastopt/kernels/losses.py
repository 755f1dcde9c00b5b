"""The table of the losses of the linear-model kernels: one row per loss, shared by all
backends.

A linear-model objective is

.. math::

    f(w) = \\sum_i sw_i \\, \\ell(z_i, y_i) + \\frac{\\lambda}{2} \\|w_{:n}\\|^2,
    \\qquad z_i = \\langle a_i, w_{:n} \\rangle + w_n

and every backend computes it with one generic module (``reference/linear.py``,
``numba/linear.py``, ``cython/linear.pyx``, ``cuda/linear.py``) whose kernels take the
loss's integer **code** as their first argument. This table is the single source of those
codes and of what the objectives need to know about a loss:

======== ==== ============== ================ ================ =======================
name     code targets        l(z, y)          dl/dz            d2l/dz2
======== ==== ============== ================ ================ =======================
logistic 0    {-1, +1}       log(1+e^{-yz})   -y sigma(-yz)    sigma(z) sigma(-z)
squared  1    real           (z - y)^2 / 2    z - y            1
poisson  2    counts y >= 0  e^z - y z        e^z - y          e^z
======== ==== ============== ================ ================ =======================

The per-row formulas themselves live once per backend (they are code, not data: NumPy,
numba, C and CUDA each need their own stable spelling); the codes, the curvature bounds
and the target checks live here. ``setup.py`` reads this file *without importing the
fastopt package* (it executes it on its own) and writes the Cython constants
(``fastopt/kernels/cython/_loss_codes.pxd``, generated, not in git) from :data:`LOSSES`,
so the C enum cannot drift from the Python codes. Keep this module free of imports
outside the standard library and numpy at module level for that reason.

Adding a loss: a row here, then its per-row math in the four places named above.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "LOGISTIC",
    "SQUARED",
    "POISSON",
    "LOSSES",
    "Loss",
    "by_code",
    "by_name",
    "cython_constants",
    "CONSTANT_CURVATURE_MASK",
]


@dataclass(frozen=True)
class Loss:
    """One loss of the linear-model kernels.

    Attributes
    ----------
    name : str
        Lower-case identifier (``"logistic"``, ``"squared"``, ``"poisson"``).
    code : int
        The integer every backend's kernels take as their first argument.
    targets : str
        What ``y`` must hold: ``"binary"`` (two classes, mapped to -1/+1), ``"real"``
        (finite reals) or ``"counts"`` (finite reals >= 0).
    curvature_max : float or None
        sup over z (and valid y) of ``d2l/dz2``: the global Lipschitz constant of the
        gradient is ``curvature_max * lambda_max(X~^T diag(sw) X~) + lam``. None when the
        curvature is unbounded (Poisson: ``e^z``), so there is no global L.
    curvature_min : float
        inf over z of ``d2l/dz2``: the objective is at least
        ``curvature_min * lambda_min(X~^T diag(sw) X~) + lam``-strongly convex.
    constant_curvature : bool
        ``d2l/dz2`` does not depend on z (squared loss): the Hessian-vector product
        needs no predictor z, only ``<a_i, v>``, and the Hessian weights are ``sw``.
    """

    name: str
    code: int
    targets: str
    curvature_max: float | None
    curvature_min: float
    constant_curvature: bool

    def check_targets(self, y, m: int, name: str = "y"):
        """Validate the targets ``y`` (m,) for this loss.

        Returns
        -------
        y : ndarray of shape (m,), float64
            A new array: the labels mapped to {-1, +1} for ``"binary"``, else the values.
        classes : ndarray of shape (2,) or None
            The original two label values (``"binary"`` only).

        Raises
        ------
        ValueError
            One line naming ``name`` and what is wrong (NaN, a negative count, a wrong
            length, a single class, ...).
        """
        # Imported here, not at module level: setup.py executes this file on its own.
        from fastopt.problems._validation import check_binary_labels, check_real_targets

        if self.targets == "binary":
            return check_binary_labels(y, m, name)
        out = check_real_targets(y, m, name)
        if self.targets == "counts" and out.size and out.min() < 0:
            i = int(out.argmin())
            raise ValueError(f"{name} must hold counts >= 0 for the {self.name} loss; got "
                             f"{name}[{i}] = {float(out[i])!r}")
        return out, None


LOGISTIC = 0
SQUARED = 1
POISSON = 2

#: Every loss, indexed by its code (``LOSSES[code].code == code``).
LOSSES = (
    Loss("logistic", LOGISTIC, "binary", curvature_max=0.25, curvature_min=0.0,
         constant_curvature=False),
    Loss("squared", SQUARED, "real", curvature_max=1.0, curvature_min=1.0,
         constant_curvature=True),
    Loss("poisson", POISSON, "counts", curvature_max=None, curvature_min=0.0,
         constant_curvature=False),
)

#: Bit ``code`` is set for the losses of constant curvature (an int, so that jitted
#: numba and CUDA code can test ``(CONSTANT_CURVATURE_MASK >> code) & 1`` as a constant).
CONSTANT_CURVATURE_MASK = sum(1 << loss.code for loss in LOSSES if loss.constant_curvature)

assert all(loss.code == i for i, loss in enumerate(LOSSES)), "codes must be 0, 1, 2, ..."


def by_code(code: int) -> Loss:
    """The loss of integer ``code``; ValueError naming the code when there is none."""
    if isinstance(code, bool) or not isinstance(code, int) or not 0 <= code < len(LOSSES):
        raise ValueError(f"loss code must be one of {[loss.code for loss in LOSSES]}; "
                         f"got {code!r}")
    return LOSSES[code]


def by_name(name: str) -> Loss:
    """The loss called ``name``; ValueError listing the names when there is none."""
    for loss in LOSSES:
        if loss.name == name:
            return loss
    raise ValueError(f"loss must be one of {[loss.name for loss in LOSSES]}; got {name!r}")


def cython_constants() -> str:
    """Text of the generated ``_loss_codes.pxd`` (written by ``setup.py``)."""
    lines = [
        "# GENERATED by setup.py from fastopt/kernels/losses.py: do not edit, not in git.",
        "# The loss codes of the linear-model kernels (the same integers in every backend).",
        "",
        "cdef enum:",
    ]
    lines += [f"    {loss.name.upper()} = {loss.code}" for loss in LOSSES]
    lines += [
        f"    N_LOSSES = {len(LOSSES)}",
        "    # bit `code` set: d2l/dz2 does not depend on z (no predictor in the HVP)",
        f"    CONSTANT_CURVATURE_MASK = {CONSTANT_CURVATURE_MASK}",
        "",
    ]
    return "\n".join(lines)
