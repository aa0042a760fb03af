"""encodectl/report/fit.py: tables that fit the terminal, columns dropped by priority, paths cut on the left.

The run's table at several widths: tests/test_output.py; the live view: tests/test_report.py."""

from __future__ import annotations

import pytest
from rich.console import Console

from encodectl.report.fit import Column, common_folder, fitted_columns, fitted_table, short_names, shorten_left

pytestmark = pytest.mark.same_on_every_ffmpeg("table layout: no ffmpeg runs")

COLUMNS = [Column("name"), Column("path", priority=1, path=True), Column("note", priority=2)]
ROWS = [["episode_000001", "/data/set/videos/top/episode_000001.mp4", "a remark"]]


def rendered(width: int) -> list[str]:
    console = Console(width=width, color_system=None, record=True)
    console.print(fitted_table(COLUMNS, ROWS, width))
    return console.export_text().splitlines()


def test_the_highest_priority_number_is_dropped_first() -> None:
    assert fitted_columns(COLUMNS, ROWS, 200) == [0, 1, 2]
    assert fitted_columns(COLUMNS, ROWS, 45) == [0, 1]
    assert fitted_columns(COLUMNS, ROWS, 10) == [0]
    assert fitted_columns(COLUMNS, [["x", "", "y"]], 200) == [0, 2]  # an empty column takes no room


@pytest.mark.parametrize("width", [30, 45, 80])
def test_every_line_fits_and_the_file_name_stays(width: int) -> None:
    lines = rendered(width)
    assert all(len(line) <= width for line in lines)
    if width >= 45:
        assert "episode_000001.mp4" in lines[-1]


def test_shorten_left_cuts_at_a_folder() -> None:
    assert shorten_left("/a/b/c.mp4", 20) == "/a/b/c.mp4"
    assert shorten_left("/data/set/videos/top/ep.mp4", 12) == "…/top/ep.mp4"
    assert len(shorten_left("/data/set/videos/top/ep.mp4", 12)) <= 12


def test_short_names_and_common_folder() -> None:
    assert short_names(["observation.images.top", None, "observation.images.wrist"]) == ["top", "", "wrist"]
    assert short_names(["observation.images.top"]) == ["top"]
    assert short_names(["top", "wrist"]) == ["top", "wrist"]
    assert common_folder(["/d/v/top/1.mp4", "/d/v/wrist/1.mp4"]) == "/d/v"
    assert common_folder(["/x/1.mp4", "/y/1.mp4"]) is None
    assert common_folder([]) is None
