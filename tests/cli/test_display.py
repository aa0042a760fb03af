"""encodectl/cli/display.py: the live table in a terminal, one plain line per finished job elsewhere.

The live table and the lines in real runs: tests/test_output.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from encodectl.cli.display import run_display
from encodectl.models import JobResult, JobStatus

pytestmark = pytest.mark.same_on_every_ffmpeg("a tracker fed by hand: no ffmpeg runs")

DONE = JobResult(source=Path("/d/ep"), output=Path("/d/ep.mp4"), episode="ep", status=JobStatus.done, frames=3,
                 seconds=0.5, encoder="libx264", size_bytes=100)  # fmt: skip


@pytest.mark.parametrize(("enabled", "several", "lines"), [(True, True, 1), (True, False, 0), (False, True, 0)])
def test_a_pipe_gets_a_line_per_job_when_there_are_several(
    enabled: bool, several: bool, lines: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with run_display(enabled, several) as tracker:
        tracker.finish(tracker.add("ep"), DONE)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == lines
    if lines:
        assert out[0].startswith("done    ep -> /d/ep.mp4 [3 frames, libx264")
