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


@pytest.mark.parametrize("name, content, fragments", [
    ("bad.svm", "1 3:x\n-1 1:2\n", ("bad.svm, line 1", "'x'", "not a number")),
    ("bad.csv", "a,b,label\n1,2,x\n3,4,1\n", ("could not read", "CSV")),
    ("bad.npz", "not a zip archive", ("bad.npz", "not an .npz archive")),
    ("bad.npy", "not numpy", ("could not read", ".npy")),
])
def test_malformed_file_is_a_one_line_error(name, content, fragments, tmp_path, capsys):
    path = tmp_path / name
    path.write_text(content)
    _one_line_error(capsys, main(["fit", str(path)]), name, *fragments)


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


# ---------------------------------------------------------------------------- honest timings


class _FirstCallCompiles:
    """A kernel module whose kernels each "compile" at their first call in the process:
    a numba compile event lasting ``seconds`` (numba's own event API, which the command
    listens to), like a numba kernel's first call with new types."""

    def __init__(self, module, seen, seconds=0.02):
        self._module, self._seen, self._seconds = module, seen, seconds

    def __getattr__(self, name):
        import time

        from numba.core import event

        attr = getattr(self._module, name)
        if not callable(attr):
            return attr

        def kernel(*args, **kwargs):
            if name not in self._seen:
                self._seen.add(name)
                with event.trigger_event("numba:compile", data={"kernel": name}):
                    time.sleep(self._seconds)
            return attr(*args, **kwargs)

        return kernel


@pytest.fixture
def compiling_kernels(monkeypatch):
    """Objectives built from now on, and the first-order solvers' fused updates, get
    kernels that compile at their first call (0.02 s; ``seen.seconds`` changes it)."""
    import fastopt.problems.base as base
    import fastopt.solvers.first_order as first_order

    class Seen(set):
        seconds = 0.02

    seen = Seen()
    for module in (base, first_order):
        real = module.get_backend
        monkeypatch.setattr(module, "get_backend", lambda name, real=real: _FirstCallCompiles(
            real(name), seen, seen.seconds))
    return seen


def _warm_up_line(out):
    line = next(line for line in out.splitlines() if line.startswith("warm-up (untimed"))
    compiled = float(line.split("numba compilation ")[1].split(" s")[0])
    return line, compiled


def _compare_small(small, tmp_path, *extra):
    X, y = small
    dump_svmlight_file(X, y, str(tmp_path / "s.svm"), zero_based=False)
    return main(["compare", str(tmp_path / "s.svm"), "--methods", "newton,lbfgs",
                 "--out-dir", str(tmp_path), "-q", *extra])


def test_compare_compiles_in_the_warm_up_not_in_the_timed_rows(small, tmp_path, capsys,
                                                               compiling_kernels):
    assert _compare_small(small, tmp_path) == 0
    out = capsys.readouterr().out
    line, compiled = _warm_up_line(out)
    assert compiled >= 0.02 and "scikit-learn" in line
    assert "timed runs compiled nothing" in out
    assert "logistic_loss_grad_csr" in compiling_kernels


def test_compare_reports_compilation_the_warm_up_missed(small, tmp_path, capsys,
                                                         compiling_kernels, monkeypatch):
    import fastopt.cli as cli

    monkeypatch.setattr(cli, "_warm_up_method", lambda *a, **k: (0.0, 0.0))
    assert _compare_small(small, tmp_path) == 0
    out = capsys.readouterr().out
    assert "timed runs compiled nothing" not in out
    late = next(line for line in out.splitlines() if "compiled inside timed runs" in line)
    assert "newton" in late and "subtracted" in late


