"""Bundled datasets: published counts, label mapping, copies, the published optima, and
the on-disk cache of the parsed arrays (identical arrays; damaged, stale and unwritable
caches)."""

import io
import math
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp

import fastopt as fo
from fastopt.datasets import _cache
from fastopt.problems import Logistic

# rows, features, (negatives, positives), nonzeros, as published with the LIBSVM data sets
PUBLISHED = {
    "a9a": (32561, 123, (24720, 7841), 451592),
    "w8a": (49749, 300, (48270, 1479), 579586),
    "mushrooms": (8124, 112, (3916, 4208), 170604),
    "ijcnn1": (49990, 22, (45137, 4853), 649870),  # the file stores some explicit zeros
}


def test_names():
    assert fo.datasets.names() == sorted(PUBLISHED)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_counts(name):
    rows, features, (neg, pos), nnz = PUBLISHED[name]
    X, y = fo.datasets.load(name)
    assert sp.isspmatrix_csr(X) and X.dtype == np.float64 and y.dtype == np.float64
    assert X.shape == (rows, features) and y.shape == (rows,)
    assert set(np.unique(y)) == {-1.0, 1.0}
    assert (np.count_nonzero(y < 0), np.count_nonzero(y > 0)) == (neg, pos)
    assert X.has_canonical_format and np.all(X.data != 0)
    if name == "ijcnn1":
        assert X.nnz < nnz  # explicit zeros removed
        assert np.count_nonzero(X.toarray()) == X.nnz
    else:
        assert X.nnz == nnz
    assert np.isfinite(X.data).all()


def test_loads_are_independent_copies():
    X1, y1 = fo.datasets.load("mushrooms")
    X1.data[:] = 7.0
    y1[:] = 0.0
    X2, y2 = fo.datasets.load("mushrooms")
    assert not np.shares_memory(X1.data, X2.data)
    assert set(np.unique(y2)) == {-1.0, 1.0} and 7.0 not in X2.data[:10]


def test_float32_and_errors():
    X, _ = fo.datasets.load("mushrooms", dtype=np.float32)
    assert X.dtype == np.float32
    with pytest.raises(ValueError, match="a9a") as info:
        fo.datasets.load("iris")
    assert "unknown dataset" in str(info.value) and "mushrooms" in str(info.value)
    with pytest.raises(ValueError, match="dtype"):
        fo.datasets.load("a9a", dtype=np.int32)


def test_info():
    facts = fo.datasets.info("w8a")
    assert (facts["rows"], facts["features"], facts["positives"]) == (49749, 300, 1479)
    assert facts["reference_optimum"] == fo.datasets.REFERENCE_OPTIMA["w8a"]
    assert "Rodomanov" in facts["provenance"] and "LIBSVM" in facts["provenance"]
    assert fo.datasets.info("mushrooms")["reference_optimum"] is None


def test_logistic_value_at_zero_is_ln2_on_a9a(backend):
    X, y = fo.datasets.load("a9a")
    obj = Logistic(X, y, lam=1 / X.shape[0], backend=backend)
    assert obj.value(np.zeros(X.shape[1])) == pytest.approx(math.log(2), rel=1e-13)


def newton(obj, iters=30):
    """Damped Newton, the Hessian from a sparse product (a test oracle, not a solver)."""
    X = obj.X
    w = np.zeros(obj.n_params)
    for _ in range(iters):
        f, g, d = obj.grad_hess_weights(w)
        if np.linalg.norm(g) < 1e-12:
            break
        H = (X.T @ X.multiply(d[:, None]).tocsr()).toarray() + obj.lam * np.eye(obj.n_params)
        step = np.linalg.solve(H, g)
        t = 1.0
        while obj.value(w - t * step) > f - 1e-4 * t * (g @ step):
            t *= 0.5
        w = w - t * step
    return obj.loss_grad(w)


@pytest.mark.parametrize("name", sorted(fo.datasets.REFERENCE_OPTIMA))
def test_published_reference_optimum_is_reproduced(name):
    X, y = fo.datasets.load(name)
    obj = Logistic(X, y, lam=1 / X.shape[0], backend="numpy")
    f, g = newton(obj)
    assert np.linalg.norm(g) < 1e-9
    assert f == pytest.approx(fo.datasets.REFERENCE_OPTIMA[name], rel=1e-12)


# ---------------------------------------------------------------------------- disk cache


