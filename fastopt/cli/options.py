"""Option checks: argparse types for numbers, and the checks of the options that need no
data, done before any work starts."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from .errors import CliError


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (argparse prints the usage block and exits)."""

    def error(self, message):
        raise CliError(f"{self.prog}: {message}")


def _real(low: float, strict: bool = False, high: float = math.inf):
    """argparse type: a finite number >= ``low`` (> ``low`` when ``strict``), at most
    ``high``; argparse puts the flag's name before the message."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(
                f"must be a finite number {'>' if strict else '>='} {low:g}; got {text}")
        if value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:g}; got {text}")
        return value

    return parse


def _integer(low: int, high: int | None = None):
    """argparse type: an integer from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer; got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"must be an integer {bound}; got {text}")
        return value

    return parse


_OUT_SUFFIXES = (".npz", ".npy", ".csv", ".txt")

#: Largest ``demo --budget``: a day. A larger one is a typo (1e308 s), not a plan.
MAX_BUDGET_S = 86_400.0


def _fit_out_path(args, name: str) -> Path:
    """Where ``fit`` writes the coefficients: ``--out``, else NAME.coef.npz."""
    if args.out:
        return Path(args.out)
    return Path(f"{Path(name).name.split('.')[0]}.coef.npz")


def _writable_dir(folder: Path, flag: str, value) -> None:
    """CliError unless ``folder`` is (or can be created as) a writable directory."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise CliError(f"{flag} {value}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CliError(f"{flag} {value}: the directory {existing} is not writable")


def _check_args(args) -> None:
    """Checks of the options that need no data, done before any work starts, with
    messages that name the flag (argparse's types have checked each number alone)."""
    if getattr(args, "lam", None) is not None and getattr(args, "C", None) is not None:
        raise CliError("give --lam or --C, not both")
    backend = getattr(args, "backend", "auto")
    if backend != "auto":
        from ..kernels import BACKEND_MODULES

        if backend not in BACKEND_MODULES:
            raise CliError(f"--backend must be auto or one of {', '.join(BACKEND_MODULES)}; "
                           f"got {backend!r}")
        from ..kernels import resolve_backend

        try:
            resolve_backend(backend)
        except ValueError as exc:
            raise CliError(f"--backend {backend}: {exc}") from None
    methods = getattr(args, "methods", None)
    flag = "--methods"
    if getattr(args, "method", "auto") != "auto":
        methods, flag = args.method, "--method"
    if methods is not None:
        from ..solvers import registry

        for method in methods.split(","):
            if method not in registry.names():
                raise CliError(f"{flag}: unknown method {method!r}; known: "
                               f"{', '.join(registry.names())}")
    if args.command == "demo":
        from .. import datasets

        if args.data not in datasets.names():
            raise CliError(f"--data must be a bundled data set ({', '.join(datasets.names())}"
                           f"); got {args.data!r}")
    if getattr(args, "out_dir", None) is not None:
        _writable_dir(Path(args.out_dir), "--out-dir", args.out_dir)
    if args.command == "fit":
        out = _fit_out_path(args, args.data)
        what = f"--out {args.out}" if args.out else f"the output {out} (default name)"
        if out.suffix.lower() not in _OUT_SUFFIXES:
            raise CliError(f"--out must end in {', '.join(_OUT_SUFFIXES)}; got {args.out}")
        if out.is_dir():
            raise CliError(f"{what} is a directory")
        parent = out.parent
        if not parent.is_dir():
            raise CliError(f"{what}: the directory {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise CliError(f"{what}: the directory {parent} is not writable")
        data = Path(args.data)
        if out.exists() and data.exists() and os.path.samefile(out, data):
            raise CliError(f"{what} is the data file itself; fastopt never overwrites its "
                           "input" + ("" if args.out else ": pass --out"))


# ---------------------------------------------------------------------------- helpers


def _lam_from(args, m: int) -> tuple[float, str]:
    """lam of the normalized objective from --lam or --C (sklearn's C: lam = 1/(C m))."""
    if args.lam is not None and args.C is not None:
        raise CliError("give --lam or --C, not both")
    if args.lam is not None:
        if not (math.isfinite(args.lam) and args.lam >= 0):
            raise CliError(f"--lam must be a finite number >= 0; got {args.lam}")
        return args.lam, f"lam = {args.lam:g}"
    C = 1.0 if args.C is None else args.C
    if not (math.isfinite(C) and C > 0):
        raise CliError(f"--C must be a finite number > 0; got {C}")
    return 1.0 / (C * m), f"C = {C:g} (lam = 1/(C m) = {1.0 / (C * m):.4g})"
