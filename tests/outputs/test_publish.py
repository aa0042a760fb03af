"""encodectl/outputs/publish.py: the durable rename that publishes a verified video.

Videos published by real encodes, and a file that took the name meanwhile: tests/test_encode.py,
tests/test_edge_cases.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from encodectl.outputs.publish import commit_file

pytestmark = pytest.mark.same_on_every_ffmpeg("a file renamed: no ffmpeg runs")


def test_commit_replaces_the_final_name(tmp_path: Path) -> None:
    temp, output = tmp_path / ".ep.mp4.1-a.partial", tmp_path / "ep.mp4"
    temp.write_bytes(b"new")
    output.write_bytes(b"old")
    commit_file(temp, output)
    assert output.read_bytes() == b"new" and not temp.exists()


def test_without_replace_a_file_that_took_the_name_stays(tmp_path: Path) -> None:
    temp, output = tmp_path / ".ep.mp4.1-a.partial", tmp_path / "ep.mp4"
    temp.write_bytes(b"mine")
    output.write_bytes(b"theirs")
    with pytest.raises(FileExistsError):
        commit_file(temp, output, replace=False)
    assert output.read_bytes() == b"theirs" and temp.read_bytes() == b"mine"
    output.unlink()
    commit_file(temp, output, replace=False)
    assert output.read_bytes() == b"mine" and not temp.exists()
