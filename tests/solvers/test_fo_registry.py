"""The registry of first-order methods and the one stopping rule.

Every entry of :data:`fastopt.solvers.fo_methods.METHODS` must build its optimizer from
its default options, give the compiled loops a state and parameter layout they accept,
and run the same iterates in the Python loop and in every compiled loop. The stopping
rule (:func:`fastopt._stopping.stop_status`) is the same function in Python and numba and
has a C twin in the Cython loop: all three must agree on every input, NaN and inf
included.
"""

import math

import numpy as np
import pytest

import fastopt as fo
from fastopt import _stopping
from fastopt._result import Status
from fastopt.kernels import available_backends, get_backend, steps
from fastopt.solvers import fo_methods
from fastopt.solvers.registry import get as get_solver

METHODS = sorted(fo_methods.METHODS)
LOOPS = [b for b in ("cython", "numba") if b in available_backends()]


def _logistic(backend="auto"):
    rng = np.random.default_rng(8)
    X = rng.standard_normal((200, 5))
    y = np.where(X @ rng.standard_normal(5) > 0, 1.0, -1.0)
    return fo.problems.Logistic(X, y, lam=1e-2, backend=backend)


@pytest.mark.parametrize("method", METHODS)
def test_entry_is_the_method_minimize_knows(method):
    entry = fo_methods.get(method)
    assert entry.name == method
    spec = get_solver(method)
    assert set(spec.options) == set(entry.options) | {"loop"}
    opt = entry.build(_logistic(), dict(spec.options), fo.kernels.get_backend("numpy"))
    step = entry.step_of(opt)
    # every hyper-parameter of the step is the optimizer's (what the loops' fparams read),
    # or comes from the momentum schedule
    for name in step.param_names:
        if name not in ("momentum", "momentum_next"):
            assert isinstance(getattr(opt, name), float), name


@pytest.mark.parametrize("method", METHODS)
def test_entry_state_layout(method):
    entry = fo_methods.get(method)
    opt = entry.build(_logistic(), dict(get_solver(method).options),
                      fo.kernels.get_backend("numpy"))
    slots = entry.loop_state(opt, 5)
    assert len(slots) == 3
    n = len(entry.step_of(opt).state)
    assert [s.shape[0] for s in slots] == [5] * n + [0] * (3 - n)
    assert entry.fparams(opt).shape == (steps.MAX_PARAMS,)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="not a first-order method"):
        fo_methods.get("nadamw")


@pytest.mark.parametrize("method", METHODS)
def test_entry_runs_a_step_of_the_table(method):
    """Every method is a step of the table; two names share a step only when they share
    the update (adam/adamw, heavy-ball/momentum)."""
    entry = fo_methods.get(method)
    opt = entry.build(_logistic(), dict(get_solver(method).options),
                      fo.kernels.get_backend("numpy"))
    step = entry.step_of(opt)
    assert steps.STEPS[step.code] is step


@pytest.mark.parametrize("backend", available_backends())
def test_every_backend_has_every_step_with_its_signature(backend):
    import inspect

    kernels = get_backend(backend)
    for step in steps.STEPS:
        if step.export:
            kernel = getattr(kernels, step.kernel)
            names = list(inspect.signature(getattr(kernel, "py_func", kernel)).parameters)
            # the NumPy twin is written by hand: its carry has the step's own name
            assert names[:-1] == step.signature()[:-1], (backend, step.name)
            assert len(names) == len(step.signature())


def test_step_table_header_is_generated_from_the_table():
    # setup.py writes _step_table.h from steps.py (run on its own, as for the loss codes)
    import runpy
    from pathlib import Path

    assert runpy.run_path(steps.__file__)["c_header"]() == steps.c_header()
    path = Path(steps.__file__).parent / "cython" / "_step_table.h"
    if "cython" not in available_backends():
        pytest.skip("no Cython build")
    assert path.read_text() == steps.c_header()


@pytest.mark.parametrize("backend", LOOPS)
@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_compiled_as_in_python(method, backend):
    obj = _logistic(backend)
    x0 = np.zeros(obj.n_params)
    options = {"lr": 0.1} if method != "gd" else {"lr": 0.5}
    # The scale-free steps g / sqrt(r) of the adaptive methods amplify the rounding
    # differences of the two loops' passes once entries of g shrink: a short run.
    kw = dict(tol=0.0, max_iter=60 if method not in ("rmsprop", "adagrad") else 12)
    compiled = fo.minimize(obj, x0, method=method, options=options, **kw)
    python = fo.minimize(obj, x0, method=method, options={**options, "loop": "python"}, **kw)
    assert compiled.loop == "compiled"
    assert (compiled.nit, compiled.status) == (python.nit, python.status)
    np.testing.assert_allclose(compiled.x, python.x, rtol=1e-11, atol=1e-14)


# --- the stopping rule ---------------------------------------------------------------------

_SPECIAL = [0.0, 1.0, -1.0, 1e-300, 1e300, math.inf, -math.inf, math.nan]


def _random_inputs(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        pick = lambda: (float(rng.choice(_SPECIAL)) if rng.random() < 0.3  # noqa: E731
                        else float(rng.standard_normal() * 10.0 ** rng.integers(-6, 6)))
        k = int(rng.integers(0, 5))
        yield (k, pick(), pick(), pick(), abs(pick()), abs(pick()), abs(pick()) * 1e-3,
               float(rng.choice([0.0, 1e-3, 1.0])), float(rng.choice([0.0, 1e-3, 1.0])),
               int(rng.integers(0, 5)), float(rng.choice([1e10, 1.0, 0.0])))


def test_stop_status_python_values_are_status_values():
    seen = set()
    for k, f, f0, fp, gn, sn, tol, xtol, ftol, mi, div in _random_inputs():
        code = _stopping.stop_status(k, f, f0, fp, gn, True, sn, tol, xtol, ftol, mi, div)
        seen.add(code)
        if code != _stopping.CONTINUE:
            Status(code)
    assert {int(Status.GTOL), int(Status.DIVERGED), int(Status.MAX_ITER), -1} <= seen


@pytest.mark.skipif("cython" not in available_backends(), reason="needs the Cython build")
def test_stop_status_c_twin_agrees():
    from fastopt.kernels.cython._fo_loop import stop_status as c_stop

    for k, f, f0, fp, gn, sn, tol, xtol, ftol, mi, div in _random_inputs():
        expected = _stopping.stop_status(k, f, f0, fp, gn, True, sn, tol, xtol, ftol, mi, div)
        assert c_stop(k, f, f0, fp, gn, sn, tol, xtol, ftol, mi, div) == expected


@pytest.mark.skipif("numba" not in available_backends(), reason="needs numba")
def test_stop_status_numba_agrees():
    from fastopt.kernels.numba._fo_loop import _stop

    for args in list(_random_inputs(800, seed=1)):
        k, f, f0, fp, gn, sn, tol, xtol, ftol, mi, div = args
        expected = _stopping.stop_status(k, f, f0, fp, gn, True, sn, tol, xtol, ftol, mi, div)
        assert _stop(k, f, f0, fp, gn, True, sn, tol, xtol, ftol, mi, div) == expected


def test_stop_status_without_gradient_ignores_gnorm():
    assert _stopping.stop_status(0, 1.0, 1.0, math.nan, math.nan, False, math.nan, 1e-6, 0.0,
                                 0.0, 10, 1e10) == _stopping.CONTINUE
    assert _stopping.stop_status(0, 1.0, 1.0, math.nan, math.nan, True, math.nan, 1e-6, 0.0,
                                 0.0, 10, 1e10) == int(Status.DIVERGED)
