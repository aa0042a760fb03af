"""encodectl/lerobot/confine.py: every path a dataset's metadata names stays inside the dataset.

Hostile datasets as finish and check meet them: tests/test_hostile_metadata.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from encodectl.errors import InputError
from encodectl.lerobot.confine import (
    check_camera_key,
    check_index,
    check_path_template,
    has_control_characters,
    inside,
    regular_file,
)

pytestmark = pytest.mark.same_on_every_ffmpeg("names and paths checked: no ffmpeg runs")

WHERE = Path("/d/meta/info.json")
FIELDS = ("episode_chunk", "video_key", "episode_index")
LEROBOT_TEMPLATE = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"


@pytest.mark.parametrize("key", ["", ".", "..", "/etc", "a/b", "a\\b", "a\nb", "x" * 201])
def test_a_camera_key_that_is_not_a_plain_name_is_refused(key: str) -> None:
    with pytest.raises(InputError, match="is not a plain name"):
        check_camera_key(key, WHERE)


def test_lerobots_keys_and_template_pass() -> None:
    check_camera_key("observation.images.top", WHERE)
    check_path_template(LEROBOT_TEMPLATE, FIELDS, WHERE)
    check_index(0, "episode_index", WHERE)
    check_index(10**9 - 1, "episode_index", WHERE)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("videos/{video_key.__class__}/e.mp4", "uses {video_key.__class__}"),
        ("videos/{video_key!r}/e.mp4", "uses {video_key!r}"),
        ("videos/{episode_index:>9}.mp4", "uses {episode_index:>9}"),
        ("videos/{other}.mp4", "uses {other}"),
        ("/tmp/{video_key}.mp4", "leads outside the dataset"),
        ("videos/../../{video_key}.mp4", "leads outside the dataset"),
        ("videos/{video_key", "is not a path template"),
    ],
)
def test_a_template_not_of_lerobots_kind_is_refused(template: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        check_path_template(template, FIELDS, WHERE)
    assert message in str(caught.value) and str(caught.value).startswith(f"{WHERE}: video_path ")


def test_an_index_out_of_range_is_refused() -> None:
    for value in (-1, 10**9):
        with pytest.raises(InputError, match=f"episode_index {value} is out of range"):
            check_index(value, "episode_index", WHERE)


def test_control_characters() -> None:
    assert has_control_characters("a\x1b[31m") and has_control_characters("a\x7f")
    assert not has_control_characters("épisode 1")


def test_inside_follows_links_and_refuses_the_root_itself(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    (root / "videos").mkdir(parents=True)
    (root / "elsewhere").symlink_to(tmp_path)
    (root / "loop").symlink_to(root / "loop")
    assert inside(root, "videos/a.mp4", "video") == root / "videos" / "a.mp4"
    for relative, message in [("elsewhere/x", "outside the dataset"), (".", "outside the dataset"),
                              ("loop/x", "cannot be resolved")]:  # fmt: skip
        with pytest.raises(InputError, match=message):
            inside(root, relative, "video")


def test_regular_file_refuses_a_fifo(tmp_path: Path) -> None:
    assert regular_file(tmp_path / "absent.json") == tmp_path / "absent.json"
    fifo = tmp_path / "info.json"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="is not a regular file"):
        regular_file(fifo)
