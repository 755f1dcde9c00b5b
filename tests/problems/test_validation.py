"""Validation at the boundary: every refusal names its argument; odd layouts are accepted."""

import hashlib

import numpy as np
import pytest
import scipy.sparse as sp

from fastopt.problems import LeastSquares, Logistic

M, N = 12, 3


def data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((M, N))
    y = np.tile([0, 1], M // 2)
    return X, y


def with_entry(a, value, index=(1, 1)):
    a = np.array(a, dtype=np.float64)
    a[index] = value
    return a


X0, Y0 = data()

# (id, constructor thunk, exception type, text that must appear in the message)
ERRORS = [
    ("X-nan", lambda: Logistic(with_entry(X0, np.nan), Y0), ValueError, "X"),
    ("X-inf", lambda: Logistic(with_entry(X0, np.inf), Y0), ValueError, "X"),
    ("X-neg-inf-csr", lambda: Logistic(sp.csr_matrix(with_entry(X0, -np.inf)), Y0),
     ValueError, "X"),
    ("X-nan-float32", lambda: LeastSquares(with_entry(X0, np.nan).astype(np.float32),
                                           Y0), ValueError, "X"),
    ("X-1d", lambda: Logistic(X0[:, 0], Y0), ValueError, "X"),
    ("X-3d", lambda: Logistic(X0[:, :, None], Y0), ValueError, "X"),
    ("X-no-rows", lambda: Logistic(np.empty((0, N)), []), ValueError, "X"),
    ("X-no-columns", lambda: Logistic(np.empty((M, 0)), Y0), ValueError, "X"),
    ("X-empty-csr", lambda: Logistic(sp.csr_matrix((0, N)), []), ValueError, "X"),
    ("X-object", lambda: Logistic(X0.astype(object), Y0), TypeError, "X"),
    ("X-str", lambda: Logistic(X0.astype(str), Y0), TypeError, "X"),
    ("X-complex", lambda: Logistic(X0 + 1j, Y0), TypeError, "X"),
    ("X-complex-csr", lambda: Logistic(sp.csr_matrix(X0 + 1j), Y0), TypeError, "X"),
    ("y-nan", lambda: Logistic(X0, with_entry(Y0, np.nan, 3)), ValueError, "y"),
    ("y-inf-lsq", lambda: LeastSquares(X0, with_entry(Y0, np.inf, 3)), ValueError, "y"),
    ("y-three-values", lambda: Logistic(X0, np.arange(M) % 3), ValueError, "y"),
    ("y-one-class", lambda: Logistic(X0, np.ones(M)), ValueError, "y"),
    ("y-too-short", lambda: Logistic(X0, Y0[:-1]), ValueError, "y"),
    ("y-too-long-lsq", lambda: LeastSquares(X0, np.zeros(M + 1)), ValueError, "y"),
    ("y-2d", lambda: Logistic(X0, Y0[:, None]), ValueError, "y"),
    ("y-complex", lambda: LeastSquares(X0, Y0 + 1j), TypeError, "y"),
    ("y-str-lsq", lambda: LeastSquares(X0, Y0.astype(str)), TypeError, "y"),
    ("y-unsortable", lambda: Logistic(X0, np.array([1, "a"] * (M // 2), dtype=object)),
     TypeError, "y"),
    ("sample_weight-nan", lambda: Logistic(X0, Y0, sample_weight=with_entry(
        np.ones(M), np.nan, 0)), ValueError, "sample_weight"),
    ("sample_weight-inf", lambda: Logistic(X0, Y0, sample_weight=with_entry(
        np.ones(M), np.inf, 0)), ValueError, "sample_weight"),
    ("sample_weight-negative", lambda: Logistic(X0, Y0, sample_weight=with_entry(
        np.ones(M), -1.0, 0)), ValueError, "sample_weight"),
    ("sample_weight-all-zero", lambda: Logistic(X0, Y0, sample_weight=np.zeros(M)),
     ValueError, "sample_weight"),
    ("sample_weight-length", lambda: Logistic(X0, Y0, sample_weight=np.ones(M - 1)),
     ValueError, "sample_weight"),
    ("sample_weight-str", lambda: Logistic(X0, Y0, sample_weight=["a"] * M),
     TypeError, "sample_weight"),
    ("lam-negative", lambda: Logistic(X0, Y0, lam=-1e-3), ValueError, "lam"),
    ("lam-nan", lambda: LeastSquares(X0, Y0, lam=np.nan), ValueError, "lam"),
    ("lam-inf", lambda: Logistic(X0, Y0, lam=np.inf), ValueError, "lam"),
    ("lam-str", lambda: Logistic(X0, Y0, lam="0.1"), TypeError, "lam"),
    ("dtype", lambda: Logistic(X0, Y0, dtype=np.int32), ValueError, "dtype"),
    ("backend", lambda: Logistic(X0, Y0, backend="fortran"), ValueError, "backend"),
    ("fit_intercept", lambda: Logistic(X0, Y0, fit_intercept="yes"), TypeError,
     "fit_intercept"),
]


@pytest.mark.parametrize("build, exc, name", [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_errors_name_the_argument(build, exc, name):
    with pytest.raises(exc) as info:
        build()
    assert str(info.value).startswith(name + " ")  # the message opens with the argument


POINT_ERRORS = [
    ("x-shape", lambda o: o.value(np.zeros(N + 1)), ValueError, "x"),
    ("x-2d", lambda o: o.grad(np.zeros((N, 1))), ValueError, "x"),
    ("x-nan", lambda o: o.loss_grad(with_entry(np.zeros(N), np.nan, 0)), ValueError, "x"),
    ("x-complex", lambda o: o.value(np.zeros(N) + 1j), TypeError, "x"),
    ("v-inf", lambda o: o.hvp(np.zeros(N), with_entry(np.zeros(N), np.inf, 0)),
     ValueError, "v"),
    ("grad_out-dtype", lambda o: o.loss_grad_into(np.zeros(N), np.zeros(N, np.float32)),
     ValueError, "grad_out"),
    ("rows-float", lambda o: o.batch_loss_grad(np.zeros(N), [0.5]), TypeError, "rows"),
]


@pytest.mark.parametrize("call, exc, name", [e[1:] for e in POINT_ERRORS],
                         ids=[e[0] for e in POINT_ERRORS])
def test_point_errors_name_the_argument(call, exc, name):
    obj = Logistic(X0, Y0, backend="numpy")
    with pytest.raises(exc) as info:
        call(obj)
    assert str(info.value).startswith(name + " ")


def fingerprint(a):
    if sp.issparse(a):
        parts = [a.format, a.shape, fingerprint(a.toarray())]
        for attr in ("data", "indices", "indptr", "row", "col"):
            if isinstance(getattr(a, attr, None), np.ndarray):
                parts.append(fingerprint(getattr(a, attr)))
        return tuple(parts)
    a = np.asarray(a)
    return (a.dtype.str, a.shape, a.strides, a.flags.writeable,
            hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest())


def layouts(X):
    """The same matrix in every layout the boundary must accept."""
    readonly = X.copy()
    readonly.flags.writeable = False
    strided = np.zeros((2 * M, 2 * N))
    strided[::2, ::2] = X
    return {
        "fortran": np.asfortranarray(X),
        "strided": strided[::2, ::2],
        "readonly": readonly,
        "big-endian": X.astype(">f8"),
        "list": X.tolist(),
    }


@pytest.mark.parametrize("layout", ["fortran", "strided", "readonly", "big-endian", "list"])
def test_accepted_layouts_give_the_same_value(backend, layout):
    X, y = data()
    w = np.random.default_rng(1).standard_normal(N)
    expected = Logistic(X, y, backend=backend).value(w)
    Xl = layouts(X)[layout]
    before = fingerprint(Xl)
    obj = Logistic(Xl, y, backend=backend)
    assert obj.X.flags.c_contiguous and obj.X.dtype == np.float64
    assert obj.X.dtype.byteorder in "=|"
    assert obj.value(w) == pytest.approx(expected, rel=1e-14)
    assert fingerprint(Xl) == before


def test_integer_bool_and_readonly_inputs():
    rng = np.random.default_rng(2)
    Xi = rng.integers(-3, 4, (M, N))
    w = rng.standard_normal(N)
    expected = Logistic(Xi.astype(np.float64), Y0, backend="numpy").value(w)
    assert Logistic(Xi, Y0, backend="numpy").value(w) == pytest.approx(expected, rel=1e-15)
    Xb = Xi > 0
    assert Logistic(Xb, Y0, backend="numpy").value(w) == pytest.approx(
        Logistic(Xb.astype(float), Y0, backend="numpy").value(w), rel=1e-15)
    # integer and read-only sample weights, big-endian targets
    sw = np.arange(M) % 4 + 1
    sw.flags.writeable = False
    ls = LeastSquares(Xi, Y0.astype(">i4"), sample_weight=sw, backend="numpy")
    ref = LeastSquares(Xi.astype(float), Y0.astype(float), sample_weight=sw.astype(float),
                       backend="numpy")
    assert ls.value(w) == pytest.approx(ref.value(w), rel=1e-15)
    np.testing.assert_allclose(ls.sw.sum(), 1.0)
    # points in other layouts
    obj = Logistic(X0, Y0, backend="numpy")
    w_ro = w.copy()
    w_ro.flags.writeable = False
    assert obj.value(w_ro) == obj.value(w) == obj.value(w.tolist())
    assert obj.value(np.repeat(w, 2)[::2]) == obj.value(w)


def test_user_arrays_are_never_modified(backend):
    X, y = data()
    sw = np.arange(M, dtype=np.float64) + 1
    arrays = {"X": X, "y": y, "sw": sw}
    before = {k: fingerprint(v) for k, v in arrays.items()}
    for cls in (Logistic, LeastSquares):
        obj = cls(X, y, sample_weight=sw, fit_intercept=True, backend=backend)
        w = np.ones(obj.n_params)
        w_before = fingerprint(w)
        obj.loss_grad(w)
        obj.hvp(w, w)
        obj.hessian(w)
        obj.lipschitz()
        obj.batch_loss_grad(w, [0, 1])
        assert fingerprint(w) == w_before
    assert {k: fingerprint(v) for k, v in arrays.items()} == before


def messy_csr():
    """A CSR matrix with unsorted column indices and duplicate entries, and its value."""
    data = np.array([1.0, 2.0, 3.0, -1.0, 0.5, 4.0, 2.5])
    indices = np.array([2, 0, 2, 1, 1, 0, 2], dtype=np.int32)  # row 0: 2, 0, 2 (dup)
    indptr = np.array([0, 3, 5, 5, 7], dtype=np.int32)  # row 1: 1, 1 (dup), row 2 empty
    X = sp.csr_matrix((data, indices, indptr), shape=(4, 3))
    dense = np.array([[2.0, 0.0, 4.0], [0.0, -0.5, 0.0], [0.0, 0.0, 0.0], [4.0, 0.0, 2.5]])
    return X, dense


def test_unsorted_duplicate_csr_is_canonicalized_on_a_copy(backend):
    X, dense = messy_csr()
    assert not X.has_canonical_format
    before = fingerprint(X)
    y = np.array([1, -1, 1, -1])
    w = np.array([0.3, -1.0, 0.7])
    obj = Logistic(X, y, lam=0.1, backend=backend)
    ref = Logistic(dense, y, lam=0.1, backend=backend)
    assert obj.value(w) == pytest.approx(ref.value(w), rel=1e-14)
    np.testing.assert_allclose(obj.grad(w), ref.grad(w), rtol=1e-13, atol=1e-15)
    assert obj.X.has_canonical_format
    np.testing.assert_array_equal(obj.X.toarray(), dense)
    assert fingerprint(X) == before  # the user's matrix is untouched


@pytest.mark.parametrize("fmt", ["csc", "coo", "lil", "dok", "bsr", "csr_array", "int"])
def test_other_sparse_formats_are_converted(fmt):
    X, dense = messy_csr()
    if fmt == "csr_array":
        Xs = sp.csr_array(X)
    elif fmt == "int":
        Xs = sp.csr_matrix(dense.astype(np.int64) * 2)
        dense = dense.astype(np.int64) * 2.0
    else:
        Xs = X.asformat(fmt)
    before = fingerprint(Xs)
    y = np.array([0, 1, 1, 0])
    w = np.array([0.3, -1.0, 0.7])
    obj = LeastSquares(Xs, y, backend="numpy")
    assert sp.isspmatrix_csr(obj.X) and obj.X.dtype == np.float64
    assert obj.value(w) == pytest.approx(LeastSquares(dense, y, backend="numpy").value(w),
                                         rel=1e-14)
    assert fingerprint(Xs) == before


def test_canonical_input_is_not_copied():
    X, y = data()
    obj = Logistic(X, y, backend="numpy")
    assert np.shares_memory(obj.X, X)
    Xs = sp.csr_matrix(X)
    obj = Logistic(Xs, y, backend="numpy")
    assert np.shares_memory(obj.X.data, Xs.data)


def test_sample_weights_are_normalized():
    X, y = data()
    obj = Logistic(X, y, sample_weight=np.full(M, 1e308), backend="numpy")
    np.testing.assert_allclose(obj.sw, np.full(M, 1 / M), rtol=1e-15)
    obj = Logistic(X, y, sample_weight=np.r_[np.zeros(M - 2), 1.0, 3.0], backend="numpy")
    np.testing.assert_allclose(obj.sw[-2:], [0.25, 0.75])
    np.testing.assert_allclose(Logistic(X, y, backend="numpy").sw, np.full(M, 1 / M))


@pytest.mark.parametrize("y", [
    np.array([0, 1, 1, 0, 1]), np.array([2.0, -3.5, 2.0]), np.array([True, False, True]),
    np.array([7, 7, 9], dtype=np.uint8), np.array([1.0, 2.0, 3.0]), np.array([4, 4, 4]),
    np.array([np.nan, 1.0, 0.0]), np.array(["a", "b", "a"]),
])
def test_split_two_numeric_classes_agrees_with_unique(y):
    from fastopt.problems._validation import split_two_numeric_classes

    split = split_two_numeric_classes(y)
    values, inverse = np.unique(y, return_inverse=True)
    if y.dtype.kind not in "biuf" or values.size != 2 or np.isnan(values).any():
        assert split is None
        return
    classes, upper = split
    np.testing.assert_array_equal(classes, values)
    assert classes.dtype == y.dtype
    np.testing.assert_array_equal(upper, inverse == 1)


# --- malformed sparse structure --------------------------------------------------------


def _csr_with(indices, indptr, shape=(3, 5)):
    """A CSR matrix whose arrays are set after construction (scipy checks some at build)."""
    X = sp.csr_matrix((np.ones(3), np.array([0, 1, 2], np.int32),
                       np.array([0, 1, 2, 3], np.int32)), shape=shape)
    X.indices = np.asarray(indices)
    X.indptr = np.asarray(indptr)
    X.data = np.ones(max(len(indices), 1))[:len(indices)]
    return X


_MALFORMED_CSR = {
    "index past the columns": (([0, 10**6, 2], [0, 2, 3, 3]), "index 1000000 is out of range"),
    "negative index": (([0, -1, 2], [0, 2, 3, 3]), "index -1 is out of range"),
    "decreasing indptr": (([0, 1, 2], [0, 3, 1, 3]), "indptr must be non-decreasing"),
    "indptr not from 0": (([0, 1, 2], [1, 2, 3, 3]), "indptr must start at 0"),
    "indptr past the end": (([0, 1, 2], [0, 1, 2, 7]), "indptr ends at 7"),
    "indptr too short": (([0, 1, 2], [0, 1, 3]), "indptr has 3 entries"),
    "float indices": (([0.0, 1.0, 2.0], [0, 1, 2, 3]), "indices must be a 1-D integer array"),
}


@pytest.mark.parametrize("case", sorted(_MALFORMED_CSR))
@pytest.mark.parametrize("entry", ["Logistic", "LeastSquares", "estimator"])
def test_malformed_csr_is_a_value_error_naming_the_defect(case, entry):
    from fastopt import LogisticRegression

    (indices, indptr), message = _MALFORMED_CSR[case]
    X = _csr_with(indices, indptr)
    before = [a.copy() for a in (X.data, X.indices, X.indptr)]
    y = np.array([0.0, 1.0, 1.0])
    build = {"Logistic": lambda: Logistic(X, y), "LeastSquares": lambda: LeastSquares(X, y),
             "estimator": lambda: LogisticRegression().fit(X, y)}[entry]
    with pytest.raises(ValueError, match=message) as info:
        build()
    assert "X (CSR sparse matrix)" in str(info.value)
    for old, new in zip(before, (X.data, X.indices, X.indptr), strict=True):
        np.testing.assert_array_equal(old, new)


def test_estimator_prediction_refuses_malformed_csr():
    from fastopt import LogisticRegression

    clf = LogisticRegression().fit(np.eye(5)[:4], [0, 1, 0, 1])
    X = _csr_with([0, 10**6, 2], [0, 2, 3, 3])
    for method in (clf.predict, clf.predict_proba, clf.decision_function):
        with pytest.raises(ValueError, match="out of range"):
            method(X)


@pytest.mark.parametrize("fmt", ["csc", "bsr"])
def test_malformed_compressed_formats_are_refused_before_conversion(fmt):
    from fastopt import LogisticRegression

    # A CSC (column-major) twin of the out-of-range case: converting it to CSR in scipy's
    # compiled code would read past the arrays.
    X = sp.csc_matrix(np.eye(3, 5)) if fmt == "csc" else sp.bsr_matrix(np.eye(3, 5))
    X.indices = X.indices.copy()
    X.indices[-1] = 10**6
    y = np.array([0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=f"{fmt.upper()} sparse matrix.*out of range"):
        Logistic(X, y)
    with pytest.raises(ValueError, match="out of range"):
        LogisticRegression().fit(X, y)


def test_coo_with_coordinates_out_of_range_is_refused():
    X = sp.coo_matrix(np.eye(3, 5))
    X.col = X.col.copy()
    X.col[0] = 7
    with pytest.raises(ValueError, match="COO sparse matrix.*col index 7 is out of range"):
        Logistic(X, np.array([0.0, 1.0, 1.0]))


def test_csr_arrays_longer_than_indptr_use_only_the_described_entries():
    # scipy allows indices/data longer than indptr[-1]; the tail is not part of the matrix.
    X = sp.csr_matrix(np.array([[1.0, 0, 2], [0, 3.0, 0]]))
    X.indices = np.append(X.indices, np.int32(99))
    X.data = np.append(X.data, np.nan)
    y = np.array([0.0, 1.0])
    w = np.array([0.3, -0.2, 0.1])
    dense = Logistic(X.toarray(), y)
    assert Logistic(X, y).value(w) == dense.value(w)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("itype", [np.uint16, np.uint32, np.uint64])
def test_unsigned_index_arrays_are_checked_and_accepted_when_valid(fmt, itype):
    # np.diff of unsigned integers wraps instead of going negative: a decreasing indptr
    # once slipped through (and crashed scipy's sort, or fitted garbage).
    from fastopt import LogisticRegression

    D = np.arange(1.0, 13.0).reshape(4, 3)
    make = sp.csr_matrix if fmt == "csr" else sp.csc_matrix
    y = np.array([0.0, 1.0, 0.0, 1.0])
    bad = make(D)
    indptr = bad.indptr.astype(itype)
    indptr[1] = 60000
    bad.indptr = indptr
    with pytest.raises(ValueError, match="indptr must be non-decreasing"):
        Logistic(bad, y)
    with pytest.raises(ValueError, match="indptr must be non-decreasing"):
        LogisticRegression().fit(bad, y)
    good = make(D)
    good.indices, good.indptr = good.indices.astype(itype), good.indptr.astype(itype)
    w = np.array([0.1, -0.2, 0.05])
    assert Logistic(good, y).value(w) == Logistic(D, y).value(w)
    clf = LogisticRegression().fit(good, y)
    np.testing.assert_allclose(clf.predict_proba(good), clf.predict_proba(D), rtol=1e-12)


def _unaligned(a):
    """A copy of ``a`` at an odd byte offset (as arrays unpickled from a message can be)."""
    buf = bytearray(a.nbytes + 1)
    buf[1:] = a.tobytes()
    out = np.frombuffer(buf, dtype=a.dtype, offset=1).reshape(a.shape)
    assert not out.flags.aligned
    return out


def test_unaligned_arrays_are_accepted():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = np.arange(60) % 2
    w, v = rng.standard_normal(4), rng.standard_normal(4)
    ref = Logistic(X, y, lam=0.1)
    Xs = sp.csr_matrix(X)
    for X_in in (_unaligned(X), sp.csr_matrix((_unaligned(Xs.data), _unaligned(Xs.indices),
                                                _unaligned(Xs.indptr)), shape=Xs.shape)):
        obj = Logistic(X_in, y, lam=0.1)
        assert obj.loss_grad(_unaligned(w))[0] == pytest.approx(ref.loss_grad(w)[0], rel=1e-14)
        np.testing.assert_allclose(obj.hvp(_unaligned(w), _unaligned(v)), ref.hvp(w, v),
                                   rtol=1e-13)
        d = _unaligned(np.full(60, 0.25))
        np.testing.assert_allclose(obj.weighted_hvp(d, _unaligned(v)),
                                   ref.weighted_hvp(np.full(60, 0.25), v), rtol=1e-13)
