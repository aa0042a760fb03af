"""encodectl/ffmpeg/command.py: the commands that encode frames (a job's, a stream's, a probe's) and their
timing options.

The exact text of each encoder's command: tests/test_command.py; the videos they make, read back frame by
frame: tests/test_encode.py, tests/test_stream.py."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from encodectl.ffmpeg.command import (
    build_stream_command,
    demuxer_time_base,
    image2_pattern,
    mp4_timescale,
    passthrough_timing,
    strict_decoding,
)
from encodectl.ffmpeg.encoders import encoder_settings, get_spec
from encodectl.models import EncodeOptions, FFmpegBinary
from tests.conftest import decode

TEXT_ONLY = pytest.mark.same_on_every_ffmpeg("options and patterns computed as text: no ffmpeg runs")


@TEXT_ONLY
@pytest.mark.parametrize(
    ("fps", "timescale"), [(Fraction(30), 15360), (Fraction(30000, 1001), 30000), (Fraction(7), 10003)]
)
def test_every_frame_lasts_whole_ticks(fps: Fraction, timescale: int) -> None:
    assert mp4_timescale(fps) == timescale
    assert (Fraction(timescale) / fps).denominator == 1


@TEXT_ONLY
def test_image2_pattern_escapes_percent(tmp_path: Path) -> None:
    folder = tmp_path / "100%"
    assert image2_pattern(folder, "f%_", 6, ".png") == f"{tmp_path}/100%%/f%%_%06d.png"
    assert image2_pattern(folder, "", 0, ".jpg").endswith("/100%%/%d.jpg")


@TEXT_ONLY
def test_timing_options_by_version(tmp_path: Path) -> None:
    def of(version: str) -> FFmpegBinary:
        return FFmpegBinary(path=tmp_path / "ffmpeg", version=version, source="PATH")

    assert passthrough_timing(of("5.0.3")) == {"vsync": "passthrough"}
    assert passthrough_timing(of("5.1.2")) == {"fps_mode": "passthrough"}
    assert passthrough_timing(of("N-11234-gabc")) == {"fps_mode": "passthrough"}
    assert demuxer_time_base(of("6.1")) == "-1"
    assert demuxer_time_base(of("n7.0")) == "demux"
    assert strict_decoding(".JPG") == {"err_detect": "explode"}
    assert strict_decoding(".tiff") == {}


def test_a_stream_of_raw_frames_puts_each_frame_one_period_after_the_last(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    fps = Fraction(30000, 1001)
    settings = encoder_settings(get_spec("libx264"), EncodeOptions(fps=fps, gop=2))
    target = tmp_path / "stream.mp4"
    argv = build_stream_command(ffmpeg_binary, settings, 64, 48, fps, target)
    frames = b"".join(bytes([index * 20]) * (64 * 48 * 3) for index in range(5))
    completed = subprocess.run(argv, input=frames, capture_output=True)
    assert completed.returncode == 0, completed.stderr
    assert b"moof" in target.read_bytes()  # fragmented: readable if cut off
    video = decode(target)
    assert (video.frames, video.width, video.height) == (5, 64, 48)
    # Relative to the first: the fragments carry the encoder's delay, which the finished video's edit removes.
    assert [stamp - video.timestamps[0] for stamp in video.timestamps] == [index / fps for index in range(5)]
    assert video.keyframes == [0, 2, 4]
