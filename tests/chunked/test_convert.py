"""``fastopt.chunked.convert`` / ``load`` and the ``fastopt convert`` command.

A file converted once must load back as exactly the X and y the in-memory readers give;
a corrupt input must be a ValueError naming the file and line, leaving nothing at the
destination that could later open as a store.
"""

from importlib import resources

import numpy as np
import pytest
import scipy.sparse as sp

import fastopt as fo
from fastopt.cli import main

zarr = pytest.importorskip("zarr")


@pytest.fixture(scope="module")
def a9a_file():
    with resources.as_file(resources.files("fastopt.datasets").joinpath(
            "data", "a9a.svm.gz")) as path:
        yield path


def _stack(source):
    blocks = [block.copy() for _, block in source.blocks()]
    return sp.vstack(blocks).tocsr() if source.is_sparse else np.vstack(blocks)


def _no_leftovers(tmp_path, keep=()):
    return sorted(p.name for p in tmp_path.iterdir() if p.name not in keep)


def test_svmlight_to_store_and_back(a9a_file, tmp_path):
    from sklearn.datasets import load_svmlight_file

    shape = fo.chunked.convert(a9a_file, tmp_path / "a9a.zarr", block_rows=10000,
                               n_features=123, progress=False)
    X_sk, y_sk = load_svmlight_file(str(a9a_file), n_features=123, dtype=np.float64)
    X_fo, y_fo = fo.datasets.load("a9a")
    assert shape == X_fo.shape
    X, y = fo.chunked.load(tmp_path / "a9a.zarr")
    assert X.is_sparse and X.shape == X_fo.shape and X.n_blocks == 4
    np.testing.assert_array_equal(X.bounds, [0, 10000, 20000, 30000, 32561])
    stacked = _stack(X)
    assert (stacked != X_sk).nnz == 0 and (stacked != X_fo).nnz == 0
    np.testing.assert_array_equal(stacked.indices, X_fo.indices)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, y_sk)
    np.testing.assert_array_equal(y, y_fo)
    # fastopt.chunked.open on the store gives its X too.
    assert fo.chunked.open(tmp_path / "a9a.zarr").shape == X_fo.shape
    # And a fit on it is the in-memory fit.
    lam, x0 = 1.0 / X.shape[0], np.zeros(X.shape[1])
    res = fo.minimize(fo.problems.Logistic(X, y, lam=lam), x0, method="newton")
    one = fo.minimize(fo.problems.Logistic(X_fo, y_fo, lam=lam), x0, method="newton")
    assert res.nit == one.nit and res.fun == pytest.approx(one.fun, rel=1e-12)
    assert _no_leftovers(tmp_path) == ["a9a.zarr"]


def test_svmlight_width_and_zero_based(tmp_path):
    src = tmp_path / "s.svm"
    src.write_text("# a comment line\n1 0:1.5 3:2\n\n-1 1:-1 # trailing comment\n0 2:4\n")
    fo.chunked.convert(src, tmp_path / "s.zarr", zero_based=True, n_features=6,
                       block_rows=2, progress=False)
    X, y = fo.chunked.load(tmp_path / "s.zarr")
    want = np.array([[1.5, 0, 0, 2, 0, 0], [0, -1, 0, 0, 0, 0], [0, 0, 4, 0, 0, 0]])
    np.testing.assert_array_equal(_stack(X).toarray(), want)
    np.testing.assert_array_equal(y, [1, -1, 0])
    assert X.n_blocks == 2


@pytest.mark.parametrize("text,line,what", [
    ("1 1:1\n1 2:x\n", 2, "value 'x' of feature 2"),
    ("1 1:1\n-1 3:1 2:1\n", 2, "must increase"),
    ("1 1:1\nabc 1:1\n", 2, "label 'abc'"),
    ("1 1:1\n1 1:1\n1 0:2\n", 3, "index 0"),
    ("1 1:1\n-1 2:nan\n", 2, "not a finite number"),
    ("1 1:1\n1 9:1\n", 2, "beyond n_features = 5"),
])
def test_bad_svmlight_line_is_named(tmp_path, text, line, what):
    src = tmp_path / "bad.svm"
    src.write_text(text)
    with pytest.raises(ValueError, match=rf"bad\.svm, line {line}: .*{what}"):
        fo.chunked.convert(src, tmp_path / "out.zarr", n_features=5, progress=False)
    assert _no_leftovers(tmp_path) == ["bad.svm"]  # no store, no temporary directory


