"""The right-or-wrong table that eval/formats.py and eval/hostile.py print."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def judged(row: Any, out: Path) -> tuple[str, bool]:
    """``row.run(out)`` shown by ``row.got`` and judged by ``row.right``; a row that could not
    run is wrong, and says why."""
    try:
        result = row.run(out)
        return row.got(result), bool(row.right(result))
    except Exception as exc:  # noqa: BLE001 - any failure is this row's answer
        return f"could not run: {type(exc).__name__}: {exc}"[:110], False


def print_rows(rows: list[tuple[list[str], str, str, bool]], heads: list[str]) -> int:
    """Print each row's label columns, right (yes / NO), what was expected and, below it, what
    came; then the count. Returns the exit code: 1 when any row is wrong."""
    widths = [max(len(head), *(len(labels[i]) for labels, _, _, _ in rows)) for i, head in enumerate(heads)]
    indent = sum(w + 2 for w in widths) + 7
    print("  ".join(head.ljust(w) for head, w in zip(heads, widths)) + "  right  expected / got")
    for labels, expect, got, right in rows:
        print("  ".join(label.ljust(w) for label, w in zip(labels, widths)) + f"  {'yes' if right else 'NO ':<5}  {expect}")
        print(" " * indent + got)
    wrong = sum(not right for _, _, _, right in rows)
    print(f"\n{len(rows) - wrong}/{len(rows)} right")
    return 1 if wrong else 0
