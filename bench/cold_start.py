"""Cold start: what a fresh Python process pays for its first fastopt answer, beside
scikit-learn's (and scipy's) answer to the same question, measured in the same run.

Every figure is the wall time of a whole fresh process (``subprocess.run`` of
``sys.executable -c CODE``, timed around the call: interpreter start, imports, data
loading, the fit, exit), the median over ``--repeats`` processes (at least 5 for a
report). The fastopt process and its peer alternate, so a change in the machine's load
falls on both. Rows:

* ``import``: ``import fastopt`` against ``import numpy, scipy`` (the difference is what
  fastopt itself adds);
* ``a9a LogisticRegression``: load a9a and fit the binary model, fastopt's estimator
  against scikit-learn's; both processes load the data through ``fo.datasets.load`` (the
  bundled set from fastopt's binary cache), so they differ only in the estimator;
* ``digits LogisticRegression``: the multinomial fit on ``sklearn.datasets.load_digits``;
* ``a9a minimize METHOD``: ``fo.minimize(fo.problems.Logistic(X, y, lam=1/m), 0, method)``
  for lbfgs, newton and adam (default options), against
  ``scipy.optimize.minimize(method="L-BFGS-B")`` on the same objective's ``loss_grad`` for
  lbfgs (the other two have no scipy twin);
* ``fastopt fit a9a``: the command line (console script, output in a temporary folder);
* the same fastopt rows with ``FASTOPT_BACKEND=numba`` (the default backend becomes numba,
  which compiles what each process calls: this is what the JIT costs), against the same
  peers.

Usage::

    python bench/cold_start.py [--repeats N] [--no-numba] [--only NAME,...]
                               [--blas-threads N]

The numbers depend on the machine and on its load (report them with their spread);
nothing else runs the rows, so the table is the whole result.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

_LOAD_A9A = "import fastopt as fo; X, y = fo.datasets.load('a9a'); "
_LOAD_DIGITS = ("from sklearn.datasets import load_digits; "
                "X, y = load_digits(return_X_y=True); ")
_LOGISTIC = ("import numpy as np; obj = fo.problems.Logistic(X, y, lam=1.0 / X.shape[0]); "
             "x0 = np.zeros(obj.n_params); ")


@dataclass
class Row:
    """One comparison: fastopt's process against a peer's (peer None: no twin)."""

    name: str
    fastopt: list  # argv after the interpreter, or a full command (cli rows)
    peer_name: str = ""
    peer: list | None = None
    env: dict = field(default_factory=dict)
    fastopt_times: list = field(default_factory=list)
    peer_times: list = field(default_factory=list)
    error: str = ""


def _python(code: str) -> list:
    return [sys.executable, "-c", code]


def _console_script() -> list:
    """The ``fastopt`` console script beside the interpreter, else ``python -m fastopt``."""
    script = os.path.join(os.path.dirname(sys.executable), "fastopt")
    if os.path.exists(script) or shutil.which("fastopt"):
        return [script if os.path.exists(script) else shutil.which("fastopt")]
    return [sys.executable, "-m", "fastopt"]


def rows(numba: bool = True) -> list[Row]:
    """The rows of the table, in order (numba rows last, when asked for)."""
    fo_fit = _LOAD_A9A + "fo.LogisticRegression().fit(X, y)"
    sk_fit = (_LOAD_A9A + "from sklearn.linear_model import LogisticRegression; "
              "LogisticRegression().fit(X, y)")
    fo_digits = "import fastopt as fo; " + _LOAD_DIGITS + "fo.LogisticRegression().fit(X, y)"
    sk_digits = (_LOAD_DIGITS + "from sklearn.linear_model import LogisticRegression; "
                 "LogisticRegression().fit(X, y)")
    scipy_lbfgs = (_LOAD_A9A + _LOGISTIC + "from scipy.optimize import minimize; "
                   "minimize(obj.loss_grad, x0, jac=True, method='L-BFGS-B')")
    cli = _console_script() + ["fit", "a9a", "--quiet", "--out", "coef.npz"]
    fastopt_rows = [
        Row("a9a LogisticRegression", _python(fo_fit), "sklearn LogisticRegression",
            _python(sk_fit)),
        Row("digits LogisticRegression", _python(fo_digits), "sklearn LogisticRegression",
            _python(sk_digits)),
    ]
    for method in ("lbfgs", "newton", "adam"):
        peer = ("scipy L-BFGS-B", _python(scipy_lbfgs)) if method == "lbfgs" else ("", None)
        fastopt_rows.append(Row(f"a9a minimize {method}", _python(
            _LOAD_A9A + _LOGISTIC + f"fo.minimize(obj, x0, method={method!r})"), *peer))
    fastopt_rows.append(Row("fastopt fit a9a (command)", cli))
    table = [Row("import", _python("import fastopt"), "import numpy, scipy",
                 _python("import numpy, scipy"))] + fastopt_rows
    if numba:
        for row in fastopt_rows:
            table.append(Row(row.name + " [numba]", row.fastopt, row.peer_name, row.peer,
                             env={"FASTOPT_BACKEND": "numba"}))
    return table


def _run(argv: list, env: dict, cwd: str) -> float:
    """Wall seconds of one fresh process; raises RuntimeError with its stderr on failure."""
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"exit status {proc.returncode}: {tail}")
    return elapsed


def measure(table: list[Row], repeats: int = 5, progress=None,
            blas_threads: int | None = None) -> list[Row]:
    """Run every row ``repeats`` times, fastopt and peer alternating; fills the times.

    The first process of a row is not discarded: a fresh process is the thing measured.
    The dataset cache is warmed once before (one untimed load), as on any machine after
    the first use. A row whose process fails keeps its error and is skipped after it.
    ``blas_threads`` sets ``OPENBLAS_NUM_THREADS`` (and MKL's) in every process.
    """
    base = dict(os.environ)
    base.setdefault("NUMBA_NUM_THREADS", "2")
    if blas_threads is not None:
        base.update(OPENBLAS_NUM_THREADS=str(blas_threads), MKL_NUM_THREADS=str(blas_threads))
    with tempfile.TemporaryDirectory(prefix="fastopt-cold-start-") as cwd:
        subprocess.run(_python("import fastopt as fo; fo.datasets.load('a9a')"), env=base,
                       cwd=cwd, check=True, capture_output=True)
        for row in table:
            env = dict(base, **row.env)
            try:
                for _ in range(repeats):
                    row.fastopt_times.append(_run(row.fastopt, env, cwd))
                    if row.peer is not None:
                        row.peer_times.append(_run(row.peer, env, cwd))
            except RuntimeError as exc:
                row.error = str(exc)
            if progress is not None:
                progress(row)
    return table


def _median(times: list) -> float | None:
    return statistics.median(times) if times else None


def _cell(times: list) -> str:
    """'median (min-max)' in seconds."""
    if not times:
        return "-"
    return f"{statistics.median(times):.3f} ({min(times):.2f}-{max(times):.2f})"


def build_table(table: list[Row]) -> str:
    """The text table: one line per row, fastopt beside its peer, and their ratio.

    Columns: row, fastopt median (min-max) s, peer, peer median (min-max) s,
    fastopt / peer (of the medians), fastopt - peer (s). A failed row shows its error.
    """
    header = ["row", "fastopt s", "peer", "peer s", "ratio", "difference s"]
    lines = [header]
    for row in table:
        f, p = _median(row.fastopt_times), _median(row.peer_times)
        ratio = f"{f / p:.2f}" if f is not None and p else "-"
        diff = f"{f - p:+.3f}" if f is not None and p is not None else "-"
        lines.append([row.name, _cell(row.fastopt_times), row.peer_name or "-",
                      _cell(row.peer_times), ratio, diff])
        if row.error:
            lines[-1][-1] += f"  FAILED: {row.error}"
    widths = [max(len(line[j]) for line in lines) for j in range(len(header) - 1)]
    out = []
    for i, line in enumerate(lines):
        cells = [c.ljust(w) if j in (0, 2) else c.rjust(w)
                 for j, (c, w) in enumerate(zip(line[:-1], widths, strict=True))]
        out.append("  ".join(cells + [line[-1]]).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths) + "  " + "-" * len(header[-1]))
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5,
                        help="fresh processes per figure (median; default 5)")
    parser.add_argument("--no-numba", action="store_true",
                        help="leave out the FASTOPT_BACKEND=numba rows")
    parser.add_argument("--only", default=None,
                        help="comma-separated prefixes of row names to run")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="OPENBLAS_NUM_THREADS of every process (default: as set). On a "
                             "machine shared with other work, BLAS threads that spin-wait for "
                             "busy cores can make a BLAS-bound fit 20x slower")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    table = rows(numba=not args.no_numba)
    if args.only:
        prefixes = tuple(p.strip() for p in args.only.split(","))
        table = [r for r in table if r.name.startswith(prefixes)]
    print(f"cold start: median (min-max) wall seconds of {args.repeats} fresh processes "
          f"each, python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', '2')}, "
          f"OPENBLAS_NUM_THREADS="
          f"{args.blas_threads or os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}", flush=True)
    measure(table, args.repeats,
            progress=lambda r: print(f"  done: {r.name}", file=sys.stderr, flush=True),
            blas_threads=args.blas_threads)
    print(build_table(table))
    print("a9a rows load the data through fo.datasets.load (binary cache) in both "
          "processes; digits through sklearn.datasets.load_digits; ratio = fastopt / peer")
    return 1 if any(r.error for r in table) else 0


if __name__ == "__main__":
    sys.exit(main())
