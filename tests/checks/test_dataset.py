"""encodectl/checks/dataset.py: a LeRobot dataset checked as LeRobot's loader reads it, changing nothing.

Every problem made for real (a packet cut out, damaged bytes, a file cut short), through the CLI:
tests/test_check.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from encodectl.checks.dataset import EpisodeSpan, check_lerobot, span_problem
from encodectl.checks.models import ProblemKind
from encodectl.models import FFmpegBinary, VerifyMode
from tests.conftest import copy_lerobot_fixture as copy

pytestmark = pytest.mark.same_on_every_ffmpeg("LeRobot's AV1 files read from their sample tables: no ffmpeg runs")

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lerobot"
TOP, WRIST = "observation.images.top", "observation.images.wrist"


def test_v21_a_pending_episodes_files_are_missing_and_repairable(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    root = copy("v21_partial", tmp_path)
    checked = check_lerobot(root, ffmpeg_binary, VerifyMode.packets)
    result = checked.result
    assert (result.layout, result.episodes, result.cameras) == ("lerobot v2.1", 3, [TOP, WRIST])
    assert (result.videos_read, result.frames_read) == (4, 22)  # episodes 0 and 1, 5 + 6 frames, two cameras
    assert [(p.kind, p.camera, p.episodes, p.file, p.detail, p.repairable) for p in result.problems] == [
        (ProblemKind.missing_video, camera, [2], f"videos/chunk-000/{camera}/episode_000002.mp4",
         "the file is missing; its 4 frames are still under images/", True)
        for camera in (TOP, WRIST)
    ]  # fmt: skip


def test_v30_a_row_without_video_columns_and_a_cut_off_commit(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    root = copy("v30_partial", tmp_path)
    shutil.rmtree(root / "images" / WRIST / "episode-000002")
    (root / ".encodectl").mkdir()
    (root / ".encodectl" / "lerobot-commit.json").write_text("{}")
    checked = check_lerobot(root, ffmpeg_binary, VerifyMode.packets)
    assert [(f.camera, f.episodes) for f in checked.files] == [(TOP, [0, 1]), (WRIST, [0, 1])]
    assert [(p.kind, p.camera, p.episodes, p.repairable) for p in checked.result.problems] == [
        (ProblemKind.cut_off_commit, None, [], False),
        (ProblemKind.no_video, TOP, [2], True),
        (ProblemKind.no_video, WRIST, [2], False),
    ]
    assert checked.result.problems[2].detail == (
        f"the episode row has no videos/{WRIST}/ columns; no frames under images/ either"
    )


def test_a_file_cut_short_is_truncated_for_every_episode_in_it(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    root = copy("v30_partial", tmp_path)
    video = root / "videos" / TOP / "chunk-000" / "file-000.mp4"
    data = video.read_bytes()
    video.write_bytes(data[: len(data) - 100])
    (problem,) = [p for p in check_lerobot(root, ffmpeg_binary, VerifyMode.packets).result.problems if p.file]
    assert (problem.kind, problem.camera, problem.episodes) == (ProblemKind.truncated, TOP, [0, 1])
    assert problem.detail.startswith("truncated: its ") and not problem.repairable  # LeRobot deleted their frames


def test_span_problem_counts_frames_and_names_the_first_out_of_place() -> None:
    span = EpisodeSpan(episode=1, length=3, from_s=1.0, to_s=1.1)
    on_grid = [0.9, 1.0, 1.0 + 1 / 30, 1.0 + 2 / 30, 1.1]
    assert span_problem(on_grid, span, 30) == (None, "", 3, None)
    assert span_problem([1.0, 1.0 + 2 / 30, 1.1], span, 30) == (
        ProblemKind.frame_count, "2 frames where its length is 3; frame 1 is not at 1.033333 s (within 0.0001 s)",
        2, 1)  # fmt: skip
    late = [1.0, 1.0 + 1 / 30 + 0.0002, 1.0 + 2 / 30]
    assert span_problem(late, span, 30) == (
        ProblemKind.timestamps, "frame 1 is not at 1.033333 s (within 0.0001 s)", 3, 1)  # fmt: skip
