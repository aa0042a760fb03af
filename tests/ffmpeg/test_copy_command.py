"""encodectl/ffmpeg/copy_command.py: videos joined by stream copy, a fragmented stream remuxed.

Where they serve: a stream's spilled frames joined after its video, and a cut-off stream recovered
(tests/test_stream_lifecycle.py, tests/test_stream.py)."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from encodectl.errors import InputError
from encodectl.ffmpeg.copy_command import build_join_command, build_remux_command, concat_list
from encodectl.models import FFmpegBinary
from tests.conftest import decode


def tiny_video(ffmpeg_binary: FFmpegBinary, path: Path, frames: int, *extra: str) -> Path:
    argv = [str(ffmpeg_binary.path), "-hide_banner", "-loglevel", "error", "-f", "lavfi"]
    argv += ["-i", "testsrc=size=64x48:rate=10", "-frames:v", str(frames), "-c:v", "libx264", *extra, str(path)]
    subprocess.run(argv, check=True)
    return path


@pytest.mark.same_on_every_ffmpeg("the list is text: no ffmpeg runs")
def test_concat_list_durations_never_add_up_rounding(tmp_path: Path) -> None:
    third = Fraction(1, 3)
    text = concat_list([(tmp_path / "a.mp4", third), (tmp_path / "b.mp4", third), (tmp_path / "c.mp4", third)])
    lines = text.splitlines()
    assert lines[0] == "ffconcat version 1.0"
    assert lines[1] == f"file '{tmp_path / 'a.mp4'}'"
    assert [line for line in lines if line.startswith("duration")] == [
        "duration 0.333333",
        "duration 0.333334",
        "duration 0.333333",
    ]


@pytest.mark.same_on_every_ffmpeg("the list is text: no ffmpeg runs")
def test_concat_list_quotes_and_refuses_line_breaks(tmp_path: Path) -> None:
    assert "file '" + str(tmp_path) + "/it'\\''s.mp4'" in concat_list([(tmp_path / "it's.mp4", Fraction(1))])
    with pytest.raises(InputError, match="line break"):
        concat_list([(tmp_path / "two\nlines.mp4", Fraction(1))])


def test_join_puts_the_videos_one_after_the_other(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    first = tiny_video(ffmpeg_binary, tmp_path / "first.mp4", 3)
    second = tiny_video(ffmpeg_binary, tmp_path / "second.mp4", 2)
    listing = tmp_path / "list.txt"
    listing.write_text(concat_list([(first, Fraction(3, 10)), (second, Fraction(2, 10))]))
    target = tmp_path / "joined.mp4"
    subprocess.run(build_join_command(ffmpeg_binary, listing, target, 15360), check=True)
    video = decode(target)
    assert video.frames == 5
    assert video.timestamps == [Fraction(i, 10) for i in range(5)]


def test_remux_turns_a_fragmented_stream_into_a_plain_mp4(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    fragmented = tiny_video(ffmpeg_binary, tmp_path / "stream.mp4", 4, "-movflags", "+frag_keyframe+empty_moov")
    assert b"moof" in fragmented.read_bytes()
    target = tmp_path / "plain.mp4"
    argv = build_remux_command(ffmpeg_binary, fragmented, target, matroska=False)
    assert argv[-3:] == ["-f", "mp4", str(target)]
    subprocess.run(argv, check=True)
    data = target.read_bytes()
    assert b"moof" not in data and data.index(b"moov") < data.index(b"mdat")  # index first
    assert decode(target).frames == 4