@pytest.fixture
def cache_root(tmp_path, monkeypatch):
    """An empty cache folder for this test; the per-process copies are dropped around it."""
    root = tmp_path / "cache"
    monkeypatch.setenv("FASTOPT_CACHE_DIR", str(root))
    fo.datasets._load_cached.cache_clear()
    yield root
    fo.datasets._load_cached.cache_clear()


def _entry(name):
    filename = fo.datasets._DATASETS[name][0]
    sha = _cache.file_sha256(fo.datasets._data_path(filename).read_bytes())
    return _cache.entry_path(name, sha), sha


def _fresh_load(name, **kw):
    """load() as a new process would do it: no in-memory copy."""
    fo.datasets._load_cached.cache_clear()
    return fo.datasets.load(name, **kw)


def _assert_same(A, B):
    (X1, y1), (X2, y2) = A, B
    assert X1.shape == X2.shape
    for attr in ("data", "indices", "indptr"):
        a, b = getattr(X1, attr), getattr(X2, attr)
        assert a.dtype == b.dtype, attr
        np.testing.assert_array_equal(a, b)
    assert y1.dtype == y2.dtype
    np.testing.assert_array_equal(y1, y2)


def _no_parse(name):
    raise AssertionError("parsed although the cache holds a valid entry")


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FASTOPT_CACHE_DIR", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert _cache.cache_dir() == tmp_path / "a" / "datasets"
    monkeypatch.setenv("FASTOPT_CACHE_DIR", "")
    assert _cache.cache_dir() == tmp_path / "x" / "fastopt" / "datasets"
    monkeypatch.delenv("FASTOPT_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _cache.cache_dir() == tmp_path / "home" / ".cache" / "fastopt" / "datasets"
    monkeypatch.setattr(_cache.os.path, "expanduser", lambda path: path)  # no home known
    assert _cache.cache_dir() is None and _cache.entry_path("a9a", "0" * 64) is None
    monkeypatch.chdir(tmp_path)
    X, _ = _fresh_load("mushrooms")  # parsed, nothing written anywhere
    fo.datasets._load_cached.cache_clear()
    assert X.shape == (8124, 112) and sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["a9a", "ijcnn1"])
def test_cached_arrays_are_identical_to_parsed_ones(name, cache_root, monkeypatch):
    path, sha = _entry(name)
    assert not path.exists()
    first = _fresh_load(name)  # parses and writes the entry
    assert path.exists() and _cache.read(path, sha, first[0].shape[1]) is not None
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    parsed = fo.datasets._parse(name)
    monkeypatch.setattr(fo.datasets, "_parse", _no_parse)
    second = _fresh_load(name)  # from the cache
    _assert_same(first, second)
    _assert_same(parsed, second)
    assert second[0].has_canonical_format
    X32, _ = _fresh_load(name, dtype=np.float32)
    assert X32.dtype == np.float32 and X32.nnz == parsed[0].nnz


def _corrupt_garbage(path):
    path.write_bytes(b"this is not a zip archive")


def _corrupt_truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corrupt_empty(path):
    path.write_bytes(b"")


@pytest.mark.parametrize("damage", [_corrupt_garbage, _corrupt_truncated, _corrupt_empty])
def test_damaged_entry_is_ignored_and_rebuilt(damage, cache_root):
    reference = _fresh_load("mushrooms")
    path, sha = _entry("mushrooms")
    damage(path)
    assert _cache.read(path, sha, 112) is None
    _assert_same(reference, _fresh_load("mushrooms"))
    assert _cache.read(path, sha, 112) is not None  # rewritten whole


def _csr_parts():
    X, y = fo.datasets._parse("mushrooms")
    return {"data": X.data.copy(), "indices": X.indices.copy(), "indptr": X.indptr.copy(),
            "shape": X.shape, "y": y.copy()}


def _swap_two_columns(p):
    p["indices"][[0, 1]] = p["indices"][[1, 0]]


def _column_out_of_range(p):
    p["indices"][5] = 112


def _negative_column(p):
    p["indices"][5] = -1


def _indptr_decreasing(p):
    p["indptr"][3], p["indptr"][4] = p["indptr"][4], p["indptr"][3]


def _indptr_end(p):
    p["indptr"][-1] -= 1


def _duplicate_column(p):
    p["indices"][1] = p["indices"][0]


def _zero_value(p):
    p["data"][7] = 0.0


def _nan_value(p):
    p["data"][7] = np.nan


def _label_zero(p):
    p["y"][3] = 0.0


def _short_y(p):
    p["y"] = p["y"][:-1]


