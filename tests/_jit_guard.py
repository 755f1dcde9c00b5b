"""Make compiling any numba function raise, and record it (imported first by a script).

Importing this module installs an import hook that patches numba's CPU dispatcher the
moment ``numba.core.dispatcher`` is imported, if it ever is: ``Dispatcher.compile`` then
records the function in :data:`ATTEMPTED` and raises :class:`JitCompiled`. Patching at
import time (instead of importing numba here) lets the caller also tell whether numba was
imported at all.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys

ATTEMPTED: list[str] = []


class JitCompiled(RuntimeError):
    """A numba function was about to be compiled on a default path."""


def _refuse(self, sig):
    name = f"{self.py_func.__module__}.{self.py_func.__qualname__}"
    ATTEMPTED.append(name)
    raise JitCompiled(f"numba compiled {name} on a default path")


class _PatchDispatcher(importlib.abc.MetaPathFinder):
    """Patch numba's CPU dispatcher the moment it is imported (if it ever is), so the
    script can also report whether fastopt imported numba at all."""

    def find_spec(self, name, path, target=None):
        if name != "numba.core.dispatcher":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        sys.meta_path.insert(0, self)
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            module.Dispatcher.compile = _refuse

        loader.exec_module = exec_and_patch
        return spec


sys.meta_path.insert(0, _PatchDispatcher())
