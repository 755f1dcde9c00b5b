"""X in row blocks, in memory or on disk: sources for the linear objectives, and ``convert``.

A block source stands for X in :class:`fastopt.problems.Logistic` and
:class:`~fastopt.problems.LeastSquares` (``Logistic(source, y, lam=...)``); every pass
(f, gradient, Hessian products, the Hessian) is then a sum of per-block terms taken in
block order, and on-disk sources hold two blocks in memory whatever the file size, the
next one read in a background thread while the kernels run on the current one::

    import fastopt as fo

    fo.chunked.convert("train.svm", "train.zarr")      # once; streamed
    X, y = fo.chunked.load("train.zarr")
    res = fo.minimize(fo.problems.Logistic(X, y, lam=1e-4), x0, method="newton-cg")

* :func:`from_array`: an in-memory array or sparse matrix cut into row blocks;
* :func:`open`: a 2-D ``.npy`` file, a directory of ``.npy`` row blocks, a dense 2-D Zarr
  array or a Zarr CSR group;
* :func:`convert` / :func:`load`: svmlight, CSV or ``.npy`` input written once as a Zarr
  store (X and y; layout in :mod:`fastopt.problems.chunked.store`), and read back.

Zarr sources and :func:`convert` need the ``large`` extra (``pip install
"fastopt[large]"``). Files are opened read-only: a fit never modifies them. Block values
are checked on the first pass (a NaN is a ValueError naming its block, before any
result).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .problems._validation import check_data
from .problems.chunked._checks import check_block_rows
from .problems.chunked.npy import NpyDirectory, NpyFile
from .problems.chunked.source import ArrayBlocks, BlockSource

__all__ = ["BlockSource", "convert", "from_array", "load", "open"]

_FORMATS = ("svmlight", "csv", "npy")
#: Rows per block of a conversion when not given: a block of lines is parsed at once.
_CONVERT_ROWS = 65536


def from_array(X, block_rows: int) -> ArrayBlocks:
    """An in-memory X read in row blocks (views, no copy of a valid X).

    Parameters
    ----------
    X : array_like of shape (m, n) or scipy sparse matrix
        Validated as the objectives validate X (converted to C-contiguous float64 or
        float32, or canonical CSR, when it is not already).
    block_rows : int
        Rows per block (the last block may be shorter).

    Returns
    -------
    fastopt.problems.chunked.source.ArrayBlocks

    Raises
    ------
    TypeError, ValueError
        X not numeric, not 2-D, empty, with NaN or infinity; ``block_rows`` not a
        positive integer.
    """
    block_rows = check_block_rows(block_rows)
    return ArrayBlocks(check_data(X), block_rows)


def _is_zarr(path: Path) -> bool:
    return any((path / name).exists() for name in ("zarr.json", ".zarray", ".zgroup"))


def open(path, block_rows: int | None = None) -> BlockSource:  # noqa: A001  the module's verb
    """X on disk as a block source, chosen by what ``path`` is.

    Parameters
    ----------
    path : str or path-like
        * a ``.npy`` file: a 2-D C-order float32/float64 array (:class:`NpyFile`);
        * a Zarr array (a directory with ``zarr.json`` or ``.zarray``): dense 2-D float X
          (:class:`ZarrBlocks`);
        * a Zarr group: a CSR group (:class:`ZarrCSR`), or a store written by
          :func:`convert` (its X; :func:`load` gives y too);
        * another directory: its ``*.npy`` files, in name order, one row block each
          (:class:`NpyDirectory`).
    block_rows : int, optional
        Rows per block of a ``.npy`` file or dense Zarr array (default about 64 MB of
        values; for Zarr a multiple of its row chunk). Directories of ``.npy`` files and
        CSR groups have the blocks they were written in (passing it is an error).

    Returns
    -------
    BlockSource

    Raises
    ------
    ValueError
        No such path, or a file or directory that is none of the above or fails its
        checks (the message names the file and the problem).
    ImportError
        A Zarr path without the zarr package.
    """
    if isinstance(path, bool) or not isinstance(path, (str, Path)) \
            and not hasattr(path, "__fspath__"):
        raise TypeError(f"path must be a str or path-like; got {path!r}")
    path = Path(path)
    if block_rows is not None:
        check_block_rows(block_rows)
    if path.is_file():
        if path.suffix.lower() != ".npy":
            raise ValueError(f"{path}: not an .npy file; other formats are read with "
                             "fastopt.chunked.convert first")
        return NpyFile(path, block_rows)
    if not path.is_dir():
        raise ValueError(f"{path}: no such file or directory")
    if _is_zarr(path):
        from .problems.chunked.store import STORE_FORMAT, open_store
        from .problems.chunked.zarr_source import (
            ZarrBlocks,
            ZarrCSR,
            _fastopt_attrs,
            import_zarr,
            open_zarr,
        )

        zarr = import_zarr()
        node = open_zarr(path)
        if isinstance(node, zarr.Array):
            return ZarrBlocks(str(path), block_rows)
        fmt = _fastopt_attrs(node).get("format")
        if fmt == STORE_FORMAT:
            if block_rows is not None and isinstance(node.get("X"), zarr.Group):
                raise ValueError(f"{path}: a CSR store has the blocks it was written in; "
                                 "block_rows cannot change them")
            return open_store(path, block_rows)[0]
        if block_rows is not None:
            raise ValueError(f"{path}: a CSR group has the blocks it was written in; "
                             "block_rows cannot change them")
        return ZarrCSR(str(path))
    if block_rows is not None:
        raise ValueError(f"{path}: a directory of .npy blocks has one block per file; "
                         "block_rows cannot change them")
    return NpyDirectory(path)


def load(path, block_rows: int | None = None):
    """X and y of a store written by :func:`convert`.

    Parameters
    ----------
    path : str or path-like
        The store (a Zarr group directory).
    block_rows : int, optional
        Rows per block of a dense X (default whole chunks, about 64 MB); a CSR X keeps
        the blocks it was written in.

    Returns
    -------
    X : BlockSource
        X of shape (m, n) in row blocks, read from disk on each pass.
    y : ndarray of shape (m,), float64
        The labels, in memory.

    Raises
    ------
    ValueError
        Not a complete store written by :func:`convert` (the message says why).
    ImportError
        Without the zarr package.
    """
    from .problems.chunked.store import open_store

    if block_rows is not None:
        check_block_rows(block_rows)
    return open_store(Path(path), block_rows)


def _format_of(src: Path, fmt) -> str:
    if fmt is not None:
        if fmt not in _FORMATS:
            raise ValueError(f"format must be one of {_FORMATS}; got {fmt!r}")
        return fmt
    name = src.name.lower()
    for suffix in (".gz", ".bz2"):
        name = name.removesuffix(suffix)
    if name.endswith(".npy"):
        return "npy"
    if name.endswith(".csv"):
        return "csv"
    return "svmlight"


def convert(src, dst, *, block_rows: int | None = None, progress: bool = True,
            format: str | None = None, zero_based: bool = False,  # noqa: A002
            n_features: int | None = None, label_column: int = -1, dtype=np.float64,
            overwrite: bool = False) -> tuple[int, int]:
    """Write ``src`` once as a chunked Zarr store at ``dst`` (read back with :func:`load`).

    The input is streamed: a block of ``block_rows`` lines (or rows) is read, checked and
    written at a time, so a file larger than memory converts. The store is written under
    a temporary name beside ``dst`` and renamed when complete: a failed or interrupted
    conversion leaves nothing at ``dst``. ``src`` is only read.

    Parameters
    ----------
    src : str or path-like
        The input, its format from its name unless ``format`` says:

        * svmlight / LIBSVM (the default; also ``.gz``, ``.bz2``): ``LABEL INDEX:VALUE
          ...`` lines; X is stored as CSR;
        * ``.csv``: comma-separated numbers, a row per line, the label in
          ``label_column`` (a first line that is not all numbers is a header); dense X;
        * ``.npy``: a 2-D C-order float array, the label in ``label_column``; dense X.
    dst : str or path-like
        The store's directory (must not exist unless ``overwrite``).
    block_rows : int, optional
        Rows per block (and per chunk of dense X); default 65536.
    progress : bool, default True
        A progress bar (tqdm) on stderr.
    format : {"svmlight", "csv", "npy"}, optional
    zero_based : bool, default False
        svmlight column indices start at 0 (default 1, the LIBSVM convention).
    n_features : int, optional
        svmlight: the number of features (default the largest index); an index beyond
        it is an error.
    label_column : int, default -1
        CSV and ``.npy``: the label column (negative counts from the end); the other
        columns are X.
    dtype : numpy.float32 or numpy.float64
        dtype of X as stored (y is float64).
    overwrite : bool, default False
        Replace an existing store at ``dst`` (never anything else).

    Returns
    -------
    (m, n) : tuple of int
        X's shape.

    Raises
    ------
    ValueError
        A missing input, a line or row the format refuses (named with the file and
        line, e.g. a malformed svmlight token or a ragged CSV line), NaN or infinity,
        an existing ``dst``, a bad option.
    ImportError
        Without the zarr package.
    """
    from .problems.chunked import streams
    from .problems.chunked.store import write_store
    from .problems.chunked.zarr_source import import_zarr

    import_zarr()  # before any work (and any progress bar) when it is missing
    src, dst = Path(src), Path(dst)
    block_rows = _CONVERT_ROWS if block_rows is None else check_block_rows(block_rows)
    fmt = _format_of(src, format)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64; got {dtype!r}")
    if n_features is not None and (isinstance(n_features, bool) or
                                   not isinstance(n_features, (int, np.integer))
                                   or n_features < 1):
        raise ValueError(f"n_features must be a positive integer; got {n_features!r}")
    if isinstance(label_column, bool) or not isinstance(label_column, (int, np.integer)):
        raise TypeError(f"label_column must be an integer; got {label_column!r}")
    if not src.is_file():
        raise ValueError(f"{src}: " + ("a directory, not a file" if src.is_dir()
                                       else "no such file"))
    if fmt == "svmlight":
        blocks = streams.svmlight_blocks(src, block_rows, zero_based=zero_based,
                                         n_features=n_features)
    elif fmt == "csv":
        blocks = streams.csv_blocks(src, block_rows, label_column=int(label_column),
                                    dtype=dt)
    else:
        blocks = streams.npy_blocks(src, block_rows, label_column=int(label_column),
                                    dtype=dt)
    from tqdm.auto import tqdm

    # Progress in bytes of the file as stored (compressed ones: their compressed bytes).
    with tqdm(total=src.stat().st_size, unit="B", unit_scale=True, file=sys.stderr,
              disable=not progress, desc=f"convert {src.name}", leave=False) as bar:
        def advance(item):
            bar.update(max(0, item[2] - bar.n))

        return write_store(dst, blocks, sparse=fmt == "svmlight", block_rows=block_rows,
                           dtype=dt, n_features=n_features, overwrite=overwrite,
                           source=src.name, on_block=advance)
