"""``python -m fastopt``: the same command line as the ``fastopt`` console script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
