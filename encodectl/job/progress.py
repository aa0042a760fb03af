"""What every job of a run is doing right now, for whoever wants to show it.

Workers report into a RunTracker; a renderer (the CLI's live table, or plain
lines) reads consistent snapshots of it at its own pace, so showing progress
never slows an encode down and the core never imports a terminal library.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum

from pydantic import BaseModel

from ..ffmpeg.process import Progress
from ..models import JobResult, JobStatus


class JobState(StrEnum):
    queued = "queued"
    running = "running"
    verifying = "verifying"
    fallback = "fallback"  # redoing on the CPU after the hardware encoder failed
    done = "done"
    skipped = "skipped"
    failed = "failed"


class JobView(BaseModel):
    """One job as a progress display shows it."""

    camera: str | None = None
    episode: str
    state: JobState = JobState.queued
    encoder: str | None = None
    frames_done: int = 0
    frames_total: int | None = None
    fps: float = 0.0
    speed: float | None = None

    @property
    def eta_seconds(self) -> float | None:
        if not self.frames_total or not self.fps or self.frames_done >= self.frames_total:
            return None
        return (self.frames_total - self.frames_done) / self.fps


class RunSnapshot(BaseModel):
    """A consistent copy of the whole run at one instant."""

    active: list[JobView]  # running first, then (some of the) queued, in submission order
    queued: int
    running: int
    done: int
    skipped: int
    failed: int
    frames_encoded: int  # by finished jobs, and so far by running ones (ffmpeg's progress)
    elapsed: float

    @property
    def throughput_fps(self) -> float:
        """Frames encoded per second since the run started, running jobs' frames included."""
        return self.frames_encoded / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def live_fps(self) -> float:
        """Frames encoded per second now: the running jobs' rates from ffmpeg's progress added up; between
        jobs (none running), the run's average."""
        running = [view.fps for view in self.active if view.state in (JobState.running, JobState.fallback)]
        return sum(running) if running else self.throughput_fps


_RESULT_STATE = {JobStatus.done: JobState.done, JobStatus.skipped: JobState.skipped, JobStatus.planned: JobState.done}


class JobListener:
    """What a running job reports about itself; the tracker hands one to each job."""

    def __init__(self, tracker: RunTracker, job_id: int) -> None:
        self._tracker = tracker
        self._id = job_id

    def started(self, encoder: str, frames_total: int) -> None:
        self._tracker._update(self._id, state=JobState.running, encoder=encoder, frames_total=frames_total,
                              frames_done=0)  # fmt: skip

    def progress(self, progress: Progress) -> None:
        self._tracker._update(self._id, frames_done=progress.frame, fps=progress.fps, speed=progress.speed)

    def verifying(self) -> None:
        self._tracker._update(self._id, state=JobState.verifying)

    def falling_back(self, encoder: str) -> None:
        self._tracker._update(self._id, state=JobState.fallback, encoder=encoder, frames_done=0, fps=0.0)


class RunTracker:
    """Thread-safe record of a run: the jobs still to finish, and counts of the rest.

    Finished jobs leave the active set, so a snapshot costs the same whether the
    run has ten episodes or ten thousand.
    """

    def __init__(self, on_finished: Callable[[JobResult], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._active: dict[int, JobView] = {}
        self._counts = {JobState.done: 0, JobState.skipped: 0, JobState.failed: 0}
        self._frames_encoded = 0
        self._started = time.monotonic()
        self._next_id = 0
        self._on_finished = on_finished

    def add(self, episode: str, camera: str | None = None) -> int:
        with self._lock:
            job_id = self._next_id
            self._next_id += 1
            self._active[job_id] = JobView(camera=camera, episode=episode)
            return job_id

    def listener(self, job_id: int) -> JobListener:
        return JobListener(self, job_id)

    def finish(self, job_id: int, result: JobResult) -> None:
        with self._lock:
            self._active.pop(job_id, None)
            self._counts[_RESULT_STATE.get(result.status, JobState.failed)] += 1
            if result.status is JobStatus.done:
                self._frames_encoded += result.frames
        if self._on_finished is not None:
            self._on_finished(result)

    def forget(self, job_id: int) -> None:
        """A job that was cancelled before it ran."""
        with self._lock:
            self._active.pop(job_id, None)

    def _update(self, job_id: int, **changes: object) -> None:
        with self._lock:
            view = self._active.get(job_id)
            if view is not None:
                for key, value in changes.items():
                    setattr(view, key, value)

    def snapshot(self, limit: int = 20) -> RunSnapshot:
        """Running jobs first, then queued ones, at most `limit` of them; counts of everything."""
        with self._lock:
            running = [v.model_copy() for v in self._active.values() if v.state is not JobState.queued]
            queued_views = [v for v in self._active.values() if v.state is JobState.queued]
            shown_queued = [v.model_copy() for v in queued_views[: max(0, limit - len(running))]]
            counts = dict(self._counts)
            frames = self._frames_encoded + sum(view.frames_done for view in running)
        return RunSnapshot(
            active=running + shown_queued,
            queued=len(queued_views),
            running=len(running),
            done=counts[JobState.done],
            skipped=counts[JobState.skipped],
            failed=counts[JobState.failed],
            frames_encoded=frames,
            elapsed=time.monotonic() - self._started,
        )
