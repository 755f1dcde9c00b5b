"""Fused update kernels: every backend against the NumPy reference and against the
recurrence written out by hand; the public API's validation."""

import numpy as np
import pytest

import fastopt as fo
from fastopt.kernels import available_backends, get_backend

N = 1000  # serial path; one larger size below exercises the parallel chunks
TOL = {np.float32: 2e-6, np.float64: 1e-13}


def _arrays(rng, dtype, n=N, k=4):
    out = [rng.standard_normal(n).astype(dtype) for _ in range(k)]
    return out


def _written_out(name, x, state, g, dtype, **hp):
    """The recurrences of the fo.updates docstring, element by element in float64."""
    x, g = x.astype(np.float64), g.astype(np.float64)
    state = [s.astype(np.float64) for s in state]
    lr = hp["lr"]
    if name == "gd_":
        return [x - lr * g]
    if name == "heavy_ball_":
        s = hp["momentum"] * state[0] - lr * g
        return [x + s, s]
    if name == "nesterov_":
        rho, rho_n = hp["momentum"], hp["momentum_next"]
        x_under = x - rho * state[0]            # x_k = y_k - rho_k s_k
        s = rho * state[0] - lr * g             # s_{k+1}
        x_next = x_under + s                    # x_{k+1}
        return [x_next + rho_n * s, s]          # y_{k+1}
    if name == "adagrad_":
        r = state[0] + g * g
        return [x - lr * g / (np.sqrt(r) + hp["eps"]), r]
    if name == "rmsprop_":
        r = hp["rho"] * state[0] + (1 - hp["rho"]) * g * g
        return [x - lr * g / (np.sqrt(r) + hp["eps"]), r]
    b1, b2, t, eps = hp["beta1"], hp["beta2"], hp["t"], hp["eps"]
    m = b1 * state[0] + (1 - b1) * g
    if name == "adamax_":
        u = np.maximum(b2 * state[1], np.abs(g) + eps)
        return [x - lr / (1 - b1 ** t) * m / u, m, u]
    v = b2 * state[1] + (1 - b2) * g * g
    if name == "nadam_":
        psi, prod = hp["momentum_decay"], hp["mu_product"]
        mu_t = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        d = np.sqrt(v / (1 - b2 ** t)) + eps
        return [x - lr * (1 - mu_t) / (1 - prod * mu_t) * g / d
                - lr * mu_next / (1 - prod * mu_t * mu_next) * m / d, m, v]
    wd = hp.get("weight_decay", 0.0)
    x = x - lr * wd * x
    vv = v if hp.get("ams") is None else np.maximum(hp["ams"].astype(np.float64), v)
    m_hat = m / (1 - b1 ** t)
    v_hat = vv / (1 - b2 ** t)
    out = [x - lr * m_hat / (np.sqrt(v_hat) + eps), m, v]
    if hp.get("ams") is not None:
        out.append(vv)
    return out


CASES = [
    ("gd_", 0, dict(lr=0.1)),
    ("heavy_ball_", 1, dict(lr=0.1, momentum=0.9)),
    ("nesterov_", 1, dict(lr=0.1, momentum=0.8, momentum_next=0.85)),
    ("adagrad_", 1, dict(lr=0.1, eps=1e-10)),
    ("rmsprop_", 1, dict(lr=0.01, rho=0.9, eps=1e-8)),
    ("adam_", 2, dict(t=3, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)),
    ("adamw_", 2, dict(t=5, lr=1e-2, beta1=0.8, beta2=0.99, eps=1e-8, weight_decay=0.1)),
    ("nadam_", 2, dict(t=4, lr=1e-2, beta1=0.85, beta2=0.99, eps=1e-8, momentum_decay=0.3,
                       mu_product=0.2)),
    ("adamax_", 2, dict(t=3, lr=1e-2, beta1=0.85, beta2=0.95, eps=1e-8)),
]


