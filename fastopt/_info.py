"""``fo.info()``: versions, backends and threads, for bug reports and CI logs."""

from __future__ import annotations

import importlib
import os
import platform
import sys

__all__ = ["info"]


def _version(module_name: str) -> str:
    """Version of an installed package, or why it is missing (without raising)."""
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # not installed, or broken: either way say so
        return f"not available ({type(exc).__name__})"
    return str(getattr(module, "__version__", "unknown version"))


def _numba_cuda_version() -> str | None:
    """Version of the numba-cuda package if it is installed (None otherwise)."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - Python < 3.8
        return None
    try:
        return version("numba-cuda")
    except PackageNotFoundError:
        return None


def _cython_built() -> str:
    from .kernels import _probe

    reason = _probe("cython")
    return "yes" if reason is None else "no"


def _openmp_threads() -> str:
    value = os.environ.get("OMP_NUM_THREADS")
    return value if value else "unset (OpenMP default: all cores)"


def info() -> str:
    """A multi-line report of the versions, backends and threads of this installation.

    Lists the versions of fastopt, Python, NumPy, SciPy, Numba, scikit-learn and
    numba-cuda (when installed); whether the Cython kernels are built; the available
    backends (the one "auto" picks, and why) and, for the others, why they are not; the
    thread counts
    (Numba, OpenMP) and the number of CPUs. ``python -m fastopt info`` prints it.

    Returns
    -------
    str
    """
    import fastopt

    from . import _config
    from .kernels import BACKEND_MODULES, _probe, auto_choice, available_backends

    lines = ["fastopt " + fastopt.__version__]
    lines.append(f"  python        {platform.python_version()} ({sys.executable})")
    lines.append(f"  platform      {platform.platform()}")
    for label, module in (("numpy", "numpy"), ("scipy", "scipy"), ("numba", "numba"),
                          ("scikit-learn", "sklearn"), ("Cython", "Cython")):
        lines.append(f"  {label:<13} {_version(module)}")
    cuda_version = _numba_cuda_version()
    lines.append(f"  numba-cuda    {cuda_version if cuda_version else 'not installed'}")
    lines.append(f"  cython kernels built: {_cython_built()}")

    lines.append("backends")
    available = available_backends()
    lines.append(f"  available     {', '.join(available) if available else 'none'}")
    auto, not_preferred = auto_choice()
    if not_preferred is not None:
        why = f"fallback: {_config.DEFAULT_BACKEND!r} is unavailable ({not_preferred})"
    elif auto == "cython":
        why = "compiled ahead of time, at install: nothing compiles at call time"
    else:
        why = "chosen by FASTOPT_BACKEND"
    lines.append(f"  auto          {auto} ({why}; FASTOPT_BACKEND overrides)")
    lines.append("  numba         compiles each kernel on its first call in a process "
                 "(by name: backend='numba')")
    for name in sorted(BACKEND_MODULES):
        if name not in available:
            lines.append(f"  {name:<13} unavailable: {_probe(name)}")

    lines.append("threads")
    try:
        numba_threads = str(_config.get_num_threads())
    except Exception as exc:  # numba present but its threading layer failed
        numba_threads = f"unknown ({type(exc).__name__}: {exc})"
    lines.append(f"  numba         {numba_threads}")
    lines.append(f"  OpenMP        OMP_NUM_THREADS={_openmp_threads()}")
    lines.append(f"  CPUs          {os.cpu_count()}")
    try:
        lines.append(f"  CPUs usable   {len(os.sched_getaffinity(0))}")
    except AttributeError:  # not on Linux
        pass
    return "\n".join(lines)
