"""Numba kernels: every kernel of every submodule, re-exported (see docs/contract.md)."""

from .._collect import collect

__all__ = collect(__name__, __path__, globals())
