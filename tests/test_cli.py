# Over 500 lines: one test per subcommand and per hostile input of the command line,
# sharing the in-process and subprocess runners defined here.
"""The fastopt command, run in-process through cli.main (and in subprocesses, under a
memory limit, where hostile input could crash or exhaust the process)."""

import gzip
import hashlib
import io
import os
import resource
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file

from fastopt import _memory, datasets
from fastopt.cli import EXPERIMENTS, load_data, main
from fastopt.cli import fit as fit_command
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
    import fastopt.problems.linear_data as linear_data
    import fastopt.solvers.first_order as first_order

    class Seen(set):
        seconds = 0.02

    seen = Seen()
    for module, attr in ((linear_data, "backend_package"), (first_order, "get_backend")):
        real = getattr(module, attr)
        monkeypatch.setattr(module, attr, lambda name, real=real: _FirstCallCompiles(
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
    assert "linear_loss_grad_csr" in compiling_kernels


def test_compare_reports_compilation_the_warm_up_missed(small, tmp_path, capsys,
                                                         compiling_kernels, monkeypatch):
    import fastopt.cli.compare as compare_command

    monkeypatch.setattr(compare_command, "_warm_up_method", lambda *a, **k: (0.0, 0.0))
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


def test_warm_up_keeps_solver_warnings_to_itself():
    # Three iterations of sketch-newton on the warm-up rows of a9a stop far from the
    # optimum, and the solver says so; that is not the timed run's business.
    import warnings

    import fastopt as fo
    from fastopt._timing import warm_up_rows
    from fastopt.cli import runs

    X, y = datasets.load("a9a")

    def make(A, b):
        return fo.problems.Logistic(A, b, lam=3e-5, backend="numpy")

    rows = warm_up_rows(y)
    small = make(X[rows], y[rows])
    with pytest.warns(UserWarning, match="stopped without converging"):
        fo.minimize(small, np.zeros(small.n_params), method="sketch-newton", max_iter=3,
                    tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        seconds, _ = runs._warm_up_method(make, X, y, "sketch-newton", quiet=True)
    assert seconds > 0


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


# ---------------------------------------------------------------------------- hostile input

#: Address-space limit of the subprocesses: a regression that allocates what a hostile
#: file asks for fails the test (MemoryError, exit status 1) instead of eating the machine.
_MEMORY_LIMIT = 4 << 30


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_LIMIT, _MEMORY_LIMIT))


def _run_cli(tmp_path, *args):
    """``python -m fastopt ARGS`` in ``tmp_path``, 4 GB of address space, 60 s."""
    env = dict(os.environ, FASTOPT_CACHE_DIR=str(tmp_path / "cache"))
    return subprocess.run([sys.executable, "-m", "fastopt", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60,
                          preexec_fn=_limit_memory)


def _assert_refused(proc, *fragments):
    """Exit status 2, exactly one line on stderr, naming every fragment."""
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert lines[0].startswith("fastopt: error:")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _svm_lines(n=200, stray=None):
    """n LIBSVM lines (1-based indices, two classes), plus ``stray`` as line 3."""
    lines = [f"{(-1) ** i} 1:{i % 7} 2:{i % 3}.5 4:1" for i in range(n)]
    if stray is not None:
        lines.insert(2, stray)
    return "\n".join(lines) + "\n"


def _write_text(name, text):
    return lambda path: path.write_text(text)


def _npz_with_header(shape, descr="<f8"):
    """An .npz whose X member claims ``shape`` but stores 64 bytes of data."""
    def write(path):
        head = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            head, {"descr": descr, "fortran_order": False, "shape": shape})
        y = io.BytesIO()
        np.save(y, np.array([0.0, 1.0, 0.0]))
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("X.npy", head.getvalue() + bytes(64))
            archive.writestr("y.npy", y.getvalue())
    return write


def _npy_with_header(shape):
    def write(path):
        head = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            head, {"descr": "<f8", "fortran_order": False, "shape": shape})
        path.write_bytes(head.getvalue() + bytes(64))
    return write


def _table(nan_at=None, value=np.nan):
    rng = np.random.default_rng(0)
    t = np.column_stack([rng.standard_normal((30, 4)), np.arange(30) % 2])
    if nan_at is not None:
        t[nan_at] = value
    return t


def _csv(t, header=True):
    def write(path):
        np.savetxt(path, t, delimiter=",", header="a,b,c,d,label" if header else "",
                   comments="")
    return write


