"""encodectl/ffmpeg/readback_command.py: the commands that read a video back (packets, decoded frames, hashes)
and name the frames that decode.

What the read-back checks make of them: tests/test_encode.py (verification), tests/test_depth.py (hashes),
tests/test_edge_cases.py (corrupt frames)."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

from encodectl.ffmpeg.command import image2_pattern
from encodectl.ffmpeg.readback_command import build_decodable_frames_command, build_hash_command, build_read_command
from encodectl.models import FFmpegBinary
from tests.corrupt import garble_png_image_data


def tiny_video(ffmpeg_binary: FFmpegBinary, path: Path, frames: int) -> Path:
    argv = [str(ffmpeg_binary.path), "-hide_banner", "-loglevel", "error", "-f", "lavfi"]
    argv += ["-i", "testsrc=size=64x48:rate=10", "-frames:v", str(frames), "-c:v", "libx264", str(path)]
    subprocess.run(argv, check=True)
    return path


def listing(argv: list[str]) -> list[str]:
    completed = subprocess.run(argv, capture_output=True, text=True, check=True)
    return [line for line in completed.stdout.splitlines() if line and not line.startswith("#")]


def test_read_lists_every_frame_with_its_own_timestamp(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    video = tiny_video(ffmpeg_binary, tmp_path / "v.mp4", 4)
    for decode in (False, True):
        lines = listing(build_read_command(ffmpeg_binary, video, decode))
        assert len(lines) == 4
        stamps = sorted(int(line.split(",")[2]) for line in lines)
        assert stamps == [stamps[0] + index * (stamps[1] - stamps[0]) for index in range(4)]


def test_hash_gives_one_md5_per_decoded_frame(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    video = tiny_video(ffmpeg_binary, tmp_path / "v.mp4", 3)
    hashes = [line.split(",")[-1].strip() for line in listing(build_hash_command(ffmpeg_binary, video, "gray"))]
    assert len(hashes) == 3 and len(set(hashes)) == 3 and all(len(h) == 32 for h in hashes)


def test_decodable_frames_names_those_that_decode(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Any
) -> None:
    made = make_frames(tmp_path / "frames", count=4)
    garble_png_image_data(made[2])
    pattern = image2_pattern(tmp_path / "frames", "frame_", 6, ".png")
    argv = build_decodable_frames_command(ffmpeg_binary, pattern, 0, Fraction(10), ".png")
    completed = subprocess.run(argv, capture_output=True, text=True)
    lines = [line for line in completed.stdout.splitlines() if line and not line.startswith("#")]
    assert [int(line.split(",")[1]) for line in lines] == [0, 1, 3]
