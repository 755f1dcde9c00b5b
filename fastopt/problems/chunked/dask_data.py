"""Chunked data on Dask: X a ``dask.array`` whose row blocks stay where Dask keeps them.

:class:`DaskLinearData` is the chunked data
(:class:`~fastopt.problems.chunked.base.ChunkedLinearData`) of a dask array X. At
construction the blocks are validated and persisted on the workers, each with its rows'
targets and weights (one Dask object per block, so a pass needs no data but the
operands). A pass computes each block's term (:mod:`fastopt.problems.chunked.tasks`) on
the worker holding it, one call per worker, and sums the terms by a tree of pairwise sums
(:func:`pairwise_sum`) whose shape depends on the block count only, so the result is the
same bits for any worker count, thread count or scheduling.

What moves, per pass: the operands w (and v), 8 p bytes, to each worker; per worker, the
sums of the runs of 8 blocks it holds whole and the terms of its other blocks (8 p bytes
each, 8 p^2 for the Hessian) back here. One call per worker, answered by the worker (an
actor: no scheduler in the loop); X never moves. Dask is imported only here.
"""

from __future__ import annotations

import sys
import time
import uuid

import numpy as np
import scipy.sparse as sp

from ...kernels import backend_package
from .._validation import check_dtype_option, check_sample_weight
from ..linear_data import is_dask_array
from ._checks import check_block
from .base import ChunkedLinearData, resolve_host_backend
from .tasks import block_data

__all__ = ["GROUP_BLOCKS", "DaskLinearData", "pairwise_sum"]

#: Consecutive blocks whose terms are summed where they are held (a power of two, see
#: :meth:`DaskLinearData.reduce`): a worker holding such a run whole sends back one
#: array of p (p^2 for the Hessian) floats for it instead of eight.
GROUP_BLOCKS = 8

#: An actor call unanswered after 20x the slowest call so far (at least 30 s) is given
#: up for scheduled tasks: a reply lost by the transport costs a delay, never a hang.
ACTOR_TIMEOUT_MIN_S = 30.0
ACTOR_TIMEOUT_FACTOR = 20.0

#: The errors by which Dask reports lost work (a worker that died with the only copy of a
#: result that cannot be recomputed, or a task that killed too many workers); matched by
#: name, so that neither ``distributed`` nor ``concurrent.futures`` internals are imported.
_LOST_WORK_ERRORS = ("KilledWorker", "FutureCancelledError", "CancelledError",
                     "FuturesCancelledError", "CommClosedError")