def _truncated(write_whole, suffix):
    def write(path):
        whole = path.with_name("whole" + suffix)
        write_whole(whole)
        data = whole.read_bytes()
        whole.unlink()
        path.write_bytes(data[: len(data) // 2])
    return write


def _gz(text):
    return lambda path: path.write_bytes(gzip.compress(text.encode()))


def _random_bytes(n=4000, prefix=b""):
    return lambda path: path.write_bytes(prefix + np.random.default_rng(3).bytes(n))


def _npz(**arrays):
    return lambda path: np.savez(path, **arrays)


def _csr_npz(data, indices, indptr, shape, y, fmt=None):
    extra = {} if fmt is None else {"format": np.array(fmt)}
    return _npz(data=np.asarray(data, float), indices=np.asarray(indices),
                indptr=np.asarray(indptr), shape=np.asarray(shape), y=np.asarray(y, float),
                **extra)


_Y3 = [0.0, 1.0, 0.0]

#: (file name, writer, fragments the one-line message must hold)
HOSTILE_FILES = [
    # svmlight: indices that would make gigabytes of dense work arrays, or overflow
    ("huge-index.svm", _write_text("", _svm_lines(stray="1 1000000000:1.0")),
     ("huge-index.svm, line 3", "1000000000", "--n-features")),
    ("index-3e9.svm", _write_text("", _svm_lines(stray="1 3000000000:1.0")),
     ("index-3e9.svm, line 3", "3000000000", "2147483647")),
    ("index-1e12.svm", _write_text("", _svm_lines(stray="1 1000000000000:1.0")),
     ("index-1e12.svm, line 3", "1000000000000")),
    ("only-line.svm", _write_text("", "1 1000000000:1.0\n"),
     ("only-line.svm, line 1", "implausible")),
    ("stray-201.svm", _write_text("", _svm_lines(n=200, stray="1 3:1 5000000:1")),
     ("stray-201.svm, line 3", "5000000", "--n-features")),
    ("zero.svm", _write_text("", _svm_lines(stray="1 0:1.0 3:2")),
     ("zero.svm, line 3", "index 0", "--zero-based")),
    ("negative.svm", _write_text("", _svm_lines(stray="1 -4:1.0")),
     ("negative.svm, line 3", "-4")),
    ("unsorted.svm", _write_text("", _svm_lines(stray="1 5:1.0 2:1")),
     ("unsorted.svm, line 3", "increase")),
    ("nan-value.svm", _write_text("", _svm_lines(stray="1 2:nan")),
     ("nan-value.svm, line 3", "not a finite number")),
    ("inf-label.svm", _write_text("", _svm_lines(stray="inf 2:1")),
     ("inf-label.svm, line 3", "label")),
    ("random.svm", _random_bytes(), ("random.svm",)),
    ("truncated.svm.gz", _truncated(_gz(_svm_lines(2000)), ".svm.gz"),
     ("truncated.svm.gz", "svmlight")),
    ("corrupt.svm.gz", _random_bytes(prefix=b"\x1f\x8b\x08\x00"), ("corrupt.svm.gz",)),
    # .npz / .npy
    ("truncated.npz", _truncated(_npz(X=np.ones((50, 3)), y=np.arange(50) % 2), ".npz"),
     ("truncated.npz", "not an .npz archive")),
    ("random.npz", _random_bytes(), ("random.npz", "not an .npz archive")),
    ("no-y.npz", _npz(X=np.ones((3, 2))), ("no-y.npz", "'y'")),
    ("no-x.npz", _npz(y=np.ones(3), Z=np.ones(3)), ("no-x.npz", "'X'")),
    ("objects.npz", _npz(X=np.array([[1, 2], [3, 4]], dtype=object), y=np.arange(2)),
     ("objects.npz", "pickle")),
    ("claims-75GB.npz", _npz_with_header((100_000, 100_000)),
     ("claims-75GB.npz", "(100000, 100000)", "truncated or corrupt")),
    ("claims-75GB.npy", _npy_with_header((100_000, 100_000)),
     ("claims-75GB.npy", "(100000, 100000)", "truncated or corrupt")),
    ("complex.npy", lambda p: np.save(p, _table().astype(complex)), ("complex.npy", "complex")),
    ("complex.npz", _npz(X=np.ones((3, 2), complex), y=np.array(_Y3)),
     ("complex.npz", "complex")),
    ("y-2d.npz", _npz(X=np.ones((100, 3)), y=np.ones((100, 2))),
     ("y-2d.npz", "1-D", "(100, 2)")),
    ("nan.npz", _npz(X=_table(nan_at=(3, 2))[:, :4], y=np.arange(30) % 2),
     ("nan.npz", "X[3, 2]", "nan")),
    ("nan.npy", lambda p: np.save(p, _table(nan_at=(7, 1))), ("nan.npy", "row 7", "nan")),
    ("csr-index.npz", _csr_npz([1, 1, 1], [0, 5, 99_999_999], [0, 1, 2, 3], [3, 4], _Y3),
     ("csr-index.npz",)),
    ("csc-index.npz", _csr_npz([1, 1, 1], [0, 5, 99_999_999], [0, 1, 2, 3], [4, 3],
                               [0, 1, 0, 1], fmt="csc"), ("csc-index.npz",)),
    ("csr-1e12-columns.npz", _csr_npz([1, 1, 1], [0, 1, 2], [0, 1, 2, 3], [3, 10**12], _Y3),
     ("csr-1e12-columns.npz", "1000000000000")),
    ("csr-wide.npz", _csr_npz([1, 1, 1], [0, 1, 2], [0, 1, 2, 3], [3, 5_000_000], _Y3),
     ("csr-wide.npz", "5000000", "--n-features")),
    ("coo.npz", _npz(data=np.ones(2), row=np.arange(2), col=np.arange(2),
                     shape=np.array([2, 2]), y=np.arange(2)), ("coo.npz", "'X'")),
    # text tables
    ("nan.csv", _csv(_table(nan_at=(4, 0))), ("nan.csv, line 6", "nan")),
    ("inf.csv", _csv(_table(nan_at=(0, 4), value=np.inf), header=False),
     ("inf.csv, line 1", "inf")),
    ("binary.csv", _random_bytes(), ("binary.csv", "CSV")),
    ("truncated.csv.gz", _truncated(lambda p: p.write_bytes(gzip.compress(
        "\n".join(",".join(map(str, r)) for r in _table()).encode())), ".csv.gz"),
     ("truncated.csv.gz",)),
    ("empty.csv", _write_text("", ""), ("empty.csv",)),
    ("bom.svm", lambda path: path.write_bytes(b"\xef\xbb\xbf-1 1:1\n1 2:1\n"),
     ("bom.svm, line 1", "byte-order mark")),
]


@pytest.mark.parametrize("name, write, fragments", HOSTILE_FILES,
                         ids=[case[0] for case in HOSTILE_FILES])
def test_hostile_file_is_one_line_error_and_left_unchanged(name, write, fragments,
                                                           tmp_path):
    path = tmp_path / name
    write(path)
    before = _sha256(path)
    _assert_refused(_run_cli(tmp_path, "fit", name, "-q"), *fragments)
    assert _sha256(path) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == [name]


def test_huge_svmlight_index_loads_in_bounded_memory(tmp_path):
    # The parser builds CSR arrays (O(nnz)); the refusal comes before any dense array of
    # n_features. The child's peak RSS (VmHWM, kB) stays far below a (2, 10^9) float64
    # array. Not ru_maxrss: Linux carries it over from the parent across fork and exec,
    # so a large pytest worker would be measured instead of the child.
    (tmp_path / "big.svm").write_text(_svm_lines(stray="1 1000000000:1.0"))
    code = ("import re, sys; from fastopt.cli import main; c = main(['fit', 'big.svm', "
            "'-q']); print(re.search(r'VmHWM:\\s*(\\d+)', "
            "open('/proc/self/status').read()).group(1)); sys.exit(c)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, preexec_fn=_limit_memory)
    _assert_refused(proc, "big.svm, line 3")
    assert int(proc.stdout.split()[-1]) < 1_000_000  # < 1 GB; the array would be 16 GB


def _gzip_bomb(path, block, repeats):
    with gzip.open(path, "wb") as f:
        for _ in range(repeats):
            f.write(block)


@pytest.mark.parametrize("name, block", [
    ("bomb.svm.gz", b"1 1:1 2:0.5\n-1 3:1\n" * 50_000),
    ("bomb.csv.gz", b"1,0.5,1\n0,1,0\n" * 50_000),
])
def test_compressed_file_expanding_beyond_memory_is_refused(name, block, tmp_path):
    # About 700 kB of gzip expanding to 300 MB of text: parsed, its arrays would take
    # gigabytes; the streaming count stops as soon as the estimate passes the budget.
    path = tmp_path / name
    _gzip_bomb(path, block, 300)
    before = _sha256(path)
    _assert_refused(_run_cli(tmp_path, "fit", name, "-q"), name, "reading it would need",
                    "memory")
    assert _sha256(path) == before


def test_n_features_admits_a_wide_svmlight_file(tmp_path):
    path = tmp_path / "wide.svm"
    path.write_text(_svm_lines(stray="1 3:1 5000000:1"))
    X, y, _ = load_data(str(path), n_features=6_000_000)
    assert X.shape == (201, 6_000_000) and X[2, 4_999_999] == 1.0 and y.shape == (201,)
    with pytest.raises(ValueError, match=r"wide.svm, line 3: .*beyond n_features 4000000"):
        load_data(str(path), n_features=4_000_000)
    proc = _run_cli(tmp_path, "fit", "wide.svm", "--n-features", "4000000", "-q")
    _assert_refused(proc, "wide.svm, line 3", "--n-features 4000000")
    # A width whose work arrays cannot fit in memory is refused even when stated.
    proc = _run_cli(tmp_path, "fit", "wide.svm", "--n-features", "2000000000", "-q")
    _assert_refused(proc, "--n-features 2000000000", "memory")


def test_zero_based_is_explicit(tmp_path, capsys):
    one = tmp_path / "one.svm"
    one.write_text("1 1:1 3:2\n-1 2:4\n")
    zero = tmp_path / "zero.svm"
    zero.write_text("1 0:1 2:2\n-1 1:4\n")
    expected = np.array([[1.0, 0.0, 2.0], [0.0, 4.0, 0.0]])
    X, _, _ = load_data(str(one))  # LIBSVM convention
    np.testing.assert_array_equal(X.toarray(), expected)
    X, _, _ = load_data(str(zero), zero_based=True)
    np.testing.assert_array_equal(X.toarray(), expected)
    # sklearn's "auto" would read zero.svm as 0-based silently; here it is an error.
    with pytest.raises(ValueError, match=r"zero.svm, line 1: feature index 0.*zero_based"):
        load_data(str(zero))
    # A 0-based reading of a 1-based file is not guessed either: one more column.
    X, _, _ = load_data(str(one), zero_based=True)
    assert X.shape == (2, 4)
    code = main(["fit", str(zero), "-q", "--out", str(tmp_path / "c.npz")])
    _one_line_error(capsys, code, "zero.svm, line 1", "--zero-based")
    assert main(["fit", str(zero), "--zero-based", "-q", "--out",
                 str(tmp_path / "c.npz")]) == 0


def test_label_column_out_of_range_names_the_flag(tmp_path, capsys):
    path = tmp_path / "t.csv"
    _csv(_table())(path)
    for column in ("5", "-6", "99"):
        code = main(["fit", str(path), "--label-column", column])
        _one_line_error(capsys, code, f"--label-column {column}", "5 columns")
    with pytest.raises(ValueError, match="label_column 5 is out of range"):
        load_data(str(path), label_column=5)
    X, y, _ = load_data(str(path), label_column=-5)  # the first column, from the end
    np.testing.assert_array_equal(y, _table()[:, 0])
    assert X.shape == (30, 4)


def test_load_data_api_errors_are_value_errors_in_api_words(tmp_path):
    path = tmp_path / "d.svm"
    path.write_text("1 1:1\n-1 1000000000:1\n")
    with pytest.raises(ValueError, match=r"d.svm, line 2: .*pass n_features"):
        load_data(str(path))
    with pytest.raises(ValueError, match="dtype"):
        load_data(str(path), dtype="int8")
    with pytest.raises(ValueError, match="n_features"):
        load_data(str(path), n_features=0)
    with pytest.raises(ValueError, match="label_column"):
        load_data(str(path), label_column=1.5)
    # A label column means nothing for svmlight: given, it would suggest a choice was made.
    with pytest.raises(ValueError, match="label_column applies to .npy, .csv and .tsv"):
        load_data(str(path), label_column=0)


def test_label_column_for_svmlight_is_refused_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "d.svm"
    path.write_text("1 1:1\n-1 2:1\n")
    _one_line_error(capsys, main(["fit", str(path), "--label-column", "0"]),
                    "--label-column applies to", "d.svm")


def _work_started(*args, **kwargs):
    raise AssertionError("work started before the options were checked")


@pytest.mark.parametrize("argv, fragments", [
    (["fit", "D", "--out", "coef.xyz"], ["--out", ".npz", "coef.xyz"]),
    (["fit", "D", "--out", "missing/coef.npz"], ["--out missing/coef.npz", "does not exist"]),
    (["fit", "D", "--out", "D"], ["--out", "data file itself"]),
    (["compare", "D", "--out-dir", "D"], ["--out-dir", "not a directory"]),
    (["compare", "D", "--out-dir", "D/sub"], ["--out-dir", "not a directory"]),
    (["compare", "D", "--sk-tol", "-1"], ["--sk-tol", "-1"]),
    (["compare", "D", "--sk-max-iter", "-1"], ["--sk-max-iter"]),
    (["compare", "D", "--methods", "newton,nope"], ["--methods", "'nope'"]),
    (["demo", "--budget", "-1"], ["--budget", "> 0"]),
    (["demo", "--budget", "0"], ["--budget"]),
    (["demo", "--budget", "1e308"], ["--budget", "at most 86400"]),
    (["demo", "--tol", "nan"], ["--tol"]),
    (["demo", "--lam", "-1"], ["--lam"]),
    (["demo", "--data", "nope"], ["--data", "'nope'"]),
    (["demo", "--methods", "nope"], ["--methods"]),
    (["demo", "--out-dir", "D"], ["--out-dir"]),
    (["fit", "D", "--tol", "-1"], ["--tol"]),
    (["fit", "D", "--tol", "x"], ["--tol", "'x'"]),
    (["fit", "D", "--lam", "inf"], ["--lam"]),
    (["fit", "D", "--lam", "-0.5"], ["--lam"]),
    (["fit", "D", "--C", "0"], ["--C"]),
    (["fit", "D", "--C", "nan"], ["--C"]),
    (["fit", "D", "--lam", "1", "--C", "1"], ["--lam or --C"]),
    (["fit", "D", "--max-iter", "-1"], ["--max-iter"]),
    (["fit", "D", "--max-iter", "1.5"], ["--max-iter"]),
    (["fit", "D", "--n-features", "0"], ["--n-features"]),
    (["fit", "D", "--n-features", "3000000000"], ["--n-features", "2147483647"]),
    (["fit", "D", "--label-column", "x"], ["--label-column"]),
    (["fit", "D", "--dtype", "int8"], ["--dtype"]),
    (["fit", "D", "--backend", "nope"], ["--backend", "'nope'"]),
    (["fit", "D", "--method", "nope"], ["--method", "'nope'"]),
])
def test_options_are_checked_before_any_work(argv, fragments, tmp_path, capsys, monkeypatch):
    data = tmp_path / "d.csv"
    _csv(_table())(data)
    before = _sha256(data)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fit_command, "_load_data", _work_started)
    monkeypatch.setattr(datasets, "load", _work_started)
    argv = [a.replace("D", "d.csv") for a in argv]
    fragments = [f.replace("D", "d.csv") for f in fragments]
    _one_line_error(capsys, main(argv), *fragments)
    assert _sha256(data) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]


def test_default_output_never_overwrites_the_data(tmp_path, capsys, monkeypatch):
    # fit writes NAME.coef.npz by default: for data named x.coef.npz, that is the data.
    monkeypatch.chdir(tmp_path)
    np.savez("x.coef.npz", X=np.eye(4), y=np.array([0, 1, 0, 1]))
    before = _sha256(tmp_path / "x.coef.npz")
    _one_line_error(capsys, main(["fit", "x.coef.npz", "-q"]), "data file itself", "--out")
    assert _sha256(tmp_path / "x.coef.npz") == before


def test_pipes_and_devices_are_refused(tmp_path, capsys):
    _one_line_error(capsys, main(["fit", os.devnull]), os.devnull, "not a regular file")
    fifo = tmp_path / "fifo.svm"
    os.mkfifo(fifo)  # reading it would block forever
    _one_line_error(capsys, main(["fit", str(fifo)]), "fifo.svm", "not a regular file")


def test_compare_leaves_out_newton_cholesky_when_its_hessian_cannot_fit(
        tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    np.savez(path, X=rng.standard_normal((50, 300)), y=np.arange(50) % 2)
    # Reading (2 x 120 kB) and the work arrays (96 kB) fit in half of 1 MB; the Hessian
    # pair of 300 x 300 (1.4 MB) does not.
    monkeypatch.setattr(_memory, "available_bytes", lambda: 1_000_000)
    code = main(["compare", str(path), "--methods", "lbfgs", "--out-dir", str(tmp_path),
                 "--sk-max-iter", "50", "-q"])
    out = capsys.readouterr().out
    assert code == 0
    assert "newton-cholesky left out" in out and "saga" in out
    assert not any(line.split()[:2] == ["scikit-learn", "newton-cholesky"]
                   for line in out.splitlines())
    _one_line_error(capsys, main(["compare", str(path), "--methods", "newton", "-q"]),
                    "--methods newton", "memory")
    _one_line_error(capsys, main(["fit", str(path), "--method", "newton", "-q"]),
                    "--method newton", "memory")
