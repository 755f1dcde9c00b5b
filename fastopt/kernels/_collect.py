"""Re-export every kernel of a backend package from its submodules.

Each backend package (reference, numba, cython, cuda) calls :func:`collect` in its
``__init__``, so adding a kernel file (``updates``, ``softmax_relu``, ...) needs no edit
of a shared list: every public name in a submodule's ``__all__`` becomes an attribute of
the package, and the tests and benchmarks can iterate over backends by name.
"""

from __future__ import annotations

import importlib
import pkgutil


def collect(package_name: str, package_path, namespace: dict) -> list[str]:
    """Import every submodule of ``package_name`` and copy its ``__all__`` into ``namespace``.

    Submodules whose names start with an underscore are private and skipped. Returns the
    names exported.
    """
    exported = []
    for info in sorted(pkgutil.iter_modules(package_path), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package_name}.{info.name}")
        for name in getattr(module, "__all__", ()):
            if name in namespace and namespace[name] is not getattr(module, name):
                raise RuntimeError(f"kernel {name!r} defined twice in {package_name}")
            namespace[name] = getattr(module, name)
            exported.append(name)
    return exported
