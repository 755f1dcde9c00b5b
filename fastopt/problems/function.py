"""An objective from user callables (the ``fo.minimize(fun, x0, jac=...)`` path).

Missing derivatives are approximated by central finite differences, at a documented
cost in calls of the user's functions:

* gradient, when ``grad`` is None: ``g_i = (f(x + h_i e_i) - f(x - h_i e_i)) / (2 h_i)``
  with ``h_i = eps^(1/3) max(1, |x_i|)``: 2 p calls of ``fun`` per gradient (error
  O(h^2), about 1e-10 relative for smooth f);
* Hessian-vector product, when neither ``hvp`` nor ``hess`` is given:
  ``(g(x + h v) - g(x - h v)) / (2 h)`` with ``h = eps^(1/3) (1 + ||x||) / ||v||``:
  2 gradient evaluations per product;
* Hessian, when ``hess`` is None: p Hessian-vector products (symmetrized).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import scipy.sparse as sp

from ._validation import check_vector
from .base import Objective

__all__ = ["Function"]

_EPS_CBRT = float(np.finfo(np.float64).eps) ** (1.0 / 3.0)


def _check_constant(value, name: str, positive: bool):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number or None; got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be finite and {bound}; got {value}")
    return value


class Function(Objective):
    """Objective from user callables.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float`` with ``x`` of shape (p,); with ``grad=True``,
        ``fun(x, *args) -> (float, ndarray (p,))`` as scipy's ``jac=True``.
    grad : callable, True or None, default None
        ``grad(x, *args) -> ndarray (p,)``; True: ``fun`` returns ``(f, g)`` (the last
        point is memoized, so ``value`` then ``grad`` at the same x cost one call);
        None: central finite differences (2 p calls of ``fun`` per gradient).
    hvp : callable or None, default None
        ``hvp(x, v, *args) -> ndarray (p,)``, the Hessian at x times v (scipy's
        ``hessp``). None: ``hess(x) @ v`` if ``hess`` is given, else central
        differences of the gradient (2 gradient evaluations per product).
    hess : callable or None, default None
        ``hess(x, *args) -> ndarray (p, p)`` (a scipy sparse matrix is densified).
        None: built from p Hessian-vector products.
    jac : callable, True or None, default None
        Alias of ``grad`` (scipy's name); give one or the other.
    args : tuple, default ()
        Extra positional arguments passed to every callable (a value that is not a tuple
        is one argument, as in scipy).
    n_params : int or None, default None
        p. None: taken from the first point evaluated (``fo.minimize`` passes it).
    lipschitz, strong_convexity : float or None, default None
        Known constants L > 0 and mu >= 0 returned by :meth:`lipschitz` and
        :meth:`strong_convexity`; when not given those methods raise
        ``NotImplementedError`` (a solver then needs an explicit step size).

    Attributes
    ----------
    nfev : int
        Calls of ``fun`` (finite-difference calls included, as in scipy).
    njev : int
        Gradients computed (by ``grad``, by ``fun`` returning one, or by differences).
    nhev : int
        Hessian-vector products and Hessians requested.

    Notes
    -----
    Each callable receives a copy of the point, so a function that writes into its
    argument cannot disturb the solver. Returned values are not checked for
    finiteness: a solver must be able to see a diverging f.

    Examples
    --------
    >>> import numpy as np, fastopt as fo
    >>> f = fo.problems.Function(lambda x: x @ x, grad=lambda x: 2 * x)
    >>> f.value(np.ones(3)), f.n_params
    (3.0, 3)
    """

    def __init__(self, fun, grad=None, hvp=None, hess=None, *, jac=None, args=(),
                 n_params=None, lipschitz=None, strong_convexity=None) -> None:
        super().__init__()
        if not callable(fun):
            raise TypeError(f"fun must be callable; got {fun!r}")
        if jac is not None:
            if grad is not None:
                raise ValueError("give the gradient as grad or as jac, not both")
            grad = jac
        if grad is False:
            grad = None
        if not (grad is None or grad is True or callable(grad)):
            raise TypeError(f"grad must be callable, True or None; got {grad!r}")
        for name, f in (("hvp", hvp), ("hess", hess)):
            if f is not None and not callable(f):
                raise TypeError(f"{name} must be callable or None; got {f!r}")
        self.fun = fun
        self._fun_returns_grad = grad is True
        self._grad = grad if callable(grad) else None
        self._hvp = hvp
        self._hess = hess
        # As scipy.optimize.minimize: a value that is not a tuple is one extra argument.
        self.args = args if isinstance(args, tuple) else (args,)
        if n_params is not None:
            if isinstance(n_params, bool) or not isinstance(n_params, numbers.Integral) \
                    or n_params < 1:
                raise ValueError(f"n_params must be a positive integer; got {n_params!r}")
            n_params = int(n_params)
        self.n_params = n_params
        self._L = _check_constant(lipschitz, "lipschitz", positive=True)
        self._mu = _check_constant(strong_convexity, "strong_convexity", positive=False)
        self._memo_x = None
        self._memo = None

    # --- validation ----------------------------------------------------------------------

    def check_x(self, x, name: str = "x") -> np.ndarray:
        """As :meth:`Objective.check_x`; the first point fixes p when n_params is None."""
        if self.n_params is None:
            shape = np.shape(x)
            if len(shape) != 1 or shape[0] == 0:
                raise ValueError(f"{name} must be a non-empty 1-D array; got shape {shape}")
            self.n_params = shape[0]
        return check_vector(x, self.n_params, name)

    def _fast_x(self, x) -> np.ndarray:
        if self.n_params is None:
            return self.check_x(x)
        return super()._fast_x(x)

    # --- calls of the user's functions ---------------------------------------------------

    def _call_fun(self, x: np.ndarray) -> float:
        self.nfev += 1
        return self._as_scalar(self.fun(x.copy(), *self.args))

    def _call_fun_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """``fun`` returning (f, g), memoized on the last point."""
        if self._memo_x is not None and np.array_equal(x, self._memo_x):
            return self._memo
        out = self.fun(x.copy(), *self.args)
        self.nfev += 1
        self.njev += 1
        try:
            f, g = out
        except (TypeError, ValueError):
            raise ValueError("with grad=True (jac=True), fun must return (f, grad)") from None
        result = (self._as_scalar(f), self._as_vector(g, "grad"))
        self._memo_x = x.copy()
        self._memo = result
        return result

    def _call_grad(self, x: np.ndarray) -> np.ndarray:
        if self._fun_returns_grad:
            return self._call_fun_grad(x)[1]
        if self._grad is not None:
            self.njev += 1
            return self._as_vector(self._grad(x.copy(), *self.args), "grad")
        return self._fd_grad(x)

    def _f(self, x: np.ndarray) -> float:
        if self._fun_returns_grad:
            return self._call_fun_grad(x)[0]
        return self._call_fun(x)

    def _fd_grad(self, x: np.ndarray) -> np.ndarray:
        """Central differences: 2 p calls of ``fun``."""
        self.njev += 1
        p = self.n_params
        g = np.empty(p)
        xp = x.copy()
        for i in range(p):
            h = _EPS_CBRT * max(1.0, abs(x[i]))
            xp[i] = x[i] + h
            f_plus = self._call_fun(xp)
            xp[i] = x[i] - h
            f_minus = self._call_fun(xp)
            xp[i] = x[i]
            g[i] = (f_plus - f_minus) / (2.0 * h)
        return g

    @staticmethod
    def _as_scalar(f) -> float:
        arr = np.asarray(f)
        if arr.size != 1 or arr.dtype.kind not in "biuf":
            raise ValueError(f"fun must return a real scalar; got {f!r}")
        return float(arr.reshape(()))

    def _as_vector(self, g, name: str) -> np.ndarray:
        arr = np.asarray(g)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must return real numbers; got dtype {arr.dtype}")
        if arr.shape != (self.n_params,):
            raise ValueError(f"{name} must return an array of shape ({self.n_params},); "
                             f"got shape {arr.shape}")
        return np.array(arr, dtype=np.float64, order="C")  # a copy the user cannot mutate

    # --- the protocol (counters count calls of the user's functions) ---------------------

    def value(self, x) -> float:
        """f(x)."""
        return self._f(self.check_x(x))

    def grad(self, x) -> np.ndarray:
        """grad f(x), a new array of shape (p,)."""
        return self._call_grad(self.check_x(x)).copy()

    def loss_grad(self, x) -> tuple[float, np.ndarray]:
        """``(f(x), grad f(x))``; one call of ``fun`` with ``grad=True``."""
        x = self.check_x(x)
        return self._f(x), self._call_grad(x).copy()

    def loss_grad_into(self, x, grad_out: np.ndarray) -> float:
        """As :meth:`loss_grad`, the gradient written into ``grad_out`` (p,)."""
        x = self._fast_x(x)
        self._check_out(grad_out, "grad_out")
        f = self._f(x)
        grad_out[:] = self._call_grad(x)
        return f

    def hvp(self, x, v) -> np.ndarray:
        """Hessian at x times v, a new array of shape (p,)."""
        x = self.check_x(x)
        v = self.check_x(v, "v")
        self.nhev += 1
        return self._hvp_value(x, v)

    def hvp_into(self, x, v, out: np.ndarray) -> np.ndarray:
        """As :meth:`hvp`, written into ``out`` (p,)."""
        x = self._fast_x(x)
        v = self._fast_x(v)
        self._check_out(out, "out")
        self.nhev += 1
        out[:] = self._hvp_value(x, v)
        return out

    def hessian(self, x) -> np.ndarray:
        """The Hessian, a new array of shape (p, p)."""
        x = self.check_x(x)
        self.nhev += 1
        if self._hess is not None:
            return self._call_hess(x)
        p = self.n_params
        H = np.empty((p, p))
        e = np.zeros(p)
        for j in range(p):
            e[j] = 1.0
            H[:, j] = self._hvp_value(x, e)
            e[j] = 0.0
        return 0.5 * (H + H.T)

    def _call_hess(self, x: np.ndarray) -> np.ndarray:
        H = self._hess(x.copy(), *self.args)
        if sp.issparse(H):
            H = H.toarray()
        H = np.array(H, dtype=np.float64, order="C")
        p = self.n_params
        if H.shape != (p, p):
            raise ValueError(f"hess must return an array of shape ({p}, {p}); "
                             f"got shape {H.shape}")
        return H

    def _hvp_value(self, x: np.ndarray, v: np.ndarray) -> np.ndarray:
        if self._hvp is not None:
            return self._as_vector(self._hvp(x.copy(), v.copy(), *self.args), "hvp")
        if self._hess is not None:
            return self._call_hess(x) @ v
        v_norm = float(np.linalg.norm(v))
        if v_norm == 0.0:
            return np.zeros(self.n_params)
        h = _EPS_CBRT * (1.0 + float(np.linalg.norm(x))) / v_norm
        g_plus = self._call_grad(x + h * v)
        g_minus = self._call_grad(x - h * v)
        return (g_plus - g_minus) / (2.0 * h)

    def lipschitz(self) -> float:
        """The L given at construction.

        Raises
        ------
        NotImplementedError
            When no ``lipschitz=`` was given (L of an arbitrary function is unknown).
        """
        if self._L is None:
            raise NotImplementedError(
                "the Lipschitz constant of a Function is unknown: pass lipschitz=L to "
                "Function, or give the solver an explicit step size (lr)"
            )
        return self._L

    def strong_convexity(self) -> float:
        """The mu given at construction.

        Raises
        ------
        NotImplementedError
            When no ``strong_convexity=`` was given.
        """
        if self._mu is None:
            raise NotImplementedError(
                "the strong-convexity constant of a Function is unknown: pass "
                "strong_convexity=mu to Function"
            )
        return self._mu
