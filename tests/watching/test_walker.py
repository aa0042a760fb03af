"""encodectl/watching/walker.py: the episode folders below the watched root, re-listing only what changed.

The watcher finding episodes as a recorder makes them: tests/test_watch.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from encodectl.watching.walker import FolderWalker, dir_mtime, later_siblings

pytestmark = pytest.mark.same_on_every_ffmpeg("folders listed: no ffmpeg runs")


def episode(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "frame_000000.png").write_bytes(b"")
    return folder


def test_episodes_in_natural_order_hidden_and_linked_folders_left_out(tmp_path: Path) -> None:
    for name in ("ep10", "ep2", ".trash/ep1"):
        episode(tmp_path / "cam" / name)
    (tmp_path / "link").symlink_to(tmp_path / "cam")
    (tmp_path / "cam" / "notes").mkdir()
    walker = FolderWalker(tmp_path)
    assert walker.episode_folders() == [tmp_path / "cam" / "ep2", tmp_path / "cam" / "ep10"]


def test_a_folder_is_listed_again_only_when_its_time_changes(tmp_path: Path) -> None:
    camera = tmp_path / "cam"
    first = episode(camera / "ep1")
    walker = FolderWalker(tmp_path)
    assert walker.episode_folders() == [first]
    stamp = dir_mtime(camera)
    assert walker.mtime_of(camera) == stamp
    second = episode(camera / "ep2")
    os.utime(camera, ns=(stamp, stamp))  # the folder looks unchanged: the cached listing is used
    assert walker.episode_folders() == [first]
    os.utime(camera, ns=(stamp + 1, stamp + 1))
    assert walker.episode_folders() == [first, second]
    assert dir_mtime(tmp_path / "absent") == 0


def test_later_siblings_per_camera(tmp_path: Path) -> None:
    top1, top10, top2, wrist1 = (tmp_path / "top" / "ep1", tmp_path / "top" / "ep10", tmp_path / "top" / "ep2",
                                 tmp_path / "wrist" / "ep1")  # fmt: skip
    assert later_siblings([top10, top1, wrist1, top2]) == {top1: True, top2: True, top10: False, wrist1: False}
