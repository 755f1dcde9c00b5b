"""Registry of optimization methods: name -> solver.

A solver is registered with the options it accepts (beyond the common ones handled by
:func:`fastopt.minimize`) and their defaults; ``minimize`` rejects unknown options by
name before the solver runs. This replaces an ``if method == ...`` chain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SolverSpec:
    """One registered method.

    Attributes
    ----------
    name : str
        Public method name (``"nesterov"``, ``"newton-cg"``, ...).
    func : callable
        ``func(objective, x0, options, run) -> OptimizeResult`` where ``options`` is the
        dict of method options (defaults filled in) and ``run`` the shared
        stopping/history context built by ``minimize``.
    options : dict
        Method-specific option names and their defaults.
    order : int
        1 for first-order methods, 2 for methods that use curvature.
    own_kernels : bool
        Whether the method runs kernels of its own (updates, a two-loop recursion), which
        ``fo.minimize(..., backend=...)`` chooses; a method without runs only the
        objective's kernels, and a ``backend`` it would ignore is refused.
    """

    name: str
    func: Callable
    options: dict = field(default_factory=dict)
    order: int = 1
    own_kernels: bool = True


_SOLVERS: dict[str, SolverSpec] = {}


def register(name: str, *, options: dict | None = None, order: int = 1,
             own_kernels: bool = True):
    """Decorator registering ``func`` as method ``name``."""

    def decorator(func):
        if name in _SOLVERS:
            raise RuntimeError(f"method {name!r} registered twice")
        _SOLVERS[name] = SolverSpec(name, func, dict(options or {}), order, own_kernels)
        return func

    return decorator


def get(name: str) -> SolverSpec:
    """The spec of method ``name``; ``ValueError`` listing the known ones otherwise."""
    try:
        return _SOLVERS[name]
    except KeyError:
        known = ", ".join(sorted(_SOLVERS))
        raise ValueError(f"unknown method {name!r}; known methods: {known}") from None


def names() -> list[str]:
    """All registered method names."""
    return sorted(_SOLVERS)
