"""encodectl/benchmarking/measures.py: the bench's modes, options, figures, and a mode's figures summed up.

Figures of real bench runs and the guide's table: tests/test_bench.py, tests/report/test_bench.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from encodectl.benchmarking.measures import BenchMode, BenchOptions, EpisodeMeasure, ModeResult, summarize
from encodectl.models import Device, JobResult, JobStatus

pytestmark = pytest.mark.same_on_every_ffmpeg("figures summed from given results: no ffmpeg runs")


def test_what_a_mode_name_says() -> None:
    assert [(m.is_async, m.is_stream, m.device) for m in (BenchMode.sync_cpu, BenchMode.async_gpu,
                                                           BenchMode.stream_cpu)] == [
        (False, False, Device.cpu), (True, False, Device.gpu), (False, True, Device.cpu)]  # fmt: skip


def job(status: JobStatus, frames: int, seconds: float, size: int, fallback: str | None = None) -> JobResult:
    return JobResult(source=Path("/r"), output=Path("/r.mp4"), episode="e", status=status, frames=frames,
                     seconds=seconds, size_bytes=size, fallback=fallback)  # fmt: skip


def test_a_modes_figures_from_its_jobs_and_episodes() -> None:
    options = BenchOptions(seconds=10, cameras=2)
    result = ModeResult(mode=BenchMode.sync_cpu, available=True, episode_seconds=10, episodes=[
        EpisodeMeasure(episode=0, blocked_s=4.0, encode_s=4.0, missed_deadlines=1),
        EpisodeMeasure(episode=1, blocked_s=6.0, encode_s=6.0, missed_deadlines=0)])  # fmt: skip
    jobs = [job(JobStatus.done, 300, 2.0, 125_000), job(JobStatus.done, 300, 4.0, 125_000, "h264_nvenc failed"),
            job(JobStatus.done, 300, 2.0, 125_000), job(JobStatus.failed, 0, 0.0, 0)]  # fmt: skip
    summarize(result, jobs, frames=300, cameras=2, options=options)
    assert (result.failed, result.frames_encoded, result.bytes, result.frames_due) == (1, 900, 375_000, 600)
    assert (result.blocked_total_s, result.encode_per_episode_s, result.missed_deadlines) == (10.0, 5.0, 1)
    assert (result.encode_fps, result.speed_x) == (112.5, 4.0)  # 900 frames in 8 s; 20 camera-seconds in 5 s
    assert result.bitrate_kbps == 100.0  # 375 kB over 3 videos of 10 s
    assert (result.fallback, result.reason) == (True, "CPU fallback: h264_nvenc failed")
    assert (result.blocked_per_episode_s, result.total_episode_s) == (5.0, 15.0)


def test_a_mode_without_measures_sums_to_zero() -> None:
    result = ModeResult(mode=BenchMode.async_gpu, available=True, episode_seconds=10)
    summarize(result, [], frames=300, cameras=2, options=BenchOptions())
    assert (result.encode_per_episode_s, result.encode_fps, result.speed_x, result.bitrate_kbps) == (0, 0, 0, 0)
    assert (result.blocked_per_episode_s, result.total_episode_s, result.fallback) == (0.0, 10.0, False)
