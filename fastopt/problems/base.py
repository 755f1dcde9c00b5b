"""The Objective protocol: what every solver sees.

:class:`Objective` is the protocol (docs/contract.md): ``value``, ``grad``,
``loss_grad``, ``hvp``, ``hessian``, ``lipschitz``, ``strong_convexity`` and the
evaluation counters. Its public methods validate their arguments, count, and call the
private hooks ``_value``, ``_loss_grad_into``, ``_hvp_into`` and ``_hessian`` that a
subclass implements, so a subclass never repeats the checks or the bookkeeping. The
linear models share :class:`~fastopt.problems.linear_objective.LinearObjective`.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_vector

__all__ = ["Objective"]


class Objective:
    """Base class of every objective: the protocol the solvers rely on.

    Subclasses set ``n_params`` and implement :meth:`_loss_grad_into` (and, where they
    can, :meth:`_value`, :meth:`_hvp_into`, :meth:`_hessian`, :meth:`lipschitz`,
    :meth:`strong_convexity`).

    Not every objective has both constants; a missing one raises ``NotImplementedError``
    with the reason, and the solvers then need a step size (``lr``) or fall back to a line
    search. ``Logistic``, ``LeastSquares``, ``Multinomial`` and ``PiecewiseQuadratic``
    provide both (mu is 0 for ``Logistic`` and ``Multinomial`` with an intercept, and for
    a singular ``LeastSquares``). ``Function`` provides those given at construction
    (``lipschitz=``, ``strong_convexity=``), neither by default. ``SoftmaxReLU`` provides
    neither: its gradient jumps where a ReLU switches (no finite L) and it is not convex
    (no mu); :func:`fastopt.theory.lipschitz_estimate` and
    :func:`fastopt.theory.strong_convexity_estimate` give the curvature at a point.

    Attributes
    ----------
    n_params : int
        Number of parameters p; every point ``x`` has shape (p,).
    nfev, njev, nhev : int
        Evaluations of f, of the gradient, and of the Hessian (an HVP or a full
        Hessian) requested since construction or :meth:`reset_counters`.
        :meth:`loss_grad` counts one of each of f and gradient.
    n_passes : int or float
        Passes over the data matrix made by the evaluations (0 for objectives without
        data). A mini-batch of k of m rows counts k/m of a pass. The one-off
        computation of :meth:`lipschitz`/:meth:`strong_convexity` is not counted.
    """

    n_params: int

    def __init__(self) -> None:
        self.reset_counters()

    # --- counters ------------------------------------------------------------------------

    def reset_counters(self) -> None:
        """Set ``nfev``, ``njev``, ``nhev`` and ``n_passes`` to zero."""
        self.nfev = 0
        self.njev = 0
        self.nhev = 0
        self.n_passes = 0

    @property
    def counters(self) -> dict:
        """The counters as a dict ``{"nfev", "njev", "nhev", "n_passes"}``."""
        return {"nfev": self.nfev, "njev": self.njev, "nhev": self.nhev,
                "n_passes": self.n_passes}

    # --- validation ----------------------------------------------------------------------

    def check_x(self, x, name: str = "x") -> np.ndarray:
        """Validate a point: shape (p,), real, finite; returns C-contiguous float64.

        A float64 C-contiguous writeable array of shape (p,) is returned as it is (no
        copy); anything else (a list, another dtype, a strided view) is converted.

        Raises
        ------
        ValueError
            Wrong shape, NaN or inf (the message names ``name``).
        TypeError
            Non-numeric dtype.
        """
        return check_vector(x, self.n_params, name)

    def _check_out(self, out: np.ndarray, name: str) -> None:
        if not (isinstance(out, np.ndarray) and out.dtype == np.float64
                and out.shape == (self.n_params,) and out.flags.c_contiguous
                and out.flags.writeable):
            raise ValueError(f"{name} must be a writeable C-contiguous float64 array of shape "
                             f"({self.n_params},)")

    def _fast_x(self, x) -> np.ndarray:
        """Solver fast path: shape and dtype only; NaN/inf propagate to the result."""
        if (type(x) is np.ndarray and x.dtype == np.float64 and x.shape == (self.n_params,)
                and x.flags.c_contiguous and x.flags.aligned and x.flags.writeable):
            return x
        arr = np.asarray(x)
        if arr.shape != (self.n_params,):
            raise ValueError(f"x must have shape ({self.n_params},); got shape {arr.shape}")
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"x must hold real numbers; got dtype {arr.dtype}")
        return np.array(arr, dtype=np.float64, order="C")

    # --- the protocol --------------------------------------------------------------------

    def value(self, x) -> float:
        """f(x) for ``x`` of shape (p,)."""
        x = self.check_x(x)
        self.nfev += 1
        return self._value(x)

    def grad(self, x) -> np.ndarray:
        """grad f(x), a new array of shape (p,)."""
        x = self.check_x(x)
        self.njev += 1
        g = np.empty(self.n_params)
        self._loss_grad_into(x, g)
        return g

    def loss_grad(self, x) -> tuple[float, np.ndarray]:
        """``(f(x), grad f(x))`` from one evaluation (one pass over the data)."""
        x = self.check_x(x)
        self.nfev += 1
        self.njev += 1
        g = np.empty(self.n_params)
        f = self._loss_grad_into(x, g)
        return f, g

    def loss_grad_into(self, x: np.ndarray, grad_out: np.ndarray) -> float:
        """Solver fast path of :meth:`loss_grad`: the gradient is written into ``grad_out``.

        Only shapes and dtypes are checked; a non-finite ``x`` is not refused but gives
        a non-finite f or gradient, so that a diverging solver can see it and report it.

        Parameters
        ----------
        x : ndarray of shape (p,), float64
        grad_out : ndarray of shape (p,), float64, C-contiguous, overwritten

        Returns
        -------
        float
            f(x).
        """
        x = self._fast_x(x)
        self._check_out(grad_out, "grad_out")
        self.nfev += 1
        self.njev += 1
        return self._loss_grad_into(x, grad_out)

    def hvp(self, x, v) -> np.ndarray:
        """Hessian-vector product ``hess f(x) v``, a new array of shape (p,)."""
        x = self.check_x(x)
        v = self.check_x(v, "v")
        self.nhev += 1
        out = np.empty(self.n_params)
        self._hvp_into(x, v, out)
        return out

    def hvp_into(self, x: np.ndarray, v: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Solver fast path of :meth:`hvp` writing into ``out`` (p,); returns ``out``."""
        x = self._fast_x(x)
        v = self._fast_x(v)
        self._check_out(out, "out")
        self.nhev += 1
        self._hvp_into(x, v, out)
        return out

    def hessian(self, x) -> np.ndarray:
        """The Hessian ``hess f(x)``, a new symmetric array of shape (p, p)."""
        x = self.check_x(x)
        self.nhev += 1
        return self._hessian(x)

    def lipschitz(self) -> float:
        """L: a Lipschitz constant of the gradient (sup of the Hessian's largest eigenvalue)."""
        raise NotImplementedError(f"{type(self).__name__} does not provide lipschitz()")

    def strong_convexity(self) -> float:
        """mu: a strong-convexity constant (inf of the Hessian's smallest eigenvalue)."""
        raise NotImplementedError(f"{type(self).__name__} does not provide strong_convexity()")

    # --- hooks for subclasses (arguments already validated, counters already counted) ----

    def _value(self, x: np.ndarray) -> float:
        return self._loss_grad_into(x, np.empty(self.n_params))

    def _loss_grad_into(self, x: np.ndarray, grad_out: np.ndarray) -> float:
        raise NotImplementedError

    def _hvp_into(self, x: np.ndarray, v: np.ndarray, out: np.ndarray) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not provide hvp()")

    def _hessian(self, x: np.ndarray) -> np.ndarray:
        """Default: p Hessian-vector products with the unit vectors, symmetrized."""
        p = self.n_params
        H = np.empty((p, p))
        e = np.zeros(p)
        column = np.empty(p)
        for j in range(p):
            e[j] = 1.0
            self._hvp_into(x, e, column)
            H[:, j] = column
            e[j] = 0.0
        return 0.5 * (H + H.T)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_params={getattr(self, 'n_params', None)})"
