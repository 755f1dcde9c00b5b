"""Cython (OpenMP) kernels, compiled by setup.py from the .pyx files beside this one.

Every kernel of every compiled submodule is re-exported (see docs/contract.md). When the
extensions are not built (a source checkout without ``pip install``), the package
imports with no kernels and :func:`is_usable` says why.
"""

import importlib.machinery
import pkgutil

from .._collect import collect

_BUILT = any(
    info.name for info in pkgutil.iter_modules(__path__)
    if not info.name.startswith("_")
)

__all__ = collect(__name__, __path__, globals()) if _BUILT else []


def is_usable():
    """None if the compiled kernels are present, else the reason they are not."""
    if not __all__:
        suffixes = ", ".join(importlib.machinery.EXTENSION_SUFFIXES)
        return f"Cython extensions are not built (no {suffixes} modules); run `pip install .`"
    return None