def test_compare_timed_rows_exclude_the_warm_up_calls(small, tmp_path, capsys, monkeypatch):
    import importlib

    minimize_module = importlib.import_module("fastopt.minimize")
    real_minimize = minimize_module.minimize
    calls = []

    def counting_minimize(objective, x0, method=None, **options):
        calls.append((method, objective.n_samples, options.get("max_iter")))
        return real_minimize(objective, x0, method=method, **options)

    monkeypatch.setattr(minimize_module, "minimize", counting_minimize)
    assert _compare_small(small, tmp_path, "--max-iter", "50") == 0
    out = capsys.readouterr().out
    m = small[0].shape[0]
    # Each method: first a warm-up on a few rows (3 iterations), then the timed run.
    assert [c[0] for c in calls] == ["newton", "newton", "lbfgs", "lbfgs"]
    for warm, timed in (calls[0:2], calls[2:4]):
        assert warm[1] < m and warm[2] == 3
        assert timed[1] == m and timed[2] == 50
    newton_row = next(line for line in out.splitlines() if line.startswith("fastopt")
                      and line.split()[1] == "newton")
    assert int(newton_row.split()[2]) > 3  # the timed run's iterations, not the warm-up's


def test_demo_compiles_in_the_warm_up(tmp_path, capsys, compiling_kernels):
    # Each kernel's compilation outlasts gd's whole time budget: a warm-up that kept the
    # budget would stop before its first step and leave the update kernel to the timed run.
    compiling_kernels.seconds = 0.25
    code = main(["demo", "--methods", "newton,gd", "--budget", "0.2", "--out-dir",
                 str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    line, compiled = _warm_up_line(out)
    assert compiled >= 0.25
    assert "timed runs compiled nothing" in line
    assert "gd_" in compiling_kernels
    gd_row = next(row for row in out.splitlines() if row.startswith("gd "))
    assert int(gd_row.split()[1]) >= 1  # it made progress within its budget
    assert "warm-up (s)" in out


def test_fit_reports_its_warm_up(tmp_path, capsys, monkeypatch, compiling_kernels):
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "mushrooms", "--quiet", "--method", "lbfgs"]) == 0
    out = capsys.readouterr().out
    line, compiled = _warm_up_line(out)
    assert compiled >= 0.02 and "timed runs compiled nothing" in line
    accuracy = float(out.split("training accuracy ")[1].split()[0])
    X, y = datasets.load("mushrooms")
    with np.load(tmp_path / "mushrooms.coef.npz") as fitted:
        z = X @ fitted["coef"][0] + fitted["intercept"][0]
    assert accuracy == pytest.approx(np.mean(np.where(z > 0, 1.0, -1.0) == y), abs=1e-4)


@pytest.mark.parametrize("backend", ["numpy", "nope"])
def test_backend_option(backend, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["fit", "mushrooms", "--quiet", "--backend", backend])
    if backend == "nope":
        _one_line_error(capsys, code, "nope")
    else:
        assert code == 0 and "backend numpy" in capsys.readouterr().out


# ---------------------------------------------------------------------------- progress bar


class _Terminal:
    """A stream that says it is a terminal and keeps what is written to it."""

    def __init__(self):
        import threading

        self.parts, self.lock = [], threading.Lock()

    def isatty(self):
        return True

    def write(self, text):
        with self.lock:
            self.parts.append(text)

    def flush(self):
        pass

    def text(self):
        with self.lock:
            return "".join(self.parts)


def test_fraction_done_uses_every_known_budget():
    from fastopt._progress import fraction_done

    assert fraction_done(10, 1.0, None, None) == 0.0
    assert fraction_done(10, 1.0, None, None, total=100) == pytest.approx(0.1)
    # A time budget dominates a huge iteration budget (the demo's first-order methods).
    assert fraction_done(1000, 2.0, None, None, total=10**6,
                         max_time=10.0) == pytest.approx(0.2)
    # Gradient norm from 1 to 1e-4 of the way to tol = 1e-8: half-way on a log scale.
    assert fraction_done(3, 0.1, 1e-4, 1.0, total=1000, tol=1e-8) == pytest.approx(0.5)
    assert fraction_done(3, 0.1, 1e-12, 1.0, total=1000, tol=1e-8) == 1.0
    assert fraction_done(3, 0.1, 10.0, 1.0, total=1000, tol=1e-8) == pytest.approx(0.003)
    assert fraction_done(3, 0.1, float("nan"), 1.0, tol=1e-8) == 0.0


