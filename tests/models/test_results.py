"""encodectl/models/results.py: what comes back: an episode's result, built from a planned job, a stream or an
episode that never reached ffmpeg, and what became of its depth frames.

Results of real encodes, dry runs and streams, and their JSON: tests/test_encode.py, tests/test_output.py,
tests/test_depth.py."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from encodectl.frames.layout import EpisodeSource
from encodectl.models.enums import DepthMode, GapPolicy, JobStatus
from encodectl.models.jobs import DepthQuantization, EncodeJob, EncoderSettings, FFmpegBinary, FrameSequence
from encodectl.models.results import DepthResult, JobResult, depth_note

pytestmark = pytest.mark.same_on_every_ffmpeg("results built from given values: no ffmpeg runs")

X264 = EncoderSettings(encoder="libx264", codec="h264", gop=2)


def job(width: int, settings: EncoderSettings = X264) -> EncodeJob:
    sequence = FrameSequence(directory=Path("/d/ep"), prefix="", extension=".png", padding=0, numbers=[0, 1, 4],
                             gaps=[(2, 3)], width=width, height=48, source_format="png rgb 8-bit")  # fmt: skip
    return EncodeJob(frames=sequence, output=Path("/d/ep.mp4"), episode="ep", camera="top", fps="29.97",
                     encoder=settings, on_gap=GapPolicy.hold)  # fmt: skip


def test_a_planned_job_says_what_its_plan_implies() -> None:
    result = JobResult.of_job(job(63), JobStatus.planned, "digest")
    assert (result.frames, result.source_frames, result.held_frames) == (5, 3, [2, 3])
    assert (result.width, result.height, result.padded_from, result.fps) == (64, 48, "63x48", Fraction(30000, 1001))
    assert (result.encoder, result.frames_digest, result.depth, result.label) == ("libx264", "digest", None, "top/ep")
    assert result.notes == ["held 2 missing frame(s) by repeating the previous one",
                            "padded 63x48 to 64x48, not rescaled"]  # fmt: skip
    assert JobResult.of_job(job(64), JobStatus.planned, "d").notes == [result.notes[0]]


def test_a_depth_job_notes_its_route() -> None:
    lossless = EncoderSettings(encoder="ffv1", codec="ffv1", gop=1, container="matroska", depth=DepthMode.lossless)
    result = JobResult.of_job(job(63, lossless), JobStatus.planned, "d")
    assert result.padded_from is None and result.depth is not None
    assert (result.depth.mode, result.depth.lossless, result.depth.container) == (DepthMode.lossless, True, "matroska")
    assert result.notes[-1].startswith("16-bit depth kept exactly: FFV1 gray16le in Matroska")


def test_depth_notes_say_where_the_quantizer_came_from() -> None:
    def quantized(**q: object) -> EncoderSettings:
        return EncoderSettings(encoder="libx265", codec="hevc", gop=1, depth=DepthMode.lerobot,
                               quantization=DepthQuantization(**q))  # type: ignore[arg-type]  # fmt: skip

    assert depth_note(quantized()) == (
        "16-bit depth quantized as LeRobot does (log 12-bit codes, 0.01-10 m, shift 3.5 m: LeRobot's defaults), "
        "codes kept exactly (HEVC lossless) and hashed: not bit-exact depth, a zero (no reading) reads back as 0.01 m"
    )
    assert "(linear 12-bit codes, 0.2-4 m, shift 3.5 m: as the dataset's info.json records)" in str(
        depth_note(quantized(use_log=False, depth_min=0.2, depth_max=4, recorded=True))
    )
    lossy = EncoderSettings(encoder="libx264", codec="h264", gop=1, depth=DepthMode.lossy)
    assert "--depth lossy" in str(depth_note(lossy))
    assert DepthResult.of_settings(lossy) == DepthResult(mode=DepthMode.lossy, lossless=False, container="mp4")
    assert depth_note(X264) is None and DepthResult.of_settings(X264) is None


def test_results_of_a_stream_and_of_an_episode_that_never_ran() -> None:
    stream = JobResult.of_stream(Path("/d/v/ep.mp4"), episode="ep", camera=None, frames=9, fps=Fraction(15),
                                 settings=X264, size=(64, 48), fallback="nvenc failed")  # fmt: skip
    assert (stream.source, stream.status, stream.frames, stream.source_frames) == (Path("/d/v"), JobStatus.done, 9, 9)
    assert stream.fallback == "nvenc failed" and stream.ok
    source = EpisodeSource(directory=Path("/d/ep"), output=Path("/d/ep.mp4"), episode="ep", camera="top")
    failed = JobResult.of_source(source, JobStatus.failed, reason="no frames")
    assert (failed.source, failed.output, failed.label, failed.reason, failed.ok) == (
        Path("/d/ep"), Path("/d/ep.mp4"), "top/ep", "no frames", False)  # fmt: skip
    binary = FFmpegBinary(path=Path("/ff"), version="7.1", source="PATH")
    assert failed.with_ffmpeg(binary).ffmpeg_version == "7.1" and failed.ffmpeg_path == Path("/ff")
