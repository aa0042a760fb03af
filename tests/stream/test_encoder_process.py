"""encodectl/stream/encoder_process.py: one ffmpeg encoder of a stream, fed raw frames on its stdin.

The stream encoder it serves, under a recorder: tests/test_stream.py, tests/test_stream_lifecycle.py."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from encodectl.ffmpeg.command import build_stream_command
from encodectl.ffmpeg.encoders import encoder_settings, get_spec
from encodectl.models import EncodeOptions, EncoderSettings, FFmpegBinary
from encodectl.stream.encoder_process import EncoderProcess
from encodectl.stream.recovery import hold_stream_file
from tests.conftest import decode

FRAME = 64 * 48 * 3


def start(ffmpeg_binary: FFmpegBinary, settings: EncoderSettings, target: Path) -> tuple[EncoderProcess, int]:
    lock = hold_stream_file(target)
    argv = build_stream_command(ffmpeg_binary, settings, 64, 48, Fraction(10), target)
    process = EncoderProcess(argv, settings, stream_file_lock=lock, nice=0, die_with_parent=True, frame_pixels=64 * 48)
    return process, lock


def test_frames_fed_then_ended_make_the_stream_file(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    target = tmp_path / "x.stream.mp4"
    process, lock = start(ffmpeg_binary, encoder_settings(get_spec("libx264"), EncodeOptions(fps=10)), target)
    try:
        assert all(process.feed(bytes([n * 40]) * FRAME) for n in range(4))
        assert process.end(timeout=60) == 0
    finally:
        os.close(lock)
    assert decode(target).frames == 4


def test_a_dead_encoder_refuses_frames_and_says_why(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    broken = encoder_settings(get_spec("libx264"), EncodeOptions()).model_copy(
        update={"arguments": {"crf": "not-a-number"}}
    )
    process, lock = start(ffmpeg_binary, broken, tmp_path / "x.stream.mp4")
    try:
        assert process.feed(b"\0" * FRAME)  # ffmpeg opens its encoder on the first frame, and fails there
        returncode = process.wait(timeout=60)
        assert returncode != 0
        assert not process.feed(b"\0" * FRAME)
        assert process.end(timeout=60) == returncode
        why = process.failure(returncode)
    finally:
        os.close(lock)
    assert why.startswith(f"libx264 failed (exit {returncode}): ") and "\n" not in why
