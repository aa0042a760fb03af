"""encodectl/outputs/names.py: the hidden names beside a video while it is made.

Names of 255 bytes and hidden files swept after a crash: tests/test_edge_cases.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from encodectl.outputs.names import NAME_MAX, STAGING_SUFFIX, TEMP_SUFFIX, hidden_files, hidden_prefix, temp_paths

pytestmark = pytest.mark.same_on_every_ffmpeg("file names computed and listed: no ffmpeg runs")


def test_a_short_name_is_kept_whole_and_a_temp_name_carries_the_pid(tmp_path: Path) -> None:
    output = tmp_path / "ep_1.mp4"
    assert hidden_prefix(output) == ".ep_1.mp4."
    temp, staging = temp_paths(output)
    assert temp.parent == staging.parent == tmp_path
    assert temp.name.startswith(f".ep_1.mp4.{os.getpid()}-") and temp.name.endswith(TEMP_SUFFIX)
    assert staging.name == temp.name.removesuffix(TEMP_SUFFIX) + STAGING_SUFFIX
    assert temp_paths(output)[0] != temp  # unique per attempt


def test_a_long_name_is_cut_on_a_character_boundary_and_hashed(tmp_path: Path) -> None:
    output = tmp_path / ("é" * 120 + ".mp4")  # 244 bytes: fits, but its hidden names would not
    prefix = hidden_prefix(output)
    assert prefix == hidden_prefix(output)  # the same on every call: the sweep recognises it
    assert prefix.startswith(".é") and prefix.endswith(".mp4.") and "~" in prefix
    longest = os.fsencode(prefix + "detached-000000.stream.mp4")
    assert len(longest) <= NAME_MAX
    assert prefix.encode().decode() == prefix  # no half character
    other = tmp_path / ("é" * 119 + "a.mp4")
    assert hidden_prefix(other) != prefix


def test_hidden_files_lists_names_with_glob_characters(tmp_path: Path) -> None:
    output = tmp_path / "ep[1]*.mp4"
    mine = tmp_path / ".ep[1]*.mp4.123-abcdef.partial"
    mine.write_bytes(b"")
    (tmp_path / ".ep1.mp4.123-abcdef.partial").write_bytes(b"")
    assert hidden_files(output) == [mine]
    assert hidden_files(tmp_path / "gone" / "ep.mp4") == []
