"""The header of an .npy stream, read before NumPy allocates what it claims.

``numpy.load`` allocates the array a header describes and then reads into it, so a
damaged or hostile header claiming terabytes costs that much memory (or an out-of-memory
kill) before any error. The readers of fastopt's cache and of user files read the header
first and compare its size with the bytes actually stored.
"""

from __future__ import annotations

__all__ = ["read_npy_header", "read_npy_layout"]


def read_npy_header(fp):
    """``(shape, dtype)`` from an open binary .npy stream positioned at its start, or None
    for a format version that has no public header reader."""
    layout = read_npy_layout(fp)
    return None if layout is None else (layout[0], layout[2])


def read_npy_layout(fp):
    """``(shape, fortran_order, dtype)`` from an open binary .npy stream positioned at its
    start (then at the first byte of the data), or None for a format version that has no
    public header reader. NumPy's ValueError for a stream that is not .npy propagates."""
    from numpy.lib import format as npy_format

    version = npy_format.read_magic(fp)
    if version == (1, 0):
        return npy_format.read_array_header_1_0(fp)
    if version == (2, 0):
        return npy_format.read_array_header_2_0(fp)
    return None
