# Over 500 lines: one generator per hostile-input family, each a few dozen lines, kept
# in the one worker that the hostile suite runs in a child process per family.
"""Run one family of generated hostile inputs; meant to run in its own process.

    python worker.py FAMILY N_EXAMPLES LOG_FILE TMP_DIR

Hypothesis draws N_EXAMPLES cases of FAMILY (malformed sparse structure, dense arrays of
every dtype and shape, svmlight files, .npz archives, fused-update arguments, hostile
values of every option of every method); each is
fed to the public entry points and must give either a clear error (``ValueError`` or
``TypeError`` with a one-line message; exit status 2 and one line on stderr for the
command line) or the answer that an independent oracle (``oracles.py``) computes. Before
a case runs, its description is appended to LOG_FILE and flushed, so that if the process
dies (a segfault, an out-of-memory kill, a timeout) the parent test can name the case.
On success the last line of stdout is ``{"family": ..., "cases": <count>}``.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import oracles
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastopt as fo
from fastopt import cli

LAM = 1e-2
_LOG = None
_TMP = None
_COUNT = 0


def log_case(description: str) -> None:
    """Record the case about to run (survives a crash of this process)."""
    global _COUNT
    _COUNT += 1
    _LOG.write(f"{_COUNT}: {description}\n")
    _LOG.flush()
    os.fsync(_LOG.fileno())


def assert_clear_error(exc: BaseException, *, names: tuple[str, ...] = ()) -> None:
    """A ValueError/TypeError with a one-line message that names one of ``names``."""
    assert isinstance(exc, (ValueError, TypeError)), f"{type(exc).__name__}: {exc}"
    message = str(exc)
    assert message and "\n" not in message, f"not one line: {message!r}"
    if names:
        assert any(n in message for n in names), f"names none of {names}: {message!r}"


def expect(call, valid: bool, *, names: tuple[str, ...] = ()):
    """Run ``call``; a malformed input must raise a clear error, a valid one must not."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = call()
    except Exception as exc:  # noqa: BLE001 - classified below
        assert not valid, f"valid input refused: {type(exc).__name__}: {exc}"
        assert_clear_error(exc, names=names)
        return None
    assert valid, "malformed input accepted"
    return out


# --- family: sparse structure -------------------------------------------------------------

_INDEX = st.one_of(st.integers(-3, 8), st.sampled_from([-(2**31), 2**31 - 1, 2**40, -1]))
_VALUE = st.one_of(st.floats(-4, 4), st.sampled_from([np.nan, np.inf, -np.inf, 0.0]))


@st.composite
def compressed_parts(draw):
    """(major, minor, data, indices, indptr): mostly plausible, often subtly broken."""
    major, minor = draw(st.integers(2, 5)), draw(st.integers(1, 5))
    nnz = draw(st.integers(0, 10))
    # Unsigned index arrays too: a difference of unsigned integers never goes negative.
    itype = draw(st.sampled_from([np.int32, np.int64, np.uint16, np.uint32, np.uint64]))
    valid_index = st.integers(0, minor - 1)
    indices = np.array(draw(st.lists(st.one_of(valid_index, valid_index, _INDEX),
                                     min_size=nnz, max_size=nnz)), dtype=np.int64)
    cuts = sorted(draw(st.lists(st.integers(0, nnz), min_size=major - 1,
                                max_size=major - 1)))
    indptr = np.array([0, *cuts, nnz], dtype=np.int64)
    data = np.array(draw(st.lists(st.one_of(st.floats(-4, 4), _VALUE), min_size=nnz,
                                  max_size=nnz)), dtype=np.float64)
    defect = draw(st.sampled_from(["none", "none", "swap", "first", "last", "short_indptr",
                                   "long_indptr", "short_data", "tail", "float_indices",
                                   "data_2d", "unsigned_fall"]))
    if defect == "swap" and major >= 2 and indptr[1] != indptr[2]:
        indptr[1], indptr[2] = indptr[2], indptr[1]
    elif defect == "first":
        indptr[0] = draw(st.sampled_from([-1, 1, 2**31 - 1]))
    elif defect == "last":
        indptr[-1] += draw(st.sampled_from([-1, 1, 2**20]))
    elif defect == "short_indptr":
        indptr = indptr[:-1]
    elif defect == "long_indptr":
        indptr = np.append(indptr, nnz)
    elif defect == "short_data" and nnz:
        data = data[:-1]
    elif defect == "unsigned_fall" and major >= 2:  # a huge middle entry
        indptr[1] = 60000
    elif defect == "tail":  # unused entries past indptr[-1]: allowed, ignored
        indices = np.append(indices, 10**6)
        data = np.append(data, np.nan)
    bounds = np.iinfo(itype)
    if (indices.size and (indices.min() < bounds.min or indices.max() > bounds.max)) or (
            indptr.min() < bounds.min or indptr.max() > bounds.max):
        itype = np.int64
    indices, indptr = indices.astype(itype), indptr.astype(itype)
    if defect == "float_indices":
        indices = indices.astype(np.float64)
    elif defect == "data_2d":
        data = data.reshape(-1, 1)
    return major, minor, data, indices, indptr


