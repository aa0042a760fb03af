"""encodectl/report/recover.py: what `recover` prints, one line per stream file.

`recover` run on real cut-off streams: tests/test_stream.py, tests/test_stream_lifecycle.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from encodectl.report.recover import recover_lines
from encodectl.stream.recovery import RecoveredVideo

pytestmark = pytest.mark.same_on_every_ffmpeg("lines from given results: no ffmpeg runs")


def test_one_line_per_stream_file(tmp_path: Path) -> None:
    results = [
        RecoveredVideo(fragmented=tmp_path / "a.stream.mp4", output=tmp_path / "a.mp4", frames=45, seconds=1.5,
                       status="recovered"),
        RecoveredVideo(fragmented=tmp_path / "b.stream.mp4", output=tmp_path / "b.mp4", frames=3, seconds=0.1,
                       status="recovered", reason="the last 2 frames were cut off"),
        RecoveredVideo(fragmented=tmp_path / "c.stream.mp4", status="in use", reason="a recorder holds it"),
    ]  # fmt: skip
    assert recover_lines(results, tmp_path) == [
        f"recovered {tmp_path}/a.mp4: 45 frames (1.50 s)",
        f"recovered {tmp_path}/b.mp4: 3 frames (0.10 s); the last 2 frames were cut off",
        f"in use: {tmp_path}/c.stream.mp4: a recorder holds it",
    ]
    assert recover_lines([], tmp_path) == [f"nothing to recover under {tmp_path}"]
