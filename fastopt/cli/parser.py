"""The argument parser of the ``fastopt`` command: subcommands, their options and the
function each one runs."""

from __future__ import annotations

import argparse

from .checks import MAX_FEATURES
from .compare import cmd_compare
from .convert import cmd_convert
from .demo import cmd_demo
from .experiment import EXPERIMENTS, cmd_experiment
from .fit import cmd_fit
from .info import cmd_info
from .options import MAX_BUDGET_S, _integer, _Parser, _real


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``fastopt`` command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar")
    data_opts = argparse.ArgumentParser(add_help=False)
    data_opts.add_argument("data", help="data file (svmlight, .npz, .npy, .csv) or a bundled "
                                        "data set name")
    data_opts.add_argument("--lam", type=_real(0.0), default=None,
                           help="L2 strength of the normalized objective")
    data_opts.add_argument("--C", type=_real(0.0, strict=True), default=None,
                           help="scikit-learn's C (lam = 1/(C m)); default C = 1")
    data_opts.add_argument("--intercept", action="store_true", help="fit an intercept")
    data_opts.add_argument("--backend", default="auto", help="kernel backend (default auto)")
    data_opts.add_argument("--dtype", choices=("float32", "float64"), default=None,
                           help="dtype of X (default float64)")
    data_opts.add_argument("--label-column", type=int, default=None,
                           help="label column of .npy/.csv tables (default: last; negative "
                                "counts from the end)")
    data_opts.add_argument("--zero-based", action="store_true",
                           help="the column indices of an svmlight file start at 0 "
                                "(default: at 1, the LIBSVM convention)")
    data_opts.add_argument("--n-features", type=_integer(1, MAX_FEATURES), default=None,
                           help="number of features of a sparse file (default: its largest "
                                "index); needed above max(2^20, 64 x nonzeros)")
    data_opts.add_argument("--tol", type=_real(0.0), default=1e-8,
                           help="tolerance on ||grad f|| (default 1e-8)")
    data_opts.add_argument("--max-iter", type=_integer(0), default=1000,
                           help="iteration budget (default 1000)")
    out_dir = argparse.ArgumentParser(add_help=False)
    out_dir.add_argument("--out-dir", default=".", help="where plots go (default .)")

    parser = _Parser(prog="fastopt", description="fastopt: compiled first- and second-order "
                     "optimization. Errors exit with status 2.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    demo = sub.add_parser("demo", parents=[common, out_dir],
                          help="every method on a bundled data set: table and plot")
    demo.add_argument("--data", default="a9a", help="bundled data set (default a9a)")
    demo.add_argument("--lam", type=_real(0.0), default=None,
                      help="L2 strength (default 1/m)")
    demo.add_argument("--methods", default=None, help="comma-separated methods (default all)")
    demo.add_argument("--budget", type=_real(0.0, strict=True, high=MAX_BUDGET_S),
                      default=40.0,
                      help="total seconds shared by the methods (default 40, at most a day)")
    demo.add_argument("--tol", type=_real(0.0), default=1e-8, help="tolerance on ||grad f||")
    demo.add_argument("--backend", default="auto", help="kernel backend (default auto)")
    demo.set_defaults(func=cmd_demo)

    fit = sub.add_parser("fit", parents=[common, data_opts],
                         help="fit L2 logistic regression to DATA, write the coefficients")
    fit.add_argument("--method", default="auto", help="method (default auto)")
    fit.add_argument("--out", default=None,
                     help="coefficient file (.npz, .npy, .csv); default NAME.coef.npz")
    fit.set_defaults(func=cmd_fit)

    compare = sub.add_parser("compare", parents=[common, data_opts, out_dir],
                             help="fastopt's methods beside scikit-learn's solvers")
    compare.add_argument("--methods", default="newton,newton-cg,lbfgs",
                         help="fastopt methods (default newton,newton-cg,lbfgs)")
    compare.add_argument("--sk-tol", type=_real(0.0), default=1e-4,
                         help="scikit-learn's tol (default 1e-4, its own default)")
    compare.add_argument("--sk-max-iter", type=_integer(0), default=1000,
                         help="scikit-learn's max_iter (default 1000)")
    compare.set_defaults(func=cmd_compare)

    experiment = sub.add_parser("experiment", parents=[common, out_dir],
                                help="a study of one method's behaviour, with its plot: "
                                     + ", ".join(EXPERIMENTS))
    experiment.add_argument("name", help="one of: " + ", ".join(EXPERIMENTS))
    experiment.add_argument("--quick", action="store_true",
                            help="smaller problems and grids (seconds, for tests)")
    experiment.set_defaults(func=cmd_experiment)

    conv = sub.add_parser("convert", parents=[common],
                          help="write SRC (svmlight, .csv, .npy) once as a chunked Zarr store "
                               "DST, read in row blocks by fastopt.chunked.load")
    conv.add_argument("src", help="input file: svmlight/libsvm (also .gz/.bz2), .csv or .npy")
    conv.add_argument("dst", help="the store to write (a directory; must not exist)")
    conv.add_argument("--block-rows", type=_integer(1), default=None,
                      help="rows per block and per chunk (default 65536)")
    conv.add_argument("--format", choices=("svmlight", "csv", "npy"), default=None,
                      help="input format (default from the file name; svmlight otherwise)")
    conv.add_argument("--zero-based", action="store_true",
                      help="svmlight column indices start at 0 (default 1)")
    conv.add_argument("--n-features", type=_integer(1, MAX_FEATURES), default=None,
                      help="svmlight: number of features (default: the largest index)")
    conv.add_argument("--label-column", type=int, default=-1,
                      help=".csv/.npy: the label column (default -1, the last)")
    conv.add_argument("--dtype", choices=("float32", "float64"), default="float64",
                      help="dtype of X as stored (default float64)")
    conv.add_argument("--overwrite", action="store_true",
                      help="replace DST if it is a store written by convert")
    conv.set_defaults(func=cmd_convert)

    info = sub.add_parser("info", parents=[common], help="versions, backends, threads")
    info.set_defaults(func=cmd_info)
    return parser