def _wrong_shape(p):
    p["shape"] = (p["shape"][0], p["shape"][1] + 1)


def _more_rows(p):
    p["shape"] = (p["shape"][0] + 1, p["shape"][1])


def _float32_data(p):
    p["data"] = p["data"].astype(np.float32)


def _mixed_index_dtypes(p):
    p["indptr"] = p["indptr"].astype(np.int64)


@pytest.mark.parametrize("damage", [
    _swap_two_columns, _column_out_of_range, _negative_column, _indptr_decreasing,
    _indptr_end, _duplicate_column, _zero_value, _nan_value, _label_zero, _short_y,
    _wrong_shape, _more_rows, _float32_data, _mixed_index_dtypes,
])
def test_entry_with_bad_content_is_refused(damage, cache_root):
    path, sha = _entry("mushrooms")
    parts = _csr_parts()
    assert _cache.write(path, sha, **parts)
    assert _cache.read(path, sha, 112) is not None  # the intact parts are accepted
    damage(parts)
    assert _cache.write(path, sha, **parts)
    assert _cache.read(path, sha, 112) is None
    X, y = _fresh_load("mushrooms")  # rebuilt from the source file
    assert X.has_canonical_format and X.shape == (8124, 112) and set(np.unique(y)) == {-1, 1}
    assert _cache.read(path, sha, 112) is not None


def test_stale_entry_is_refused(cache_root, monkeypatch):
    path, sha = _entry("mushrooms")
    parts = _csr_parts()
    other = "0" * 64
    assert _cache.write(path, other, **parts)  # another source file's arrays at this name
    assert _cache.read(path, sha, 112) is None
    assert _cache.write(path, sha, **parts)
    assert _cache.read(path, sha, 112) is not None
    monkeypatch.setattr(_cache, "FORMAT", _cache.FORMAT + 1)  # a newer layout
    assert _cache.read(path, sha, 112) is None


def test_entry_with_extra_or_pickled_arrays_is_refused(cache_root):
    path, sha = _entry("mushrooms")
    parts = _csr_parts()
    X = sp.csr_matrix((parts["data"], parts["indices"], parts["indptr"]),
                      shape=parts["shape"])
    path.parent.mkdir(parents=True)
    base = {"format": np.int64(_cache.FORMAT), "source_sha256": np.str_(sha),
            "data": X.data, "indices": X.indices, "indptr": X.indptr,
            "shape": np.array(X.shape, dtype=np.int64), "y": parts["y"]}
    np.savez(path, **base, extra=np.zeros(1))
    assert _cache.read(path, sha, 112) is None
    # An object array needs pickle to load: it is refused, never unpickled.
    np.savez(path, **dict(base, y=np.array([object()] * 8124, dtype=object)))
    assert _cache.read(path, sha, 112) is None
    np.savez(path, **dict(base, source_sha256=np.array([sha])))  # not a 0-d string
    assert _cache.read(path, sha, 112) is None
    np.savez(path, **base)
    assert _cache.read(path, sha, 112) is not None


def test_unwritable_cache_dir_falls_back_to_parsing(tmp_path, monkeypatch, recwarn):
    blocker = tmp_path / "a-file"
    blocker.write_text("a regular file cannot hold a cache folder")
    monkeypatch.setenv("FASTOPT_CACHE_DIR", str(blocker / "cache"))
    X, y = _fresh_load("mushrooms")
    fo.datasets._load_cached.cache_clear()
    assert X.shape == (8124, 112) and blocker.is_file()
    assert not [w for w in recwarn if "cache" in str(w.message).lower()]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only folders")
def test_read_only_cache_dir_falls_back_to_parsing(cache_root):
    folder = cache_root / "datasets"
    folder.mkdir(parents=True)
    folder.chmod(0o500)
    try:
        X, _ = _fresh_load("mushrooms")
        assert X.shape == (8124, 112) and not list(folder.iterdir())
    finally:
        folder.chmod(0o700)


def test_failed_write_leaves_nothing_behind(cache_root, monkeypatch):
    def denied(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(_cache.os, "replace", denied)
    X, _ = _fresh_load("mushrooms")
    assert X.shape == (8124, 112)
    assert list((cache_root / "datasets").iterdir()) == []  # the temporary was removed


def test_interrupted_write_never_shows_a_partial_entry(cache_root, monkeypatch):
    path, sha = _entry("mushrooms")
    parts = _csr_parts()
    real_savez = np.savez

    def savez_then_fail(file, **arrays):
        real_savez(file, **arrays)
        file.write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_cache.np, "savez", savez_then_fail)
    assert not _cache.write(path, sha, **parts)
    assert not path.exists() and list(path.parent.iterdir()) == []


