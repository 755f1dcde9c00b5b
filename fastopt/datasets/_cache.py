"""On-disk cache of the parsed bundled datasets (private).

Parsing a gzipped svmlight file costs far more than reading the same arrays back from an
uncompressed ``.npz`` archive (the parser also needs scikit-learn, whose import alone
is most of the cost), so :func:`fastopt.datasets.load` parses each file once per
machine and keeps the result here:

* **where**: ``$FASTOPT_CACHE_DIR``, else ``$XDG_CACHE_HOME/fastopt``, else
  ``~/.cache/fastopt``; the files go to its ``datasets/`` folder;
* **key**: the SHA-256 of the bundled ``.svm.gz`` file and :data:`FORMAT` (the layout
  of the archive). Both are part of the file name *and* stored inside the archive, and
  a read checks the stored ones, so a changed data file or a new layout never reads an
  old entry. The file is hashed on every (first, per process) load rather than trusting
  its size and modification time: hashing is cheap next to the parse it saves (about a
  millisecond for the largest bundled file, against tens for reading the archive), and
  an mtime says nothing after a copy, a checkout or a reinstall;
* **writes** are atomic: the archive is written to a temporary file in the same folder,
  then renamed over the final name with :func:`os.replace`, so a concurrent reader sees
  either no file or a whole one;
* **reads** never trust the file: it is opened with ``allow_pickle=False``, and any
  failure to read it (truncated, not a zip archive, missing arrays, an array header that
  claims more bytes than are stored, checked before NumPy allocates them) or any check
  that fails (key, dtypes, shapes, CSR structure, labels) makes :func:`read` return
  None, and the caller parses again and rewrites the entry;
* a cache folder that cannot be created or written is not an error: the data is then
  parsed on every process's first load, as without a cache.

The archive holds ``format``, ``source_sha256``, ``data``, ``indices``, ``indptr``,
``shape`` (the canonical CSR matrix) and ``y``. It is read with a plain
:func:`numpy.load`: NumPy cannot memory-map the members of an ``.npz`` archive, and the
arrays are copied for the caller anyway.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from .._npy_header import read_npy_header

__all__ = ["FORMAT", "cache_dir", "entry_path", "file_sha256", "read", "write"]

#: Layout version of the cache archives; bump it when their content changes.
FORMAT = 1

_KEYS = frozenset({"format", "source_sha256", "data", "indices", "indptr", "shape", "y"})


def cache_dir() -> Path | None:
    """Folder of the dataset cache (not created here), or None where there is none.

    Returns
    -------
    pathlib.Path or None
        ``$FASTOPT_CACHE_DIR/datasets`` if that variable is set and not empty, else
        ``$XDG_CACHE_HOME/fastopt/datasets``, else ``~/.cache/fastopt/datasets``; None
        when the home folder is unknown (a relative ``~`` would put the cache in the
        current folder).
    """
    root = os.environ.get("FASTOPT_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        if xdg:
            root = os.path.join(xdg, "fastopt")
        else:
            home = os.path.expanduser("~")
            if home == "~":
                return None
            root = os.path.join(home, ".cache", "fastopt")
    return Path(root) / "datasets"


def file_sha256(data: bytes) -> str:
    """Hex SHA-256 of the bytes of a bundled file."""
    return hashlib.sha256(data).hexdigest()


def entry_path(name: str, sha256: str) -> Path | None:
    """Cache file of dataset ``name`` whose source file has hash ``sha256`` (None: no
    cache folder)."""
    folder = cache_dir()
    return None if folder is None else folder / f"{name}-{sha256[:16]}-v{FORMAT}.npz"


def _canonical_csr(data, indices, indptr, shape) -> bool:
    """Whether the arrays form a canonical CSR matrix of ``shape`` with finite nonzero
    values: consistent lengths, indptr from 0 to nnz without decreasing, column indices
    in range and strictly increasing within each row. O(nnz), no Python loop."""
    m, n = shape
    nnz = data.shape[0]
    if indices.shape != (nnz,) or indptr.shape != (m + 1,):
        return False
    if indptr[0] != 0 or indptr[-1] != nnz or np.any(np.diff(indptr) < 0):
        return False
    if nnz == 0:
        return True
    if indices.min() < 0 or indices.max() >= n:
        return False
    increasing = np.diff(indices) > 0
    # A drop in column index is allowed exactly where a new row starts.
    starts = indptr[1:-1]
    starts = starts[(starts > 0) & (starts < nnz)]
    increasing[starts - 1] = True
    if not increasing.all():
        return False
    return bool(np.isfinite(data).all() and np.all(data != 0))


def _member_fits(archive, member: str) -> bool:
    """Whether the .npy ``member`` of a zip archive stores all the bytes its header
    claims (and holds no objects). NumPy allocates the claimed array before reading it,
    so a damaged header claiming terabytes is refused here, before any allocation."""
    with archive.open(member) as fp:
        header = read_npy_header(fp)
    if header is None:
        return False  # write() never makes another version
    shape, dtype = header
    stored = archive.getinfo(member).file_size
    return not dtype.hasobject and math.prod(shape) * dtype.itemsize <= stored


def read(path: Path, sha256: str, n_features: int):
    """The cached ``(data, indices, indptr, shape, y)`` at ``path``, or None.

    None means: no file, an unreadable or malformed one, or one that fails a check (its
    stored format version or source hash differ, the dtypes are not float64 and one
    integer type (int32 or int64) for both index arrays, the
    shape has another number of columns than ``n_features``, the CSR structure is not
    canonical, or ``y`` is not a float64 array of -1 and +1 with one entry per row).
    Never raises for a bad file; loads nothing with pickle.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            if set(archive.files) != _KEYS:
                return None
            if not all(_member_fits(archive.zip, f"{key}.npy") for key in _KEYS):
                return None
            arrays = {key: archive[key] for key in _KEYS}
    except Exception:  # noqa: BLE001 - any unreadable entry (BadZipFile, EOFError, ...) is a miss
        return None
    fmt, key = arrays["format"], arrays["source_sha256"]
    if fmt.shape != () or fmt.dtype.kind not in "iu" or int(fmt) != FORMAT:
        return None
    if key.shape != () or key.dtype.kind != "U" or str(key) != sha256:
        return None
    data, indices, indptr = arrays["data"], arrays["indices"], arrays["indptr"]
    shape, y = arrays["shape"], arrays["y"]
    if (data.dtype != np.float64 or indices.dtype not in (np.int32, np.int64)
            or indptr.dtype != indices.dtype or shape.dtype != np.int64
            or y.dtype != np.float64):
        return None
    if data.ndim != 1 or shape.shape != (2,) or y.ndim != 1:
        return None
    m, n = (int(s) for s in shape)
    if n != n_features or m < 1 or y.shape != (m,):
        return None
    if not _canonical_csr(data, indices, indptr, (m, n)):
        return None
    if not np.all((y == 1.0) | (y == -1.0)):
        return None
    return data, indices, indptr, (m, n), y


def write(path: Path, sha256: str, data, indices, indptr, shape, y) -> bool:
    """Write a cache entry atomically; False (and nothing left behind) if it failed.

    The archive is uncompressed (compression would cost more time on every read than the
    disk saves) and written to a temporary file beside ``path``, then renamed over it.
    """
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, format=np.int64(FORMAT), source_sha256=np.str_(sha256),
                     data=data, indices=indices, indptr=indptr,
                     shape=np.asarray(shape, dtype=np.int64), y=y)
        # mkstemp makes the file private (0600); a cache entry holds public data.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return True
    except OSError:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return False
