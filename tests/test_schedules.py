"""Schedules against their formulas."""

import math

import numpy as np
import pytest

from fastopt import schedules as S


def test_linear_ramp_formula():
    a0, a_tau, tau = 0.1, 1.0, 10
    s = S.linear(a0, a_tau, tau)
    for t in range(15):
        expected = (1 - t / tau) * a0 + (t / tau) * a_tau if t < tau else a_tau
        assert s(t) == pytest.approx(expected, rel=1e-15)
    np.testing.assert_allclose(s(np.arange(15)), [s(t) for t in range(15)])


@pytest.mark.parametrize("sched,formula", [
    (S.constant(0.3), lambda t: 0.3),
    (S.step(1.0, 4, 0.5), lambda t: 0.5 ** (t // 4)),
    (S.exponential(2.0, 0.9), lambda t: 2.0 * 0.9 ** t),
    (S.cosine(1.0, 10, 0.1), lambda t: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(t, 10) / 10))),
    (S.inverse_sqrt(1.0, 4.0), lambda t: 1.0 / math.sqrt(1 + t / 4.0)),
    (S.nesterov_momentum(), lambda k: max(k - 1, 0) / (k + 2)),
    (S.warmup(S.constant(0.5), 4), lambda t: 0.5 * t / 4 if t < 4 else 0.5),
    (S.warmup(S.exponential(1.0, 0.5), 2, start=0.2),
     lambda t: 0.2 + 0.8 * t / 2 if t < 2 else 0.5 ** (t - 2)),
])
def test_schedules_match_formulas(sched, formula):
    t = np.arange(25)
    expected = np.array([formula(int(k)) for k in t])
    np.testing.assert_allclose(sched(t), expected, rtol=1e-14, atol=1e-16)
    assert sched(7) == pytest.approx(formula(7), rel=1e-14)


def test_callable_and_tabulate():
    f = lambda t: 1.0 / (t + 1)  # noqa: E731
    assert S.as_schedule(f) is f
    np.testing.assert_allclose(S.tabulate(f, 5), [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    np.testing.assert_allclose(S.tabulate(0.25, 3), [0.25] * 3)


def test_adaptive_restart_resets_the_sequence():
    r = S.adaptive_restart()
    assert r(5) == pytest.approx(4 / 7)
    r.restart(5)
    assert r(5) == 0.0 and r(6) == 0.0 and r(7) == pytest.approx(1 / 4)
    assert r.n_restarts == 1
    with pytest.raises(ValueError, match="scheme"):
        S.adaptive_restart(scheme="sometimes")


def test_invalid_parameters_are_named():
    with pytest.raises(ValueError, match="steps"):
        S.linear(1.0, 0.0, 0)
    with pytest.raises(ValueError, match="gamma"):
        S.exponential(1.0, -0.5)
    with pytest.raises(ValueError, match="init"):
        S.cosine(float("nan"), 10)
    with pytest.raises(ValueError, match="t must be >= 0"):
        S.constant(1.0)(-1)


def test_warmup_of_a_user_callable_at_a_scalar_step():
    s = S.warmup(lambda t: 0.1 * 0.5 ** t, 3, start=0.01)
    assert s(5) == pytest.approx(0.1 * 0.5 ** 2, rel=1e-15)
    assert s(1) == pytest.approx(0.01 + 0.09 / 3, rel=1e-15)
    np.testing.assert_allclose(s(np.arange(6)), [s(t) for t in range(6)], rtol=1e-15)
    assert S.warmup(lambda t: 0.1, 3)(5) == 0.1


@pytest.mark.parametrize("build,name", [
    (lambda: S.step(1.0, 4, gamma=0.0), "gamma"),
    (lambda: S.step(1.0, 4, gamma=-0.5), "gamma"),
    (lambda: S.step(0.0, 4), "init"),
    (lambda: S.exponential(-1.0, 0.9), "init"),
    (lambda: S.cosine(0.0, 10), "init"),
    (lambda: S.cosine(1.0, 10, end=-0.1), "end"),
    (lambda: S.inverse_sqrt(-1.0), "init"),
    (lambda: S.linear(-0.1, 1.0, 10), "init"),
    (lambda: S.warmup(S.constant(0.5), 4, start=-0.1), "start"),
])
def test_learning_rate_schedules_refuse_nonpositive_rates(build, name):
    with pytest.raises(ValueError, match=name):
        build()
