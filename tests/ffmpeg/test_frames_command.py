"""encodectl/ffmpeg/frames_command.py: the commands that make test frames and decode image files to pixels.

Every suite's frames come from them (tests/conftest.py's make_frames); depth frames: tests/test_depth.py."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import av
import pytest

from encodectl.ffmpeg.frames_command import (
    build_decode_images_command,
    build_test_frames_command,
    camera_pattern,
)
from encodectl.models import FFmpegBinary


def frames(ffmpeg_binary: FFmpegBinary, folder: Path, seed: int, size: tuple[int, int] = (63, 47)) -> list[Path]:
    argv = build_test_frames_command(
        ffmpeg_binary, folder, 3, size, start_number=5, prefix="f_", padding=4, extension=".png",
        pix_fmt=None, seed=seed, noise=0,
    )  # fmt: skip
    folder.mkdir()
    subprocess.run(argv, check=True)
    return sorted(folder.iterdir())


def test_numbered_frames_of_an_odd_size(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    made = frames(ffmpeg_binary, tmp_path / "a", seed=1)
    assert [path.name for path in made] == ["f_0005.png", "f_0006.png", "f_0007.png"]
    with av.open(str(made[0])) as picture:
        assert (picture.streams.video[0].width, picture.streams.video[0].height) == (63, 47)
    other = frames(ffmpeg_binary, tmp_path / "b", seed=2)

    def digest(path: Path) -> str:
        return hashlib.sha1(path.read_bytes()).hexdigest()

    assert digest(made[0]) != digest(other[0])  # another seed, another camera


@pytest.mark.same_on_every_ffmpeg("the filter text is built by encodectl: no ffmpeg runs")
def test_camera_pattern_crops_odd_sizes_exactly() -> None:
    pattern = camera_pattern((63, 47), seed=1, noise=0)
    assert pattern.startswith("testsrc2=size=64x48:rate=30,hue=h=47")
    assert pattern.endswith("crop=63:47:0:0") and "noise" not in pattern
    assert "noise=alls=5:allf=t+u:all_seed=3" in camera_pattern((64, 48), seed=2, noise=5)


def test_decode_images_gives_raw_rgb_of_each_file(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    made = frames(ffmpeg_binary, tmp_path / "f", seed=1, size=(64, 48))
    piped = b"".join(path.read_bytes() for path in made)
    completed = subprocess.run(build_decode_images_command(ffmpeg_binary), input=piped, capture_output=True)
    assert completed.returncode == 0
    assert len(completed.stdout) == 3 * 64 * 48 * 3
    with av.open(str(made[1])) as picture:
        second = next(picture.decode(video=0)).to_ndarray(format="rgb24").tobytes()
    assert completed.stdout[64 * 48 * 3 : 2 * 64 * 48 * 3] == second
