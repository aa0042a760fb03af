"""encodectl/lerobot/plan.py: what a LeRobot dataset lacks, and the settings to make it with.

Datasets finished for real, and options refused in one line: tests/test_lerobot.py, tests/test_bad_input.py;
hostile metadata and frames that are links: tests/test_hostile_metadata.py."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from encodectl.errors import EncodectlError, InputError
from encodectl.lerobot.meta import read_info
from encodectl.lerobot.plan import dataset_options, frame_file, plan_dataset
from encodectl.models import Codec, EncodeOptions, JobStatus, LeRobotRelease, Profile
from tests.conftest import copy_lerobot_fixture as copy

pytestmark = pytest.mark.same_on_every_ffmpeg("metadata and frame folders read: no ffmpeg runs")

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lerobot"
TOP, WRIST = "observation.images.top", "observation.images.wrist"


def test_the_episodes_without_video_become_pending_and_a_cut_off_one_is_reported(tmp_path: Path) -> None:
    root = copy("v30_partial", tmp_path)
    plan = plan_dataset(root, EncodeOptions())
    assert [(p.key, p.episode.index, len(p.frames)) for p in plan.pending] == [(TOP, 2, 4), (WRIST, 2, 4)]
    source = plan.pending[0].source
    assert source.directory == root / "images" / TOP / "episode-000002"
    assert source.output == root / ".encodectl" / "lerobot-staging" / TOP / "episode-000002.mp4"
    assert (source.expected_frames, source.expected_size, source.expected_depth) == (4, (64, 64), False)
    assert [(r.status, r.camera, r.episode) for r in plan.reported] == [
        (JobStatus.skipped, TOP, "episode-000003"), (JobStatus.skipped, WRIST, "episode-000003")]  # fmt: skip
    assert plan.reported[0].reason == (
        "episode 3 is not in the dataset's metadata (a recording cut off mid-episode?): its frames are left alone"
    )
    # Without encoder options: LeRobot's own settings, the codec the dataset's videos have.
    assert (plan.options.profile, plan.options.codec, plan.options.gop, plan.options.fps) == (
        Profile.lerobot, Codec.av1, 2, 30)  # fmt: skip
    assert plan.record == {} and plan.release is not None and plan.release.release is LeRobotRelease.v04
    assert root / "meta" / "info.json" in plan.files


def test_an_episode_without_video_or_frames_is_a_failure_said_per_camera(tmp_path: Path) -> None:
    root = copy("v30_partial", tmp_path)
    shutil.rmtree(root / "images" / WRIST / "episode-000002")
    plan = plan_dataset(root, EncodeOptions())
    assert [p.key for p in plan.pending] == [TOP]
    failed = [r for r in plan.reported if r.status is JobStatus.failed]
    assert [(r.camera, r.reason) for r in failed] == [
        (WRIST, f"episode 2 has no video and no frames at {root / 'images' / WRIST / 'episode-000002'}")]  # fmt: skip


def test_options_given_are_recorded_and_those_that_do_not_apply_refused(tmp_path: Path) -> None:
    info = read_info(copy("v30_partial", tmp_path))
    options, record = dataset_options(info, EncodeOptions(quality=30))
    assert (options.codec, options.quality, options.profile, record) == (Codec.av1, 30, Profile.default,
                                                                          {"quality": "30"})  # fmt: skip
    for given, message in [
        ({"output": tmp_path / "x"}, "-o does not apply to a LeRobot dataset"),
        ({"overwrite": True}, "--overwrite does not apply to a LeRobot dataset"),
        ({"fps": 25}, f"--fps 25 disagrees with the dataset's fps 30 ({info.root}/meta/info.json)"),
        ({"codec": "h264"}, f"the dataset's videos are av1 yuv420p ({info.root}/meta/info.json); h264 yuv420p "
                            "would mix two kinds in one dataset: drop --codec"),
    ]:  # fmt: skip
        with pytest.raises(EncodectlError) as caught:
            dataset_options(info, EncodeOptions(**given))  # type: ignore[arg-type]
        assert str(caught.value).startswith(message)


def test_a_depth_camera_takes_lerobots_depth_encoding_only(tmp_path: Path) -> None:
    info = read_info(copy("v30_061_pending", tmp_path))
    with pytest.raises(EncodectlError, match=r"^--depth lossless does not apply to the depth cameras of "):
        dataset_options(info, EncodeOptions(depth="lossless"))
    plan = plan_dataset(info.root, EncodeOptions())
    depth = [p.source for p in plan.pending if p.key == "observation.images.depth"]
    assert len(depth) == 3 and all(s.expected_depth and s.depth_quantization is not None for s in depth)


def test_a_frame_that_links_out_of_the_dataset_is_refused(tmp_path: Path) -> None:
    root = copy("v30_partial", tmp_path)
    info = read_info(root)
    folder = root / "images" / TOP / "episode-000002"
    frame = sorted(folder.iterdir())[0]
    planned = frame_file(info, frame)
    assert planned.unchanged() and planned.link is None
    os.utime(frame, ns=(1, 1))
    assert not planned.unchanged()
    (tmp_path / "elsewhere.png").write_bytes(frame.read_bytes())
    frame.unlink()
    frame.symlink_to(tmp_path / "elsewhere.png")
    with pytest.raises(InputError, match="outside the dataset"):
        frame_file(info, frame)
    frame.unlink()
    frame.symlink_to(folder / "gone.png")
    with pytest.raises(InputError, match="is a broken link, not a frame"):
        frame_file(info, frame)
