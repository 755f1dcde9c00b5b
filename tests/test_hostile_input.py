"""Generated hostile input, each family in its own process: a clear error or a right answer.

``tests/hostile/worker.py`` draws cases with hypothesis (malformed sparse structure, dense
arrays of every dtype and shape, svmlight files, .npz archives, fused-update arguments,
hostile values of every option of every method), feeds them to the public entry points
and checks each outcome against an independent oracle. It runs in a subprocess under an
address-space limit and a timeout, so that a segfault, an out-of-memory kill or a hang
fails this test, naming the case that was running, instead of taking the test run down.
"""

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).parent / "hostile" / "worker.py"

#: Examples per family: enough to reach every defect the strategies know, small enough
#: that the whole suite stays a small part of CI.
EXAMPLES = {"sparse": 400, "dense": 300, "svmlight": 150, "npz": 150, "updates": 300,
            "options": 1000}

MEMORY_LIMIT = 4 << 30
TIMEOUT_S = 600


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _run_worker(family: str, n_examples: int, tmp_path: Path):
    """Run the worker; returns (process, last case started), failing on a timeout."""
    log = tmp_path / "cases.log"
    work = tmp_path / "files"
    work.mkdir()
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(WORKER.parent))
    try:
        proc = subprocess.run(
            [sys.executable, str(WORKER), family, str(n_examples), str(log), str(work)],
            capture_output=True, text=True, timeout=TIMEOUT_S, cwd=tmp_path, env=env,
            preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{family}: no answer in {TIMEOUT_S} s; last case: {_last_case(log)}")
    return proc, _last_case(log)


@pytest.mark.parametrize("family", sorted(EXAMPLES))
def test_hostile_inputs_get_a_clear_error_or_the_right_answer(family, tmp_path):
    proc, last = _run_worker(family, EXAMPLES[family], tmp_path)
    if proc.returncode < 0:
        pytest.fail(f"{family}: the process died of signal {-proc.returncode} on case "
                    f"{last}\n{proc.stderr[-3000:]}")
    assert proc.returncode == 0, f"{family}: last case {last}\n{proc.stdout[-2000:]}" \
                                 f"\n{proc.stderr[-6000:]}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    # Hypothesis may stop early when it has exhausted a small space, never at nothing.
    assert report["cases"] >= min(50, EXAMPLES[family]), report
    print(f"hostile {family}: {report['cases']} cases")


def test_the_harness_names_the_case_that_crashed(tmp_path):
    # A segfault in the worker must come back as a signal and the case it was running.
    proc, last = _run_worker("crash", 1, tmp_path)
    assert proc.returncode == -11
    assert last == "1: the crash self-test"


def _last_case(log: Path) -> str:
    if not log.exists():
        return "(none started)"
    lines = log.read_text().splitlines()
    return lines[-1] if lines else "(none started)"
