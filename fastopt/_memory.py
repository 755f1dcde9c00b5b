"""How much memory a request may take: size options are checked before they allocate.

A size that a user passes (L-BFGS ``memory``, a sketch size, the number of columns of a
sparse matrix) sets the size of arrays the solvers allocate. An absurd value must be a
``ValueError`` naming it, not a ``MemoryError`` deep in NumPy or, worse, an allocation
the operating system grants lazily and then answers with an out-of-memory kill.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["available_bytes", "check_fits", "format_bytes"]

#: A request may take at most this fraction of the memory available when it is made:
#: the rest is left for the data, the other work arrays and the rest of the machine.
MAX_FRACTION = 0.5


def available_bytes() -> int:
    """Bytes this process may still allocate.

    The least of the system's available memory (``MemAvailable``: free memory plus
    reclaimable caches; else the free physical pages), the address-space limit
    (``ulimit -v``, less what the process already maps) and the cgroup v2 limit (less
    its usage): any of them ends a run that outgrows it. A very large number when none
    is known, so that a check never refuses for want of information.
    """
    known = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    known.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    if not known:
        try:
            known.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, OSError, ValueError):
            pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm", encoding="ascii") as f:
                mapped = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            known.append(max(soft - mapped, 0))
    except (ImportError, OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text())
            known.append(max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    return min(known) if known else 1 << 62


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
