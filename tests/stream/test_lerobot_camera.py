"""encodectl/stream/lerobot_camera.py: one camera of a LeRobot episode: its StreamEncoder, started ahead or
off the recorder's thread, and the statistics LeRobot takes, gathered on a thread of its own.

Whole episodes through LeRobot's contract, depth cameras, spills, crashes: tests/test_lerobot_streaming.py."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from encodectl.errors import EncodeError, InputError
from encodectl.models import FFmpegBinary
from encodectl.stream.lerobot_camera import LeRobotCamera
from encodectl.stream.lerobot_settings import LeRobotEncoderConfig, depth_defaults, plan_for
from tests.conftest import decode, files_in

H264 = LeRobotEncoderConfig(vcodec="h264", preset="ultrafast")


def camera(folder: Path, binary: FFmpegBinary, size: tuple[int, int] | None = None) -> LeRobotCamera:
    return LeRobotCamera("top", folder / "top.mp4", 15, plan_for(H264, None, binary), binary, depth=False, size=size)


def test_chw_floats_are_encoded_as_lerobot_converts_them_with_their_statistics(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    rgb = [np.full((48, 64, 3), (40 * i, 100, 200), dtype=np.uint8) for i in range(3)]
    cam = camera(tmp_path, ffmpeg_binary)
    for frame in rgb:
        cam.feed(frame.transpose(2, 0, 1).astype(np.float32) / 255)  # CxHxW in 0-1, as LeRobot may feed
    path, stats = cam.finish()
    assert path == tmp_path / "top.mp4" and not cam.started_early and cam.size == (64, 48)
    video = decode(path)
    assert (video.frames, video.width, video.height) == (3, 64, 48)
    assert video.timestamps == [Fraction(i, 15) for i in range(3)]
    assert stats is not None and stats["count"].tolist() == [3 * 64 * 48]  # pixels, as LeRobot 0.6 counts
    expected = np.stack([(frame.astype(np.float32) / 255 * 255).astype(np.uint8) for frame in rgb])
    assert stats["mean"] == pytest.approx(expected.reshape(-1, 3).mean(axis=0))
    assert stats["max"].tolist() == expected.reshape(-1, 3).max(axis=0).tolist()


def test_an_encoder_started_ahead_for_another_size_is_replaced(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    cam = camera(tmp_path, ffmpeg_binary, size=(64, 48))
    assert cam.started_early
    for _ in range(2):
        cam.feed(np.zeros((16, 32, 3), dtype=np.uint8))
    path, _ = cam.finish()
    video = decode(path)
    assert (video.frames, video.width, video.height) == (2, 32, 16)
    assert files_in(tmp_path) == ["top.mp4"]  # the early encoder's stream file went with it


def test_an_episode_without_frames_or_cancelled_leaves_nothing(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    with pytest.raises(EncodeError, match=r"^top: no frame was fed this episode$"):
        camera(tmp_path, ffmpeg_binary, size=(64, 48)).finish()
    cancelled = camera(tmp_path, ffmpeg_binary)
    cancelled.feed(np.zeros((48, 64, 3), dtype=np.uint8))
    cancelled.cancel()
    assert files_in(tmp_path) == []


@pytest.mark.same_on_every_ffmpeg("the frame is refused before any encoder starts")
def test_a_depth_frame_of_colour_shape_is_refused(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    depth = LeRobotCamera("depth", tmp_path / "d.mp4", 15, plan_for(depth_defaults(), None, ffmpeg_binary),
                          ffmpeg_binary, depth=True)  # fmt: skip
    with pytest.raises(InputError, match=r"^depth: a depth frame is HxW or HxWx1, not 48x64x3$"):
        depth.feed(np.zeros((48, 64, 3), dtype=np.uint16))
    depth.cancel()


def test_the_cameras_statistics_thread_runs_below_the_recorder(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    from tests.stream.test_encoder import steps_below

    cam = camera(tmp_path, ffmpeg_binary)
    try:
        assert steps_below(cam._stats_thread, 10) == 10
    finally:
        cam.cancel()
