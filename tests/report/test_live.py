"""encodectl/report/live.py: the live view while a run encodes: a row per job, a footer for the run.

Its columns, aligned and composable: tests/test_report.py; the live view in a real run: tests/test_output.py."""

from __future__ import annotations

import pytest
from rich.console import Console

from encodectl.job.progress import JobState, JobView, RunSnapshot
from encodectl.report.live import live_footer, live_table, live_view

pytestmark = pytest.mark.same_on_every_ffmpeg("the live view is rendered from fixed values: no ffmpeg runs")

VIEWS = [
    JobView(camera="observation.images.top", episode="episode_000001", state=JobState.running, encoder="libx264",
            frames_done=30, frames_total=120, fps=60.0, speed=2.0),
    JobView(camera="observation.images.wrist", episode="episode_000001", state=JobState.running, encoder="libx264",
            frames_done=60, frames_total=120, fps=40.0, speed=1.5),
    JobView(episode="episode_000002"),
]  # fmt: skip


def snapshot(queued: int = 1, failed: int = 0) -> RunSnapshot:
    return RunSnapshot(active=VIEWS, queued=queued, running=2, done=4, skipped=0, failed=failed, frames_encoded=500,
                       elapsed=3725.0)  # fmt: skip


def test_the_footer_adds_up_the_running_jobs_rates() -> None:
    footer = live_footer(snapshot(queued=3))
    assert footer.plain == "queue 3 · running 2 · done 4 · failed 0 · 100 fps · 1:02:05 (+2 queued)"
    assert "red" not in str(footer.style)
    assert "red" in str(live_footer(snapshot(failed=1)).style)


def test_the_table_shows_the_cameras_short_and_the_eta() -> None:
    _header, top, wrist, queued = live_table(VIEWS).plain.splitlines()
    assert top.split()[0] == "top" and wrist.split()[0] == "wrist"
    assert top.split()[-2:] == ["0:02", "running"]  # 90 frames left at 60 fps: 1.5 s, rounded
    assert queued.split()[0] == "episode_000002" and queued.split()[-1] == "queued"


@pytest.mark.parametrize("width", [40, 60, 100])
def test_the_view_fits_the_width(width: int) -> None:
    console = Console(width=width, record=True, color_system=None)
    console.print(live_view(snapshot(), width=width))
    lines = console.export_text().splitlines()
    assert all(len(line) <= width for line in lines)
    assert any("episode_000001" in line for line in lines) and any("running" in line for line in lines)
