"""``fastopt info``: versions, backends, threads."""

from __future__ import annotations


def cmd_info(args) -> int:
    from .._info import info

    print(info())
    return 0
