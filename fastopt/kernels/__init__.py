"""Compiled kernels, one package per backend, all with the same names and signatures.

``get_backend(name)`` returns the backend package; ``available_backends()`` says which
ones import and run here. See ``docs/contract.md`` for the signatures.
"""

from __future__ import annotations

import functools
import importlib

from .. import _config

#: Public backend name -> package holding its kernels.
BACKEND_MODULES = {
    "numpy": "fastopt.kernels.reference",
    "numba": "fastopt.kernels.numba",
    "cython": "fastopt.kernels.cython",
    "cuda": "fastopt.kernels.cuda",
}


@functools.cache
def _probe(name: str) -> str | None:
    """None if backend ``name`` is usable here, else the reason it is not."""
    try:
        module = importlib.import_module(BACKEND_MODULES[name])
    except Exception as exc:  # an unbuilt extension or a missing optional package
        return f"{type(exc).__name__}: {exc}"
    is_usable = getattr(module, "is_usable", None)
    if is_usable is not None:
        reason = is_usable()
        if reason is not None:
            return reason
    return None


def available_backends() -> list[str]:
    """Names of the backends that work on this machine, fastest first."""
    order = ["numba", "cython", "cuda", "numpy"]
    return [name for name in order if _probe(name) is None]


def resolve_backend(backend: str) -> str:
    """Map ``"auto"`` to the default backend and check that ``backend`` is usable.

    Raises
    ------
    ValueError
        If ``backend`` is not a known name, or is known but unusable here (the reason
        is in the message).
    """
    if backend == "auto":
        backend = _config.DEFAULT_BACKEND
        if _probe(backend) is not None:
            backend = "numpy"
    if backend not in BACKEND_MODULES:
        raise ValueError(
            f"backend must be 'auto' or one of {sorted(BACKEND_MODULES)}, got {backend!r}"
        )
    reason = _probe(backend)
    if reason is not None:
        raise ValueError(f"backend {backend!r} is not available here: {reason}")
    return backend


def get_backend(backend: str):
    """The kernel package of ``backend`` (after :func:`resolve_backend`)."""
    return importlib.import_module(BACKEND_MODULES[resolve_backend(backend)])
