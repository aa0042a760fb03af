"""encodectl/run/pool.py: EncoderPool, episodes encoded in the background by worker threads.

The pool under a recorder (queue full, close, Ctrl-C, a failing callback): tests/test_pool.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from encodectl.errors import UsageError
from encodectl.ffmpeg.encoder_choice import EncoderPlan
from encodectl.ffmpeg.encoders import encoder_settings, get_spec
from encodectl.models import EncodeOptions, FFmpegBinary, JobStatus
from encodectl.run.pool import EncoderPool, resolve_workers
from tests.conftest import decode


@pytest.mark.same_on_every_ffmpeg("a count from given numbers: no ffmpeg runs")
def test_auto_workers_one_per_core_or_the_sessions_plus_one() -> None:
    cpu = EncoderPlan(primary=encoder_settings(get_spec("libx264"), EncodeOptions()), reason="cpu")
    gpu = EncoderPlan(primary=encoder_settings(get_spec("h264_nvenc"), EncodeOptions()), reason="gpu")
    assert resolve_workers(3, cpu, gpu_sessions=2) == 3
    assert resolve_workers("auto", cpu, gpu_sessions=2, cores=6) == 6
    assert resolve_workers("auto", gpu, gpu_sessions=2, cores=6) == 3
    assert resolve_workers("auto", gpu, gpu_sessions=8, cores=2) == 3
    assert resolve_workers("auto", gpu, gpu_sessions=1, cores=1) == 2


def test_submit_returns_a_future_of_the_verified_video(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep1", count=3)
    make_frames(tmp_path / "ep2", count=4)
    with EncoderPool(workers=2, device="cpu", fps=10, ffmpeg_binary=ffmpeg_binary) as pool:
        first = pool.submit(tmp_path / "ep1")
        second = pool.submit(tmp_path / "ep2", tmp_path / "out" / "two.mp4", camera="top")
    assert first.result().status is JobStatus.done and first.result().output == tmp_path / "ep1.mp4"
    assert second.result().camera == "top"
    assert decode(tmp_path / "ep1.mp4").frames == 3 and decode(tmp_path / "out" / "two.mp4").frames == 4
    with pytest.raises(UsageError, match="closed"):
        pool.submit(tmp_path / "ep1")
