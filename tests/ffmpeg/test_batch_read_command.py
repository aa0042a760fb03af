"""encodectl/ffmpeg/batch_read_command.py: several videos read back in one ffmpeg run (for `check`).

What `check` makes of the listing, on datasets: tests/test_check.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from encodectl.ffmpeg.batch_read_command import build_batch_read_command
from encodectl.models import FFmpegBinary


def tiny_video(ffmpeg_binary: FFmpegBinary, path: Path, frames: int) -> Path:
    argv = [str(ffmpeg_binary.path), "-hide_banner", "-loglevel", "error", "-f", "lavfi"]
    argv += ["-i", "testsrc=size=64x48:rate=10", "-frames:v", str(frames), "-c:v", "libx264", str(path)]
    subprocess.run(argv, check=True)
    return path


def lines_per_stream(listing: str) -> dict[int, int]:
    counts: dict[int, int] = {}
    for line in listing.splitlines():
        if line and not line.startswith("#"):
            stream = int(line.split(",")[0])
            counts[stream] = counts.get(stream, 0) + 1
    return counts


@pytest.mark.parametrize("decode", [False, True])
def test_stream_k_of_the_listing_is_the_kth_file(tmp_path: Path, ffmpeg_binary: FFmpegBinary, decode: bool) -> None:
    paths = [tiny_video(ffmpeg_binary, tmp_path / f"{n}.mp4", n) for n in (3, 5, 2)]
    completed = subprocess.run(
        build_batch_read_command(ffmpeg_binary, paths, decode), capture_output=True, text=True, check=True
    )
    assert lines_per_stream(completed.stdout) == {0: 3, 1: 5, 2: 2}


def test_decoding_fails_the_run_on_a_damaged_file(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    good = tiny_video(ffmpeg_binary, tmp_path / "good.mp4", 3)
    bad = tiny_video(ffmpeg_binary, tmp_path / "bad.mp4", 3)
    data = bytearray(bad.read_bytes())
    start = data.index(b"mdat") + 4
    size = int.from_bytes(data[start - 8 : start - 4], "big") - 8
    data[start : start + size] = bytes((byte * 7 + 13) % 256 for byte in data[start : start + size])  # the index kept
    bad.write_bytes(bytes(data))
    argv = build_batch_read_command(ffmpeg_binary, [good, bad], decode=True)
    assert "-xerror" in argv
    assert subprocess.run(argv, capture_output=True, text=True).returncode != 0
    assert (
        subprocess.run(build_batch_read_command(ffmpeg_binary, [good, bad], False), capture_output=True).returncode == 0
    )
