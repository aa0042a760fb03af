"""encodectl/checks/engine.py: `check`: each path given, as a LeRobot dataset or a folder that `encode` made.

The command as users run it, bad input in one line: tests/test_check.py; metadata leading outside the
dataset: tests/test_hostile_metadata.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from encodectl.checks.engine import check
from encodectl.errors import InputError, UsageError
from encodectl.models import FFmpegBinary, VerifyMode

pytestmark = pytest.mark.same_on_every_ffmpeg(
    "paths refused before any read, and LeRobot's AV1 files read from their sample tables: no ffmpeg runs"
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lerobot"


def test_paths_that_cannot_be_checked_are_refused_in_one_line(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    (tmp_path / "file.mp4").write_bytes(b"")
    dataset = Path(shutil.copytree(FIXTURES / "v21_partial", tmp_path / "ds"))
    (tmp_path / "plain").mkdir()
    cases: list[tuple[type[Exception], str, dict[str, object]]] = [
        (InputError, "no path given", {"paths": []}),
        (InputError, f"{tmp_path}/absent does not exist", {"paths": tmp_path / "absent"}),
        (InputError, f"{tmp_path}/file.mp4 is not a folder (a LeRobot dataset, or a folder that encode made)",
         {"paths": tmp_path / "file.mp4"}),
        (UsageError, f"--fps does not apply to a LeRobot dataset ({dataset}): its frame rate is in meta/info.json",
         {"paths": dataset, "fps": 25}),
        (UsageError, f"--repair applies to LeRobot datasets; {tmp_path}/plain is not one (no meta/info.json)",
         {"paths": [dataset, tmp_path / "plain"], "repair": True}),
    ]  # fmt: skip
    for error, message, arguments in cases:
        with pytest.raises(error) as caught:
            check(ffmpeg=ffmpeg_binary, **arguments)  # type: ignore[arg-type]
        assert str(caught.value) == message


def test_one_report_for_every_path(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    first = Path(shutil.copytree(FIXTURES / "v21_partial", tmp_path / "one"))
    second = Path(shutil.copytree(FIXTURES / "v30_partial", tmp_path / "two"))
    report = check([first, str(second)], ffmpeg=ffmpeg_binary)
    assert [(c.path, c.layout, c.mode, len(c.problems)) for c in report.checks] == [
        (first, "lerobot v2.1", VerifyMode.packets, 2), (second, "lerobot v3.0", VerifyMode.packets, 2)]  # fmt: skip
    assert (report.problems, report.ok, report.ffmpeg) == (4, False, ffmpeg_binary)
