"""fo.info(): versions, backends (with reasons) and threads in one report."""

import numba
import numpy as np
import scipy

import fastopt as fo


def test_info_lists_versions_backends_and_threads():
    text = fo.info()
    assert text.startswith(f"fastopt {fo.__version__}")
    for version in (np.__version__, scipy.__version__, numba.__version__):
        assert version in text
    available = fo.backends()
    assert f"available     {', '.join(available)}" in text
    for name in ("numpy", "numba", "cython", "cuda"):
        if name not in available:
            assert f"{name:<13} unavailable:" in text
    assert f"numba         {fo.get_num_threads()}" in text
    assert "CPUs" in text and "OMP_NUM_THREADS" in text


def test_info_reports_an_unavailable_backend_with_its_reason(monkeypatch):
    from fastopt import kernels

    real_probe = kernels._probe
    monkeypatch.setattr(kernels, "_probe",
                        lambda name: "broken on purpose" if name == "cython"
                        else real_probe(name))
    text = fo.info()
    assert "cython        unavailable: broken on purpose" in text
    assert "cython kernels built: no" in text


def test_info_says_which_backend_auto_picks_and_why(monkeypatch):
    from fastopt import kernels

    assert "auto          cython (compiled ahead of time" in fo.info()
    real_probe = kernels._probe
    monkeypatch.setattr(kernels, "_probe",
                        lambda name: "broken on purpose" if name == "cython"
                        else real_probe(name))
    assert "auto          numba (fallback: 'cython' is unavailable (broken on purpose)" \
        in fo.info()