def test_progress_bar_appears_before_the_first_iteration_ends():
    import time

    from fastopt._progress import Progress

    stream = _Terminal()
    with Progress(1000, desc="slow-first-step", delay=0.05, stream=stream, tol=1e-8,
                  refresh=0.02) as progress:
        assert progress.enabled
        deadline = time.monotonic() + 30
        while "slow-first-step" not in stream.text() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "slow-first-step" in stream.text()  # no callback call has happened yet
    assert progress._thread is None


def test_progress_bar_estimates_from_completed_work():
    from types import SimpleNamespace

    from fastopt._progress import Progress

    stream = _Terminal()
    with Progress(10**6, desc="gd", delay=0.0, stream=stream, max_time=1e6,
                  tol=1e-8) as progress:
        progress(SimpleNamespace(nit=0, fun=1.0, grad_norm=1.0))
        progress(SimpleNamespace(nit=5, fun=0.5, grad_norm=1e-4))
        # Half-way from ||g_0|| = 1 to tol on a log scale, not 5 of 10^6 iterations.
        assert progress._bar.n == 500
        progress(SimpleNamespace(nit=6, fun=0.4, grad_norm=1e-2))  # never goes back
        assert progress._bar.n == 500 and progress.nit == 6
    assert "gd" in stream.text()


def test_progress_is_silent_when_quiet_or_not_a_terminal():
    import io

    from fastopt._progress import Progress

    stream = io.StringIO()
    for quiet in (True, False):
        with Progress(10, desc="x", quiet=quiet, stream=stream, delay=0.0) as progress:
            assert not progress.enabled and progress(object()) is None
    assert stream.getvalue() == ""


@pytest.mark.parametrize("intercept", [False, True])
def test_fit_multinomial_matches_the_estimator(intercept, tmp_path, capsys):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    keep = y < 3
    X, y = X[keep][:240] / 16.0, y[keep][:240] + 5  # classes 5, 6, 7
    np.save(tmp_path / "d.npy", np.column_stack([X, y]))
    args = ["fit", str(tmp_path / "d.npy"), "--lam", "0.01", "--backend", "numpy",
            "--out", str(tmp_path / "c.npz"), "-q"] + (["--intercept"] if intercept else [])
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "multinomial" in out and "classes 5.0, 6.0, 7.0" in out
    clf = LogisticRegression(alpha=0.01, fit_intercept=intercept, tol=1e-8, max_iter=1000,
                             backend="numpy").fit(X, y)
    with np.load(tmp_path / "c.npz") as fitted:
        np.testing.assert_allclose(fitted["coef"], clf.coef_, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(fitted["intercept"], clf.intercept_, atol=1e-8)
        np.testing.assert_array_equal(fitted["classes"], clf.classes_)
    accuracy = float(out.split("training accuracy ")[1].split()[0])
    assert accuracy == pytest.approx(clf.score(X, y), abs=1e-4)


def test_fit_refuses_continuous_labels(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "r.npy", np.column_stack([rng.random((20, 3)), rng.random(20)]))
    _one_line_error(capsys, main(["fit", str(tmp_path / "r.npy")]), "continuous")


def test_fit_of_a_bundled_set_does_not_import_sklearn(tmp_path):
    # scikit-learn's import costs a fresh process more than fitting a bundled set; the fit
    # command needs it only to parse svmlight files (the bundled sets come from a cache).
    import subprocess
    import sys

    code = ("import sys; from fastopt.cli import main; "
            "code = main(['fit', 'mushrooms', '-q', '--out', 'c.npz']); "
            "assert code == 0; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sklearn', 'matplotlib', 'tqdm')))")
    datasets.load("mushrooms")  # the cache entry exists (written by this process if not)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
