"""The fastopt command, run in-process through cli.main."""

import gzip

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file

from fastopt import datasets
from fastopt.cli import EXPERIMENTS, main
from fastopt.linear_model import LogisticRegression


@pytest.fixture(scope="module")
def small():
    X, y = datasets.load("mushrooms")
    return X[:400], y[:400]


def _one_line_error(capsys, code, *fragments):
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("fastopt: error:")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in captured.err


def _expected_coef(X, y, lam, intercept=False):
    clf = LogisticRegression(alpha=lam, fit_intercept=intercept, tol=1e-8, max_iter=1000)
    return clf.fit(X, y).coef_


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "fastopt" in out and "numba" in out.lower()


@pytest.mark.parametrize("fmt", ["svm", "svm.gz", "npz-dense", "npz-sparse", "csv", "npy"])
def test_fit_reads_every_format_and_writes_coefficients(fmt, small, tmp_path, capsys):
    X, y = small
    path = tmp_path / f"data.{fmt.split('-')[0]}"
    if fmt.startswith("svm"):
        dump_svmlight_file(X, y, str(tmp_path / "data.svm"), zero_based=False)  # LIBSVM style
        if fmt == "svm.gz":
            path.write_bytes(gzip.compress((tmp_path / "data.svm").read_bytes()))
    elif fmt == "npz-dense":
        np.savez(path, X=X.toarray(), y=y)
    elif fmt == "npz-sparse":
        sp.save_npz(tmp_path / "X.npz", X)
        with np.load(tmp_path / "X.npz") as archive:
            np.savez(path, y=y, **{k: archive[k] for k in ("data", "indices", "indptr",
                                                          "shape")})
    elif fmt == "csv":
        np.savetxt(path, np.column_stack([X.toarray(), y]), delimiter=",",
                   header=",".join([f"f{j}" for j in range(X.shape[1])] + ["label"]),
                   comments="")
    else:
        np.save(path, np.column_stack([X.toarray(), y]))
    out = tmp_path / "coef.npz"
    code = main(["fit", str(path), "--lam", "0.01", "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "converged" in captured.out and "coefficients written" in captured.out
    with np.load(out) as result:
        # svmlight drops trailing all-zero columns; compare on the columns read.
        n = result["coef"].shape[1]
        np.testing.assert_allclose(result["coef"],
                                   _expected_coef(X[:, :n], y, 0.01), rtol=1e-6, atol=1e-9)
        assert float(result["lam"]) == 0.01


def test_fit_options_intercept_C_dtype_and_text_output(small, tmp_path, capsys):
    X, y = small
    dump_svmlight_file(X, y, str(tmp_path / "d.svm"), zero_based=False)  # LIBSVM style
    out = tmp_path / "coef.csv"
    code = main(["fit", str(tmp_path / "d.svm"), "--C", "2", "--intercept", "--dtype",
                 "float32", "--method", "newton-cg", "--out", str(out), "-q"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "newton-cg" in captured.out and "float32" in captured.out
    header = out.read_text().splitlines()[0].split(",")
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    # One row: the coefficients of the columns the file uses, then the intercept.
    assert header[-1] == "intercept" and table.shape == (len(header),)
    assert 10 < table.size <= X.shape[1] + 1 and table[-1] != 0.0


def test_fit_on_a_bundled_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "mushrooms", "--quiet"]) == 0
    assert (tmp_path / "mushrooms.coef.npz").exists()
    assert "8124 rows" in capsys.readouterr().out


def test_missing_file_is_a_one_line_error(tmp_path, capsys):
    code = main(["fit", str(tmp_path / "nothing.svm")])
    _one_line_error(capsys, code, "no such file", "nothing.svm")


@pytest.mark.parametrize("name, content, fragment", [
    ("bad.svm", "1 3:x\n-1 1:2\n", "svmlight"),
    ("bad.csv", "a,b,label\n1,2,x\n3,4,1\n", "CSV"),
    ("bad.npz", "not a zip archive", ".npz"),
    ("bad.npy", "not numpy", ".npy"),
])
def test_malformed_file_is_a_one_line_error(name, content, fragment, tmp_path, capsys):
    path = tmp_path / name
    path.write_text(content)
    _one_line_error(capsys, main(["fit", str(path)]), "could not read", fragment)


def test_npz_without_labels_and_single_class_are_one_line_errors(tmp_path, capsys):
    np.savez(tmp_path / "a.npz", X=np.eye(3))
    _one_line_error(capsys, main(["fit", str(tmp_path / "a.npz")]), "'y'")
    np.savez(tmp_path / "b.npz", X=np.eye(3), y=np.ones(3))
    _one_line_error(capsys, main(["fit", str(tmp_path / "b.npz")]), "one class")


def test_usage_errors_are_one_line(capsys):
    _one_line_error(capsys, main(["fit"]), "required")
    _one_line_error(capsys, main(["frobnicate"]), "invalid choice")
    _one_line_error(capsys, main(["fit", "a9a", "--lam", "1", "--C", "1"]), "--lam or --C")
    _one_line_error(capsys, main(["experiment", "nope"]), "unknown experiment", "momentum")


def test_help_exits_zero(capsys):
    assert main(["--help"]) == 0
    assert "demo" in capsys.readouterr().out


def test_demo_writes_its_plot(tmp_path, capsys):
    code = main(["demo", "--methods", "newton,gd", "--budget", "0.5", "--out-dir",
                 str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    png = tmp_path / "fastopt-demo.png"
    assert png.exists() and png.read_bytes()[:4] == b"\x89PNG"
    assert str(png.resolve()) in out
    for header in ("method", "iterations", "passes over X", "time (s)", "f - f*",
                   "||grad f||"):
        assert header in out
    newton_row = next(line for line in out.splitlines() if line.startswith("newton"))
    assert float(newton_row.split()[4]) < 1e-10  # f - f* against the published optimum


def test_compare_with_sklearn(small, tmp_path, capsys):
    X, y = small
    dump_svmlight_file(X, y, str(tmp_path / "s.svm"), zero_based=False)  # LIBSVM style
    code = main(["compare", str(tmp_path / "s.svm"), "--methods", "newton", "--out-dir",
                 str(tmp_path), "-q"])
    out = capsys.readouterr().out
    assert code == 0
    assert (tmp_path / "fastopt-compare-s.png").exists()
    assert "scikit-learn" in out and "newton-cholesky" in out


def test_experiment_names():
    assert set(EXPERIMENTS) == {"momentum", "heavy-ball-counterexample", "adaptive",
                                "sketch-newton"}


@pytest.mark.parametrize("name", ["heavy-ball-counterexample", "adaptive"])
def test_experiment_runs_and_writes_its_plot(name, tmp_path, capsys):
    assert main(["experiment", name, "--quick", "--out-dir", str(tmp_path)]) == 0
    assert (tmp_path / f"fastopt-{name}.png").exists()
    out = capsys.readouterr().out
    if name == "heavy-ball-counterexample":
        assert "FAILED" in out  # heavy ball with alpha*, rho* does not converge from -3


def test_python_dash_m_entry_point():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "fastopt", "fit", "/nonexistent/file.svm"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
