"""``python -m fastopt.cli``: the same command line as ``python -m fastopt``."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
