"""Text every report shares: names made printable, JSON for scripts, sizes and durations for people.

Linux names are bytes, and a folder name need not be UTF-8; everything shown or put in JSON goes
through `printable` so that such a name never stops a run at its last line.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import sys
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from rich.console import Console


def printable(text: str) -> str:
    """`text` with every byte of a name that is not UTF-8 (Linux names are bytes; Python keeps such a byte
    as a lone surrogate) shown as a replacement character, so that it can be printed or put in JSON."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        return text.encode("utf-8", "replace").decode("utf-8")


def _printable_data(data: Any) -> Any:
    if isinstance(data, str):
        return printable(data)
    if isinstance(data, list):
        return [_printable_data(item) for item in data]
    if isinstance(data, dict):
        return {printable(str(key)): _printable_data(value) for key, value in _typed_rates(data).items()}
    return data


def _typed_rates(data: dict[str, Any]) -> dict[str, Any]:
    """A frame rate as a number for scripts (29.97002997), with the exact rational beside it ("30000/1001").

    The models keep rates exact, as strings in their own JSON (the ledger, a Dask task); --json gives numbers."""
    rate = data.get("fps")
    if not isinstance(rate, str):
        return data
    try:
        exact = Fraction(rate)
    except (ValueError, ZeroDivisionError):
        return data
    typed: dict[str, Any] = {}
    for key, value in data.items():
        if key == "fps":
            typed["fps"] = exact.numerator if exact.denominator == 1 else round(float(exact), 9)
            typed["fps_exact"] = f"{exact.numerator}/{exact.denominator}"
        else:
            typed[key] = value
    return typed


def to_json(data: BaseModel | Sequence[BaseModel] | dict[str, Any], indent: int | None = 2) -> str:
    """What --json prints: pydantic's JSON of `data`, with names that are not UTF-8 made printable."""
    if isinstance(data, BaseModel):
        plain: Any = data.model_dump(mode="json")
    elif isinstance(data, dict):
        plain = data
    else:
        plain = [item.model_dump(mode="json") for item in data]
    return json.dumps(_printable_data(plain), indent=indent, ensure_ascii=False)


def _replacement_for_unencodable(error: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start : error.end]
    try:  # bytes: the UTF-8 encoder takes no replacement text beyond ASCII
        replaced = printable(text).encode(error.encoding)
    except UnicodeError:  # a terminal that cannot show U+FFFD (or that character of the name) either
        replaced = b"?" * len(text)
    return replaced, error.end


codecs.register_error("encodectl.printable", _replacement_for_unencodable)


def tolerant_output() -> None:
    """Let stdout and stderr print what they cannot encode as replacement characters, instead of raising
    (a strict UTF-8 locale) or writing the raw bytes back (the C locale's surrogateescape)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):  # not a text file we may reconfigure
            stream.reconfigure(errors="encodectl.printable")  # type: ignore[union-attr]


# What plain_line asks of a console: the command line's console writes it to a pipe without Rich.
PLAIN_LINE = {"markup": False, "highlight": False, "emoji": False, "soft_wrap": True}


def plain_line(console: Console, text: str) -> None:
    """One line as it is: no markup, no highlighting, no :emoji: codes replaced, never wrapped into several."""
    console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def short_seconds(value: float) -> str:
    """A measured duration with the digits that matter: 0.19 ms, 2.35 s, 12.5 s."""
    if value < 0.01:
        return f"{value * 1000:.2f} ms"
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"
