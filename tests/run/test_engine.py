"""encodectl/run/engine.py: the engine behind `encode` and encodectl.encode(): sync or async, here or on Dask.

Whole runs as a user starts them: tests/test_encode.py, tests/test_api.py (each command both ways),
tests/test_interrupt.py (Ctrl-C)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from encodectl.ffmpeg.encoder_choice import EncoderPlan
from encodectl.ffmpeg.encoders import encoder_settings, get_spec
from encodectl.frames.layout import discover
from encodectl.job.progress import RunTracker
from encodectl.models import EncodeOptions, FailureKind, FFmpegBinary, JobResult, JobStatus, Mode
from encodectl.run.engine import encode_sources, exit_code, fallback_announcement, source_runner
from tests.conftest import decode


def result(status: JobStatus, failure: FailureKind | None = None) -> JobResult:
    return JobResult(source=Path("/f"), output=Path("/f.mp4"), episode="e", status=status, failure=failure)


@pytest.mark.same_on_every_ffmpeg("exit codes from given results: no ffmpeg runs")
def test_exit_code_two_only_when_every_job_was_refused_for_its_input() -> None:
    done, skipped = result(JobStatus.done), result(JobStatus.skipped)
    refused, broken = result(JobStatus.failed, FailureKind.input), result(JobStatus.failed, FailureKind("encode"))
    assert exit_code([done, skipped]) == 0
    assert exit_code([refused, refused]) == 2
    assert exit_code([refused, done]) == 1
    assert exit_code([refused, broken]) == 1
    assert exit_code([]) == 0


@pytest.mark.same_on_every_ffmpeg("a sentence from a given plan: no ffmpeg runs")
def test_a_cpu_fallback_decided_up_front_is_announced() -> None:
    cpu = encoder_settings(get_spec("libx264"), EncodeOptions())
    assert fallback_announcement(EncoderPlan(primary=cpu, reason="--device cpu")) is None
    plan = EncoderPlan(primary=cpu, reason="no working GPU encoder", detail="h264_nvenc: no device",
                       fallback_note="no working GPU encoder for h264")  # fmt: skip
    assert fallback_announcement(plan) == (
        "no working GPU encoder for h264 (h264_nvenc: no device); encoding on the CPU with libx264 "
        "(--strict to fail instead)"
    )


@pytest.mark.parametrize("mode", [Mode.sync, Mode.async_])
def test_one_bad_episode_never_stops_the_others(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]], mode: Mode
) -> None:
    make_frames(tmp_path / "a", count=3)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "frame_000000.png").write_bytes(b"not a picture")
    make_frames(tmp_path / "c", count=2)
    tracker = RunTracker()
    options = EncodeOptions(mode=mode, device="cpu", fps=10)
    results = encode_sources(discover([tmp_path]), options, ffmpeg_binary, tracker=tracker)
    assert [(r.episode, r.status) for r in results] == [
        ("a", JobStatus.done),
        ("b", JobStatus.failed),
        ("c", JobStatus.done),
    ]
    assert decode(tmp_path / "a.mp4").frames == 3 and decode(tmp_path / "c.mp4").frames == 2
    assert not (tmp_path / "b.mp4").exists()
    snapshot = tracker.snapshot()
    assert (snapshot.done, snapshot.failed) == (2, 1)


@pytest.mark.skipif(sys.platform == "darwin", reason="VideoToolbox works on a Mac: no fallback to say")
def test_source_runner_says_a_cpu_fallback_once(tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames) -> None:
    make_frames(tmp_path / "a", count=2)
    said: list[str] = []
    run = source_runner(ffmpeg_binary, say=said.append)
    # No VideoToolbox off a Mac: the CPU from the start. A dry run plans the job without encoding it.
    options = EncodeOptions(device="gpu", vendor="videotoolbox", fps=10, mode=Mode.sync, dry_run=True)
    for _ in range(2):
        (outcome,) = run(discover([tmp_path / "a"]), options)
        assert outcome.status is JobStatus.planned and outcome.encoder == "libx264"
    assert len(said) == 1 and said[0].startswith("no working videotoolbox encoder for h264")
