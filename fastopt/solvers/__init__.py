"""Optimization algorithms. Importing this package registers every method.

Each submodule registers its methods with :mod:`fastopt.solvers.registry` when
imported; they see an objective only through the Objective protocol.
"""

import importlib
import pkgutil

from . import registry

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["registry"]
