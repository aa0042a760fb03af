"""Which ffmpeg is used: --ffmpeg / ENCODECTL_FFMPEG, then PATH, then the imageio-ffmpeg wheel."""

from __future__ import annotations

import os

import imageio_ffmpeg
import pytest

from encodectl.errors import FFmpegNotFoundError
from encodectl.ffmpeg_binary import find_ffmpeg

from .conftest import run_encodectl

WHEEL_FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture
def path_ffmpeg(tmp_path):
    """A folder holding an `ffmpeg` (a link to the wheel's binary) to put on PATH."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "ffmpeg").symlink_to(WHEEL_FFMPEG)
    return folder


def test_explicit_path_wins(monkeypatch, path_ffmpeg):
    monkeypatch.setenv("PATH", str(path_ffmpeg))
    monkeypatch.setenv("ENCODECTL_FFMPEG", str(path_ffmpeg / "ffmpeg"))
    binary = find_ffmpeg(WHEEL_FFMPEG)
    assert (binary.source, str(binary.path)) == ("--ffmpeg", WHEEL_FFMPEG)


def test_environment_variable_before_path(monkeypatch, path_ffmpeg):
    monkeypatch.setenv("PATH", str(path_ffmpeg))
    monkeypatch.setenv("ENCODECTL_FFMPEG", WHEEL_FFMPEG)
    assert find_ffmpeg().source == "ENCODECTL_FFMPEG"


def test_path_before_the_wheel(monkeypatch, path_ffmpeg):
    monkeypatch.delenv("ENCODECTL_FFMPEG", raising=False)
    monkeypatch.setenv("PATH", str(path_ffmpeg))
    binary = find_ffmpeg()
    assert (binary.source, binary.path) == ("PATH", path_ffmpeg / "ffmpeg")
    assert binary.version.startswith(("n", "N", "1", "2", "3", "4", "5", "6", "7", "8", "9"))


def test_wheel_when_nothing_else(monkeypatch, tmp_path):
    monkeypatch.delenv("ENCODECTL_FFMPEG", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    binary = find_ffmpeg()
    assert (binary.source, str(binary.path)) == ("imageio-ffmpeg", WHEEL_FFMPEG)


def test_not_executable_or_not_ffmpeg(tmp_path):
    script = tmp_path / "ffmpeg"
    script.write_text("#!/bin/sh\necho hello\n")
    with pytest.raises(FFmpegNotFoundError, match="not executable"):
        find_ffmpeg(script)
    script.chmod(0o755)
    with pytest.raises(FFmpegNotFoundError, match="does not answer like ffmpeg"):
        find_ffmpeg(script)


def test_version_command_says_which_ffmpeg(path_ffmpeg):
    outcome = run_encodectl("version", env={"PATH": f"{path_ffmpeg}{os.pathsep}{os.environ['PATH']}"})
    assert outcome.exit_code == 0
    assert outcome.stdout.startswith("encodectl 0.1.0\n")
    assert "found via PATH" in outcome.stdout.replace("\n", "")
    flag = run_encodectl("--version", env={"ENCODECTL_FFMPEG": WHEEL_FFMPEG})
    assert flag.exit_code == 0 and "found via ENCODECTL_FFMPEG" in flag.stdout.replace("\n", "")
