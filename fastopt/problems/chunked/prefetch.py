"""Double buffering: read block b + 1 in a background thread while block b is used.

A pass over an on-disk X costs about max(read, compute) rather than their sum, and holds
two blocks in memory whatever the file size: :func:`prefetch` alternates between two
reused buffers, handing block b (in one) to the consumer while a thread reads block
b + 1 into the other. The reads release the GIL (``readinto`` of a raw file into a NumPy
buffer, Zarr's decompression), so they overlap the kernels for real.

:class:`PrefetchedSource` is the base of the on-disk sources: it keeps the buffers
between passes and says how one block is read into one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from .source import BlockSource

__all__ = ["PrefetchedSource", "prefetch"]


class _Reader(threading.Thread):
    """One block read in the background; :meth:`result` joins it and hands the block (or
    the error) over."""

    def __init__(self, read_into, b: int, buffer) -> None:
        super().__init__(name=f"fastopt-prefetch-{b}", daemon=True)
        self._read_into, self.b, self._buffer = read_into, b, buffer
        self._block = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._block = self._read_into(self.b, self._buffer)
        except BaseException as exc:  # noqa: BLE001  handed to the consumer's thread
            self._error = exc

    def result(self):
        self.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        block, self._block = self._block, None
        return block


def prefetch(read_into: Callable, n_blocks: int, buffers, describe: Callable[[int], str]
             ) -> Iterator[tuple[int, object]]:
    """``(b, block)`` for b = 0..n_blocks-1 in order, block b + 1 read in the background.

    Parameters
    ----------
    read_into : callable ``(b, buffer) -> block``
        Reads block ``b`` into ``buffer`` (which it may fill, or ignore) and returns the
        block as the consumer takes it; called in a background thread, one call at a time.
    n_blocks : int
    buffers : sequence of two buffers
        Block b is read into ``buffers[b % 2]``: it stays valid until the consumer asks
        for block b + 1 (then block b + 2 is read into the same buffer).
    describe : callable ``b -> str``
        Block b in words, for the message of a failed read.

    Yields
    ------
    (int, object)
        The block index and the block.

    Raises
    ------
    ValueError
        A read failed: the reader's own ValueError, or an OSError (missing, shortened or
        unreadable file) turned into one that names the block.

    Notes
    -----
    The background thread never outlives the generator: when the consumer stops early
    (an exception in its loop, ``close()``, garbage collection), the read in flight is
    waited for (one block read at most) and its result dropped.
    """
    if n_blocks <= 0:
        return

    def guarded(b, buffer):
        try:
            return read_into(b, buffer)
        except OSError as exc:
            raise ValueError(f"cannot read {describe(b)}: {exc}") from exc

    pending = _Reader(guarded, 0, buffers[0])
    pending.start()
    try:
        for b in range(n_blocks):
            reader, pending = pending, None
            block = reader.result()
            if b + 1 < n_blocks:
                pending = _Reader(guarded, b + 1, buffers[(b + 1) % 2])
                pending.start()
            yield b, block
    finally:
        if pending is not None:
            # Joined, not abandoned: the thread writes into a buffer the next pass reuses.
            pending.join()


class PrefetchedSource(BlockSource):
    """A block source read from disk with :func:`prefetch` into two reused buffers.

    Subclasses define :meth:`_new_buffer` (a buffer able to hold any block) and
    :meth:`_read_into` (``(b, buffer) -> block``). The two buffers are allocated on the
    first pass and reused by the next ones; a pass started while another is still going
    (two generators alive at once) gets buffers of its own.
    """

    checked = False

    def _new_buffer(self):
        raise NotImplementedError

    def _read_into(self, b: int, buffer):
        raise NotImplementedError

    def _take_buffers(self):
        pool = self.__dict__.setdefault("_buffer_pool", [])
        lock = self.__dict__.setdefault("_buffer_lock", threading.Lock())
        with lock:
            if pool:
                return pool.pop()
        return (self._new_buffer(), self._new_buffer())

    def _give_buffers(self, buffers) -> None:
        with self._buffer_lock:
            if not self._buffer_pool:
                self._buffer_pool.append(buffers)

    def read(self, b: int):
        """Block ``b`` in a buffer of its own (not prefetched)."""
        if not 0 <= b < self.n_blocks:
            raise IndexError(f"block {b} out of range for {self.n_blocks} blocks")
        try:
            return self._read_into(b, self._new_buffer())
        except OSError as exc:
            raise ValueError(f"cannot read {self.describe(b)}: {exc}") from exc

    def blocks(self) -> Iterator[tuple[int, object]]:
        buffers = self._take_buffers()
        try:
            yield from prefetch(self._read_into, self.n_blocks, buffers, self.describe)
        finally:
            self._give_buffers(buffers)
