"""The on-disk block sources (.npy file, .npy directory, Zarr dense, Zarr CSR) and the
background prefetch that reads them.

A source on disk must give the fits exactly what the same blocks in memory give (same
blocks, same order: same f, same iteration count), agree with the one-array objective,
refuse damaged files with a ValueError naming the file or block, never modify a file,
and never leave a reading thread behind.
"""

import hashlib
import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import fastopt as fo
from fastopt.problems.chunked.npy import NpyDirectory, NpyFile
from fastopt.problems.chunked.prefetch import prefetch
from fastopt.problems.chunked.source import ArrayBlocks

zarr = pytest.importorskip("zarr")

from fastopt.problems.chunked.zarr_source import ZarrBlocks, ZarrCSR  # noqa: E402

ROWS = 16384  # a9a's 32561 rows: two blocks, the last one shorter
METHODS = ["newton", "newton-cg", "lbfgs"]
#: L-BFGS to a looser tolerance: the same comparison, in a fraction of the passes.
OPTIONS = {"lbfgs": {"tol": 1e-4}}


def _create(group, name, data, chunks=None):
    make = getattr(group, "create_array", None) or group.create_dataset
    arr = make(name, shape=data.shape, chunks=chunks or data.shape, dtype=data.dtype)
    arr[...] = data
    return arr


def write_csr_group(path, X, bounds, **replace):
    """A Zarr CSR group in fastopt's layout; ``replace`` swaps arrays or the attribute
    (None drops one)."""
    group = zarr.open_group(str(path), mode="w")
    arrays = {"data": X.data, "indices": X.indices, "indptr": X.indptr.astype(np.int64),
              "bounds": np.asarray(bounds, np.int64)}
    arrays.update({k: v for k, v in replace.items() if k in arrays})
    for name, value in arrays.items():
        if value is not None:
            _create(group, name, np.asarray(value), chunks=(2**16,))
    group.attrs["fastopt"] = replace.get(
        "attrs", {"format": "csr", "version": 1, "shape": [int(X.shape[0]), int(X.shape[1])]})
    return path


def write_dense_zarr(path, D):
    arr = zarr.open_array(str(path), mode="w", shape=D.shape, chunks=(ROWS // 2, D.shape[1]),
                          dtype=D.dtype)
    arr[...] = D
    return path


def write_npy_dir(path, D, rows=ROWS):
    path.mkdir()
    for b, start in enumerate(range(0, D.shape[0], rows)):
        np.save(path / f"block{b:03d}.npy", D[start:start + rows])
    return path


@pytest.fixture(scope="module")
def a9a():
    X, y = fo.datasets.load("a9a")
    return X, y


@pytest.fixture(scope="module")
def files(a9a, tmp_path_factory):
    """a9a on disk in every source format: {(kind, dtype name): path}."""
    X, _ = a9a
    root = tmp_path_factory.mktemp("disk")
    out = {}
    for dt in (np.float64, np.float32):
        D = X.toarray().astype(dt)
        name = np.dtype(dt).name
        np.save(root / f"a9a_{name}.npy", D)
        out["npy", name] = root / f"a9a_{name}.npy"
        out["npydir", name] = write_npy_dir(root / f"dir_{name}", D)
        out["zarr", name] = write_dense_zarr(root / f"a9a_{name}.zarr", D)
    bounds = np.append(np.arange(0, X.shape[0], ROWS), X.shape[0])
    out["csr", "float64"] = write_csr_group(root / "a9a_csr.zarr", X, bounds)
    return out


def open_source(kind, path):
    if kind == "npydir":
        return fo.chunked.open(path)
    if kind == "csr":
        return fo.chunked.open(path)
    return fo.chunked.open(path, block_rows=ROWS)


def in_memory(a9a, dtype):
    X, _ = a9a
    return X if dtype == "csr" else X.toarray().astype(dtype)


def digest(path: Path) -> str:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    h = hashlib.sha256()
    for p in files:
        h.update(p.read_bytes())
    return h.hexdigest()


# Every source with each dtype and at least two methods, every method on two sources
# (a pass over dense a9a reads 16 to 32 MB: the full matrix would take minutes).
FITS = [("npy", "float32", m) for m in METHODS] + [("npy", "float64", "newton")] + \
    [("npydir", "float64", m) for m in ("newton", "lbfgs")] + \
    [("npydir", "float32", "newton")] + \
    [("zarr", "float32", m) for m in ("newton", "lbfgs")] + [("zarr", "float64", "newton")] + \
    [("csr", "float64", m) for m in METHODS]


@pytest.mark.parametrize("kind,dtype,method", FITS)
def test_fit_matches_in_memory_blocks(a9a, files, kind, dtype, method):
    X, y = a9a
    path = files[kind, dtype]
    before = digest(path)
    source = open_source(kind, path)
    assert not source.checked and source.shape == X.shape
    assert source.dtype == np.dtype(dtype) and source.is_sparse == (kind == "csr")
    np.testing.assert_array_equal(source.bounds, [0, ROWS, X.shape[0]])
    mem = X if kind == "csr" else X.toarray().astype(dtype)
    lam, x0 = 1.0 / X.shape[0], np.zeros(X.shape[1])
    opts = OPTIONS.get(method, {})
    ref = fo.minimize(fo.problems.Logistic(ArrayBlocks(mem, ROWS), y, lam=lam), x0,
                      method=method, **opts)
    res = fo.minimize(fo.problems.Logistic(source, y, lam=lam), x0, method=method, **opts)
    assert res.success and ref.success
    assert res.nit == ref.nit
    assert res.fun == pytest.approx(ref.fun, rel=1e-12)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-10, atol=1e-12)
    if method == "newton":
        # Newton converges to machine precision: the one-array fit agrees too.
        one = fo.minimize(fo.problems.Logistic(mem, y, lam=lam), x0, method=method)
        assert res.nit == one.nit
        assert res.fun == pytest.approx(one.fun, rel=1e-12)
    assert digest(path) == before  # the fit read the files, never wrote them