def test_implausible_width_is_refused(tmp_path):
    src = tmp_path / "wide.svm"
    src.write_text("1 1:1\n-1 2:1 2000000000:1\n1 3:1\n")
    with pytest.raises(ValueError, match=r"wide\.svm, line 2: feature index 2000000000 is "
                                         "implausible.*pass n_features"):
        fo.chunked.convert(src, tmp_path / "out.zarr", block_rows=1, progress=False)
    assert _no_leftovers(tmp_path) == ["wide.svm"]
    with pytest.raises(ValueError, match=r"line 2: .*beyond the supported"):
        src.write_text("1 1:1\n-1 2:1 5000000000:1\n")
        fo.chunked.convert(src, tmp_path / "out.zarr", progress=False)


def test_bad_line_in_a_later_block_leaves_nothing(tmp_path):
    src = tmp_path / "late.svm"
    src.write_text("".join(f"1 1:{i}\n" for i in range(50)) + "1 1:1 1:2\n")
    before = src.read_bytes()
    with pytest.raises(ValueError, match=r"late\.svm, line 51"):
        fo.chunked.convert(src, tmp_path / "out.zarr", block_rows=8, progress=False)
    assert _no_leftovers(tmp_path) == ["late.svm"]
    assert src.read_bytes() == before


def test_damaged_compressed_file(a9a_file, tmp_path):
    src = tmp_path / "cut.svm.gz"
    src.write_bytes(a9a_file.read_bytes()[:50000])  # a truncated gzip stream
    with pytest.raises(ValueError, match=r"cut\.svm\.gz: cannot read the file"):
        fo.chunked.convert(src, tmp_path / "out.zarr", n_features=123, progress=False)
    assert _no_leftovers(tmp_path) == ["cut.svm.gz"]


def test_csv_with_header(tmp_path):
    rng = np.random.default_rng(0)
    table = np.column_stack([rng.standard_normal((23, 3)), rng.integers(0, 2, 23)])
    src = tmp_path / "t.csv"
    src.write_text("a,b,c,label\n" + "\n".join(",".join(repr(float(v)) for v in row)
                                              for row in table) + "\n")
    fo.chunked.convert(src, tmp_path / "t.zarr", block_rows=5, progress=False)
    X, y = fo.chunked.load(tmp_path / "t.zarr")
    assert not X.is_sparse and X.shape == (23, 3)
    np.testing.assert_array_equal(_stack(X), table[:, :3])
    np.testing.assert_array_equal(y, table[:, 3])
    # The label in the first column instead, stored as float32.
    fo.chunked.convert(src, tmp_path / "t0.zarr", block_rows=5, label_column=0,
                       dtype=np.float32, progress=False)
    X0, y0 = fo.chunked.load(tmp_path / "t0.zarr", block_rows=10)
    assert X0.dtype == np.float32 and X0.n_blocks == 3
    np.testing.assert_array_equal(_stack(X0), table[:, 1:].astype(np.float32))
    np.testing.assert_array_equal(y0, table[:, 0])


@pytest.mark.parametrize("text,line,what", [
    ("1,2,0\n3,4,1\n5,6\n", 3, "2 fields, the table has 3"),
    ("x,y,label\n1,2,0\n3,oops,1\n", 3, "field 2 \\('oops'\\) is not a number"),
    ("1,2,0\n3,nan,1\n", 2, "NaN or infinity"),
])
def test_bad_csv_line_is_named(tmp_path, text, line, what):
    src = tmp_path / "bad.csv"
    src.write_text(text)
    with pytest.raises(ValueError, match=rf"bad\.csv, line {line}: {what}"):
        fo.chunked.convert(src, tmp_path / "out.zarr", progress=False)
    assert _no_leftovers(tmp_path) == ["bad.csv"]


