"""encodectl/stream/finish.py: a stream's file into the final video, verified and renamed; or kept for
`recover`.

Streams closed, aborted and detached under a recorder: tests/test_stream.py, tests/test_stream_lifecycle.py;
depth streams checked by hash: tests/test_depth.py."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from encodectl.errors import EncodeError, VerificationError
from encodectl.ffmpeg.command import build_stream_command
from encodectl.ffmpeg.encoders import encoder_settings, get_spec
from encodectl.models import EncodeOptions, EncoderSettings, FFmpegBinary
from encodectl.stream.finish import finish_video, keep_for_recovery
from tests.conftest import decode

FPS = Fraction(10)


def stream_file(ffmpeg_binary: FFmpegBinary, target: Path, frames: int) -> EncoderSettings:
    settings = encoder_settings(get_spec("libx264"), EncodeOptions(fps=FPS))
    argv = build_stream_command(ffmpeg_binary, settings, 64, 48, FPS, target)
    subprocess.run(argv, input=b"".join(bytes([n * 30]) * (64 * 48 * 3) for n in range(frames)), check=True)
    return settings


def test_the_final_video_is_verified_then_named(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    fragmented, output = tmp_path / ".ep.mp4.1-ab.stream.mp4", tmp_path / "ep.mp4"
    settings = stream_file(ffmpeg_binary, fragmented, 5)
    finish_video(ffmpeg_binary, fragmented, output, added=5, written=5, fps=FPS, size=(64, 48), settings=settings,
                 hashes=[])  # fmt: skip
    video = decode(output)
    assert video.frames == 5 and video.timestamps == [Fraction(n, 10) for n in range(5)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [fragmented.name, "ep.mp4"]  # no temporary left


def test_a_video_that_is_not_what_was_given_is_never_named(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    fragmented, output = tmp_path / ".ep.mp4.1-ab.stream.mp4", tmp_path / "ep.mp4"
    settings = stream_file(ffmpeg_binary, fragmented, 5)
    with pytest.raises(EncodeError, match="only 4 of 5 frames reached ffmpeg"):
        finish_video(ffmpeg_binary, fragmented, output, added=5, written=4, fps=FPS, size=(64, 48),
                     settings=settings, hashes=[])  # fmt: skip
    with pytest.raises(VerificationError):
        finish_video(ffmpeg_binary, fragmented, output, added=6, written=6, fps=FPS, size=(64, 48),
                     settings=settings, hashes=[])  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == [fragmented.name]


@pytest.mark.same_on_every_ffmpeg("files renamed: no ffmpeg runs")
def test_keep_for_recovery_names_it_for_recover_or_removes_an_empty_one(tmp_path: Path) -> None:
    output = tmp_path / "ep.mp4"
    empty = tmp_path / "a.stream.mp4"
    empty.write_bytes(b"")
    assert keep_for_recovery(empty, output, "failed") is None and not empty.exists()
    written = tmp_path / "b.stream.mp4"
    written.write_bytes(b"fragments")
    kept = keep_for_recovery(written, output, "failed")
    assert kept is not None and kept.parent == tmp_path and not written.exists()
    assert kept.name.startswith(".ep.mp4.failed-") and kept.name.endswith(".stream.mp4")
    assert kept.read_bytes() == b"fragments"
