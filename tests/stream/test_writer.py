"""encodectl/stream/writer.py: the writer thread of a stream, and the CPU restart of a hardware encoder that
fails before proving itself.

The stream under a recorder (backlog, abort, close): tests/test_stream.py, tests/test_stream_lifecycle.py; a
hardware stream falling back, through a stand-in GPU ffmpeg: tests/test_stream.py."""

from __future__ import annotations

import os
import threading
from fractions import Fraction
from pathlib import Path

from encodectl.ffmpeg.command import build_stream_command
from encodectl.ffmpeg.encoders import encoder_settings, get_spec
from encodectl.models import EncodeOptions, EncoderSettings, FFmpegBinary
from encodectl.stream.encoder_process import EncoderProcess
from encodectl.stream.frame_buffer import BufferPolicy, FrameBuffer
from encodectl.stream.recovery import hold_stream_file
from encodectl.stream.replay import Replay
from encodectl.stream.writer import StreamWriter
from tests.conftest import decode

FRAME = 64 * 48 * 3
FRAMES = 6


class Encoders:
    """Starts encoders as StreamEncoder does: each holds the stream file's lock."""

    def __init__(self, ffmpeg_binary: FFmpegBinary, target: Path) -> None:
        self.ffmpeg, self.target, self.locks = ffmpeg_binary, target, []

    def start(self, settings: EncoderSettings) -> EncoderProcess:
        self.locks.append(hold_stream_file(self.target))
        argv = build_stream_command(self.ffmpeg, settings, 64, 48, Fraction(10), self.target)
        return EncoderProcess(argv, settings, stream_file_lock=self.locks[-1], nice=0, die_with_parent=True,
                              frame_pixels=64 * 48)  # fmt: skip

    def close(self) -> None:
        for lock in self.locks:
            os.close(lock)


def run(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, first: EncoderSettings, replay: bool
) -> tuple[StreamWriter, list[str]]:
    target = tmp_path / "x.stream.mp4"
    encoders = Encoders(ffmpeg_binary, target)
    cpu = encoder_settings(get_spec("libx264"), EncodeOptions(fps=10))
    buffer = FrameBuffer(FRAMES * FRAME, tmp_path / "spill", BufferPolicy.block)
    warnings: list[str] = []
    writer = StreamWriter(buffer, threading.Lock(), encoders.start(first), encoders.start,
                          Replay(cpu, cpu.gop, 100, target) if replay else None, stream_file=target,
                          fallback_note=None, warn=warnings.append)  # fmt: skip
    writer.start()
    try:
        for n in range(FRAMES):
            buffer.put(bytes([n * 40]) * FRAME)
        buffer.finish()
        writer.join(120)
        assert not writer.is_alive()
    finally:
        encoders.close()
    return writer, warnings


def failing_hardware() -> EncoderSettings:
    # NVENC on a GPU no machine has (or without the driver, or not compiled in): ffmpeg fails on its first frame
    nvenc = encoder_settings(get_spec("h264_nvenc"), EncodeOptions(fps=10))
    return nvenc.model_copy(update={"arguments": {**nvenc.arguments, "gpu": "99"}})


def test_every_frame_reaches_the_encoder_in_order(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    writer, warnings = run(tmp_path, ffmpeg_binary, encoder_settings(get_spec("libx264"), EncodeOptions(fps=10)), False)
    assert (writer.error, writer.frames_written, warnings) == (None, FRAMES, [])
    assert decode(tmp_path / "x.stream.mp4").frames == FRAMES


def test_a_failing_hardware_encoder_is_replaced_by_the_cpu_with_every_frame(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    writer, warnings = run(tmp_path, ffmpeg_binary, failing_hardware(), True)
    assert writer.error is None and writer.settings.encoder == "libx264"
    assert writer.fallback is not None and writer.fallback.startswith("h264_nvenc failed")
    assert warnings == [f"{writer.fallback}; continuing on the CPU with libx264"]
    assert writer.frames_written == FRAMES
    assert decode(tmp_path / "x.stream.mp4").frames == FRAMES


def test_without_a_replay_the_stream_fails_with_the_reason(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    writer, warnings = run(tmp_path, ffmpeg_binary, failing_hardware(), False)
    assert writer.error is not None and writer.error.startswith("h264_nvenc failed")
    assert warnings == [] and writer.settings.encoder == "h264_nvenc"
