"""Benchmarks of the fused updates (every backend, torch where installed) and of the
compiled loop's per-iteration overhead. ``FASTOPT_BENCH_QUICK=1``: tiny sizes."""

import numpy as np
import pytest
from conftest import QUICK
from report_updates import BYTES, fused_call, public_call, torch_call

from fastopt.kernels import get_backend

N = 10_000 if QUICK else 10**7
#: Sizes of the public-call benchmarks: the per-call overhead shows at 10^3.
PUBLIC_SIZES = [1000] if QUICK else [1000, 10_000, 10**6, 10**7]


@pytest.mark.parametrize("name", ["adam_", "heavy_ball_", "rmsprop_"])
def test_bench_fused_update(benchmark, backend, name):
    call = fused_call(get_backend(backend), name, N)
    benchmark.group = f"update {name} n={N}"
    benchmark.extra_info["bytes_per_call"] = BYTES[name] * N
    benchmark(call)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("n", PUBLIC_SIZES)
@pytest.mark.parametrize("name", ["adam_", "rmsprop_"])
def test_bench_public_update(benchmark, backend, name, n, dtype):
    """``fo.updates.<name>`` with its checks, per backend (cython is the default)."""
    benchmark.group = f"public {name} n={n} {np.dtype(dtype).name}"
    benchmark(public_call(backend, name, n, dtype))


@pytest.mark.parametrize("name", ["adam_", "heavy_ball_"])
def test_bench_torch_optimizer(benchmark, name):
    pytest.importorskip("torch")
    step, fused = torch_call(name, N)
    benchmark.group = f"update {name} n={N}"
    benchmark.extra_info["torch_fused"] = fused
    benchmark(step)


def test_fused_adam_beats_reference_and_roofline(bandwidth):
    """The target ratios (bench/README.md), measured in this run (full size only)."""
    from report_updates import best_time

    t_ref = best_time(fused_call(get_backend("numpy"), "adam_", N), 3 if QUICK else 5)
    t_nb = best_time(fused_call(get_backend("numba"), "adam_", N), 3 if QUICK else 10)
    assert t_nb < t_ref
    if not QUICK:
        assert t_ref / t_nb >= 8.0
        assert BYTES["adam_"] * N / t_nb / bandwidth >= 0.75


@pytest.mark.parametrize("loop_backend", ["cython", "numba"])
def test_bench_compiled_loop(benchmark, loop_backend):
    import fastopt as fo
    from fastopt.kernels import available_backends

    if loop_backend not in available_backends():
        pytest.skip(f"backend {loop_backend!r} not available")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 10))
    y = np.where(rng.standard_normal(1000) > 0, 1.0, -1.0)
    obj = fo.problems.Logistic(X, y, lam=1e-3, backend=loop_backend)
    benchmark.group = "compiled gd loop, m=1000, n=10"
    iters = 100 if QUICK else 10_000
    res = benchmark(lambda: fo.minimize(obj, np.zeros(10), method="gd", lr=1e-3, tol=0.0,
                                        max_iter=iters, history_every=100))
    assert res.loop == "compiled" and res.nit == iters
