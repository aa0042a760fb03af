"""encodectl/lerobot/versions.py: which LeRobot release made a dataset, and the camera info it writes.

The info written into finished fixtures of each release, compared with LeRobot's own:
tests/test_lerobot_versions.py."""

from __future__ import annotations

from typing import Any

import pytest

from encodectl.errors import UsageError
from encodectl.lerobot.versions import (
    LEROBOT_DEPTH_EXTRA_OPTIONS,
    EncoderRecord,
    StreamInfo,
    camera_info,
    decide_release,
    encoder_record,
)
from encodectl.models import DepthQuantization, LeRobotRelease

pytestmark = pytest.mark.same_on_every_ffmpeg("metadata and commands read as data: no ffmpeg runs")

STREAM = StreamInfo(height=48, width=64, codec="av1", pix_fmt="yuv420p", fps=30, channels=3)


def dataset(version: str = "v3.0", info: dict[str, Any] | None = None, **first: Any) -> dict[str, Any]:
    feature: dict[str, Any] = {"dtype": "video"} | ({"info": info} if info is not None else {})
    return {"codebase_version": version, **first, "features": {"top": feature}}


@pytest.mark.parametrize(
    ("document", "release", "reason"),
    [(dataset("v2.1"), "0.3", "format v2.1"),
     (dataset(info={"video.codec": "av1", "video.g": 2}), "0.6", "a camera's info in LeRobot 0.6's form"),
     (dataset(info={"video.codec": "av1", "video.is_depth_map": False}), "0.4",
      "a camera's info in LeRobot 0.4's form"),
     (dataset(info={"is_depth_map": True}), "0.6", "a depth camera (LeRobot 0.6 and later)"),
     ({"codebase_version": "v3.0", "fps": 30, "features": {}}, "0.6",
      "info.json laid out as LeRobot 0.6 writes it"),
     ({"codebase_version": "v3.0", "robot_type": "so100", "total_episodes": 0}, "0.4",
      "info.json laid out as LeRobot 0.4 and 0.5 write it")],
)  # fmt: skip
def test_the_first_rule_that_applies_decides(document: dict[str, Any], release: str, reason: str) -> None:
    choice = decide_release(document, None)
    assert (choice.release, choice.reason, choice.assumed) == (LeRobotRelease(release), reason, False)
    assert choice.note == f"camera info written as LeRobot {release} writes it"


def test_an_override_must_fit_the_format_and_a_silent_dataset_is_assumed_06() -> None:
    assert decide_release(dataset(), LeRobotRelease.v04).reason == "--lerobot-version"
    with pytest.raises(UsageError, match=r"^--lerobot-version 0.3 does not fit a format v3.0 dataset"):
        decide_release(dataset(), LeRobotRelease.v03)
    with pytest.raises(UsageError, match=r"^--lerobot-version 0.6 does not fit a format v2.1 dataset"):
        decide_release(dataset("v2.1"), LeRobotRelease.v06)
    assumed = decide_release({"features": {}, "codebase_version": "v3.0"}, None)
    assert assumed.assumed and assumed.release is LeRobotRelease.v06
    assert assumed.note.startswith("camera info written as LeRobot 0.6 writes it (assumed: ")


def test_camera_info_as_04_writes_it() -> None:
    info = camera_info(LeRobotRelease.v04, STREAM, {"anything": 1}, EncoderRecord(), depth=False)
    assert list(info.items()) == [
        ("video.height", 48), ("video.width", 64), ("video.codec", "av1"), ("video.pix_fmt", "yuv420p"),
        ("video.is_depth_map", False), ("video.fps", 30), ("video.channels", 3), ("has_audio", False)]  # fmt: skip


def test_camera_info_as_06_writes_it_keeps_the_recorders_keys_first() -> None:
    record = encoder_record(["-g", "2", "-crf", "30", "-preset", "12"])
    declared = {"is_depth_map": True, "depth_unit": "mm"}
    depth = camera_info(LeRobotRelease.v06, STREAM, declared, record, depth=True)
    assert list(depth)[:3] == ["is_depth_map", "depth_unit", "video.height"] and depth["is_depth_map"] is True
    assert (depth["video.g"], depth["video.crf"], depth["video.preset"], depth["video.video_backend"]) == (
        2, 30, 12, "pyav")  # fmt: skip
    assert (depth["video.depth_min"], depth["video.depth_max"], depth["video.use_log"]) == (0.01, 10.0, True)
    # The legacy marker is migrated to the canonical key, which says what the video is.
    colour = camera_info(LeRobotRelease.v06, STREAM, {"video.is_depth_map": True}, record, depth=False)
    assert "video.is_depth_map" not in colour and colour["is_depth_map"] is False
    assert "video.depth_min" not in colour and list(colour)[-1] == "is_depth_map"


def test_the_encoder_record_reads_the_command_that_made_the_video() -> None:
    svt = encoder_record(["ffmpeg", "-c:v", "libsvtav1", "-g", "2", "-crf", "30", "-preset", "8", "-preset", "12",
                          "-svtav1-params", "tune=0:fast-decode=2"])  # fmt: skip
    assert (svt.g, svt.crf, svt.preset, svt.fast_decode, svt.extra_options) == (2, 30, 12, 2, {})
    nvenc = encoder_record(["-c:v", "h264_nvenc", "-cq", "23.5", "-preset", "p4", "-tune", "fastdecode"])
    assert (nvenc.g, nvenc.crf, nvenc.preset, nvenc.fast_decode) == (None, 23.5, "p4", 1)
    depth = encoder_record(["-c:v", "libx265"], DepthQuantization())
    assert depth.extra_options == LEROBOT_DEPTH_EXTRA_OPTIONS and depth.depth == DepthQuantization()
