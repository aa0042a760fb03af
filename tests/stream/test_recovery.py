"""encodectl/stream/recovery.py: `recover`: what interrupted streams left, turned into verified videos.

Streams killed mid-recording (SIGKILL, power cut, spilled frames) and recovered: tests/test_stream.py,
tests/test_stream_lifecycle.py, tests/test_interrupt.py."""

from __future__ import annotations

import os
import subprocess
from fractions import Fraction
from pathlib import Path

from encodectl.ffmpeg.command import build_stream_command
from encodectl.ffmpeg.encoders import encoder_settings, get_spec
from encodectl.models import EncodeOptions, FFmpegBinary
from encodectl.stream.recovery import complete_fragments, hold_stream_file, recover
from tests.conftest import decode


def stream_file(ffmpeg_binary: FFmpegBinary, target: Path, frames: int) -> Path:
    settings = encoder_settings(get_spec("libx264"), EncodeOptions(fps=10, gop=2))
    argv = build_stream_command(ffmpeg_binary, settings, 64, 48, Fraction(10), target)
    subprocess.run(argv, input=b"".join(bytes([n * 20]) * (64 * 48 * 3) for n in range(frames)), check=True)
    return target


def test_a_cut_off_stream_gives_its_complete_fragments(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    fragmented = stream_file(ffmpeg_binary, tmp_path / ".ep.mp4.123-abc.stream.mp4", 6)
    assert complete_fragments(fragmented) == 3  # a fragment a keyframe, a keyframe every 2 frames
    data = fragmented.read_bytes()
    fragmented.write_bytes(data[: data.rindex(b"moof") + 20])  # cut off in its last fragment
    assert complete_fragments(fragmented) == 2

    (result,) = recover(tmp_path, ffmpeg_binary)
    assert (result.status, result.output, result.frames) == ("recovered", tmp_path / "ep.mp4", 4)
    video = decode(tmp_path / "ep.mp4")
    assert video.frames == 4 and video.timestamps == [Fraction(n, 10) for n in range(4)]
    assert not fragmented.exists()
    assert recover(tmp_path, ffmpeg_binary) == []


def test_recover_never_takes_a_name_in_use_nor_a_file_being_written(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    (tmp_path / "ep.mp4").write_bytes(b"another run's video")
    stream_file(ffmpeg_binary, tmp_path / ".ep.mp4.1-a.stream.mp4", 2)
    (result,) = recover(tmp_path, ffmpeg_binary)
    assert result.output == tmp_path / "ep.recovered.mp4" and decode(result.output).frames == 2
    assert (tmp_path / "ep.mp4").read_bytes() == b"another run's video"

    held = tmp_path / ".busy.mp4.2-b.stream.mp4"
    lock = hold_stream_file(held)  # its encoder still writes it
    try:
        (busy,) = recover(tmp_path, ffmpeg_binary)
    finally:
        os.close(lock)
    assert (busy.status, busy.fragmented) == ("in use", held) and held.exists()


def test_a_stream_cut_before_its_first_fragment_is_removed(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    fragmented = stream_file(ffmpeg_binary, tmp_path / ".ep.mp4.1-a.stream.mp4", 2)
    data = fragmented.read_bytes()
    fragmented.write_bytes(data[: data.index(b"moof")])  # the header only
    (result,) = recover(tmp_path, ffmpeg_binary)
    assert result.status == "empty" and not fragmented.exists() and not (tmp_path / "ep.mp4").exists()
