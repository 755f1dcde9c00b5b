"""Compiled kernels, one package per backend, all with the same names and signatures.

``get_backend(name)`` returns the backend package; ``available_backends()`` says which
ones import and run here; ``resolve_backend("auto")`` picks the default. See
``docs/contract.md`` for the signatures.

``"auto"`` means the Cython backend: it is compiled ahead of time, when the package is
installed, so a fresh process answers without compiling anything. numba compiles each
kernel the first time a process calls it (seconds per kernel family, in every new
process), so it is chosen by name only. If the Cython extensions are missing (a source
checkout that was never built), ``"auto"`` falls back to numba, then to NumPy, with a
one-time :class:`FallbackWarning` that says why.
"""

from __future__ import annotations

import functools
import importlib
import warnings

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


#: The order in which ``"auto"`` tries the CPU backends: ahead-of-time compiled first.
AUTO_ORDER = ("cython", "numba", "numpy")


class FallbackWarning(RuntimeWarning):
    """``backend="auto"`` could not use the ahead-of-time backend and fell back."""


def available_backends() -> list[str]:
    """Names of the backends that work on this machine, the default (``"auto"``) first.

    The probe imports each backend package (numba's kernels are compiled only when
    called, so this compiles nothing).
    """
    order = ["cython", "numba", "cuda", "numpy"]
    return [name for name in order if _probe(name) is None]


def auto_choice() -> tuple[str, str | None]:
    """``(backend, why_not_preferred)``: what ``"auto"`` picks now, and why it is not the
    preferred one (None when it is). ``FASTOPT_BACKEND`` sets the preferred backend."""
    preferred = _config.DEFAULT_BACKEND
    why = _probe(preferred) if preferred in BACKEND_MODULES else f"unknown backend {preferred!r}"
    if why is None:
        return preferred, None
    for name in AUTO_ORDER:
        if _probe(name) is None:
            return name, why
    return "numpy", why


@functools.cache
def auto_backend() -> str:
    """The backend ``"auto"`` resolves to in this process (decided once).

    Warns once (:class:`FallbackWarning`) when the preferred backend is not usable.
    """
    name, why = auto_choice()
    if why is not None:
        warnings.warn(
            f"fastopt: backend 'auto' uses {name!r} because {_config.DEFAULT_BACKEND!r} is "
            f"not available ({why})"
            + ("; numba compiles each kernel on its first call in every process"
               if name == "numba" else ""),
            FallbackWarning, stacklevel=3)
    return name


def resolve_backend(backend: str) -> str:
    """Map ``"auto"`` to the default backend and check that ``backend`` is usable.

    Raises
    ------
    ValueError
        If ``backend`` is not a known name, or is known but unusable here (the reason
        is in the message).
    """
    if backend == "auto":
        backend = auto_backend()
    if backend not in BACKEND_MODULES:
        raise ValueError(
            f"backend must be 'auto' or one of {sorted(BACKEND_MODULES)}, got {backend!r}"
        )
    reason = _probe(backend)
    if reason is not None:
        raise ValueError(f"backend {backend!r} is not available here: {reason}")
    return backend


#: Backend -> module of its compiled first-order loop (``fo_loop``, ``gradient_loop``,
#: ``clock``), imported on first use (so a Cython run never imports numba).
COMPILED_LOOPS = {
    "cython": "fastopt.kernels.cython._fo_loop",
    "numba": "fastopt.kernels.numba._fo_loop",
}
#: Backends whose arrays live on a device: a run's host-side steps (updates, two-loop
#: recursions) use the ``"auto"`` backend instead.
DEVICE_BACKENDS = frozenset({"cuda"})
#: Backends whose data passes are compiled CPU kernels running their own threads (BLAS
#: is then left on one thread for the small dense algebra of a solve).
THREADED_HOST_BACKENDS = frozenset({"cython", "numba"})


def host_backend(backend) -> str:
    """The backend of a run's host-side kernels for an objective on ``backend``: itself
    for a CPU backend, ``"auto"`` for a device backend or anything else (a user function
    has no backend)."""
    if backend in BACKEND_MODULES and backend not in DEVICE_BACKENDS:
        return backend
    return "auto"


def is_device(backend) -> bool:
    """Whether ``backend`` keeps its arrays on a device."""
    return backend in DEVICE_BACKENDS


def threaded_host(backend) -> bool:
    """Whether ``backend``'s data passes are compiled, threaded CPU kernels."""
    return backend in THREADED_HOST_BACKENDS


def compiled_loop(backend):
    """The module of ``backend``'s compiled first-order loop, or None if it has none.

    Raises ``ImportError`` when the backend has a loop that cannot be imported here (a
    Cython build that predates the loop extension).
    """
    name = COMPILED_LOOPS.get(backend)
    return None if name is None else importlib.import_module(name)


def backend_package(backend: str):
    """The kernel package of an objective's ``backend``, which was resolved (and found
    usable) when the objective was built: imported without probing again."""
    return importlib.import_module(BACKEND_MODULES[backend])


def get_backend(backend: str):
    """The kernel package of ``backend`` (after :func:`resolve_backend`)."""
    return importlib.import_module(BACKEND_MODULES[resolve_backend(backend)])
