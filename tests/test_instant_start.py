"""No call made with default arguments compiles anything at call time.

``backend="auto"`` is the Cython backend, compiled when the package is installed. Each
public entry point, run with its defaults in a fresh process (``_default_paths.py``),
must reach no numba function: the script patches numba's compiler to raise and records
every attempt. numba by name still works (``test_numba_by_name_still_compiles`` checks
that the patch does catch a numba call, so the first test cannot pass vacuously).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fastopt.kernels import available_backends

SCRIPT = Path(__file__).with_name("_default_paths.py")

pytestmark = pytest.mark.skipif("cython" not in available_backends(),
                                reason="the Cython extensions are not built")


def _run(extra_env=None, code=None):
    env = {k: v for k, v in os.environ.items() if k != "FASTOPT_BACKEND"}
    env.update(extra_env or {})
    args = [sys.executable, str(SCRIPT)] if code is None else [sys.executable, "-c", code]
    # cwd: this folder, so that the child imports the installed package, not a source
    # checkout's (whose extensions may not be built in place).
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600,
                          cwd=SCRIPT.parent)
    return proc


def test_default_paths_compile_nothing():
    proc = _run()
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["compiled"] == []
    assert len(report["run"]) >= 10, report["run"]


def test_numba_by_name_still_compiles():
    """The same patch catches a numba call: the guard above is not vacuous."""
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(SCRIPT.parent)!r})\n"
        "from _jit_guard import ATTEMPTED\n"
        "import numpy as np\n"
        "import fastopt as fo\n"
        "try:\n"
        "    fo.updates.gd_(np.ones(3), np.ones(3), 0.1, backend='numba')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, ATTEMPTED)\n"
    )
    proc = _run(code=code)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "JitCompiled" in proc.stdout
    assert "fastopt.kernels.numba.updates.gd_" in proc.stdout
