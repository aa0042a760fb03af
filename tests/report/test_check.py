"""encodectl/report/check.py: what `check` prints: a line per path, a table of the problems.

`check` run on damaged datasets and folders: tests/test_check.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from encodectl.checks.models import CheckReport, PathCheck, Problem, ProblemKind
from encodectl.models import FFmpegBinary, VerifyMode
from encodectl.report.check import episodes_text, print_check, summary_line

pytestmark = pytest.mark.same_on_every_ffmpeg("text from given results: no ffmpeg runs")


def test_episodes_as_ranges() -> None:
    assert episodes_text([12, 5, 6, 7, 3, 8, 9, 5]) == "3, 5-9, 12"
    assert episodes_text([]) == ""
    assert episodes_text([4]) == "4"


def damaged(tmp_path: Path) -> PathCheck:
    problem = Problem(kind=ProblemKind.frame_count, camera="observation.images.top", episodes=[1, 2],
                      file="videos/x.mp4", detail="29 frames, the episode has 30")  # fmt: skip
    return PathCheck(path=tmp_path / "set", layout="lerobot v3.0", mode=VerifyMode.packets, cameras=["top"],
                     episodes=3, videos_read=1, frames_read=89, problems=[problem], seconds=0.25)  # fmt: skip


def test_summary_line(tmp_path: Path) -> None:
    assert summary_line(damaged(tmp_path)) == (
        f"{tmp_path}/set: lerobot v3.0, 1 camera(s) x 3 episode(s); 1 video(s), 89 frames read (packets) in "
        "0.25 s: 1 problem(s)"
    )
    clean = damaged(tmp_path).model_copy(update={"problems": [], "layout": "folder"})
    assert summary_line(clean).endswith(
        ": folder, 3 frame folder(s); 1 video(s), 89 frames read (packets) in 0.25 s: clean"
    )


def test_print_check_names_camera_episodes_and_file(tmp_path: Path) -> None:
    console = Console(width=120, color_system=None, record=True)
    binary = FFmpegBinary(path=Path("/ff"), version="7.1", source="PATH")
    print_check(console, CheckReport(encodectl="0.1", ffmpeg=binary, checks=[damaged(tmp_path)], problems=1, seconds=1))
    text = console.export_text()
    row = next(line for line in text.splitlines() if "frame-count" in line)
    assert "top" in row and "observation" not in row and "1-2" in row and "videos/x.mp4: 29 frames" in row
    assert text.rstrip().endswith("(camera: its key less 'observation.images.'; files: relative to the path)")
