"""encodectl/report/text.py: names made printable, JSON for scripts, sizes and durations for people.

Names that are not UTF-8 through a whole run, terminal and --json: tests/test_output.py,
tests/test_hostile_metadata.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from encodectl.models import EncodeOptions
from encodectl.report.text import human_size, printable, short_seconds, to_json

pytestmark = pytest.mark.same_on_every_ffmpeg("text formatting: no ffmpeg runs")


def test_printable_shows_bytes_that_are_not_utf8_as_replacement_characters() -> None:
    assert printable("caméra") == "caméra"
    assert printable("ep\udcff1") == "ep\ufffd1"
    assert printable("lone \ud800") == "lone ?"  # a surrogate that stands for no byte


class Named(BaseModel):
    path: Path


def test_to_json_is_printable_and_gives_rates_as_numbers() -> None:
    assert json.loads(to_json(Named(path=Path("/d/\udcffx")))) == {"path": "/d/\ufffdx"}
    typed = json.loads(to_json(EncodeOptions(fps="30000/1001")))
    assert typed["fps"] == pytest.approx(29.97002997) and typed["fps_exact"] == "30000/1001"
    assert json.loads(to_json(EncodeOptions()))["fps"] == 30
    assert json.loads(to_json([Named(path=Path("a")), Named(path=Path("b"))], indent=None)) == [
        {"path": "a"},
        {"path": "b"},
    ]


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (5 * 2**20, "5.0 MiB"), (3 * 2**40, "3072.0 GiB")],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


@pytest.mark.parametrize(("seconds", "text"), [(0.00019, "0.19 ms"), (2.345, "2.35 s"), (12.54, "12.5 s")])
def test_short_seconds(seconds: float, text: str) -> None:
    assert short_seconds(seconds) == text