class DaskLinearData(ChunkedLinearData):
    """X a ``dask.array`` of row blocks; passes run on the workers holding the blocks.

    Build it with :meth:`from_input`. The blocks are one Dask object each: with a
    ``distributed.Client`` (the one current at construction, ``Client.current()``, kept)
    a future per block, persisted on the cluster; without one, the blocks computed once
    by Dask's threaded scheduler and held in this process, and the passes run by that
    scheduler.

    Faults: a worker that dies takes its blocks with it; the scheduler recomputes them
    from X's graph (and reruns the pass's lost tasks), so the pass returns the same bits
    as without the fault. When they cannot be recomputed (X built from data that lived
    only on that worker, e.g. scattered, or a task that killed
    ``distributed.scheduler.allowed-failures`` workers) the pass raises a RuntimeError
    saying that a worker died and the fit stopped.

    Parameters
    ----------
    blocks : list of K distributed futures or ``dask.delayed`` objects
        Block b: the tuple ``(X_b, y_b, sw_b)``, sw_b the block's normalized weights.
    bounds : ndarray of shape (K + 1,), int64
        Block b holds rows ``bounds[b]:bounds[b + 1]``.
    n_features : int
    dtype : numpy.dtype
    is_sparse : bool
    backend : str
        A resolved CPU backend.
    client : distributed.Client or None

    Attributes
    ----------
    n_samples, n_features : int
    dtype : numpy.dtype
    is_sparse : bool
    backend : str
    kernels : module
    n_blocks : int
    bounds : ndarray of shape (K + 1,), int64
    client : distributed.Client or None
        The client the passes are submitted through (None: Dask's threaded scheduler).
    on_device, in_memory : bool
        Both False, as for every chunked data.
    """

    on_device = False
    in_memory = False

    def __init__(self, blocks, bounds: np.ndarray, n_features: int, dtype, is_sparse: bool,
                 backend: str, client) -> None:
        self._blocks = list(blocks)
        self.bounds = bounds
        self.n_samples = int(bounds[-1])
        self.n_features = int(n_features)
        self.dtype = np.dtype(dtype)
        self.is_sparse = bool(is_sparse)
        self.backend = backend
        self.kernels = backend_package(backend)
        self.n_blocks = len(self._blocks)
        self.client = client
        self._where = None
        self._actors = None
        self._slowest_call = 0.0

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_input(cls, X, y, sample_weight, *, check_targets, backend: str = "auto",
                   dtype=None) -> DaskLinearData:
        """Validate X (on the workers), y and the weights (here), and persist the blocks.

        y and the weights are computed to this process (8 bytes per row each) for the
        objective's checks (``check_targets(y, m)``: Logistic's two labels, finiteness),
        then travel in the blocks' graph, each block's slice to the worker building the
        block. X is not moved: its blocks are converted (dtype, C order, canonical CSR),
        checked (finite values, CSR structure) and persisted where Dask computes them.

        Parameters
        ----------
        X : dask.array.Array of shape (m, n)
            Dense chunks or scipy.sparse chunks (``X.map_blocks(scipy.sparse.csr_matrix)``),
            known chunk sizes; several column chunks are merged into one.
        y : dask.array.Array or array_like of shape (m,)
        sample_weight : None, dask.array.Array or array_like of shape (m,)
        check_targets : callable ``(y, m) -> ndarray``
        backend : str
            A CPU backend (a GPU one is refused).
        dtype : None, numpy.float32 or numpy.float64

        Raises
        ------
        ValueError
            X not 2-D, empty, of unknown chunk sizes; y or the weights of another length
            than X; a block with NaN or infinity or a malformed CSR structure (naming the
            block and its rows); a GPU backend.
        TypeError
            X of a non-numeric dtype, or chunks that are neither arrays nor scipy.sparse.
        """
        forced = check_dtype_option(dtype)
        if not is_dask_array(X):
            raise TypeError(f"X must be a dask.array; got {type(X).__name__}")
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D dask array; got {X.ndim} dimensions "
                             f"(shape {X.shape})")
        if any(c != c for c in X.chunks[0]) or any(c != c for c in X.chunks[1]):
            raise ValueError(f"X has unknown chunk sizes ({X!r}); call "
                             "X.compute_chunk_sizes() first")
        m, n = (int(s) for s in X.shape)
        if m < 1 or n < 1:
            raise ValueError(f"X must have at least one row and one column; got shape "
                             f"{X.shape}")
        kind = np.dtype(X.dtype).kind
        if kind not in "biuf":
            raise TypeError(f"X must have a numeric (integer or float) dtype; got {X.dtype}")
        out_dtype = forced or (np.dtype(X.dtype) if np.dtype(X.dtype) == np.float32
                               else np.dtype(np.float64))
        resolved = resolve_host_backend(backend)
        client = _current_client()

        yc = check_targets(_to_host(y, "y", m, X), m)
        sw = None if sample_weight is None else \
            check_sample_weight(_to_host(sample_weight, "sample_weight", m, X), m)

        if len(X.chunks[1]) > 1:
            X = X.rechunk({1: -1})
        is_sparse = sp.issparse(getattr(X, "_meta", None))
        bounds = np.concatenate([[0], np.cumsum(X.chunks[0])]).astype(np.int64)
        blocks = _prepared_blocks(X, yc, sw, bounds, n, out_dtype, is_sparse,
                                  capture_errors=client is None)
        if client is not None:
            futures = client.compute(blocks)
            _raise_first_error(futures)
            blocks = futures
        else:
            import dask

            computed = dask.compute(*blocks, scheduler="threads")
            for c in computed:  # the first bad block in block order, as with a client
                if isinstance(c, Exception):
                    raise c
            tag = f"fastopt-block-{uuid.uuid4().hex}"
            blocks = [dask.delayed(c, name=f"{tag}-{b}", traverse=False)
                      for b, c in enumerate(computed)]
        return cls(blocks, bounds, n, out_dtype, is_sparse, resolved, client)

    # ------------------------------------------------------------------ passes

    def reduce(self, task, *operands) -> np.ndarray:
        """``sum_b task(block_b, *operands)``: the terms computed where the blocks live, then
        pairwise sums in a tree fixed by the block count; a new float64 array.

        The tree's lowest levels are sums over runs of :data:`GROUP_BLOCKS` consecutive
        blocks, its top levels here, over the runs' sums. A run of a power-of-two length
        starting at a multiple of it is a subtree of the pairwise tree, so the result is
        the same bits wherever each level is summed.

        With a ``distributed.Client``, a pass is one call per worker (not a task per
        block: each scheduled task costs milliseconds, as much as a pass's arithmetic on
        a few million values), computing the terms of the blocks it holds, in block
        order, and summing the runs it holds whole (:meth:`_worker_runs`).
        """
        try:
            if self.client is not None:
                runs = self._worker_runs(task, operands)
            else:
                runs = self._threaded_runs(task, operands)
        except Exception as exc:
            if type(exc).__name__ in _LOST_WORK_ERRORS:
                raise RuntimeError(f"a Dask worker holding blocks of X died and they could "
                                   f"not be recomputed ({type(exc).__name__}: {exc}); the "
                                   f"fit stopped ({self!r})") from exc
            raise
        return np.array(pairwise_sum(*runs), dtype=np.float64)

    def _threaded_runs(self, task, operands) -> list:
        """The runs' sums by Dask's threaded scheduler: a task per block, one per run."""
        import dask

        tag = f"fastopt-pass-{uuid.uuid4().hex}"
        # One graph node for the operands: sent once, not once per block.
        ops = dask.delayed(operands, name=f"{tag}-operands", traverse=False)
        term = dask.delayed(_block_term, pure=False)
        group_sum = dask.delayed(pairwise_sum, pure=False)
        terms = [term(block, task, ops, self.backend,
                      dask_key_name=f"{tag}-term-{b}")
                 for b, block in enumerate(self._blocks)]
        groups = [group_sum(*terms[g:g + GROUP_BLOCKS], dask_key_name=f"{tag}-sum-{g}")
                  for g in range(0, len(terms), GROUP_BLOCKS)]
        return list(dask.compute(*groups, scheduler="threads"))

    def _worker_runs(self, task, operands) -> list:
        """The runs' sums from one call per worker (see :meth:`reduce`).

        Each worker answers through an actor (:class:`_BlockReader`, one per worker, made
        on the first pass): a call goes straight to the worker, without the scheduler,
        and reads the blocks from the worker's own store. When a block is not where it
        was (a worker died and Dask recomputes its blocks elsewhere) or a worker does not
        answer in time (:data:`ACTOR_TIMEOUT_MIN_S`), the pass runs as scheduled tasks
        (:meth:`_task_runs`), which Dask retries and recomputes, and the placement and
        actors are made again before the next pass.
        """
        placement = self._placement()
        try:
            readers = self._readers(placement)
            start = time.perf_counter()
            timeout = max(ACTOR_TIMEOUT_MIN_S, ACTOR_TIMEOUT_FACTOR * self._slowest_call)
            calls = [readers[address].terms([self._blocks[b].key for b in ids], ids, task,
                                            operands, self.backend,
                                            self.n_blocks)
                     for address, ids in placement.items()]
            results = [call.result(timeout=timeout) for call in calls]
            self._slowest_call = max(self._slowest_call, time.perf_counter() - start)
        except Exception:  # noqa: BLE001  any failure of the fast path: the tasks decide
            self._where = self._actors = None
            return self._task_runs(task, operands, placement)
        return self._assemble(results)

    def _task_runs(self, task, operands, placement: dict) -> list:
        """The runs' sums from one scheduled task per worker of ``placement``."""
        client = self.client
        futures = []
        for address, ids in placement.items():
            where = {} if address is None else {"workers": [address],
                                                "allow_other_workers": True}
            futures.append(client.submit(
                _worker_terms, task, operands, self.backend, ids,
                self.n_blocks, *(self._blocks[b] for b in ids), pure=False, **where))
        return self._assemble(client.gather(futures))

    def _assemble(self, results) -> list:
        """The runs' sums from the workers' ``(run sums, terms)``, in run order."""
        K = self.n_blocks
        runs, terms = {}, {}
        for run_sums, block_terms in results:
            runs.update(run_sums)
            terms.update(block_terms)
        return [runs[g] if g in runs else
                pairwise_sum(*(terms[b] for b in range(g, min(g + GROUP_BLOCKS, K))))
                for g in range(0, K, GROUP_BLOCKS)]

    def _readers(self, placement: dict) -> dict:
        """``{worker address: actor}`` for the workers of ``placement`` (made once)."""
        if None in placement:
            raise LookupError("blocks being recomputed: no worker holds them")
        if self._actors is None:
            self._actors = {address: self.client.submit(
                _BlockReader, actor=True, workers=[address], allow_other_workers=False,
                pure=False).result() for address in placement}
        return self._actors

    def _placement(self) -> dict:
        """``{worker address: [block indices]}`` (address None: blocks being recomputed),
        looked up once, and again after a pass found blocks elsewhere."""
        if self._where is None:
            who = self.client.who_has(self._blocks)
            where: dict = {}
            for b, future in enumerate(self._blocks):
                holders = sorted(who.get(future.key, ()))
                where.setdefault(holders[0] if holders else None, []).append(b)
            self._where = where
        return self._where

    def __repr__(self) -> str:
        kind = "CSR" if self.is_sparse else "dense"
        where = "threaded scheduler" if self.client is None else "distributed client"
        return (f"{type(self).__name__}(m={self.n_samples}, n={self.n_features}, {kind} "
                f"{self.dtype}, {self.n_blocks} blocks on the {where}, "
                f"backend={self.backend!r})")


