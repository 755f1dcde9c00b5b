"""The command line's error for bad user input."""

from __future__ import annotations


class CliError(ValueError):
    """An error caused by the user's input: reported in one line, exit status 2.

    A ``ValueError``, so that :func:`load_data` refuses bad input from Python as the rest
    of the API does.
    """
