"""``backend="auto"``: the ahead-of-time Cython backend, or a warned fallback."""

import warnings

import pytest

from fastopt import _config, kernels


@pytest.fixture
def fresh_auto(monkeypatch):
    """auto_backend() decides once per process: forget that decision around the test."""
    kernels.auto_backend.cache_clear()
    yield monkeypatch
    kernels.auto_backend.cache_clear()


def test_auto_is_cython_when_built(fresh_auto):
    if "cython" not in kernels.available_backends():
        pytest.skip("the Cython extensions are not built")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kernels.resolve_backend("auto") == "cython"
    assert kernels.available_backends()[0] == "cython"


def test_fallback_warns_once_and_names_the_reason(fresh_auto):
    real_probe = kernels._probe
    fresh_auto.setattr(kernels, "_probe",
                       lambda name: "not built here" if name == "cython" else real_probe(name))
    with pytest.warns(kernels.FallbackWarning, match="not built here") as record:
        first = kernels.resolve_backend("auto")
    assert first == ("numba" if real_probe("numba") is None else "numpy")
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second resolution does not warn again
        assert kernels.resolve_backend("auto") == first


def test_fallback_to_numpy_when_nothing_compiled_works(fresh_auto):
    fresh_auto.setattr(kernels, "_probe", lambda name: None if name == "numpy" else "gone")
    with pytest.warns(kernels.FallbackWarning, match="'auto' uses 'numpy'"):
        assert kernels.resolve_backend("auto") == "numpy"


def test_environment_variable_picks_the_preferred_backend(fresh_auto):
    fresh_auto.setattr(_config, "DEFAULT_BACKEND", "numpy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kernels.resolve_backend("auto") == "numpy"


def test_unknown_preferred_backend_falls_back_with_a_warning(fresh_auto):
    fresh_auto.setattr(_config, "DEFAULT_BACKEND", "fortran")
    with pytest.warns(kernels.FallbackWarning, match="unknown backend 'fortran'"):
        assert kernels.resolve_backend("auto") in kernels.available_backends()
