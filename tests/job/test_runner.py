"""encodectl/job/runner.py: one job end to end (stage, encode to a temporary name, verify, rename), and a
failed hardware encode redone on the CPU.

Encodes read back frame by frame: tests/test_encode.py; interrupts and clean-up: tests/test_interrupt.py,
tests/test_edge_cases.py; GPU fallbacks and session limits on a fake GPU: tests/test_gpu.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from encodectl.ffmpeg.encoder_choice import plan_encoder
from encodectl.ffmpeg.process import CancelToken
from encodectl.frames.layout import EpisodeSource
from encodectl.job.planning import plan_job
from encodectl.job.runner import APPEARED_MEANWHILE, encode_one, run_job, run_with_fallback
from encodectl.job.sessions import SessionLimiter
from encodectl.models import EncodeOptions, EncoderSettings, FailureKind, FFmpegBinary, JobStatus
from tests.conftest import At, decode, files_in

X264 = EncoderSettings(encoder="libx264", codec="h264", gop=2, arguments={"preset": "ultrafast"})


class Heard:
    """A job listener that writes down what it was told."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def started(self, encoder: str, frames_total: int) -> None:
        self.said.append(f"started {encoder} {frames_total}")

    def verifying(self) -> None:
        self.said.append("verifying")

    def progress(self, progress: object) -> None: ...

    def falling_back(self, encoder: str) -> None:
        self.said.append(f"falling back to {encoder}")


def episode(tmp_path: Path) -> EpisodeSource:
    return EpisodeSource(directory=tmp_path / "ep", output=tmp_path / "ep.mp4", episode="ep")


def test_encode_one_publishes_a_verified_video_and_leaves_nothing_else(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    frames = make_frames(tmp_path / "ep", 5)
    frames[3].unlink()
    options = EncodeOptions(device="cpu", fps=10, gop=2, on_gap="hold")
    heard = Heard()
    result = encode_one(episode(tmp_path), options, plan_encoder(options, ffmpeg_binary), ffmpeg_binary,
                        limiter=SessionLimiter(2), token=CancelToken(), listener=heard)  # fmt: skip
    assert (result.status, result.frames, result.held_frames, result.encoder) == (JobStatus.done, 5, [3], "libx264")
    assert result.ffmpeg_version == ffmpeg_binary.version and result.size_bytes == (tmp_path / "ep.mp4").stat().st_size
    assert heard.said == ["started libx264 5", "verifying"]
    video = decode(tmp_path / "ep.mp4")
    assert (video.frames, video.keyframes) == (5, [0, 2, 4])
    assert files_in(tmp_path) == ["ep.mp4", "ep/frame_000000.png", "ep/frame_000001.png", "ep/frame_000002.png",
                                  "ep/frame_000004.png"]  # fmt: skip


@pytest.mark.same_on_every_ffmpeg("a dry run builds the command and runs nothing")
def test_a_dry_run_gives_the_command_and_writes_nothing(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 3)
    job = plan_job(episode(tmp_path), EncodeOptions(), X264)
    result = run_job(job, ffmpeg_binary, dry_run=True)
    assert result.status is JobStatus.planned and result.command[0] == str(ffmpeg_binary.path)
    assert result.command[-1].startswith(str(tmp_path / ".ep.mp4.")) and result.command[-1].endswith(".partial")
    assert files_in(tmp_path) == [f"ep/frame_00000{n}.png" for n in range(3)]


def test_a_video_that_appeared_meanwhile_is_kept(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 3)
    job = plan_job(episode(tmp_path), EncodeOptions(), X264)
    theirs = tmp_path / "ep.mp4"
    result = run_job(job, ffmpeg_binary, listener=At("verifying", lambda: theirs.write_bytes(b"theirs")))
    assert (result.status, result.reason) == (JobStatus.skipped, APPEARED_MEANWHILE)
    assert theirs.read_bytes() == b"theirs"
    assert [name for name in files_in(tmp_path) if not name.startswith("ep/")] == ["ep.mp4"]


def test_a_failed_hardware_encode_is_redone_on_the_cpu(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 3)
    broken = EncoderSettings(encoder="h264_nowhere", codec="h264", gop=2, hardware=True)
    job = plan_job(episode(tmp_path), EncodeOptions(), broken)
    heard = Heard()
    result = run_with_fallback(job, ffmpeg_binary, fallback=X264, limiter=SessionLimiter(2), listener=heard)
    assert (result.status, result.encoder, result.frames) == (JobStatus.done, "libx264", 3)
    assert result.fallback is not None and result.fallback.startswith("h264_nowhere"), result.fallback
    assert heard.said == ["started h264_nowhere 3", "falling back to libx264", "started libx264 3", "verifying"]
    assert decode(tmp_path / "ep.mp4").frames == 3

    strict = run_with_fallback(job.model_copy(update={"output": tmp_path / "strict.mp4"}), ffmpeg_binary,
                               fallback=None, limiter=SessionLimiter(2))  # fmt: skip
    assert (strict.status, strict.failure) == (JobStatus.failed, FailureKind.encoding)
    assert not (tmp_path / "strict.mp4").exists()
