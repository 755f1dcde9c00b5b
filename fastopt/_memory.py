"""How much memory a request may take: size options are checked before they allocate.

A size that a user passes (L-BFGS ``memory``, a sketch size, the number of columns of a
sparse matrix) sets the size of arrays the solvers allocate. An absurd value must be a
``ValueError`` naming it, not a ``MemoryError`` deep in NumPy or, worse, an allocation
the operating system grants lazily and then answers with an out-of-memory kill.
"""

from __future__ import annotations

import os

__all__ = ["available_bytes", "check_fits", "format_bytes"]

#: A request may take at most this fraction of the memory available when it is made:
#: the rest is left for the data, the other work arrays and the rest of the machine.
MAX_FRACTION = 0.5


def available_bytes() -> int:
    """Memory available to new allocations, in bytes.

    ``MemAvailable`` of ``/proc/meminfo`` on Linux (free memory plus reclaimable caches),
    else the physical memory from ``sysconf``; a very large number when neither is known,
    so that a check never refuses for want of information.
    """
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 1 << 62


def format_bytes(n: float) -> str:
    """``n`` bytes in the largest binary unit that keeps it >= 1 (``"3.0 GiB"``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    raise AssertionError("unreachable")


def check_fits(nbytes: float, what: str) -> None:
    """``ValueError`` when an allocation of ``nbytes`` would take more than
    :data:`MAX_FRACTION` of the available memory.

    Parameters
    ----------
    nbytes : float
        Size of the arrays the request implies (a float: products of user sizes may exceed
        any fixed-width integer).
    what : str
        The request in the user's words, e.g. ``"memory=10**9 (L-BFGS pairs of 10 entries)"``;
        the message starts with it.
    """
    avail = available_bytes()
    if nbytes > MAX_FRACTION * avail:
        raise ValueError(f"{what} needs {format_bytes(nbytes)} of memory, more than "
                         f"{MAX_FRACTION:.0%} of the {format_bytes(avail)} available")
