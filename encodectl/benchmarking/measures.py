"""What `encodectl bench` measures: the modes (the guide's four and the stream modes) with the guide's own
claims, the options of a run, each episode's and each mode's figures, the report; and how a mode's figures
are summed up from its jobs."""

from __future__ import annotations

import statistics
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from pathlib import Path

from pydantic import BaseModel

from ..models import Device, FrameRate, JobResult, JobStatus
from .quality import QualityScore


class BenchMode(StrEnum):
    sync_cpu = "sync-cpu"
    async_cpu = "async-cpu"
    sync_gpu = "sync-gpu"
    async_gpu = "async-gpu"
    stream_cpu = "stream-cpu"  # beyond the guide: StreamEncoder, frames never touch the disk
    stream_gpu = "stream-gpu"

    @property
    def is_async(self) -> bool:
        return self.value.startswith("async")

    @property
    def is_stream(self) -> bool:
        return self.value.startswith("stream")

    @property
    def device(self) -> Device:
        return Device.gpu if self.value.endswith("gpu") else Device.cpu


# The guide's performance table (90-second episode, 2 cameras), quoted as claims to compare against.
GUIDE_CLAIMS = {
    BenchMode.sync_cpu: ("~45-60s", "Blocks recording", "~135-150s"),
    BenchMode.async_cpu: ("~45-60s", "Non-blocking", "~90s + background"),
    BenchMode.sync_gpu: ("~15-25s", "Blocks recording", "~105-115s"),
    BenchMode.async_gpu: ("~15-25s", "Non-blocking", "~90s + background"),
}
GUIDE_CLAIMS[BenchMode.stream_cpu] = GUIDE_CLAIMS[BenchMode.stream_gpu] = ("(not in the guide)", "", "")
GUIDE_EPISODE_SECONDS = 90
GUIDE_MODES = [BenchMode.sync_cpu, BenchMode.async_cpu, BenchMode.sync_gpu, BenchMode.async_gpu]


class BenchOptions(BaseModel):
    modes: list[BenchMode] = GUIDE_MODES
    episodes: int = 2
    seconds: float = 10.0
    cameras: int = 2
    size: tuple[int, int] = (1280, 720)
    fps: FrameRate = Fraction(30)
    frames: Path | None = None  # the user's own frames, copied as the recording
    allow_fallback: bool = False
    keep: Path | None = None  # keep the recordings and videos here instead of a temporary folder


class EpisodeMeasure(BaseModel):
    episode: int
    blocked_s: float  # how long the recorder could not record because of encoding
    encode_s: float  # from the episode's hand-off to its last camera's video verified
    missed_deadlines: int


class ModeResult(BaseModel):
    mode: BenchMode
    available: bool
    reason: str | None = None  # why unavailable, or why the CPU was used instead
    encoder: str | None = None
    fallback: bool = False
    episodes: list[EpisodeMeasure] = []
    blocked_total_s: float = 0.0
    encode_per_episode_s: float = 0.0
    until_verified_s: float = 0.0  # after the last frame of the session, until every video was verified
    episode_seconds: float = 0.0
    frames_encoded: int = 0
    encode_fps: float = 0.0
    speed_x: float = 0.0  # recorded seconds (all cameras) encoded per second of encoding
    bytes: int = 0
    bitrate_kbps: float = 0.0
    quality: QualityScore | None = None  # of the first camera's first episode
    missed_deadlines: int = 0
    frames_due: int = 0
    failed: int = 0
    add_frame_p99_ms: float | None = None  # stream modes: the recorder's per-frame call, 99th percentile
    add_frame_max_ms: float | None = None
    add_frame_calls: int = 0
    spilled_bytes: int = 0  # stream modes: frames written to disk while the encoder was behind

    @property
    def total_episode_s(self) -> float:
        """The guide's "Total episode time": recording plus the time encoding kept the recorder waiting."""
        return self.episode_seconds + self.blocked_per_episode_s

    @property
    def blocked_per_episode_s(self) -> float:
        """0 for a mode that failed before its first episode was measured."""
        return self.blocked_total_s / len(self.episodes) if self.episodes else 0.0


class BenchReport(BaseModel):
    date: datetime
    machine: str
    cores: int
    ffmpeg: str
    options: BenchOptions
    results: list[ModeResult]


def summarize(result: ModeResult, jobs: list[JobResult], frames: int, cameras: int, options: BenchOptions) -> None:
    done = [job for job in jobs if job.status is JobStatus.done]
    result.failed = len(jobs) - len(done)
    result.blocked_total_s = sum(m.blocked_s for m in result.episodes)
    result.encode_per_episode_s = statistics.mean(m.encode_s for m in result.episodes) if result.episodes else 0.0
    result.frames_encoded = sum(job.frames for job in done)
    busy = sum(job.seconds for job in done)
    result.encode_fps = result.frames_encoded / busy if busy else 0.0
    result.speed_x = (options.seconds * cameras) / result.encode_per_episode_s if result.encode_per_episode_s else 0.0
    result.bytes = sum(job.size_bytes for job in done)
    stream_seconds = len(done) * options.seconds
    result.bitrate_kbps = result.bytes * 8 / 1000 / stream_seconds if stream_seconds else 0.0
    result.missed_deadlines = sum(m.missed_deadlines for m in result.episodes)
    result.frames_due = frames * len(result.episodes)
    if any(job.fallback for job in done):
        result.fallback = True
        reason = next(job.fallback for job in done if job.fallback)
        result.reason = result.reason or f"CPU fallback: {reason}"
