"""encodectl/checks/confine.py: the checked root, and every path check reads kept inside it.

Metadata that points outside the dataset, as check meets it: tests/test_hostile_metadata.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from encodectl.checks.confine import RootGuard
from encodectl.errors import EncodectlError

pytestmark = pytest.mark.same_on_every_ffmpeg("paths compared: no ffmpeg runs")


def test_a_path_inside_is_given_back_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "videos").mkdir()
    guard = RootGuard(tmp_path)
    assert guard.inside(tmp_path / "videos" / "a.mp4", "video") == tmp_path / "videos" / "a.mp4"
    assert guard.relative(Path("videos/a.mp4")) == "videos/a.mp4"
    assert guard.relative(tmp_path / "videos" / "a.mp4") == "videos/a.mp4"
    assert guard.relative(Path("/elsewhere/a.mp4")) == "/elsewhere/a.mp4"


def test_a_link_or_dots_leading_out_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "out.mp4").symlink_to(tmp_path / "secret.mp4")
    guard = RootGuard(root)
    for path in (root / "out.mp4", root / ".." / "secret.mp4"):
        with pytest.raises(EncodectlError) as caught:
            guard.inside(path, "video")
        assert "video" in str(caught.value) and "\n" not in str(caught.value)
