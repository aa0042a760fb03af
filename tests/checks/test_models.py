"""encodectl/checks/models.py: what `check` found, as it crosses into the report and the API.

Reports of real checks, in JSON: tests/test_check.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from encodectl.checks.models import CheckReport, PathCheck, Problem, ProblemKind
from encodectl.models import FFmpegBinary, VerifyMode

pytestmark = pytest.mark.same_on_every_ffmpeg("models built and dumped: no ffmpeg runs")


def test_a_check_is_ok_without_problems_and_says_kinds_as_the_json_does() -> None:
    clean = PathCheck(path=Path("/d"), layout="folder", mode=VerifyMode.packets, fps="29.97")
    problem = Problem(kind=ProblemKind.frame_count, camera="top", episodes=[2], detail="4 frames, its folder holds 5")
    found = clean.model_copy(update={"problems": [problem]})
    assert clean.ok and not found.ok
    assert found.model_dump(mode="json")["problems"][0]["kind"] == "frame-count"
    assert found.model_dump(mode="json")["fps"] == "30000/1001"
    binary = FFmpegBinary(path=Path("/ff"), version="7.1", source="PATH")
    assert CheckReport(encodectl="1", ffmpeg=binary, checks=[clean], problems=0, seconds=0.1).ok
    assert not CheckReport(encodectl="1", ffmpeg=binary, checks=[found], problems=1, seconds=0.1).ok
    assert {kind.value for kind in ProblemKind} >= {"missing-video", "no-video", "cut-off-commit", "format"}