def _call(kernels, name, x, state, g, hp, v_max):
    if name == "gd_":
        return kernels.gd_(x, g, hp["lr"])
    if name == "heavy_ball_":
        return kernels.heavy_ball_(x, state[0], g, hp["lr"], hp["momentum"])
    if name == "nesterov_":
        return kernels.nesterov_(x, state[0], g, hp["lr"], hp["momentum"], hp["momentum_next"])
    if name == "adagrad_":
        return kernels.adagrad_(x, state[0], g, hp["lr"], hp["eps"])
    if name == "rmsprop_":
        return kernels.rmsprop_(x, state[0], g, hp["lr"], hp["rho"], hp["eps"])
    args = (x, state[0], state[1], g, hp["t"], hp["lr"], hp["beta1"], hp["beta2"], hp["eps"])
    if name == "nadam_":
        return kernels.nadam_(*args, hp["momentum_decay"], hp["mu_product"])
    if name == "adamax_":
        return kernels.adamax_(*args)
    if name == "adam_":
        return kernels.adam_(*args, v_max)
    return kernels.adamw_(*args, hp["weight_decay"], v_max)


KERNEL_CASES = [(*c, False) for c in CASES] + [(*c, True) for c in CASES
                                               if c[0] in ("adam_", "adamw_")]


@pytest.mark.parametrize("name,n_state,hp,amsgrad", KERNEL_CASES,
                         ids=[c[0] + ("amsgrad" if c[3] else "") for c in KERNEL_CASES])
def test_kernel_matches_reference_and_recurrence(backend, dtype, name, n_state, hp, amsgrad,
                                                 rng):
    x, g, s0, s1 = _arrays(rng, dtype)
    state = [np.abs(s) if i == 1 or name in ("adagrad_", "rmsprop_") else s
             for i, s in enumerate([s0, s1][:n_state])]
    v_max0 = (np.abs(rng.standard_normal(N)) * 2).astype(dtype) if amsgrad else None
    kernels = get_backend(backend)
    xb, sb = x.copy(), [s.copy() for s in state]
    vb = v_max0.copy() if amsgrad else np.empty(0, dtype)
    g_before = g.copy()
    returned = _call(kernels, name, xb, sb, g, hp, vb)
    if name == "nadam_":  # a step with a running scalar returns its next value
        mu_t = hp["beta1"] * (1 - 0.5 * 0.96 ** (hp["t"] * hp["momentum_decay"]))
        assert returned == pytest.approx(hp["mu_product"] * mu_t, rel=1e-15)
    else:
        assert returned is None
    xr, sr = x.copy(), [s.copy() for s in state]
    vr = v_max0.copy() if amsgrad else np.empty(0, dtype)
    _call(get_backend("numpy"), name, xr, sr, g, hp, vr)
    got = [xb, *sb] + ([vb] if amsgrad else [])
    ref = [xr, *sr] + ([vr] if amsgrad else [])
    expected = _written_out(name, x, state, g, dtype, ams=v_max0, **hp)
    np.testing.assert_array_equal(g, g_before)  # the gradient is never written
    for a, b, c in zip(got, ref, expected, strict=False):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype])
        np.testing.assert_allclose(a, c, rtol=10 * TOL[dtype], atol=10 * TOL[dtype])


@pytest.mark.parametrize("name", ["adam_", "nesterov_"])
def test_parallel_path_matches_reference(compiled_backend, name, rng):
    """Above PARALLEL_MIN the compiled kernels split the array into chunks."""
    n = (1 << 16) + 12345
    x, g, s0, s1 = _arrays(rng, np.float32, n)
    hp = dict(CASES[5 if name == "adam_" else 2][2])
    state = [s0, np.abs(s1)] if name == "adam_" else [s0]
    outs = []
    for b in (compiled_backend, "numpy"):
        xb, sb = x.copy(), [s.copy() for s in state]
        _call(get_backend(b), name, xb, sb, g, hp, np.empty(0, np.float32))
        outs.append([xb, *sb])
    for a, b in zip(*outs, strict=False):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-6)


def test_adam_steps_match_torch_formula_over_a_run(rng):
    """Ten fused steps equal ten steps of the written-out recurrence (bias corrections in t)."""
    x = rng.standard_normal(50)
    m, v = np.zeros(50), np.zeros(50)
    xr, mr, vr = x.copy(), m.copy(), v.copy()
    for t in range(1, 11):
        g = np.sin(x * t)
        gr = np.sin(xr * t)
        fo.updates.adam_(x, m, v, g, t, lr=0.01)
        xr, mr, vr = _written_out("adam_", xr, [mr, vr], gr, np.float64, t=t, lr=0.01,
                                  beta1=0.9, beta2=0.999, eps=1e-8)
    np.testing.assert_allclose(x, xr, rtol=1e-12)


