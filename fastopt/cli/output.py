"""What the commands print and write: text tables, output paths, figures."""

from __future__ import annotations

import math
from pathlib import Path

from .errors import CliError


def _fmt(value, spec=".3e") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def _table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Fixed-width text table: columns are (key, header, format spec or '' for str)."""
    cells = [[h for _, h, _ in columns]]
    for row in rows:
        cells.append([_fmt(row.get(k), spec) if spec else str(row.get(k, "-"))
                      for k, _, spec in columns])
    widths = [max(len(r[j]) for r in cells) for j in range(len(columns))]
    lines = []
    for i, r in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if j else c.ljust(w)
                               for j, (c, w) in enumerate(zip(r, widths, strict=True))))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _out_path(args, default_name: str) -> Path:
    out_dir = Path(args.out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create the output directory {out_dir}: {exc}") from None
    return out_dir / default_name


def _save_figure(fig, path: Path) -> None:
    try:
        fig.savefig(path, dpi=120)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc}") from None
