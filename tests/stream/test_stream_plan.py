"""encodectl/stream/stream_plan.py: what a StreamEncoder is set up with before its first frame.

Streams of colour and depth frames encoded and read back: tests/test_stream.py; the buffer at work:
tests/stream/test_frame_buffer.py."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import pytest

from encodectl.errors import UsageError
from encodectl.models import DepthMode, EncoderSettings, FFmpegBinary
from encodectl.stream.stream_plan import (
    buffer_capacity,
    check_depth_output,
    frame_size,
    stream_options,
    stream_paths,
    stream_plan,
)

pytestmark = pytest.mark.same_on_every_ffmpeg("options, names and sizes computed: no encode runs")


def test_stream_options_take_the_depth_route_by_name() -> None:
    options, depth = stream_options("29.97", None, False, {"quality": 20})
    assert (options.fps, options.quality, options.device.value, depth) == (Fraction(30000, 1001), 20, "auto", False)
    options, depth = stream_options(30, "cpu", "lerobot", {})
    assert (options.depth, options.device.value, depth) == (DepthMode.lerobot, "cpu", True)
    with pytest.raises(UsageError, match=r"^invalid --fps: "):
        stream_options(0, None, False, {})


def test_the_hidden_files_are_named_for_the_container(tmp_path: Path) -> None:
    mp4 = EncoderSettings(encoder="libx264", codec="h264", gop=2)
    stream, spill = stream_paths(tmp_path / "ep.mp4", mp4)
    assert stream.name.startswith(f".ep.mp4.{os.getpid()}-") and stream.name.endswith(".stream.mp4")
    assert spill.name == stream.name.removesuffix(".stream.mp4") + ".spill"
    mkv = EncoderSettings(encoder="ffv1", codec="ffv1", gop=1, container="matroska")
    assert stream_paths(tmp_path / "ep.mkv", mkv)[0].name.endswith(".stream.mkv")


def test_a_depth_stream_takes_the_depth_route_named_for_its_container(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    options, depth = stream_options(30, "cpu", "lossless", {})
    plan = stream_plan(tmp_path / "depth.mkv", options, ffmpeg_binary, None, depth)
    assert (plan.primary.encoder, plan.primary.container, plan.fallback) == ("ffv1", "matroska", None)
    with pytest.raises(UsageError) as caught:
        stream_plan(tmp_path / "depth.mp4", options, ffmpeg_binary, None, depth)
    assert str(caught.value) == "depth.mp4: depth kept exactly is FFV1 in Matroska; name the video depth.mkv"
    lerobot = stream_plan(tmp_path / "d.mp4", stream_options(30, "cpu", "lerobot", {})[0], ffmpeg_binary, None, True)
    assert lerobot.primary.depth is DepthMode.lerobot
    with pytest.raises(UsageError, match=r"^d\.mkv: this depth route writes MP4; name the video d\.mp4$"):
        check_depth_output(tmp_path / "d.mkv", lerobot.primary)


def test_buffer_capacity() -> None:
    assert (frame_size(64, 48, depth=False), frame_size(64, 48, depth=True)) == (9216, 6144)
    assert buffer_capacity(7, 512, 9216) == 7
    assert buffer_capacity(None, 1, 2**18) == 4
    assert buffer_capacity(None, 1, 2**21) == 2  # at least two, however large the frames
