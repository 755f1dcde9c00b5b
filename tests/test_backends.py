"""The backends this build promises are really there (CI sets FASTOPT_REQUIRE_BACKENDS)."""

import os

import pytest

import fastopt as fo
from fastopt.kernels import resolve_backend


def test_required_backends_are_available():
    required = [b for b in os.environ.get("FASTOPT_REQUIRE_BACKENDS", "").split(",") if b]
    missing = [b for b in required if b not in fo.backends()]
    assert not missing, f"backends {missing} are missing; fo.backends() = {fo.backends()}"


def test_numpy_backend_always_works():
    assert "numpy" in fo.backends()


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(ValueError, match="backend"):
        resolve_backend("fortran")
