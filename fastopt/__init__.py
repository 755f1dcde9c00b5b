"""fastopt: compiled first- and second-order optimization for Python.

Public names are loaded lazily (PEP 562), so ``import fastopt`` stays cheap and the
plotting and estimator layers import matplotlib and scikit-learn only when used.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "problems", "kernels", "solvers", "updates", "schedules", "theory", "datasets",
    "plot", "linear_model", "experiments", "chunked", "batch",
}
_ATTRIBUTES = {
    "OptimizeResult": ("fastopt._result", "OptimizeResult"),
    "Status": ("fastopt._result", "Status"),
    "LogisticRegression": ("fastopt.linear_model", "LogisticRegression"),
    "PoissonRegressor": ("fastopt.linear_model", "PoissonRegressor"),
    "LogisticRegressionCV": ("fastopt.linear_model", "LogisticRegressionCV"),
    "path": ("fastopt.regularization_path", "path"),
    "backends": ("fastopt.kernels", "available_backends"),
    "info": ("fastopt._info", "info"),
    "set_num_threads": ("fastopt._config", "set_num_threads"),
    "get_num_threads": ("fastopt._config", "get_num_threads"),
}

# Eager, because importing the submodule ``fastopt.minimize`` would otherwise bind the
# module, not the function, to the package attribute of the same name (as in scipy).
from .minimize import minimize as minimize  # noqa: E402

__all__ = sorted(_SUBMODULES | set(_ATTRIBUTES) | {"minimize"})


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"fastopt.{name}")
    if name in _ATTRIBUTES:
        module, attr = _ATTRIBUTES[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'fastopt' has no attribute {name!r}")


def __dir__():
    return __all__
