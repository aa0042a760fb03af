"""encodectl/ffmpeg/binary.py: which ffmpeg is driven, why, and whether it is new enough.

The order (--ffmpeg, ENCODECTL_FFMPEG, bundled, PATH) as a user meets it: tests/test_ffmpeg_discovery.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from encodectl.errors import FFmpegNotFoundError
from encodectl.ffmpeg.binary import ENV_VAR, bundled_ffmpeg, find_ffmpeg

pytestmark = pytest.mark.same_on_every_ffmpeg("stand-in scripts answer -version: the real ffmpeg is not asked")


def script(folder: Path, name: str, says: str, executable: bool = True) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{says}'\n")
    path.chmod(0o755 if executable else 0o644)
    return path


def test_an_explicit_path_wins_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given = script(tmp_path, "given", "ffmpeg version 6.1.1 Copyright")
    monkeypatch.setenv(ENV_VAR, str(script(tmp_path, "env", "ffmpeg version 7.0 Copyright")))
    chosen = find_ffmpeg(given)
    assert (chosen.path, chosen.version, chosen.source) == (given, "6.1.1", "--ffmpeg")
    from_env = find_ffmpeg()
    assert (from_env.version, from_env.source) == ("7.0", ENV_VAR)


@pytest.mark.parametrize(
    ("says", "executable", "message"),
    [
        ("ffmpeg version 4.1.9 Copyright", True, "older than 4.2"),
        ("avconv version 12", True, "does not answer like ffmpeg"),
        ("ffmpeg version 6.0", False, "is not executable"),
    ],
)
def test_unusable_binaries_are_refused_in_one_line(tmp_path: Path, says: str, executable: bool, message: str) -> None:
    with pytest.raises(FFmpegNotFoundError, match=message) as refused:
        find_ffmpeg(script(tmp_path, "ffmpeg", says, executable))
    assert "\n" not in refused.value.message
    with pytest.raises(FFmpegNotFoundError, match="does not exist"):
        find_ffmpeg(tmp_path / "absent")


def test_without_a_choice_the_bundled_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    bundled = bundled_ffmpeg()
    if bundled is None:
        pytest.skip("no imageio-ffmpeg build for this platform")
    chosen = find_ffmpeg()
    assert chosen.path == bundled and chosen.source == "imageio-ffmpeg"
