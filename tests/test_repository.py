"""The repository stands alone, and its long source files say why they are long.

1. No tracked text file refers to material outside the repository (a sibling
   ``shared`` folder, a design document or method notes that do not ship): a reader of
   any file must find what it points to inside the repository.
2. Every tracked source file of the package (``.py``, ``.pyx``, ``.pxd``, ``.h``) over
   500 lines says, near its top, why it is not split: a comment line starting with
   ``# Over 500 lines:`` (``* Over 500 lines:`` in a C header) or a docstring sentence
   containing ``Over 500 lines:``, followed by the reason.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: References to material that does not ship with the repository. Built from pieces so
#: that this file does not match itself.
OUTSIDE = [
    re.compile(re.escape("../" + "shared")),
    re.compile(re.escape("DESIGN" + ".md")),
    re.compile(re.escape("notes/" + "methods")),
]

MAX_LINES = 500
HEAD_LINES = 30
SOURCE_SUFFIXES = (".py", ".pyx", ".pxd", ".h")
REASON = re.compile(r"^\s*(#|\*|//)?\s*Over 500 lines:\s*\S")


def _tracked() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


def _text(path: Path) -> str | None:
    """The file's text, or None for a binary file (a NUL byte) or a missing one."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if b"\0" in raw[:8192]:
        return None
    return raw.decode("utf-8", "replace")


def test_no_reference_outside_the_repository():
    offenders = []
    for rel in _tracked():
        text = _text(ROOT / rel)
        if text is None:
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            if any(p.search(line) for p in OUTSIDE):
                offenders.append(f"{rel}:{lineno}: {line.strip()[:100]}")
    assert not offenders, ("files refer to material outside the repository:\n"
                           + "\n".join(offenders))


def _states_reason(head: list[str]) -> bool:
    """A line of the head starts with ``Over 500 lines:`` (after a comment marker), or
    a docstring sentence in it contains ``Over 500 lines:`` followed by text."""
    if any(REASON.match(line) for line in head):
        return True
    joined = " ".join(line.strip() for line in head)
    return re.search(r"Over 500 lines:\s*\w", joined) is not None


def test_long_source_files_state_why():
    offenders = []
    for rel in _tracked():
        if not rel.startswith("fastopt/") or not rel.endswith(SOURCE_SUFFIXES):
            continue
        text = _text(ROOT / rel)
        if text is None:
            continue
        lines = text.splitlines()
        if len(lines) > MAX_LINES and not _states_reason(lines[:HEAD_LINES]):
            offenders.append(f"{rel} ({len(lines)} lines)")
    assert not offenders, (
        f"source files over {MAX_LINES} lines without '# Over {MAX_LINES} lines: <reason>' "
        f"in their first {HEAD_LINES} lines:\n" + "\n".join(offenders))
