"""Tables that fit the terminal they are printed in, whatever its width, without splitting a word.

A column is dropped, lowest priority first, until the columns left fit; cells are never folded mid-word (a
cell that still cannot fit is cut with an ellipsis, on its left for paths so that the file name stays).
Names are shortened where they repeat: a prefix all cameras share, a folder all outputs share.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import PurePath

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

Cell = str | Text


@dataclass(frozen=True)
class Column:
    """A column of a fitted table. Priority 0 is never dropped; higher numbers are dropped first."""

    header: str
    priority: int = 0
    right: bool = False
    wrap: bool = False  # long cells may wrap between words (never inside one)
    path: bool = False  # shortened from the left ("…/videos/top/episode_000000.mp4") when it does not fit


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def _needed(column: Column, cells: Sequence[Cell]) -> int:
    """The narrowest the column can be without cutting or splitting a word (a path: its last 24 characters)."""
    texts = [_plain(cell) for cell in cells]
    if column.wrap:  # its longest word, and room for a few words a line
        longest = max((cell_len(word) for text in texts for word in text.split()), default=0)
        longest = max(longest, min(max((cell_len(text) for text in texts), default=0), 24))
    else:
        longest = max((cell_len(text) for text in texts), default=0)
    if column.path:
        longest = min(longest, 24)
    return max(cell_len(column.header), longest)


@cache
def _overhead(columns: int) -> int:
    """What a table of ours adds to its cells' widths: the space between columns, measured on Rich itself."""
    table = _table([Column("x")] * columns)
    table.add_row(*["x"] * columns)
    console = Console(width=1000, color_system=None, file=io.StringIO())
    line = console.render_lines(table, pad=False)[0]
    return sum(cell_len(segment.text) for segment in line) - columns


def _table(columns: Sequence[Column]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold")
    for column in columns:
        table.add_column(
            column.header,
            justify="right" if column.right else "left",
            no_wrap=not column.wrap,
            overflow="ellipsis",
        )
    return table


def fitted_columns(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int) -> list[int]:
    """The indexes of the columns kept at `width`: the lowest priorities dropped until the rest fit."""
    # A column with nothing in it takes no room (no camera names, say).
    kept = [index for index in range(len(columns)) if not rows or any(_plain(row[index]) for row in rows)]

    def total(indexes: list[int]) -> int:
        return sum(_needed(columns[i], [row[i] for row in rows]) for i in indexes) + _overhead(len(indexes))

    while len(kept) > 1 and total(kept) > width:
        droppable = [i for i in kept if columns[i].priority > 0]
        if not droppable:
            break
        kept.remove(max(droppable, key=lambda i: (columns[i].priority, i)))
    return kept


def fitted_table(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int) -> Table:
    """A table of the columns that fit in `width` (empty columns left out), paths shortened from the left."""
    kept = fitted_columns(columns, rows, width)
    chosen = [columns[i] for i in kept]
    budget = width - sum(_needed(columns[i], [row[i] for row in rows]) for i in kept if not columns[i].path)
    budget -= _overhead(len(kept))
    natural = sum(max(cell_len(col.header), *(cell_len(_plain(row[i])) for row in rows)) for i, col in
                  zip(kept, chosen, strict=True)) + _overhead(len(kept))  # fmt: skip
    # Wrapping only where it is needed: a table that fits keeps every cell on one line.
    table = _table(chosen if natural > width else [replace(col, wrap=False) for col in chosen])
    for row in rows:
        cells: list[Cell] = []
        for index in kept:
            cell = row[index]
            if columns[index].path:
                cell = shorten_left(_plain(cell), max(cell_len(columns[index].header), budget))
            cells.append(cell)
        table.add_row(*cells)
    return table


def shorten_left(text: str, width: int) -> str:
    """`text` cut on its left with an ellipsis to `width` cells, at a folder boundary when there is one."""
    if cell_len(text) <= width:
        return text
    tail = text[-(width - 1) :] if width > 1 else ""
    cut = tail.find("/")
    if 0 <= cut < len(tail) - 1:
        tail = tail[cut:]
    return "…" + tail


def short_names(names: Sequence[str | None]) -> list[str]:
    """Camera names without the dotted prefix they all share: observation.images.top -> top."""
    present = [name for name in names if name]
    if not present:
        return ["" for _ in names]
    prefix = os.path.commonprefix(present)  # noqa: RUF071 - names, not paths: "observation.images." is a prefix
    prefix = prefix[: prefix.rfind(".") + 1]
    if any(name == prefix for name in present):
        prefix = ""
    return [name[len(prefix) :] if name else "" for name in names]


def common_folder(paths: Sequence[str]) -> str | None:
    """The folder all `paths` are under (None for none, or for paths with nothing in common but the root)."""
    if not paths:
        return None
    folder = os.path.commonpath([str(PurePath(path).parent) for path in paths])
    return None if folder in ("/", "") else folder
