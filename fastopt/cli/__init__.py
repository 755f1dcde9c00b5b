"""The ``fastopt`` command (console script, also ``python -m fastopt``).

Subcommands::

    fastopt demo                 every method on a9a with lam = 1/m: table and convergence plot
    fastopt fit DATA             fit L2 logistic regression to a file, write the coefficients
    fastopt compare DATA         fastopt's methods beside scikit-learn's solvers, table and plot
    fastopt experiment NAME      a study of one method's behaviour, with its plot
    fastopt info                 versions, backends, threads

DATA is a file (svmlight/libsvm, also .gz/.bz2; .npz; .npy; .csv) or the name of a
bundled data set (``a9a``, ``w8a``, ``mushrooms``, ``ijcnn1``). Errors that come from the
user's input (a missing or malformed file, a bad option) are one line on stderr and exit
status 2; a progress bar is drawn on stderr for fits that last more than half a second
when stderr is a terminal (``--quiet`` turns it off).

Times are honest whatever ``--backend`` is: before a method is timed it runs untimed on a
few rows of the same data (the *warm-up*, where numba compiles what the method calls and
any backend pays its first-call costs); the warm-up and its compilation are printed on
their own line, and compilation that still happens inside a timed run is detected,
reported and subtracted (:mod:`fastopt._timing`).

The package, one idea per module: :mod:`.parser` (subcommands and their options),
:mod:`.options` (checks of the options), :mod:`.data` (``load_data``) with its readers
:mod:`.tables` and :mod:`.svmlight` and their limits :mod:`.checks`, one module per
subcommand (:mod:`.demo`, :mod:`.fit`, :mod:`.compare`, :mod:`.experiment`, :mod:`.info`),
and what they share: :mod:`.runs` (warm-up and timed runs) and :mod:`.output`. Importing it
imports neither numba, scikit-learn nor matplotlib (``fastopt --help`` starts at once):
each command imports what it needs when it runs.
"""

from __future__ import annotations

import sys

from .data import load_data
from .errors import CliError
from .experiment import EXPERIMENTS
from .options import _check_args
from .parser import build_parser

__all__ = ["main", "load_data", "EXPERIMENTS"]


def main(argv=None) -> int:
    """Run the ``fastopt`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success; 1 when a fit stopped without converging; 2 for a usage or input
        error (reported in one line on stderr); 130 on Ctrl-C.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check_args(args)
        return int(args.func(args))
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except CliError as exc:
        print(f"fastopt: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError) as exc:
        # Raised by the library's validation of what the user gave (labels, options).
        message = " ".join(str(exc).split())
        print(f"fastopt: error: {message}", file=sys.stderr)
        return 2
    except MemoryError:
        # The checks before the work bound what it allocates; should a fit still run out
        # (memory taken by others meanwhile), one line rather than a traceback.
        print("fastopt: error: out of memory; free memory or use a smaller problem",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastopt: interrupted", file=sys.stderr)
        return 130
