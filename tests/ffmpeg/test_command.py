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
    build_encode_command,
    build_stream_command,
    checks_while_encoding,
    demuxer_time_base,
    image2_pattern,
    mp4_timescale,
    passthrough_timing,
    strict_decoding,
)
from encodectl.ffmpeg.encoders import encoder_settings, get_spec
from encodectl.frames.synthetic import write_depth_frames
from encodectl.models import DepthMode, EncodeListings, EncodeOptions, EncoderSettings, FFmpegBinary
from tests.conftest import decode, depth_job

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


@TEXT_ONLY
def test_the_check_while_encoding_is_only_for_ffmpeg_7_and_matroska(tmp_path: Path) -> None:
    def binary(version: str) -> FFmpegBinary:
        return FFmpegBinary(path=tmp_path / "ffmpeg", version=version, source="PATH")

    ffv1 = EncoderSettings(encoder="ffv1", codec="ffv1", pix_fmt="gray16le", depth=DepthMode.lossless,
                           container="matroska", gop=1)  # fmt: skip
    assert checks_while_encoding(binary("7.0"), ffv1) and checks_while_encoding(binary("n9.0.2"), ffv1)
    assert not checks_while_encoding(binary("6.1.1"), ffv1) and not checks_while_encoding(binary("5.1.9"), ffv1)
    assert not checks_while_encoding(binary("N-118000-gabcdef"), ffv1)  # a git build of unknown age
    hevc = ffv1.model_copy(update={"encoder": "libx265", "codec": "hevc", "container": "mp4"})
    assert not checks_while_encoding(binary("n9.0.2"), hevc)  # MP4 rewrites HEVC's packets: nothing to compare
    colour = ffv1.model_copy(update={"depth": None, "pix_fmt": "yuv420p"})
    assert not checks_while_encoding(binary("n9.0.2"), colour)


def test_a_depth_encode_that_checks_itself(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    # The command's shape: the video and the packets' listing through one tee muxer, output 0, which the
    # loopback decoder (with the job's thread budget) decodes; the tee's separators escaped in the paths.
    folder = tmp_path / "a|b [c]:d'e\\f"
    write_depth_frames(ffmpeg_binary, folder / "ep", 3, (64, 48))
    job = depth_job(ffmpeg_binary, folder / "ep").model_copy(update={"threads": 3})
    listings = EncodeListings.in_folder(tmp_path / "lists", loopback=True)
    nine = FFmpegBinary(path=tmp_path / "ffmpeg", version="n9.0.2", source="PATH")
    argv = build_encode_command(job, nine, folder / "ep.mkv", listings=listings)
    escaped = str(folder).replace(" ", "\\ ").replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")
    escaped = escaped.replace("\\f", "\\\\f").replace(":", "\\:").replace("'", "\\'")
    tee = f"[cues_to_front=1:f=matroska]{escaped}/ep.mkv|[f=framemd5]{tmp_path}/lists/packets.framemd5"
    assert argv[argv.index("tee") - 1] == "-f" and argv.index("tee") < argv.index(tee)
    assert argv.index(tee) < argv.index(str(tmp_path / "lists" / "source.framemd5"))  # output 0: the video
    assert argv[argv.index("-dec") - 2 : argv.index("-dec") + 2] == ["-threads", "3", "-dec", "0:0"]
    assert argv[-1] == str(tmp_path / "lists" / "decoded.framemd5") and "-f matroska" not in " ".join(argv)
    five = nine.model_copy(update={"version": "5.1.9"})
    old = build_encode_command(job, five, folder / "ep.mkv", listings=EncodeListings.in_folder(tmp_path, False))
    assert "-dec" not in old and "tee" not in old and old[old.index(str(folder / "ep.mkv")) - 1] != "tee"
