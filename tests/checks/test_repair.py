"""encodectl/checks/repair.py: `check --repair`: what a check found wrong, encoded again from the frames
still under images/, through the commit `encode ROOT` uses.

Files rewritten for real (v3.0 joined files, v2.1 damaged ones), through the CLI: tests/test_check.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from encodectl.checks.models import ProblemKind
from encodectl.checks.repair import repair_lerobot
from encodectl.frames.layout import EpisodeSource
from encodectl.models import EncodeOptions, FFmpegBinary, JobResult, JobStatus, VerifyMode
from encodectl.run.engine import encode_sources

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lerobot"
TOP, WRIST = "observation.images.top", "observation.images.wrist"


@pytest.mark.same_on_every_ffmpeg("the runner fails every episode without running ffmpeg")
def test_what_the_runner_could_not_make_is_said_and_stays_a_problem(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    root = Path(shutil.copytree(FIXTURES / "v21_partial", tmp_path / "ds"))
    asked: list[str] = []

    def refuse(sources: list[EpisodeSource], options: EncodeOptions) -> list[JobResult]:
        asked.extend(f"{source.camera} {source.episode}" for source in sources)
        return [JobResult.of_source(source, JobStatus.failed, reason="no GPU today") for source in sources]

    result = repair_lerobot(root, ffmpeg_binary, VerifyMode.packets, refuse)
    assert sorted(asked) == [f"{TOP} episode_000002", f"{WRIST} episode_000002"]
    assert sorted(result.repaired) == [f"{camera} episode_000002: not repaired (failed: no GPU today)"
                                       for camera in (TOP, WRIST)]  # fmt: skip
    assert {(p.kind, p.camera) for p in result.problems} == {(ProblemKind.missing_video, TOP),
                                                             (ProblemKind.missing_video, WRIST)}  # fmt: skip
    assert not (root / ".encodectl" / "lerobot-commit.json").exists()


def test_a_missing_v21_file_is_encoded_and_the_dataset_checks_clean(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    root = Path(shutil.copytree(FIXTURES / "v21_partial", tmp_path / "ds"))

    def run(sources: list[EpisodeSource], options: EncodeOptions) -> list[JobResult]:
        return encode_sources(sources, options, ffmpeg_binary)

    result = repair_lerobot(root, ffmpeg_binary, VerifyMode.packets, run)
    assert result.ok, result.problems
    assert sorted(result.repaired) == [f"{camera} episode_000002: encoded again from its frames"
                                       for camera in (TOP, WRIST)]  # fmt: skip
    assert (result.videos_read, result.frames_read) == (6, 30)  # 5 + 6 + 4 frames, two cameras
    # A clean dataset is left as it is: the runner is not called.
    assert repair_lerobot(root, ffmpeg_binary, VerifyMode.packets, lambda *_: pytest.fail("ran")).repaired == []
