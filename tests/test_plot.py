"""fastopt.plot: figures with the expected axes, lines and scales."""

import numpy as np
import pytest
from matplotlib.figure import Figure

import fastopt as fo
from fastopt import plot


@pytest.fixture(scope="module")
def runs():
    obj = fo.problems.LeastSquares(np.random.default_rng(0).standard_normal((50, 4)),
                                   np.arange(50.0), lam=0.1)
    x0 = np.zeros(4)
    return {m: fo.minimize(obj, x0, method=m, tol=1e-9, max_iter=300)
            for m in ("gd", "nesterov", "newton")}


def test_convergence_grid_lines_and_log_scale(runs):
    fig = plot.convergence(runs, f_star=min(r.fun for r in runs.values()) - 1e-12,
                           title="t")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4  # (gap, grad) x (iteration, time)
    for ax in fig.axes:
        assert ax.get_yscale() == "log"
        assert len(ax.get_lines()) == 3
    assert fig.axes[0].get_xlabel() == "iteration k"
    assert fig.axes[1].get_xlabel() == "time (s)"
    assert fig.axes[2].get_ylabel() == "||grad f(x_k)||"
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["gd", "nesterov", "newton"]
    # The gd line's y data are f_k - f* at the recorded iterations.
    h = runs["gd"].history
    line = fig.axes[0].get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), h.iteration)


def test_convergence_options(runs, tmp_path):
    fig = plot.convergence({"seeds": [runs["gd"], runs["nesterov"]], "newton": runs["newton"]},
                           x_axis="time", y=("fun",))
    assert len(fig.axes) == 1
    lines = fig.axes[0].get_lines()
    assert len(lines) == 3 and lines[0].get_color() == lines[1].get_color()
    fig.savefig(tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000
    # Without f*, the smallest f recorded is used: every drawn gap is positive.
    fig = plot.convergence(runs)
    assert all((line.get_ydata() > 0).all() for line in fig.axes[0].get_lines())


def test_convergence_rejects_bad_arguments(runs):
    with pytest.raises(ValueError, match="x_axis"):
        plot.convergence(runs, x_axis="passes")
    with pytest.raises(ValueError, match="y entries"):
        plot.convergence(runs, y=("loss",))
    with pytest.raises(ValueError, match="non-empty"):
        plot.convergence({})


def test_curves_and_trajectories():
    fig = plot.curves([0.0, 0.5, 0.9], {"a": [10, 5, np.nan], "b": [8, 4, 2]}, "rho", "it")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.get_lines()) == 2
    assert len(ax.get_lines()[0].get_xdata()) == 2  # the NaN point is left out
    fig = plot.trajectories({"hb": [3.0, -1.0, 0.5, 0.0]}, f=lambda x: 0.5 * x * x)
    assert len(fig.axes) == 2 and fig.axes[1].get_yscale() == "log"
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_ydata(), [3, -1, 0.5, 0])
    assert len(plot.trajectories({"x": [1.0, 0.5]}).axes) == 1
