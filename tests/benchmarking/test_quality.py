"""encodectl/benchmarking/quality.py: PSNR and SSIM of a video against the frames it was made from.

The bench's quality column in a real bench run: tests/test_bench.py."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from encodectl.benchmarking.quality import measure_quality
from encodectl.errors import EncodeError
from encodectl.ffmpeg.command import image2_pattern
from encodectl.frames.sequence import scan_frames
from encodectl.models import FFmpegBinary


def video_of(ffmpeg_binary: FFmpegBinary, folder: Path, target: Path, crf: int) -> Path:
    argv = [str(ffmpeg_binary.path), "-hide_banner", "-loglevel", "error", "-framerate", "10", "-i",
            image2_pattern(folder, "frame_", 6, ".png"), "-c:v", "libx264", "-crf", str(crf), "-pix_fmt", "yuv420p",
            str(target)]  # fmt: skip
    subprocess.run(argv, check=True)
    return target


def test_a_better_encode_scores_higher(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", count=3)
    frames = scan_frames(tmp_path / "ep")
    good = measure_quality(ffmpeg_binary, str(video_of(ffmpeg_binary, tmp_path / "ep", tmp_path / "good.mp4", 10)),
                           frames, Fraction(10))  # fmt: skip
    poor = measure_quality(ffmpeg_binary, str(video_of(ffmpeg_binary, tmp_path / "ep", tmp_path / "poor.mp4", 51)),
                           frames, Fraction(10))  # fmt: skip
    assert 35 < good.psnr_db <= 99 and 0.9 < good.ssim <= 1
    assert poor.psnr_db < good.psnr_db - 10 and poor.ssim < good.ssim


def test_a_video_that_cannot_be_read_is_an_encode_error(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", count=2)
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    with pytest.raises(EncodeError, match=r"could not measure quality of .*broken\.mp4"):
        measure_quality(ffmpeg_binary, str(tmp_path / "broken.mp4"), scan_frames(tmp_path / "ep"), Fraction(10))