def _sparse(fmt: str, shape, data, indices, indptr):
    """A scipy matrix holding the given arrays as they are (no checks by scipy)."""
    X = (sp.csr_matrix if fmt == "csr" else sp.csc_matrix)(shape)
    X.data, X.indices, X.indptr = data, indices, indptr
    return X


def family_sparse(n_examples: int) -> None:
    @settings(max_examples=n_examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(parts=compressed_parts(), fmt=st.sampled_from(["csr", "csc"]),
           entry=st.sampled_from(["Logistic", "LeastSquares", "Multinomial", "fit",
                                  "predict"]))
    def run(parts, fmt, entry):
        major, minor, data, indices, indptr = parts
        shape = (major, minor) if fmt == "csr" else (minor, major)
        log_case(f"sparse {fmt} {entry} shape={shape} data={data.tolist()} "
                 f"indices={indices.tolist()} indptr={indptr.tolist()}")
        dense = oracles.compressed_to_dense(major, minor, data, indices, indptr)
        if dense is not None and fmt == "csc":
            dense = dense.T
        X = _sparse(fmt, shape, data, indices, indptr)
        before = [a.copy() for a in (data, indices, indptr)]
        m, n = shape
        y = np.arange(m) % 2
        w = np.linspace(-0.5, 0.5, n)
        # A single row has a single class: the classifiers refuse it (naming y).
        valid = dense is not None and (m >= 2 or entry in ("LeastSquares", "predict"))
        names = ("X",) if dense is None else ("X", "y")
        if entry == "Logistic":
            obj = expect(lambda: fo.problems.Logistic(X, y, lam=LAM), valid, names=names)
            if obj is not None:
                f, g = obj.loss_grad(w)
                f_ref, g_ref = oracles.logistic_value_grad(dense, np.where(y == 1, 1.0, -1.0),
                                                           w, LAM)
                np.testing.assert_allclose(f, f_ref, rtol=1e-12)
                np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-14)
        elif entry == "LeastSquares":
            t = np.linspace(1.0, 2.0, m)
            obj = expect(lambda: fo.problems.LeastSquares(X, t, lam=LAM), valid, names=names)
            if obj is not None:
                ref = fo.problems.LeastSquares(dense, t, lam=LAM, backend="numpy")
                np.testing.assert_allclose(obj.value(w), ref.value(w), rtol=1e-12)
        elif entry == "Multinomial":
            labels = np.arange(m) % 3
            obj = expect(lambda: fo.problems.Multinomial(X, labels, lam=LAM), valid,
                         names=names)
            if obj is not None:
                ref = fo.problems.Multinomial(dense, labels, lam=LAM, backend="numpy")
                v = np.linspace(-0.3, 0.3, obj.n_params)
                np.testing.assert_allclose(obj.value(v), ref.value(v), rtol=1e-12)
        elif entry == "fit":
            clf = expect(lambda: fo.LogisticRegression(tol=1e-10).fit(X, y), valid,
                         names=names)
            if clf is not None:
                ref = fo.LogisticRegression(tol=1e-10).fit(dense, y)
                np.testing.assert_allclose(clf.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
        else:
            clf = fo.LogisticRegression().fit(np.eye(n)[np.arange(4) % n] + 0.1,
                                              np.arange(4) % 2)
            proba = expect(lambda: clf.predict_proba(X), valid, names=names)
            if proba is not None:
                np.testing.assert_allclose(proba, clf.predict_proba(dense), rtol=1e-12)
        for old, new in zip(before, (data, indices, indptr), strict=True):
            np.testing.assert_array_equal(old, new)

    run()


# --- family: dense arrays of any dtype, shape and value -----------------------------------

_DTYPES = st.sampled_from([np.float64, np.float32, np.int64, np.int8, np.bool_,
                           np.complex128, np.dtype("U2"), np.dtype(">f8")])


@st.composite
def any_array(draw, max_dims=3):
    dtype = np.dtype(draw(_DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=4))
    if dtype.kind == "f":
        elements = st.one_of(st.floats(-10, 10, width=8 * min(dtype.itemsize, 8)),
                             st.sampled_from([np.nan, np.inf, 0.0]))
        return draw(hnp.arrays(dtype, shape, elements=elements))
    return draw(hnp.arrays(dtype, shape))


@st.composite
def data_and_labels(draw):
    if draw(st.booleans()):  # a well-formed core, sometimes spoiled below
        m, n = draw(st.integers(2, 6)), draw(st.integers(1, 4))
        X = draw(hnp.arrays(np.float64, (m, n), elements=st.floats(-5, 5)))
        if draw(st.integers(0, 3)) == 0:
            X[draw(st.integers(0, m - 1)), 0] = draw(st.sampled_from([np.nan, np.inf]))
        y = np.arange(m) % 2
    else:
        X = draw(any_array())
        m = X.shape[0] if X.ndim else 1
        y = np.arange(m) % 2
    kind = draw(st.sampled_from(["ok", "ok", "any", "one_class", "short", "2d", "nan",
                                 "strings"]))
    if kind == "any":
        y = draw(any_array(max_dims=2))
    elif kind == "one_class":
        y = np.zeros(m)
    elif kind == "short":
        y = y[:-1]
    elif kind == "2d":
        y = np.stack([y, y], axis=1)
    elif kind == "nan" and y.size:
        y = y.astype(float)
        y[0] = np.nan
    elif kind == "strings":
        y = np.where(y == 1, "spam", "ham")
    return X, y


def family_dense(n_examples: int) -> None:
    @settings(max_examples=n_examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=data_and_labels(), entry=st.sampled_from(["Logistic", "fit"]))
    def run(case, entry):
        X, y = case
        log_case(f"dense {entry} X={X.dtype}{X.shape} {X.tolist()} y={y.dtype}{y.shape}")
        X_before, y_before = X.copy(), y.copy()
        Xd = oracles.dense_data(X)
        if y.dtype.kind == "U" and Xd is not None and y.ndim == 1 and len(y) == len(Xd):
            b = np.where(y == np.unique(y)[-1], 1.0, -1.0) if np.unique(y).size == 2 else None
        else:
            b = None if Xd is None else oracles.binary_labels(y, Xd.shape[0])
        valid = Xd is not None and b is not None
        names = ("X", "y")
        if entry == "Logistic":
            obj = expect(lambda: fo.problems.Logistic(X, y, lam=LAM), valid, names=names)
            if obj is not None:
                w = np.linspace(-0.5, 0.5, Xd.shape[1])
                f_ref, g_ref = oracles.logistic_value_grad(Xd, b, w, LAM)
                rtol = 1e-5 if X.dtype == np.float32 else 1e-12
                f, g = obj.loss_grad(w)
                np.testing.assert_allclose(f, f_ref, rtol=rtol)
                np.testing.assert_allclose(g, g_ref, rtol=rtol * 100, atol=rtol)
        else:
            clf = expect(lambda: fo.LogisticRegression().fit(X, y), valid, names=names)
            if clf is not None:
                assert np.isfinite(clf.coef_).all() and set(clf.classes_) == set(np.unique(y))
        np.testing.assert_array_equal(X, X_before)
        np.testing.assert_array_equal(y, y_before)

    run()


# --- family: svmlight text files ------------------------------------------------------------

_TOKEN_DEFECTS = {
    "index 0": "0:1.5", "negative index": "-2:1.0", "huge index": "3000000000:1.0",
    "giant index": "1000000000000:1.0", "implausible index": "900000000:1.0",
    "word index": "x:1.0", "nan value": "2:nan", "inf value": "2:1e400",
    "word value": "2:abc", "no colon": "2", "comma": "2,1.0", "empty value": "2:",
}


@st.composite
def svmlight_file(draw):
    """(bytes, expected) where expected is (dense X, y) or None for a malformed file."""
    m, n = draw(st.integers(2, 6)), draw(st.integers(1, 5))
    X = np.zeros((m, n))
    y = np.array([draw(st.sampled_from([-1.0, 1.0, 0.0, 2.0])) for _ in range(m)])
    lines = []
    for i in range(m):
        cols = sorted(draw(st.sets(st.integers(0, n - 1), max_size=n)))
        tokens = []
        for j in cols:
            v = draw(st.floats(-9, 9).filter(lambda v: v != 0).map(lambda v: round(v, 3)))
            X[i, j] = v
            tokens.append(f"{j + 1}:{v!r}")
        lines.append(" ".join([f"{y[i]:g}", *tokens]))
    n_seen = max((int(t.split(":")[0]) for ln in lines for t in ln.split()[1:]), default=0)
    X = X[:, :n_seen]
    defect = draw(st.sampled_from(["none", "none", "none", "token", "label", "binary",
                                   "truncated_gz", "empty", "crlf", "comment"]))
    expected = (X, y)  # no feature at all: X has no columns (the fit refuses it)
    if defect == "token":
        name = draw(st.sampled_from(sorted(_TOKEN_DEFECTS)))
        row = draw(st.integers(0, m - 1))
        lines[row] += " " + _TOKEN_DEFECTS[name]
        expected = None
    elif defect == "label":
        row = draw(st.integers(0, m - 1))
        lines[row] = draw(st.sampled_from(["abc", "nan", "inf", ":1", ""])) + " " + \
            " ".join(lines[row].split()[1:])
        expected = None
    elif defect == "binary":
        return draw(st.binary(min_size=1, max_size=64)) + b"\x00\xff", None, False
    elif defect == "empty":
        return b"", None, False
    elif defect == "crlf":
        return ("\r\n".join(lines) + "\r\n").encode(), expected, False
    elif defect == "comment":
        lines.insert(draw(st.integers(0, m)), "# a comment line")
    text = ("\n".join(lines) + "\n").encode()
    if defect == "truncated_gz":
        packed = gzip.compress(text)
        return packed[: max(1, len(packed) // 2)], None, True
    return text, expected, False


def _cli(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(list(argv))
    return code, err.getvalue()


def family_svmlight(n_examples: int) -> None:
    @settings(max_examples=n_examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=svmlight_file(), run_fit=st.integers(0, 3))
    def run(case, run_fit):
        content, expected, gz = case
        path = Path(_TMP) / ("case.svm.gz" if gz else "case.svm")
        path.write_bytes(content)
        log_case(f"svmlight {path.name} {content[:400]!r}")
        out = expect(lambda: cli.load_data(str(path)), expected is not None,
                     names=(path.name,))
        fits = False
        if out is not None:
            X, y, _ = out
            X_ref, y_ref = expected
            X = X.toarray() if sp.issparse(X) else X
            if X_ref.shape[1] == 0:  # no feature in the file: zero columns or all zeros
                assert not X.any(), X
            else:
                np.testing.assert_array_equal(X, X_ref)
            np.testing.assert_array_equal(y, y_ref)
            fits = np.unique(y).size >= 2 and X.shape[1] > 0
        if run_fit == 0:
            code, err = _cli("fit", str(path), "--max-iter", "50")
            if fits:
                assert code in (0, 1), f"exit {code}: {err!r}"
            else:
                assert code == 2, f"exit {code}: {err!r}"
            if code == 2:
                assert err.startswith("fastopt: error:") and err.count("\n") == 1, err
        assert path.read_bytes() == content

    run()


# --- family: .npz archives ----------------------------------------------------------------

@st.composite
def npz_archive(draw):
    """(bytes, expected) for an .npz archive of X and y, or of sparse parts and y."""
    buf = io.BytesIO()
    kind = draw(st.sampled_from(["dense", "dense", "sparse", "sparse", "garbage"]))
    if kind == "garbage":
        return draw(st.binary(max_size=80)), None
    if kind == "dense":
        X, y = draw(data_and_labels())
        Xd = oracles.dense_data(X)
        # Labels in a file: one per row, numbers or text, finite.
        ok = (Xd is not None and y.dtype.kind in "biufU" and y.ndim == 1
              and y.shape[0] == Xd.shape[0] and (y.dtype.kind != "f" or np.isfinite(y).all()))
        arrays = {"X": X, "y": y}
        expected = (Xd, y) if ok else None
    else:
        major, minor, data, indices, indptr = draw(compressed_parts())
        dense = oracles.compressed_to_dense(major, minor, data, indices, indptr)
        y = np.arange(major) % 2
        if not np.isfinite(data).all():  # a stored NaN is refused even past indptr[-1]
            dense = None
        arrays = {"data": data, "indices": indices, "indptr": indptr,
                  "shape": np.array([major, minor]), "format": np.array(b"csr"), "y": y}
        expected = None if dense is None else (dense, y)
        if draw(st.integers(0, 4)) == 0:
            del arrays[draw(st.sampled_from(["y", "indptr", "shape"]))]
            expected = None
    np.savez(buf, **arrays)
    content = buf.getvalue()
    if draw(st.integers(0, 5)) == 0:
        content = content[: draw(st.integers(0, len(content) - 1))]
        expected = None
    return content, expected


def family_npz(n_examples: int) -> None:
    @settings(max_examples=n_examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=npz_archive())
    def run(case):
        content, expected = case
        path = Path(_TMP) / "case.npz"
        path.write_bytes(content)
        log_case(f"npz {len(content)} bytes, valid={expected is not None}")
        out = expect(lambda: _load_and_build(path), expected is not None,
                     names=(path.name, "X"))
        if out is not None:
            X, y = out
            np.testing.assert_array_equal(X, expected[0])
            np.testing.assert_array_equal(y, expected[1])
        assert path.read_bytes() == content

    run()


def _load_and_build(path: Path):
    """Load an archive and build the objective on it: errors may come from either."""
    X, y, _ = cli.load_data(str(path))
    obj = fo.problems.Logistic(X, y) if np.unique(y).size == 2 else None
    dense = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    assert obj is None or obj.n_features == dense.shape[1]
    return dense, y


# --- family: fused updates ----------------------------------------------------------------

def family_updates(n_examples: int) -> None:
    names = ["gd_", "heavy_ball_", "adagrad_", "adam_"]

    @settings(max_examples=n_examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from(names), n=st.integers(0, 9),
           dtypes=st.lists(st.sampled_from([np.float64, np.float32, np.int64]), min_size=4,
                           max_size=4),
           alias=st.sampled_from([None, None, (0, 1), (1, 2), "view"]),
           lr=st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                        st.sampled_from([0.1, 1, True])),
           t=st.one_of(st.integers(-2, 5), st.sampled_from([True, 2.0, 2.5])),
           backend=st.sampled_from(["auto", "numpy"]))
    def run(name, n, dtypes, alias, lr, t, backend):
        log_case(f"update {name} n={n} dtypes={dtypes} alias={alias} lr={lr!r} t={t!r} "
                 f"{backend}")
        k = {"gd_": 2, "heavy_ball_": 3, "adagrad_": 3, "adam_": 4}[name]
        buf = np.linspace(0.5, 1.5, 4 * n + 4)
        arrays = [np.linspace(0.1, 0.9, n).astype(dtypes[i]) for i in range(k)]
        overlap = False
        if alias == "view" and n > 1:
            arrays[0] = buf[:n]
            arrays[1] = buf[n - 1:2 * n - 1]
            arrays[0][:] = 0.3
            overlap = True
        elif isinstance(alias, tuple) and alias[1] < k:
            arrays[alias[1]] = arrays[alias[0]]
            overlap = n > 0 and not (name == "gd_" and alias == (0, 1))
        dtype_ok = all(a.dtype == arrays[0].dtype for a in arrays) and \
            arrays[0].dtype in (np.float32, np.float64)
        lr_ok = (isinstance(lr, (int, float)) and not isinstance(lr, bool)
                 and np.isfinite(lr) and lr > 0)
        t_ok = not isinstance(t, bool) and float(t) == int(t) and t >= 1
        args = {"gd_": lambda: (arrays[0], arrays[1], lr),
                "heavy_ball_": lambda: (arrays[0], arrays[1], arrays[2], lr, 0.5),
                "adagrad_": lambda: (arrays[0], arrays[1], arrays[2], lr),
                "adam_": lambda: (arrays[0], arrays[1], arrays[2], arrays[3], t, lr)}[name]()
        valid = dtype_ok and lr_ok and not overlap and (name != "adam_" or t_ok)
        inputs = [a.copy() for a in arrays]
        got = expect(lambda: (getattr(fo.updates, name)(*args, backend=backend), arrays)[1],
                     valid, names=("x", "g", "s", "r", "m", "v", "lr", "t"))
        if got is not None and n:
            ref = [a.copy() for a in inputs]
            if alias == (0, 1) and name == "gd_":
                ref[1] = ref[0]
            ref_args = {"gd_": lambda: (ref[0], ref[1].copy(), lr),
                        "heavy_ball_": lambda: (ref[0], ref[1], ref[2], lr, 0.5),
                        "adagrad_": lambda: (ref[0], ref[1], ref[2], lr),
                        "adam_": lambda: (ref[0], ref[1], ref[2], ref[3], t, lr)}[name]()
            getattr(fo.updates, name)(*ref_args, backend="numpy")
            rtol = 1e-5 if arrays[0].dtype == np.float32 else 1e-12
            np.testing.assert_allclose(got[0], ref[0], rtol=rtol, atol=rtol)
        elif got is None:
            for a, b in zip(arrays, inputs, strict=True):
                if a is not arrays[0] or not overlap:
                    np.testing.assert_array_equal(a, b)

    run()


# --- family: every option of every method --------------------------------------------------

_HOSTILE_VALUES = ["x", [1], True, np.nan, 10**400, -1, None]
#: Also hostile for the options that count something (max_iter, memory, ...).
_HOSTILE_COUNTS = [2**70, 1.5]


def _option_is_valid(default, value) -> bool:
    """The oracle for one hostile value: valid only where the option's own kind allows it.

    No option takes a string like "x", a list, NaN, a number beyond float64 or 2^62, or a
    negative number; None only where None is the default (an automatic choice); True only
    for flags.
    """
    if value is None:
        return default is None
    if value is True:
        return isinstance(default, bool)
    return False


def family_options(n_examples: int) -> None:
    from fastopt.minimize import COMMON_OPTIONS
    from fastopt.solvers import registry

    rng = np.random.default_rng(0)
    obj = fo.problems.Logistic(rng.standard_normal((30, 3)), np.arange(30) % 2, lam=LAM)
    pairs = sorted({(m, o) for m in registry.names()
                    for o in (*registry.get(m).options, *COMMON_OPTIONS)})

    @settings(max_examples=n_examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(pair=st.sampled_from(pairs), value=st.sampled_from(_HOSTILE_VALUES),
           count=st.sampled_from([None, *_HOSTILE_COUNTS]))
    def run(pair, value, count):
        method, option = pair
        default = registry.get(method).options.get(option, COMMON_OPTIONS.get(option))
        if count is not None and isinstance(default, int) and not isinstance(default, bool):
            value = count
        log_case(f"options {method} {option}={value!r}")
        valid = _option_is_valid(default, value)
        if option == "max_iter":
            kw = {}
        else:
            kw = {"max_iter": 5}
        res = expect(lambda: fo.minimize(obj, np.zeros(3), method=method,
                                         **{**kw, option: value}),
                     valid, names=(option,))
        if res is not None:
            assert np.isfinite(res.x).all()

    run()


def family_crash(n_examples: int) -> None:
    """Not hostile input: a case that segfaults, to show that the harness names it."""
    import ctypes

    log_case("the crash self-test")
    ctypes.string_at(0)


FAMILIES = {"crash": family_crash, "options": family_options, "sparse": family_sparse,
            "dense": family_dense,
            "svmlight": family_svmlight, "npz": family_npz, "updates": family_updates}


def main(argv: list[str]) -> int:
    global _LOG, _TMP
    family, n_examples, log_file, tmp = argv
    _TMP = tmp
    with open(log_file, "a") as _LOG:
        FAMILIES[family](int(n_examples))
    print(json.dumps({"family": family, "cases": _COUNT}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
