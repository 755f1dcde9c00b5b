"""X stored as ``.npy`` files, read one row block at a time into two reused buffers.

:class:`NpyFile` reads one large 2-D ``.npy`` file block by block; :class:`NpyDirectory`
reads a directory of ``.npy`` files, one block each. A block is mapped
read-only (the page cache itself, no copy) and its pages brought in by the prefetch
thread while the kernels run on the previous block; a block that cannot be mapped so (a
big-endian file, to be byte-swapped) is read with ``readinto`` into a reused NumPy
buffer. A file larger than half of the memory the process may use is mapped one block at
a time, so the process holds two blocks whatever the file size; a smaller one stays
mapped between passes (:meth:`_NpyBlocks.blocks`).

Headers are checked when the source is opened (2-D, C order, float32/float64, the file
exactly as long as the header says), so a truncated or wrong file is a ValueError naming
it before any pass; the values are checked by the data on the first pass (NaN or
infinity: a ValueError naming the block). Files are opened read-only, never modified.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

import numpy as np

from ..._memory import available_bytes
from ..._npy_header import read_npy_layout
from ._checks import check_block_rows
from .prefetch import PrefetchedSource
from .source import even_bounds

__all__ = ["BLOCK_BYTES", "NpyDirectory", "NpyFile", "npy_layout"]

#: Default size of a block's values: large enough that a pass's per-block costs (one
#: read call, one kernel call per term) vanish, small enough that two blocks are cheap.
BLOCK_BYTES = 64 * 2**20

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def npy_layout(path: Path) -> tuple[tuple[int, int], np.dtype, bool, int]:
    """``(shape, native dtype, byte-swapped, data offset)`` of a 2-D float ``.npy`` file.

    Raises
    ------
    ValueError
        Missing or unreadable file, not an ``.npy`` file, not 2-D, Fortran order, a dtype
        other than float32/float64 (in either byte order), or a size that does not match
        the header (truncated, or bytes after the array); the message names the file.
    """
    try:
        with open(path, "rb") as fp:
            try:
                layout = read_npy_layout(fp)
                if layout is None:
                    # Version 3 exists for structured dtypes with non-ASCII field names,
                    # which no float X has.
                    raise ValueError("unsupported format version")
                shape, fortran, dtype = layout
            except ValueError as exc:
                raise ValueError(f"{path}: not a readable .npy file ({exc})") from None
            offset = fp.tell()
            size = os.fstat(fp.fileno()).st_size
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a directory, not an .npy file") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc})") from None
    if len(shape) != 2:
        raise ValueError(f"{path}: X must be a 2-D array; this file holds a {len(shape)}-D "
                         f"array of shape {shape}")
    if dtype.kind != "f" or dtype.newbyteorder("=") not in _FLOATS:
        raise ValueError(f"{path}: dtype {dtype} is not float32 or float64; convert it "
                         "first (e.g. np.save(path, X.astype(np.float64)))")
    if fortran and shape[0] > 1 and shape[1] > 1:
        raise ValueError(f"{path}: the array is stored in Fortran (column) order, which "
                         "cannot be read in row blocks; save it in C order "
                         "(np.save(path, np.ascontiguousarray(X)))")
    native = dtype.newbyteorder("=")
    swapped = not dtype.isnative
    expected = offset + shape[0] * shape[1] * dtype.itemsize
    if size < expected:
        raise ValueError(f"{path}: truncated: the header says {shape[0]} x {shape[1]} "
                         f"{native} ({expected} bytes with the header), the file has "
                         f"{size} bytes")
    if size > expected:
        raise ValueError(f"{path}: {size - expected} bytes after the {shape[0]} x "
                         f"{shape[1]} array the header describes; not a single .npy array")
    if shape[1] < 1:
        raise ValueError(f"{path}: X has no columns (shape {shape})")
    return (int(shape[0]), int(shape[1])), native, swapped, offset


def _read_exact(fp, offset: int, view: memoryview, path) -> None:
    """Fill ``view`` with the bytes at ``offset`` of the raw file ``fp``."""
    fp.seek(offset)
    done, total = 0, len(view)
    while done < total:
        got = fp.readinto(view[done:])
        if not got:
            raise ValueError(f"{path}: file shorter than its header says (changed since it "
                             "was opened?)")
        done += got


class _NpyBlocks(PrefetchedSource):
    """What the two ``.npy`` sources share: blocks are row ranges of files, read into a
    reused byte buffer viewed as the block."""

    is_sparse = False
    _swapped = False
    _row_bytes: int
    _max_rows: int

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self.shape[1] * self.dtype.itemsize

    def _new_buffer(self):
        return np.empty(self._max_rows * self._row_bytes, dtype=np.uint8)

    def _file_range(self, b: int) -> tuple[Path, int, int]:
        """``(file, byte offset, rows)`` of block b."""
        raise NotImplementedError

    def _keep_maps(self) -> None:
        """Decide whether mapped blocks stay mapped between passes (see :meth:`blocks`)."""
        self._kept: dict = {}
        self._keep = not self._swapped and self.nbytes <= available_bytes() // 2

    def blocks(self):
        """``(b, X_b)`` in order, the next block mapped (or read) in the background.

        A file that fits in half of the memory the process may use stays mapped between
        passes: its pages are the page cache's (clean, reclaimable, shared), and the
        passes after the first read them at memory speed with no page fault. A larger
        file is mapped one block at a time, so the process holds two blocks.
        """
        if self._kept:
            for path, size in self._sizes():
                if os.stat(path).st_size < size:
                    raise ValueError(f"{path}: file shorter than its header says (changed "
                                     "since it was opened?)")
            if len(self._kept) == self.n_blocks:  # all mapped: nothing to read ahead
                yield from ((b, self._kept[b]) for b in range(self.n_blocks))
                return
        yield from super().blocks()

    def _sizes(self):
        raise NotImplementedError

    def _read_into(self, b: int, buffer):
        if b in self._kept:
            return self._kept[b]
        path, offset, rows = self._file_range(b)
        nbytes = rows * self._row_bytes
        if not self._swapped:
            block = _mapped_block(path, offset, nbytes, self.dtype, (rows, self.shape[1]))
            if block is not None:
                if self._keep:
                    self._kept[b] = block
                return block
        # Unbuffered: readinto goes from the kernel straight into the NumPy buffer, the
        # GIL released meanwhile.
        with open(path, "rb", buffering=0) as fp:
            _read_exact(fp, offset, memoryview(buffer)[:nbytes], path)
        block = buffer[:nbytes].view(self.dtype).reshape(rows, self.shape[1])
        if self._swapped:
            block.byteswap(inplace=True)
        return block


def _mapped_block(path, offset: int, nbytes: int, dtype, shape) -> np.ndarray | None:
    """The bytes ``offset:offset + nbytes`` of ``path`` mapped read-only as an array of
    ``shape``, its pages brought into memory here (in the prefetch thread); None when
    they cannot be mapped as an aligned array (the caller then reads them).

    A mapped block is the page cache itself: no copy, where a read into a buffer copies
    every byte once more. The map is released with the block's last reference.
    """
    start = offset - offset % mmap.ALLOCATIONGRANULARITY
    with open(path, "rb") as fp:
        if os.fstat(fp.fileno()).st_size < offset + nbytes:
            # Touching a mapped page past the end of a file is a SIGBUS, not an error.
            raise ValueError(f"{path}: file shorter than its header says (changed since it "
                             "was opened?)")
        try:
            mapped = mmap.mmap(fp.fileno(), offset - start + nbytes, offset=start,
                               access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return None
    raw = np.frombuffer(mapped, dtype=np.uint8, count=nbytes, offset=offset - start)
    block = raw.view(dtype).reshape(shape)
    if not block.flags.aligned:
        return None
    if hasattr(mmap, "MADV_WILLNEED"):
        mapped.madvise(mmap.MADV_WILLNEED)  # start the disk reads of a cold file at once
    # One byte per page: the page faults (and, for a cold file, the disk reads) happen
    # here, in the prefetch thread (NumPy's loop releases the GIL), not in the kernels.
    raw[::mmap.PAGESIZE].max(initial=0)
    return block


class NpyFile(_NpyBlocks):
    """One 2-D float ``.npy`` file read in row blocks, two blocks in memory at a time.

    Parameters
    ----------
    path : str or path-like
        A C-order float32 or float64 ``.npy`` file of shape (m, n) (big-endian ones are
        byte-swapped as read).
    block_rows : int, optional
        Rows per block; default about 64 MB of values per block.

    Raises
    ------
    ValueError
        What :func:`npy_layout` refuses (missing, truncated, not 2-D, not float, Fortran
        order), named with the file.
    """

    def __init__(self, path, block_rows: int | None = None) -> None:
        self.path = Path(path)
        self.shape, self.dtype, self._swapped, self._offset = npy_layout(self.path)
        m, n = self.shape
        self._row_bytes = n * self.dtype.itemsize
        if block_rows is None:
            block_rows = max(1, BLOCK_BYTES // self._row_bytes)
        block_rows = check_block_rows(block_rows)
        self.bounds = even_bounds(m, block_rows)
        self._max_rows = max(1, min(block_rows, m))
        self._keep_maps()

    def _sizes(self):
        return [(self.path, self._offset + self.nbytes)]

    def _file_range(self, b: int):
        start, stop = int(self.bounds[b]), int(self.bounds[b + 1])
        return self.path, self._offset + start * self._row_bytes, stop - start

    def _location(self, b: int) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return (f"NpyFile({str(self.path)!r}, {self.shape[0]} x {self.shape[1]} "
                f"{self.dtype}, {self.n_blocks} blocks)")


class NpyDirectory(_NpyBlocks):
    """A directory of 2-D float ``.npy`` files, one row block each, in file-name order.

    Parameters
    ----------
    path : str or path-like
        A directory whose ``*.npy`` files (sorted by name) hold consecutive row blocks
        of X: all C order, with the same number of columns and the same dtype
        (float32 or float64), each with at least one row. Other files are ignored.

    Raises
    ------
    ValueError
        No such directory, no ``.npy`` file in it, a file :func:`npy_layout` refuses, a
        file with no rows, or files that differ in columns or dtype; the message names
        the file.
    """

    def __init__(self, path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise ValueError(f"{self.path}: no such directory")
        self.files = sorted(p for p in self.path.iterdir() if p.name.endswith(".npy"))
        if not self.files:
            raise ValueError(f"{self.path}: the directory holds no .npy file")
        rows, self._offsets = [], []
        first = None
        for file in self.files:
            shape, dtype, swapped, offset = npy_layout(file)
            if shape[0] < 1:
                raise ValueError(f"{file}: the block has no rows")
            if first is None:
                first = (shape[1], dtype, swapped, file)
            elif (shape[1], dtype, swapped) != first[:3]:
                raise ValueError(f"{file}: {shape[1]} columns of {dtype} "
                                 f"({'big' if swapped else 'native'}-endian), but "
                                 f"{first[3].name} has {first[0]} columns of {first[1]} "
                                 f"({'big' if first[2] else 'native'}-endian); all blocks "
                                 "must agree")
            rows.append(shape[0])
            self._offsets.append(offset)
        n, self.dtype, self._swapped = first[0], first[1], first[2]
        self.bounds = np.concatenate([[0], np.cumsum(rows)]).astype(np.int64)
        self.shape = (int(self.bounds[-1]), int(n))
        self._row_bytes = n * self.dtype.itemsize
        self._max_rows = max(rows)
        self._keep_maps()

    def _sizes(self):
        return [(file, offset + (self.bounds[b + 1] - self.bounds[b]) * self._row_bytes)
                for b, (file, offset) in enumerate(zip(self.files, self._offsets,
                                                       strict=True))]

    def _file_range(self, b: int):
        return (self.files[b], self._offsets[b],
                int(self.bounds[b + 1] - self.bounds[b]))

    def _location(self, b: int) -> str:
        return f"file {self.files[b]}"

    def __repr__(self) -> str:
        return (f"NpyDirectory({str(self.path)!r}, {self.shape[0]} x {self.shape[1]} "
                f"{self.dtype}, {self.n_blocks} files)")
