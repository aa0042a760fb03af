"""encodectl/version.py: the one version string; `encodectl version` prints it (tests/cli/test_commands.py)."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from encodectl.version import __version__

pytestmark = pytest.mark.same_on_every_ffmpeg("a version string: no ffmpeg runs")


def test_the_version_is_the_packages() -> None:
    pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    assert __version__ == pyproject["project"]["version"] == version("encodectl")
