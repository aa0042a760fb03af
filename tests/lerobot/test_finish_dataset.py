"""encodectl/lerobot/finish_dataset.py: `encode ROOT` on a LeRobot dataset: plan, encode, place, one commit.

Every fixture finished and loaded back by LeRobot: tests/test_lerobot.py, tests_lerobot/; commits cut off
and resumed: tests/test_lerobot.py; rows rebuilt first: tests/lerobot/test_heal.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from encodectl.errors import InputError
from encodectl.frames.layout import EpisodeSource
from encodectl.lerobot.finish_dataset import check_frames_as_planned, finish_datasets
from encodectl.lerobot.plan import plan_dataset
from encodectl.models import EncodeOptions, FailureKind, FFmpegBinary, JobResult, JobStatus
from encodectl.run.engine import encode_sources
from tests.conftest import copy_lerobot_fixture as copy

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lerobot"
TOP, WRIST = "observation.images.top", "observation.images.wrist"


def test_a_v30_dataset_finished_its_frames_deleted(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    """v30_partial: episode 2 pending. It is appended to LeRobot's file-000, or starts file-001 where this
    ffmpeg's SVT-AV1 writes another codec configuration than LeRobot's (tests/lerobot/test_place.py): the
    metadata must say where it went, either way."""
    root = copy("v30_partial", tmp_path)

    def run(sources: list[EpisodeSource], options: EncodeOptions) -> list[JobResult]:
        return encode_sources(sources, options, ffmpeg_binary)

    results = finish_datasets([root], EncodeOptions(), ffmpeg_binary, run, delete_frames=True)
    assert [(r.status, r.camera, r.episode) for r in results] == [
        (JobStatus.skipped, TOP, "episode-000003"), (JobStatus.skipped, WRIST, "episode-000003"),
        (JobStatus.done, TOP, "episode-000002"), (JobStatus.done, WRIST, "episode-000002")]  # fmt: skip
    assert all(r.dataset == root for r in results)
    top = results[2]
    file_index = int(top.output.stem.removeprefix("file-"))
    assert top.output == root / "videos" / TOP / "chunk-000" / f"file-{file_index:03d}.mp4" and file_index in (0, 1)
    start = 0.0 if file_index == 1 else 5 / 30 + 6 / 30  # after LeRobot's episodes 0-1, as its floats add up
    assert top.notes[-2:] == [f"at {start:.6f}-{start + 4 / 30:.6f} s of {top.output.name}",
                              "deleted its 4 frame file(s)"]  # fmt: skip

    (row,) = pq.read_table(root / "meta" / "episodes" / "chunk-000" / "file-001.parquet").to_pylist()
    assert row["episode_index"] == 2
    assert (row[f"videos/{TOP}/file_index"], row[f"videos/{TOP}/from_timestamp"]) == (file_index, pytest.approx(start))
    assert row[f"videos/{TOP}/to_timestamp"] == pytest.approx(start + 4 / 30)
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["features"][TOP]["info"]["video.codec"] == "av1"
    assert sorted(path.name for path in (root / "images" / TOP).iterdir()) == ["episode-000003"]  # left alone
    assert not (root / ".encodectl" / "lerobot-staging").exists()


def test_an_episode_whose_frames_changed_after_planning_is_not_placed(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    root = copy("v21_partial", tmp_path)
    added = root / "images" / TOP / "episode_000002" / "frame_000004.png"

    def run_then_add_a_frame(sources: list[EpisodeSource], options: EncodeOptions) -> list[JobResult]:
        results = encode_sources(sources, options, ffmpeg_binary)
        shutil.copyfile(added.with_name("frame_000003.png"), added)
        return results

    results = finish_datasets([root], EncodeOptions(), ffmpeg_binary, run_then_add_a_frame)
    by_camera = {r.camera: r for r in results if r.episode == "episode_000002"}
    assert (by_camera[WRIST].status, by_camera[TOP].status, by_camera[TOP].failure) == (
        JobStatus.done, JobStatus.failed, FailureKind.input)  # fmt: skip
    assert by_camera[TOP].reason == (
        f"{added.parent} changed after encodectl planned the episode (rewritten, added or removed): its video is not "
        "placed; run again to encode the frames as they are now"
    )
    assert (root / "videos" / "chunk-000" / WRIST / "episode_000002.mp4").is_file()
    assert not (root / "videos" / "chunk-000" / TOP / "episode_000002.mp4").exists()


@pytest.mark.same_on_every_ffmpeg("frame files compared with the plan: no ffmpeg runs")
def test_check_frames_as_planned_names_the_frame_that_changed(tmp_path: Path) -> None:
    root = copy("v30_partial", tmp_path)
    pending = plan_dataset(root, EncodeOptions()).pending[0]
    check_frames_as_planned(pending)
    frame = pending.frames[1].path
    frame.write_bytes(frame.read_bytes())  # same bytes, another write: not the file that was planned
    with pytest.raises(InputError, match=rf"^{frame} changed after encodectl planned the episode"):
        check_frames_as_planned(pending)