def test_npy_table(tmp_path):
    rng = np.random.default_rng(1)
    table = np.column_stack([rng.integers(0, 2, 40), rng.standard_normal((40, 4))])
    np.save(tmp_path / "t.npy", table)
    fo.chunked.convert(tmp_path / "t.npy", tmp_path / "t.zarr", block_rows=16,
                       label_column=0, progress=False)
    X, y = fo.chunked.load(tmp_path / "t.zarr")
    np.testing.assert_array_equal(_stack(X), table[:, 1:])
    np.testing.assert_array_equal(y, table[:, 0])
    with pytest.raises(ValueError, match="label column 9 is outside"):
        fo.chunked.convert(tmp_path / "t.npy", tmp_path / "u.zarr", label_column=9,
                           progress=False)


def test_destination_rules(tmp_path):
    src = tmp_path / "s.svm"
    src.write_text("1 1:1\n-1 2:1\n")
    dst = tmp_path / "s.zarr"
    fo.chunked.convert(src, dst, progress=False)
    with pytest.raises(ValueError, match="already exists"):
        fo.chunked.convert(src, dst, progress=False)
    src.write_text("1 1:1\n-1 2:1\n1 3:2\n")
    fo.chunked.convert(src, dst, progress=False, overwrite=True)
    assert fo.chunked.load(dst)[0].shape == (3, 3)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("precious")
    with pytest.raises(ValueError, match="not a store written by convert; not replaced"):
        fo.chunked.convert(src, other, progress=False, overwrite=True)
    assert (other / "keep.txt").read_text() == "precious"
    with pytest.raises(ValueError, match="no such file"):
        fo.chunked.convert(tmp_path / "nope.svm", tmp_path / "n.zarr", progress=False)


def test_incomplete_store_is_refused(tmp_path):
    src = tmp_path / "s.svm"
    src.write_text("1 1:1\n-1 2:1\n")
    dst = tmp_path / "s.zarr"
    fo.chunked.convert(src, dst, progress=False)
    group = zarr.open_group(str(dst), mode="r+")
    attrs = dict(group.attrs["fastopt"])
    attrs["complete"] = False
    group.attrs["fastopt"] = attrs
    with pytest.raises(ValueError, match="incomplete store"):
        fo.chunked.load(dst)
    with pytest.raises(ValueError, match="not a store written by"):
        fo.chunked.load(tmp_path / "s.zarr" / "X")


def test_progress_goes_to_stderr_and_can_be_off(tmp_path, capsys):
    src = tmp_path / "s.svm"
    src.write_text("".join(f"{i % 2} 1:{i}\n" for i in range(100)))
    fo.chunked.convert(src, tmp_path / "a.zarr", block_rows=10, progress=False)
    assert capsys.readouterr().err == ""
    fo.chunked.convert(src, tmp_path / "b.zarr", block_rows=10, progress=True)
    captured = capsys.readouterr()
    assert "convert s.svm" in captured.err and captured.out == ""


def test_cli_convert(a9a_file, tmp_path, capsys):
    dst = tmp_path / "a9a.zarr"
    status = main(["convert", str(a9a_file), str(dst), "--block-rows", "20000",
                   "--n-features", "123", "--quiet"])
    assert status == 0
    X, y = fo.chunked.load(dst)
    assert X.shape == (32561, 123) and X.n_blocks == 2
    capsys.readouterr()
    bad = tmp_path / "bad.svm"
    bad.write_text("1 1:1\n1 1:zz\n")
    assert main(["convert", str(bad), str(tmp_path / "b.zarr"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.svm, line 2" in err
    assert main(["convert", str(a9a_file), str(dst), "--quiet"]) == 2
    assert "already exists" in capsys.readouterr().err
    zero = tmp_path / "z.svm"
    zero.write_text("1 0:1\n")
    assert main(["convert", str(zero), str(tmp_path / "z.zarr"), "--quiet",
                 "--zero-based"]) == 0
    assert fo.chunked.load(tmp_path / "z.zarr")[0].shape == (1, 1)