def test_concurrent_first_loads_agree(cache_root):
    # Several processes find the cache empty and parse and write at the same time; each
    # rename is atomic, so all of them and a later reader see one whole, valid entry.
    code = ("import hashlib, fastopt.datasets as d; X, y = d.load('mushrooms'); "
            "print(hashlib.sha256(X.data.tobytes() + X.indices.tobytes() + "
            "X.indptr.tobytes() + y.tobytes()).hexdigest())")
    env = dict(os.environ, FASTOPT_CACHE_DIR=str(cache_root))
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                              text=True) for _ in range(3)]
    digests = {p.communicate(timeout=300)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(digests) == 1
    path, sha = _entry("mushrooms")
    assert _cache.read(path, sha, 112) is not None
    assert [p.name for p in path.parent.iterdir()] == [path.name]


# ---------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize("name", ["iris", "A9A", "a9a ", "", None, 3, ["a9a"], {"a9a": 1}])
def test_bad_name_is_a_value_error_naming_it(name):
    # An unhashable name (list, dict) is a ValueError too, not the TypeError of a dict test.
    with pytest.raises(ValueError, match="unknown dataset name") as info:
        fo.datasets.load(name)
    assert repr(name) in str(info.value) and "mushrooms" in str(info.value)
    with pytest.raises(ValueError, match="unknown dataset name"):
        fo.datasets.info(name)


@pytest.mark.parametrize("dtype", ["f9", "nope", "complex128", np.int64, int, None,
                                   np.float16, [np.float64]])
def test_bad_dtype_is_a_value_error_naming_it(dtype):
    with pytest.raises(ValueError, match="dtype must be float32 or float64") as info:
        fo.datasets.load("mushrooms", dtype=dtype)
    assert repr(dtype) in str(info.value)


def _claiming_entry(path, sha, claimed):
    """A cache entry whose ``data`` member claims ``claimed`` float64 values but stores
    eight; every other member is intact."""
    parts = _csr_parts()
    X = sp.csr_matrix((parts["data"], parts["indices"], parts["indptr"]),
                      shape=parts["shape"])
    members = {"format": np.int64(_cache.FORMAT), "source_sha256": np.str_(sha),
               "indices": X.indices, "indptr": X.indptr,
               "shape": np.array(X.shape, dtype=np.int64), "y": parts["y"]}
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in members.items():
            buffer = io.BytesIO()
            np.save(buffer, value)
            archive.writestr(f"{key}.npy", buffer.getvalue())
        head = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            head, {"descr": "<f8", "fortran_order": False, "shape": (claimed,)})
        archive.writestr("data.npy", head.getvalue() + bytes(64))


def test_entry_claiming_a_huge_array_is_refused_before_allocating(cache_root, monkeypatch):
    path, sha = _entry("mushrooms")
    _claiming_entry(path, sha, 2**47)  # 1 PB
    read_arrays = []
    real_read_array = np.lib.format.read_array

    def recording_read_array(fp, *args, **kwargs):
        array = real_read_array(fp, *args, **kwargs)
        read_arrays.append(array.shape)
        return array

    monkeypatch.setattr(np.lib.format, "read_array", recording_read_array)
    assert _cache.read(path, sha, 112) is None
    assert read_arrays == []  # refused from the headers: nothing was allocated or read
    X, y = _fresh_load("mushrooms")  # parsed again, entry rewritten whole
    assert X.shape == (8124, 112) and X.nnz == PUBLISHED["mushrooms"][3]
    monkeypatch.setattr(np.lib.format, "read_array", real_read_array)
    assert _cache.read(path, sha, 112) is not None


@pytest.mark.parametrize("damage", ["flip", "zeros"])
def test_entry_damaged_inside_a_member_is_detected_and_reparsed(damage, cache_root):
    # Damage that keeps the zip directory intact: the CRC (or the checks) catch it.
    reference = _fresh_load("mushrooms")
    path, sha = _entry("mushrooms")
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    if damage == "flip":
        data[middle] ^= 0xFF
    else:
        data[middle: middle + 4096] = bytes(4096)
    path.write_bytes(bytes(data))
    assert _cache.read(path, sha, 112) is None
    _assert_same(reference, _fresh_load("mushrooms"))
    assert _cache.read(path, sha, 112) is not None