@pytest.mark.parametrize("backend_name", ["auto", "cython", "numba", "numpy"])
def test_public_api_in_place(backend_name):
    if backend_name not in ("auto", *available_backends()):
        pytest.skip(f"{backend_name} not available")
    x = np.ones(5)
    s = np.zeros(5)
    g = np.full(5, 2.0)
    fo.updates.heavy_ball_(x, s, g, 0.1, 0.5, backend=backend_name)
    np.testing.assert_allclose(s, -0.2)
    np.testing.assert_allclose(x, 0.8)
    fo.updates.heavy_ball_(x, s, g, 0.1, 0.5, backend=backend_name)
    np.testing.assert_allclose(s, -0.3)
    np.testing.assert_allclose(x, 0.5)


def test_public_api_validation():
    x = np.zeros(4, np.float32)
    g = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="lr"):
        fo.updates.gd_(x, g, 0.0)
    with pytest.raises(ValueError, match="lr must be finite"):
        fo.updates.gd_(x, g, float("inf"))
    with pytest.raises(ValueError, match="momentum must be finite"):
        fo.updates.heavy_ball_(x, np.zeros_like(x), g, 0.1, float("nan"))
    with pytest.raises(TypeError, match="lr"):
        fo.updates.gd_(x, g, "0.1")
    with pytest.raises(ValueError, match="momentum"):
        fo.updates.heavy_ball_(x, np.zeros_like(x), g, 0.1, 1.0)
    with pytest.raises(ValueError, match="eps"):
        fo.updates.adagrad_(x, np.zeros_like(x), g, 0.1, eps=0.0)
    with pytest.raises(ValueError, match="beta2"):
        fo.updates.adam_(x, np.zeros_like(x), np.zeros_like(x), g, 1, beta2=1.0)
    with pytest.raises(ValueError, match="t "):
        fo.updates.adam_(x, np.zeros_like(x), np.zeros_like(x), g, 0)
    with pytest.raises(TypeError, match="dtype"):
        fo.updates.gd_(x, np.zeros(4), 0.1)
    with pytest.raises(ValueError, match="shape"):
        fo.updates.gd_(x, np.zeros(5, np.float32), 0.1)
    with pytest.raises(ValueError, match="contiguous"):
        fo.updates.gd_(np.zeros(8, np.float32)[::2], g, 0.1)
    ro = np.zeros(4, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fo.updates.gd_(ro, g, 0.1)
    with pytest.raises(ValueError, match="weight_decay"):
        fo.updates.adamw_(x, np.zeros_like(x), np.zeros_like(x), g, 1, weight_decay=-1.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        fo.updates.gd_(np.zeros(4, np.int64), np.zeros(4, np.int64), 0.1)


@pytest.mark.parametrize("n", [0, 1, 7])
@pytest.mark.parametrize("name,n_state,hp,amsgrad", KERNEL_CASES,
                         ids=[c[0] + ("amsgrad" if c[3] else "") for c in KERNEL_CASES])
def test_tiny_arrays_match_reference(backend, dtype, n, name, n_state, hp, amsgrad, rng):
    """n = 0 (nothing to do, nothing read), n = 1 and a length below one vector."""
    x, g, s0, s1 = _arrays(rng, dtype, n)
    state = [np.abs(s0) if name in ("adagrad_", "rmsprop_") else s0, np.abs(s1)][:n_state]
    outs = []
    for b in (backend, "numpy"):
        xb, sb = x.copy(), [s.copy() for s in state]
        vb = np.full(n, 0.5, dtype) if amsgrad else np.empty(0, dtype)
        _call(get_backend(b), name, xb, sb, g, hp, vb)
        outs.append([xb, *sb, vb])
    for a, b in zip(*outs, strict=True):
        np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.skipif("cython" not in available_backends(), reason="Cython not built")
@pytest.mark.parametrize("name,n_state,hp,amsgrad", KERNEL_CASES,
                         ids=[c[0] + ("amsgrad" if c[3] else "") for c in KERNEL_CASES])
def test_cython_parallel_chunks_match_reference(dtype, name, n_state, hp, amsgrad, rng):
    """Every Cython update above PARALLEL_MIN (chunks on the OpenMP threads, a ragged
    last chunk) equals the reference; numba's parallel drivers are covered above."""
    n = (1 << 16) + (1 << 14) + 77
    x, g, s0, s1 = _arrays(rng, dtype, n)
    state = [np.abs(s0) if name in ("adagrad_", "rmsprop_") else s0, np.abs(s1)][:n_state]
    v_max0 = np.abs(rng.standard_normal(n)).astype(dtype)
    outs = []
    for b in ("cython", "numpy"):
        xb, sb = x.copy(), [s.copy() for s in state]
        vb = v_max0.copy() if amsgrad else np.empty(0, dtype)
        _call(get_backend(b), name, xb, sb, g, hp, vb)
        outs.append([xb, *sb, vb])
    for a, b in zip(*outs, strict=True):
        np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.skipif("cython" not in available_backends(), reason="Cython not built")
def test_cython_kernels_refuse_arrays_they_cannot_read():
    """The Cython kernels read raw pointers: every array is checked (C-level) first."""
    k = get_backend("cython")
    x, s, g = np.zeros(4), np.zeros(4), np.ones(4)
    ro = np.zeros(4)
    ro.flags.writeable = False
    with pytest.raises(TypeError, match="float32 or float64"):
        k.gd_(np.zeros(4, np.int64), np.zeros(4, np.int64), 0.1)
    with pytest.raises(TypeError, match="float32 or float64"):
        k.gd_([0.0, 0.0], g, 0.1)
    with pytest.raises(TypeError, match="float32 or float64"):
        k.gd_(np.zeros((2, 2)), np.ones((2, 2)), 0.1)
    bad_calls = [
        lambda: k.gd_(x, np.ones(4, np.float32), 0.1),          # dtype mismatch
        lambda: k.gd_(x, np.ones(5), 0.1),                      # length mismatch
        lambda: k.gd_(np.zeros(8)[::2], g, 0.1),                # strided x
        lambda: k.gd_(ro, g, 0.1),                              # read-only x
        lambda: k.heavy_ball_(x, ro, g, 0.1, 0.5),              # read-only state
        lambda: k.rmsprop_(x, s, [1.0] * 4, 0.1, 0.9, 1e-8),    # g not an ndarray
        lambda: k.adam_(x, s, np.zeros(3), g, 1, 0.1, 0.9, 0.999, 1e-8, np.empty(0)),
        lambda: k.adam_(x, s, s.copy(), g, 1, 0.1, 0.9, 0.999, 1e-8, np.zeros(3)),
        lambda: k.adam_(x, s, s.copy(), g, 1, 0.1, 0.9, 0.999, 1e-8, ro),
        lambda: k.adamw_(x, s, s.copy(), g, 1, 0.1, 0.9, 0.999, 1e-8, 0.0,
                         np.empty(0, np.float32)),
        lambda: k.gd_(x, g.astype(g.dtype.newbyteorder()), 0.1),  # byte-swapped
    ]
    for call in bad_calls:
        with pytest.raises(ValueError, match="C-contiguous"):
            call()
    np.testing.assert_array_equal(x, 0.0)  # nothing was written by a refused call
    k.heavy_ball_(x, s, g, 0.1, 0.5)  # read-only g is fine: it is only read
    g.flags.writeable = False
    k.gd_(x, g, 0.1)
    np.testing.assert_allclose(x, -0.2)


def test_default_backend_is_auto():
    """Every public update defaults to backend='auto' (the ahead-of-time compiled one)."""
    import inspect

    for name in fo.updates.__all__:
        default = inspect.signature(getattr(fo.updates, name)).parameters["backend"].default
        assert default == "auto", name


def test_default_calls_compile_no_numba():
    """A fresh process calling every update with default arguments compiles nothing."""
    import os
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import numpy as np
        from numba.core.registry import CPUDispatcher
        import fastopt as fo
        from fastopt.kernels import numba as nb

        for dt in (np.float32, np.float64):
            x, s, r, m, v = (np.zeros(10, dt) for _ in range(5))
            g = np.ones(10, dt)
            fo.updates.gd_(x, g, 0.1)
            fo.updates.heavy_ball_(x, s, g, 0.1, 0.9)
            fo.updates.nesterov_(x, s, g, 0.1, 0.9)
            fo.updates.adagrad_(x, r, g, 0.1)
            fo.updates.rmsprop_(x, r, g, 0.1)
            fo.updates.adam_(x, m, v, g, 1)
            fo.updates.adamw_(x, m, v, g, 2, v_max=np.zeros(10, dt))
        compiled = [k for k, f in vars(nb).items()
                    if isinstance(f, CPUDispatcher) and f.signatures]
        print("COMPILED", compiled)
    """)
    # cwd: this folder, so that the child imports the installed package, not a source
    # checkout's (whose extensions may not be built in place).
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True, cwd=os.path.dirname(__file__)).stdout
    expected = "COMPILED []" if "cython" in available_backends() else "COMPILED"
    assert expected in out, out


@pytest.mark.parametrize("backend_name", ["auto", "numba", "numpy"])
def test_public_fast_and_full_checks_agree(backend_name):
    """Arguments outside the fast path's exact types (numpy scalars, an int learning
    rate, numpy integer t, an ndarray subclass) are accepted by the full checks, with
    results equal to the fast path's."""
    class Sub(np.ndarray):
        pass

    rng = np.random.default_rng(1)
    x0, g = rng.standard_normal(6), rng.standard_normal(6)
    results = []
    for lr, beta1, t, wrap in ((0.5, 0.9, 3, np.asarray),
                               (np.float64(0.5), np.float64(0.9), np.int64(3), np.asarray),
                               (0.5, 0.9, 3.0, lambda a: a.view(Sub))):
        x = wrap(x0.copy())
        m, v = wrap(np.zeros(6)), wrap(np.zeros(6))
        fo.updates.adamw_(x, m, v, g, t, lr=lr, beta1=beta1, backend=backend_name)
        fo.updates.gd_(x, g, lr, backend=backend_name)
        results.append(np.asarray(x).copy())
    x = x0.copy()
    fo.updates.gd_(x, g, 1, backend=backend_name)  # an int learning rate
    np.testing.assert_allclose(x, x0 - g, rtol=1e-15)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_gradient_may_be_x_itself(backend, dtype):
    """g may be the very array x (x <- x - lr x): every backend reads each element before
    writing it, so the result is exact (the C loops carry no ``restrict``)."""
    x = np.linspace(-1.0, 1.0, 1001).astype(dtype)
    expected = x * dtype(0.75)
    get_backend(backend).gd_(x, x, 0.25)
    np.testing.assert_allclose(x, expected, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("backend", ["auto", "numba", "numpy"])
def test_aliased_or_overlapping_arrays_are_refused(backend):
    # The kernels read and write element by element in SIMD blocks: an array passed twice,
    # or two views that overlap, would give garbage silently.
    x = np.arange(1.0, 9.0)
    buf = np.zeros(12)
    v, g = np.zeros(8), np.full(8, 0.5)
    before = x.copy()
    cases = [
        (lambda: fo.updates.adam_(x, x, v, g, 1, backend=backend), "x and m overlap"),
        (lambda: fo.updates.adam_(x, buf[:8], buf[4:], g, 1, backend=backend),
         "m and v overlap"),
        (lambda: fo.updates.gd_(x[1:], x[:-1], 0.1, backend=backend), "x and g overlap"),
        (lambda: fo.updates.heavy_ball_(x, v, v, 0.1, 0.5, backend=backend), "s and g overlap"),
        (lambda: fo.updates.adagrad_(x, g, g, 0.1, backend=backend), "r and g overlap"),
        (lambda: fo.updates.adamw_(x, buf[:8], v, g, 1, v_max=buf[2:10], backend=backend),
         "m and v_max overlap"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    np.testing.assert_array_equal(x, before)
    # Disjoint views of one buffer are fine.
    fo.updates.adam_(x, buf[:4 + 4], np.zeros(8), g, 1, backend=backend)
    # g may be x itself in gd_ only (x <- x - lr x, exact on every backend; the NumPy twins
    # of nesterov_ and adamw_ would read x after writing it).
    fo.updates.gd_(x, x, 0.5, backend=backend)
    for call in (lambda: fo.updates.heavy_ball_(x, v, x, 0.1, 0.5, backend=backend),
                 lambda: fo.updates.adamw_(x, np.zeros(8), np.zeros(8), x, 1, backend=backend)):
        with pytest.raises(ValueError, match="x and g overlap"):
            call()


@pytest.mark.parametrize("t", [True, np.bool_(True), 1.5, "1", 0, -3, float("nan")])
def test_adam_step_count_must_be_an_integer(t):
    x, m, v, g = np.zeros(4), np.zeros(4), np.zeros(4), np.ones(4)
    with pytest.raises(ValueError, match="t \\(the step count"):
        fo.updates.adam_(x, m, v, g, t)
    fo.updates.adam_(x, m, v, g, np.int64(2))
    fo.updates.adam_(x, m, v, g, 3.0)  # an integral float is a step count
