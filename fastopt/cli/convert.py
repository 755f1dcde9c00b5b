"""``fastopt convert``: write an svmlight, CSV or ``.npy`` file once as a chunked Zarr
store, read back by ``fastopt.chunked.load`` in row blocks."""

from __future__ import annotations

import sys


def cmd_convert(args) -> int:
    """Stream ``args.src`` into the store ``args.dst`` (:func:`fastopt.chunked.convert`);
    prints the shape written. Bad input is a ValueError (one line, exit status 2)."""
    import numpy as np

    from ..chunked import convert
    from .errors import CliError

    try:
        m, n = convert(args.src, args.dst, block_rows=args.block_rows,
                       progress=not args.quiet, format=args.format,
                       zero_based=args.zero_based, n_features=args.n_features,
                       label_column=args.label_column, dtype=np.dtype(args.dtype),
                       overwrite=args.overwrite)
    except ImportError as exc:  # zarr missing: how to install it, in one line
        raise CliError(str(exc)) from None
    print(f"{args.dst}: X {m} x {n}, y {m} (from {args.src})",
          file=sys.stderr if args.quiet else sys.stdout)
    return 0