# ---------------------------------------------------------------------- worker side

def pairwise_sum(*parts) -> np.ndarray:
    """``parts[0] + ... + parts[-1]`` by pairwise sums: (0, 1), (2, 3), ... level by level,
    an odd last one going up a level unchanged, so the rounding depends on the count only.
    A new array (the parts are Dask results: never modified)."""
    level = list(parts)
    while len(level) > 1:
        pairs = [np.add(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            pairs.append(level[-1])
        level = pairs
    return np.array(level[0], dtype=np.float64)


def _prepare_block(X_b, y_b: np.ndarray, sw_b, n: int, dtype, is_sparse: bool,
                   what: str):
    """Block ``(X_b, y_b, sw_b)`` as the kernels take it, checked (runs on a worker)."""
    if sp.issparse(X_b):
        if not is_sparse:
            raise TypeError(f"{what} is a scipy.sparse matrix but X's meta says dense; "
                            "build X with map_blocks(..., meta=scipy.sparse.csr_matrix"
                            "((0, 0)))")
        X_b = sp.csr_matrix(X_b, dtype=dtype)
    elif isinstance(X_b, np.ndarray) or type(X_b).__module__.split(".")[0] == "numpy":
        X_b = np.ascontiguousarray(X_b, dtype=dtype)
        if is_sparse:
            X_b = sp.csr_matrix(X_b)
    else:
        raise TypeError(f"{what} is a {type(X_b).__module__}.{type(X_b).__name__}; chunks "
                        "must be NumPy arrays or scipy.sparse matrices")
    if X_b.ndim != 2 or X_b.shape != (y_b.shape[0], n):
        raise ValueError(f"{what} has shape {X_b.shape}; its chunk says "
                         f"({y_b.shape[0]}, {n})")
    check_block(X_b, n, what)
    if np.ndim(sw_b) == 0:
        sw_b = np.full(y_b.shape[0], float(sw_b))
    if is_sparse and not X_b.has_canonical_format:
        # Sorted, unique column indices per row: the form the CSR kernels read (summing
        # duplicates only after the structure was found sound).
        X_b = X_b.copy()
        X_b.sum_duplicates()
    return _aligned_block(X_b, y_b, sw_b)


def _prepare_or_error(*args):
    """:func:`_prepare_block`, or the ValueError/TypeError of a bad block."""
    try:
        return _prepare_block(*args)
    except (ValueError, TypeError) as exc:
        return exc


class _BlockReader:
    """The actor on each worker through which a pass reaches the blocks held there."""

    def terms(self, keys: list, ids: list, task, operands, backend: str,
              n_blocks: int) -> tuple:
        """:func:`block_terms` of the blocks of Dask keys ``keys`` (indices ``ids``) read
        from this worker's store; a KeyError when one is not there."""
        from distributed import get_worker

        data = get_worker().data
        blocks = [data[key] for key in keys]
        return block_terms(task, operands, backend, ids, n_blocks, *blocks)


def _worker_terms(task, operands, backend: str, ids: list, n_blocks: int,
                  *blocks) -> tuple:
    """:func:`block_terms`, as a scheduled task (Dask hands it the blocks)."""
    return block_terms(task, operands, backend, ids, n_blocks, *blocks)


def block_terms(task, operands, backend: str, ids: list, n_blocks: int,
                *blocks) -> tuple:
    """The terms of the blocks ``ids`` (``blocks``, in the same order): ``({run start:
    run sum}, {block: term})``, the runs of :data:`GROUP_BLOCKS` blocks that ``ids``
    holds whole summed here, the other blocks' terms returned as they are."""
    terms = {b: _block_term(block, task, operands, backend)
             for b, block in zip(ids, blocks, strict=True)}
    runs = {}
    for g in sorted({b - b % GROUP_BLOCKS for b in ids}):
        members = range(g, min(g + GROUP_BLOCKS, n_blocks))
        if all(b in terms for b in members):
            runs[g] = pairwise_sum(*(terms.pop(b) for b in members))
    return runs, terms


def _block_term(block, task, operands, backend: str) -> np.ndarray:
    """``task(block's LinearData, *operands)`` (runs on the worker holding the block)."""
    X_b, y_b, sw_b = _aligned_block(*block)
    return task(block_data(X_b, y_b, sw_b, backend), *(_aligned(op) for op in operands))


def _aligned(a):
    """``a`` itself when the kernels take it as it is, else an aligned C-ordered copy.

    Arrays unpickled from a message can sit at any offset in its buffer, and the kernels
    refuse unaligned arrays; checking the flags costs nothing when they are fine.
    """
    if isinstance(a, np.ndarray) and not (a.flags.c_contiguous and a.flags.aligned):
        return np.require(a, requirements=["C", "A"])
    return a


def _aligned_block(X_b, y_b, sw_b):
    if sp.issparse(X_b):
        if not all(a.flags.c_contiguous and a.flags.aligned
                   for a in (X_b.data, X_b.indices, X_b.indptr)):
            X_b = sp.csr_matrix((_aligned(X_b.data), _aligned(X_b.indices),
                                 _aligned(X_b.indptr)), shape=X_b.shape)
    else:
        X_b = _aligned(X_b)
    return X_b, _aligned(y_b), _aligned(sw_b)


# ---------------------------------------------------------------------- helpers

def _prepared_blocks(X, y: np.ndarray, sw, bounds: np.ndarray, n: int, dtype,
                     is_sparse: bool, capture_errors: bool) -> list:
    """One ``dask.delayed`` per block: its chunk of X converted and checked, with its
    slices of y and sw (or, with ``capture_errors``, the error of a bad block returned,
    not raised: the threaded scheduler raises the first error in time, not in order)."""
    import dask

    tag = f"fastopt-prepare-{uuid.uuid4().hex}"
    prepare = dask.delayed(_prepare_or_error if capture_errors else _prepare_block,
                           pure=False)
    chunks = X.to_delayed().ravel()
    out = []
    for b, X_b in enumerate(chunks):
        start, stop = int(bounds[b]), int(bounds[b + 1])
        what = f"block {b} (rows {start} to {stop - 1}) of the dask X"
        # Uniform weights travel as the one number 1/m, made a vector once, on the worker.
        sw_b = 1.0 / int(bounds[-1]) if sw is None else sw[start:stop].copy()
        out.append(prepare(X_b, y[start:stop].copy(), sw_b, n, dtype, is_sparse, what,
                           dask_key_name=f"{tag}-{b}"))
    return out


def _raise_first_error(futures) -> None:
    """Wait for the blocks; raise the error of the first (lowest-index) bad one."""
    from distributed import wait

    wait(futures)
    for future in futures:
        if future.status == "error":
            exc = future.exception()
            for f in futures:
                f.release()
            raise exc


def _to_host(v, name: str, m: int, X):
    """``v`` (y or the weights) as a host array: a dask array is computed here once."""
    if is_dask_array(v):
        if v.ndim != 1 or (v.shape[0] == v.shape[0] and v.shape[0] != m):
            raise ValueError(f"{name} has shape {v.shape} (chunks {v.chunks}) and X shape "
                             f"{X.shape} (row chunks {X.chunks[0]}): {name} must have one "
                             "entry per row of X")
        v = v.compute()
    arr = np.asarray(v) if not sp.issparse(v) else v
    if getattr(arr, "ndim", 1) == 1 and arr.shape[0] != m:
        raise ValueError(f"{name} has {arr.shape[0]} entries and X {m} rows (X row chunks "
                         f"{X.chunks[0]}): {name} must have one entry per row of X")
    return arr


def _current_client():
    """The current ``distributed.Client`` (the one of a ``client.as_current()`` block, else
    the default one), or None. ``distributed`` is not imported here when nothing imported
    it: a client exists only when something did."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        return distributed.Client.current(allow_global=True)
    except ValueError:
        return None
