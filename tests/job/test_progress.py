"""encodectl/job/progress.py: the run's record (RunTracker) that jobs report into and views read.

The live view it feeds in a real run: tests/test_output.py; the pool's use of it: tests/test_pool.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from encodectl.ffmpeg.process import Progress
from encodectl.job.progress import JobState, JobView, RunTracker
from encodectl.models import JobResult, JobStatus

pytestmark = pytest.mark.same_on_every_ffmpeg("a record updated by hand: no ffmpeg runs")


def result(status: JobStatus, frames: int = 0) -> JobResult:
    return JobResult(source=Path("/f"), output=Path("/f.mp4"), episode="e", status=status, frames=frames)


def test_a_job_goes_from_queued_to_its_count() -> None:
    finished: list[JobResult] = []
    tracker = RunTracker(on_finished=finished.append)
    first, second, third = tracker.add("a", "top"), tracker.add("b"), tracker.add("c")
    listener = tracker.listener(first)
    listener.started("libx264", 100)
    listener.progress(Progress(frame=40, fps=80.0, speed=2.5))
    snapshot = tracker.snapshot()
    assert [(v.episode, v.state) for v in snapshot.active] == [
        ("a", JobState.running),
        ("b", JobState.queued),
        ("c", JobState.queued),
    ]
    assert (snapshot.running, snapshot.queued, snapshot.frames_encoded) == (1, 2, 40)
    assert snapshot.live_fps == 80.0
    listener.falling_back("libx264")
    assert tracker.snapshot().active[0].frames_done == 0 and tracker.snapshot().active[0].state is JobState.fallback

    tracker.finish(first, result(JobStatus.done, frames=100))
    tracker.finish(second, result(JobStatus.failed))
    tracker.forget(third)
    snapshot = tracker.snapshot()
    assert (snapshot.done, snapshot.failed, snapshot.queued, snapshot.frames_encoded) == (1, 1, 0, 100)
    assert snapshot.active == [] and len(finished) == 2


def test_the_snapshot_shows_running_first_then_queued_up_to_the_limit() -> None:
    tracker = RunTracker()
    ids = [tracker.add(f"e{n}") for n in range(5)]
    tracker.listener(ids[3]).started("libx264", 10)
    snapshot = tracker.snapshot(limit=3)
    assert [v.episode for v in snapshot.active] == ["e3", "e0", "e1"]
    assert snapshot.queued == 4


def test_eta_from_the_frames_left_and_the_rate() -> None:
    assert JobView(episode="e", frames_done=30, frames_total=90, fps=20.0).eta_seconds == 3.0
    assert JobView(episode="e", frames_done=90, frames_total=90, fps=20.0).eta_seconds is None
    assert JobView(episode="e", frames_done=3, frames_total=90).eta_seconds is None
