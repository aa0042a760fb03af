"""encodectl/frames/synthetic.py: generated recordings (camera-like and depth frames) for the demo, the
benchmarks and the tests.

Every suite uses them through tests/conftest.py (make_frames); depth frames through a video and back:
tests/test_depth.py."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from encodectl.frames.synthetic import FrameLoop, depth_maps, write_dataset, write_depth_frames, write_frames
from encodectl.models import FFmpegBinary


def test_write_frames_numbers_them_as_asked(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    made = write_frames(ffmpeg_binary, tmp_path, 3, (64, 48), start_number=9, prefix="f", padding=0, extension=".jpg")
    assert [path.name for path in made] == ["f9.jpg", "f10.jpg", "f11.jpg"]
    assert sorted(made) == sorted(tmp_path.iterdir())


def test_write_dataset_has_lerobots_image_layout(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    folders = write_dataset(ffmpeg_binary, tmp_path, cameras=2, episodes=1, frames=2)
    parts = [folder.relative_to(tmp_path).parts for folder in folders]
    assert [(images, episode) for images, _, episode in parts] == [("images", "episode_000000")] * 2
    assert parts[0][1] != parts[1][1]  # two cameras
    assert all(len(list(folder.glob("frame_*.png"))) == 2 for folder in folders)


@pytest.mark.same_on_every_ffmpeg("numpy arrays and file writes: no ffmpeg runs")
def test_depth_maps_look_like_a_depth_camera() -> None:
    maps = list(depth_maps(3, (64, 48), seed=1))
    assert len(maps) == 3 and maps[0].shape == (48, 64) and maps[0].dtype == np.dtype("<u2")
    assert (maps[0] == 0).any()  # holes
    assert maps[0][maps[0] > 0].min() > 300 and maps[0].max() < 13000
    assert not np.array_equal(maps[0], maps[1])  # the arm moves
    assert np.array_equal(maps[0], next(depth_maps(1, (64, 48), seed=1)))  # the same for the same seed


@pytest.mark.same_on_every_ffmpeg("numpy arrays and file writes: no ffmpeg runs")
def test_a_frame_loop_cycles_and_writes_whole_files(tmp_path: Path) -> None:
    loop = FrameLoop([b"one", b"second"])
    assert loop.write(tmp_path / "a" / "0.png", 0) == 3
    assert loop.write(tmp_path / "a" / "3.png", 3) == 6
    assert (tmp_path / "a" / "3.png").read_bytes() == b"second"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["0.png", "3.png"]  # no temporary left
    with pytest.raises(ValueError, match="at least one frame"):
        FrameLoop([])


def test_depth_frames_hold_the_maps_exactly(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    (path,) = write_depth_frames(ffmpeg_binary, tmp_path, 1, (64, 48), seed=2)
    with av.open(str(path)) as picture:
        frame = next(picture.decode(video=0)).to_ndarray()
    assert np.array_equal(frame.astype("<u2"), next(depth_maps(1, (64, 48), seed=2)))