@pytest.mark.parametrize("kind,dtype", [("npy", "float64"), ("npydir", "float32"),
                                        ("zarr", "float64"), ("csr", "float64")])
def test_passes_match_one_array(a9a, files, kind, dtype):
    X, y = a9a
    mem = X if kind == "csr" else X.toarray().astype(dtype)
    ref = fo.problems.Logistic(mem, y, lam=1e-3, fit_intercept=True)
    obj = fo.problems.Logistic(open_source(kind, files[kind, dtype]), y, lam=1e-3,
                               fit_intercept=True)
    rng = np.random.default_rng(1)
    w, v = 0.1 * rng.standard_normal(ref.n_params), rng.standard_normal(ref.n_params)
    f_ref, g_ref = ref.loss_grad(w)
    f, g = obj.loss_grad(w)
    assert f == pytest.approx(f_ref, rel=1e-13)
    np.testing.assert_allclose(g, g_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(obj.hvp(w, v), ref.hvp(w, v), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(obj.hessian(w), ref.hessian(w), rtol=1e-13, atol=1e-14)


def test_blocks_in_order_and_equal(a9a, files):
    X, _ = a9a
    D = X.toarray()
    for kind in ("npy", "npydir", "zarr"):
        source = open_source(kind, files[kind, "float64"])
        got = [(b, np.array(block)) for b, block in source.blocks()]
        assert [b for b, _ in got] == list(range(source.n_blocks))
        np.testing.assert_array_equal(np.vstack([block for _, block in got]), D)
        np.testing.assert_array_equal(source.read(1), D[ROWS:2 * ROWS])
    csr = open_source("csr", files["csr", "float64"])
    stacked = sp.vstack([block.copy() for _, block in csr.blocks()]).tocsr()
    assert (stacked != X).nnz == 0


# ------------------------------------------------------------------ bad values and files


def _nan_in_last_block(D):
    D = D.copy()
    D[-3, 5] = np.nan
    return D


@pytest.mark.parametrize("kind", ["npy", "npydir", "zarr", "csr"])
def test_nan_in_last_block_is_named_by_the_fit(a9a, tmp_path, kind):
    X, y = a9a
    D = _nan_in_last_block(X.toarray())
    if kind == "npy":
        np.save(tmp_path / "x.npy", D)
        source = fo.chunked.open(tmp_path / "x.npy", block_rows=ROWS)
    elif kind == "npydir":
        source = fo.chunked.open(write_npy_dir(tmp_path / "d", D))
    elif kind == "zarr":
        source = fo.chunked.open(write_dense_zarr(tmp_path / "x.zarr", D), block_rows=ROWS)
    else:
        bad = X.copy()
        bad.data[-2] = np.nan
        source = fo.chunked.open(write_csr_group(tmp_path / "c.zarr", bad,
                                                 [0, ROWS, X.shape[0]]))
    obj = fo.problems.Logistic(source, y, lam=1e-3)
    before = threading.active_count()
    with pytest.raises(ValueError, match=r"block 1 \(rows 16384 to 32560\).*NaN"):
        fo.minimize(obj, np.zeros(X.shape[1]), method="newton")
    if kind != "zarr" and kind != "csr":  # Zarr 3 keeps an I/O thread of its own
        assert threading.active_count() == before  # the pass that failed left no reader


def test_truncated_npy(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.ones((100, 7)))
    data = path.read_bytes()
    path.write_bytes(data[:-9])
    with pytest.raises(ValueError, match=r"x\.npy: truncated.*100 x 7"):
        fo.chunked.open(path)


def test_npy_file_refusals(tmp_path):
    with pytest.raises(ValueError, match="no such"):
        fo.chunked.open(tmp_path / "missing.npy")
    np.save(tmp_path / "int.npy", np.ones((4, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"int\.npy: dtype int64 is not float32 or float64"):
        NpyFile(tmp_path / "int.npy")
    np.save(tmp_path / "fortran.npy", np.asfortranarray(np.ones((4, 3))))
    with pytest.raises(ValueError, match="Fortran"):
        NpyFile(tmp_path / "fortran.npy")
    np.save(tmp_path / "f.npy", np.ones((4, 3)))
    np.save(tmp_path / "v.npy", np.ones(5))
    with pytest.raises(ValueError, match="2-D"):
        NpyFile(tmp_path / "v.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy at all")
    with pytest.raises(ValueError, match=r"junk\.npy: not a readable \.npy"):
        NpyFile(tmp_path / "junk.npy")
    with open(tmp_path / "long.npy", "wb") as f:
        np.save(f, np.ones((4, 3)))
        f.write(b"extra")
    with pytest.raises(ValueError, match="5 bytes after"):
        NpyFile(tmp_path / "long.npy")
    with pytest.raises(TypeError, match="block_rows"):
        NpyFile(tmp_path / "f.npy", block_rows=2.5)


def test_big_endian_npy_is_read_as_its_values(tmp_path):
    D = np.random.default_rng(0).standard_normal((50, 4))
    np.save(tmp_path / "be.npy", D.astype(">f8"))
    source = NpyFile(tmp_path / "be.npy", block_rows=16)
    assert source.dtype == np.float64 and source.dtype.isnative
    np.testing.assert_array_equal(np.vstack([b.copy() for _, b in source.blocks()]), D)


def test_npy_directory_refusals(tmp_path):
    D = np.ones((10, 3))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    np.save(mixed / "a.npy", D)
    np.save(mixed / "b.npy", np.ones((5, 4)))
    with pytest.raises(ValueError, match=r"b\.npy: 4 columns.*a\.npy has 3 columns"):
        fo.chunked.open(mixed)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="holds no .npy file"):
        NpyDirectory(empty)
    with pytest.raises(ValueError, match="no such"):
        fo.chunked.open(tmp_path / "nowhere")


def test_missing_block_file_is_named(tmp_path):
    rng = np.random.default_rng(0)
    D = rng.standard_normal((30, 3))
    source = fo.chunked.open(write_npy_dir(tmp_path / "d", D, rows=10))
    (tmp_path / "d" / "block002.npy").unlink()  # removed after the source was opened
    obj = fo.problems.Logistic(source, rng.integers(0, 2, 30), lam=0.1)
    with pytest.raises(ValueError, match=r"block 2 .*block002\.npy"):
        obj.loss_grad(np.zeros(3))


def test_zarr_refusals(tmp_path):
    ints = zarr.open_array(str(tmp_path / "i.zarr"), mode="w", shape=(10, 3), chunks=(5, 3),
                           dtype=np.int32)
    ints[...] = 1
    with pytest.raises(ValueError, match=r"i\.zarr.*dtype int32.*float32 or float64"):
        fo.chunked.open(tmp_path / "i.zarr")
    cplx = zarr.open_array(str(tmp_path / "c.zarr"), mode="w", shape=(10, 3), chunks=(5, 3),
                           dtype=np.complex128)
    cplx[...] = 1
    with pytest.raises(ValueError, match="complex128"):
        ZarrBlocks(str(tmp_path / "c.zarr"))
    vec = zarr.open_array(str(tmp_path / "v.zarr"), mode="w", shape=(10,), chunks=(5,),
                          dtype=np.float64)
    vec[...] = 1
    with pytest.raises(ValueError, match="2-D"):
        fo.chunked.open(tmp_path / "v.zarr")


def test_csr_group_refusals(a9a, tmp_path):
    X = sp.csr_matrix(np.array([[1.0, 0, 2], [0, 3, 0], [4, 0, 5], [0, 0, 6]]))
    bounds = [0, 2, 4]
    bad_indptr = X.indptr.astype(np.int64).copy()
    bad_indptr[2] = 1  # 3, then 1: decreasing
    with pytest.raises(ValueError, match="'indptr' decreases at row 1"):
        ZarrCSR(str(write_csr_group(tmp_path / "a.zarr", X, bounds, indptr=bad_indptr)))
    with pytest.raises(ValueError, match="no array 'indices'"):
        ZarrCSR(str(write_csr_group(tmp_path / "b.zarr", X, bounds, indices=None)))
    with pytest.raises(ValueError, match="'bounds' must increase strictly"):
        ZarrCSR(str(write_csr_group(tmp_path / "c.zarr", X, [0, 3, 3, 4])))
    with pytest.raises(ValueError, match="fastopt.format"):
        ZarrCSR(str(write_csr_group(tmp_path / "d.zarr", X, bounds, attrs={})))
    with pytest.raises(ValueError, match="'data' has dtype int64"):
        ZarrCSR(str(write_csr_group(tmp_path / "e.zarr", X, bounds,
                                    data=X.data.astype(np.int64))))
    # An out-of-range column index is found on the first pass, naming its block.
    far = X.indices.copy()
    far[-1] = 7
    source = fo.chunked.open(write_csr_group(tmp_path / "f.zarr", X, bounds, indices=far))
    obj = fo.problems.Logistic(source, np.array([0, 1, 0, 1]), lam=0.1)
    with pytest.raises(ValueError, match=r"block 1 .*index 7 is out of range .*\[0, 2\]"):
        obj.loss_grad(np.zeros(3))
    # Beyond int32 in a stored int64 array: refused, not wrapped into range.
    huge = X.indices.astype(np.int64)
    huge[0] = 2**32
    source = fo.chunked.open(write_csr_group(tmp_path / "g.zarr", X, bounds, indices=huge))
    with pytest.raises(ValueError, match=r"block 0 .*column indices outside"):
        fo.problems.Logistic(source, np.array([0, 1, 0, 1]), lam=0.1).loss_grad(np.zeros(3))


def test_open_refuses_other_paths(tmp_path):
    (tmp_path / "x.txt").write_text("1 2 3\n")
    with pytest.raises(ValueError, match="not an .npy file"):
        fo.chunked.open(tmp_path / "x.txt")
    with pytest.raises(TypeError, match="path"):
        fo.chunked.open(3)


def test_from_array_validates():
    with pytest.raises(ValueError, match="NaN|finite"):
        fo.chunked.from_array(np.array([[1.0, np.nan]]), 1)
    source = fo.chunked.from_array(np.ones((5, 2), dtype=np.int64), 2)
    assert source.dtype == np.float64 and source.n_blocks == 3 and source.checked


# ------------------------------------------------------------------------------ prefetch


def _reader(log=None, fail_at=None, delay=None):
    def read_into(b, buffer):
        if delay is not None:
            delay.wait(0.01)
        if b == fail_at:
            raise OSError("disk on fire")
        buffer[:] = b
        if log is not None:
            log.append(b)
        return buffer.copy()
    return read_into


def test_prefetch_order_and_buffers():
    log = []
    buffers = (np.zeros(3), np.zeros(3))
    got = [(b, block[0]) for b, block in prefetch(_reader(log), 7, buffers, str)]
    assert got == [(b, float(b)) for b in range(7)]
    assert log == list(range(7))
    assert list(prefetch(_reader(), 0, buffers, str)) == []


def test_prefetch_early_stop_leaves_no_thread():
    before = threading.active_count()
    gen = prefetch(_reader(delay=threading.Event()), 50, (np.zeros(2), np.zeros(2)), str)
    next(gen)
    next(gen)
    assert threading.active_count() > before  # block 2 is being read
    gen.close()
    assert threading.active_count() == before
    # An exception in the consumer's loop: the same.
    with pytest.raises(RuntimeError):
        for b, _ in prefetch(_reader(delay=threading.Event()), 50,
                             (np.zeros(2), np.zeros(2)), str):
            if b == 3:
                raise RuntimeError("consumer failed")
    assert threading.active_count() == before


def test_prefetch_read_error_reaches_the_consumer():
    before = threading.active_count()
    seen = []
    with pytest.raises(ValueError, match="cannot read block 4: disk on fire"):
        for b, _ in prefetch(_reader(fail_at=4), 9, (np.zeros(2), np.zeros(2)),
                             lambda b: f"block {b}"):
            seen.append(b)
    assert seen == [0, 1, 2, 3]
    assert threading.active_count() == before


def test_source_pass_closed_early_leaves_no_thread(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((100, 4)))
    source = NpyFile(tmp_path / "x.npy", block_rows=10)
    before = threading.active_count()
    for b, _ in source.blocks():
        if b == 2:
            break
    assert threading.active_count() == before
    # The buffers are reused by the next pass, which sees every block whole.
    assert sum(block.sum() for _, block in source.blocks()) == 400.0


def test_npy_mapping_modes_give_the_same_bits(tmp_path):
    rng = np.random.default_rng(3)
    D = rng.standard_normal((2500, 9))
    path = tmp_path / "X.npy"
    np.save(path, D)
    y = rng.integers(0, 2, 2500)
    # Mapped and kept between passes (a file that fits in memory), mapped one block at a
    # time (a larger one); big-endian files are read into buffers (tested above).
    kept = NpyFile(path, block_rows=700)
    per_block = NpyFile(path, block_rows=700)
    per_block._keep = False
    assert kept._keep
    w = rng.standard_normal(9)
    results = []
    for source in (kept, per_block, ArrayBlocks(D, 700)):
        obj = fo.problems.Logistic(source, y, lam=0.1)
        results.append([obj.loss_grad(w)[1] for _ in range(2)])  # twice: kept maps reused
    for r in results[1:]:
        np.testing.assert_array_equal(np.array(r), np.array(results[0]))
    assert len(kept._kept) == kept.n_blocks and not per_block._kept


@pytest.mark.parametrize("keep", [True, False])
def test_npy_truncated_between_passes_is_an_error(tmp_path, keep):
    rng = np.random.default_rng(4)
    path = tmp_path / "X.npy"
    np.save(path, rng.standard_normal((2000, 5)))
    source = NpyFile(path, block_rows=500)
    source._keep = keep
    obj = fo.problems.Logistic(source, rng.integers(0, 2, 2000), lam=0.1)
    w = np.zeros(5)
    obj.loss_grad(w)
    with open(path, "r+b") as fp:  # another program cuts the file short
        fp.truncate(path.stat().st_size - 4000)
    with pytest.raises(ValueError, match="shorter"):
        obj.loss_grad(w)
