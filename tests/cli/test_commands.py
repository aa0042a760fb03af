"""encodectl/cli/commands.py: each command's parameters into an API call, its result rendered.

Each command as a user runs it: tests/test_cli_behaviour.py, tests/test_encode.py, tests/test_watch.py,
tests/test_check.py, tests/test_gpu.py, tests/test_bench.py; the same commands through the API: tests/test_api.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from encodectl.models import FFmpegBinary
from encodectl.version import __version__


def test_version_names_the_ffmpeg_and_why(cli: Callable[..., Any], ffmpeg_binary: FFmpegBinary) -> None:
    outcome = cli("version")
    assert outcome.exit_code == 0
    assert outcome.stdout.splitlines()[0].startswith(f"encodectl {__version__}")
    assert f"ffmpeg {ffmpeg_binary.version} at {ffmpeg_binary.path}" in outcome.stdout


def test_encode_dry_run_prints_the_commands_and_writes_nothing(
    cli: Callable[..., Any], tmp_path: Path, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", count=3)
    outcome = cli("encode", tmp_path / "ep", "--dry-run", "--device", "cpu")
    assert outcome.exit_code == 0
    lines = outcome.stdout.splitlines()
    assert lines[0] == "# ep" and "libx264" in lines[1] and "-frames:v 3" in lines[1]
    assert not (tmp_path / "ep.mp4").exists()


@pytest.mark.same_on_every_ffmpeg("nothing to recover: no ffmpeg runs")
def test_recover_with_nothing_to_recover(cli: Callable[..., Any], tmp_path: Path) -> None:
    outcome = cli("recover", tmp_path)
    assert (outcome.exit_code, outcome.stdout.strip()) == (0, f"nothing to recover under {tmp_path}")
    as_json = cli("recover", tmp_path, "--json")
    assert json.loads(as_json.stdout) == []
