"""What the CLI prints: rich tables for people, ``--json`` for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

STATUS_STYLES = {
    "draft": "dim",
    "running": "green",
    "paused": "yellow",
    "ended": "blue",
    "archived": "dim",
}


@cache
def console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


@cache
def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """JSON on stdout, nothing else."""
    print(json.dumps(data, indent=2, default=str))


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    from rich.table import Table

    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*("" if cell is None else str(cell) for cell in row))
    return grid


def status(value: str) -> str:
    style = STATUS_STYLES.get(value, "")
    return f"[{style}]{value}[/]" if style else value


def short_time(value: Any) -> str:
    """``2026-11-26T04:00:00+00:00`` → ``2026-11-26 04:00``."""
    if not value:
        return ""
    text = str(value).replace("T", " ")
    return text[:16]
