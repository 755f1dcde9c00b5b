"""Options and arguments that once slipped through: each is now a clear error naming it.

Found by trying, as a new user would, wrong types and absurd values on every entry point:
strings where flags go (``bool("False")`` is True), integers beyond float64, masked and
complex arrays, data whose curvature overflows.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import fastopt as fo


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((20, 3)), np.arange(20) % 2


@pytest.mark.parametrize("name", ["fit_intercept", "warm_start"])
@pytest.mark.parametrize("value", ["False", "no", 2, None])
def test_estimator_flags_must_be_booleans(data, name, value):
    X, y = data
    with pytest.raises(TypeError, match=f"{name} must be True or False"):
        fo.LogisticRegression(**{name: value}).fit(X, y)


@pytest.mark.parametrize("value", ["yes", -1, 1.5, True])
def test_estimator_verbose_must_be_a_count(data, value):
    with pytest.raises(ValueError, match="verbose must be an integer >= 0"):
        fo.LogisticRegression(verbose=value).fit(*data)


def test_estimator_tiny_C_names_C_not_an_internal_lam(data):
    with pytest.raises(ValueError, match=r"C=1e-320 .* infinite penalty"):
        fo.LogisticRegression(C=1e-320).fit(*data)


def test_estimator_bad_sample_weight_is_one_line_naming_it(data):
    with pytest.raises(ValueError, match="^sample_weight: ") as info:
        fo.LogisticRegression().fit(*data, sample_weight="a")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("value", ["False", None, np.nan, [1], 1 + 0j])
def test_amsgrad_must_be_a_boolean(data, value):
    obj = fo.problems.Logistic(*data)
    with pytest.raises(TypeError, match="amsgrad must be True or False"):
        fo.minimize(obj, np.zeros(3), method="adam", amsgrad=value)


@pytest.mark.parametrize("x0, exc, message", [
    (np.ones(3) * (1 + 1j), TypeError, "x0 must hold real numbers; got dtype complex"),
    ([0.0, 0.0, None], TypeError, "x0 must hold real numbers; got None"),
    (np.ma.array(np.zeros(3), mask=[0, 1, 0]), ValueError, "x0 is a masked array"),
])
def test_x0_that_numpy_would_quietly_convert_is_refused(data, x0, exc, message):
    with pytest.raises(exc, match=message):
        fo.minimize(fo.problems.Logistic(*data), x0)


def test_masked_data_is_refused_unless_nothing_is_masked(data):
    X, y = data
    with pytest.raises(ValueError, match="X is a masked array with masked entries"):
        fo.problems.Logistic(np.ma.array(X, mask=X > 1), y)
    with pytest.raises(ValueError, match="y is a masked array with masked entries"):
        fo.problems.Logistic(X, np.ma.array(y, mask=y > 0))
    plain = fo.problems.Logistic(X, y)
    unmasked = fo.problems.Logistic(np.ma.array(X), np.ma.array(y))
    assert unmasked.value(np.ones(3)) == plain.value(np.ones(3))


@pytest.mark.parametrize("value, exc", [("2", TypeError), (1.5, TypeError), (True, TypeError),
                                        (0, ValueError), (2**80, ValueError)])
def test_set_num_threads_takes_a_positive_integer(value, exc):
    before = fo.get_num_threads()
    with pytest.raises(exc, match="n_threads"):
        fo.set_num_threads(value)
    assert fo.get_num_threads() == before


@pytest.mark.parametrize("option, value", [("lr", 10**400), ("tol", 10**400),
                                           ("max_time", 10**400), ("history_every", 2**64)])
def test_integers_beyond_the_machine_are_value_errors(data, option, value):
    with pytest.raises(ValueError, match=option):
        fo.minimize(fo.problems.Logistic(*data), np.zeros(3), method="gd", **{option: value})


def test_options_and_args_of_the_wrong_kind(data):
    obj = fo.problems.Logistic(*data)
    with pytest.raises(TypeError, match="options must be a dict"):
        fo.minimize(obj, np.zeros(3), options=[1, 2])
    with pytest.raises(ValueError, match="base must be one of"):
        fo.minimize(obj, np.zeros(3), method="sam", base=[1])
    # As scipy: a value that is not a tuple is one extra argument.
    res = fo.minimize(lambda x, c: float((x - c) @ (x - c)), np.zeros(2), args=3.0,
                      method="lbfgs")
    np.testing.assert_allclose(res.x, [3.0, 3.0], atol=1e-6)


def test_softmax_relu_refuses_sparse_data():
    A = sp.random(5, 3, density=0.5, format="csr", random_state=0)
    with pytest.raises(TypeError, match="A must be a dense array"):
        fo.problems.SoftmaxReLU(A, np.zeros(5), np.ones(5))


@pytest.mark.parametrize("make", [
    lambda X, y: fo.problems.Logistic(X * 1e300, y).lipschitz(),
    lambda X, y: fo.problems.LeastSquares(X * 1e300, y.astype(float)).lipschitz(),
    lambda X, y: fo.minimize(fo.problems.LeastSquares(X * 1e300, y.astype(float)),
                             np.zeros(3), method="gd"),
    lambda X, y: fo.minimize(fo.problems.Logistic(X * 1e300, y), np.zeros(3),
                             method="heavy-ball"),
])
def test_overflowing_curvature_is_a_clear_error(data, make):
    with pytest.raises(ValueError, match="curvature bound L .* is not finite.*rescale X"):
        make(*data)
