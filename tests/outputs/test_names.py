"""encodectl/outputs/names.py: the hidden names beside a video while it is made.

Names of 255 bytes and hidden files swept after a crash: tests/test_edge_cases.py."""

from __future__ import annotations

import hashlib
import os
import re
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


def test_a_temp_name_ends_in_six_hex_digits(tmp_path: Path) -> None:
    temp, _ = temp_paths(tmp_path / "ep_1.mp4")
    assert re.fullmatch(rf"\.ep_1\.mp4\.{os.getpid()}-[0-9a-f]{{6}}\.partial", temp.name), temp.name


def test_a_name_is_kept_whole_up_to_the_longest_that_leaves_room_for_the_hidden_names(tmp_path: Path) -> None:
    room = NAME_MAX - len(".") - len(".detached-000000") - len(".stream.mp4")
    longest = tmp_path / ("a" * (room - 4) + ".mp4")
    assert hidden_prefix(longest) == f".{longest.name}."
    assert len(os.fsencode(hidden_prefix(longest) + "detached-000000.stream.mp4")) == NAME_MAX
    longer = tmp_path / ("a" * (room - 3) + ".mp4")
    digest = hashlib.sha256(longer.name.encode()).hexdigest()[:8]
    prefix = hidden_prefix(longer)
    assert prefix == f".{'a' * (room - 4 - 1 - 8)}~{digest}.mp4."  # cut to leave room for "~", the digest, ".mp4"
    assert len(os.fsencode(prefix + "detached-000000.stream.mp4")) == NAME_MAX


def test_a_long_name_is_cut_back_to_the_start_of_a_character(tmp_path: Path) -> None:
    room = NAME_MAX - len(".") - len(".detached-000000") - len(".stream.mp4")
    cut = room - len(".mp4") - 1 - 8  # an odd offset after "a": the second byte of an "é"
    output = tmp_path / ("a" + "é" * 120 + ".mp4")
    digest = hashlib.sha256(output.name.encode()).hexdigest()[:8]
    assert hidden_prefix(output) == f".a{'é' * ((cut - 2) // 2)}~{digest}.mp4."


def test_a_name_of_bytes_that_are_not_utf8_is_cut_without_running_past_its_start(tmp_path: Path) -> None:
    output = tmp_path / os.fsdecode(b"\xa9" * 240 + b".mp4")  # every byte looks like the middle of a character
    digest = hashlib.sha256(b"\xa9" * 240 + b".mp4").hexdigest()[:8]
    assert hidden_prefix(output) == f".~{digest}.mp4."
