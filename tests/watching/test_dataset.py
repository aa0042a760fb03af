"""encodectl/watching/dataset.py: `watch` on a LeRobot dataset root, finished whenever nobody is writing it.

A recording LeRobot left unfinished, watched until done: tests/test_lerobot.py, tests/test_lerobot_streaming.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from encodectl.errors import UsageError
from encodectl.models import EncodeOptions, FFmpegBinary
from encodectl.watching.dataset import dataset_signature, watch_dataset
from encodectl.watching.options import WatchOptions

pytestmark = pytest.mark.same_on_every_ffmpeg("file times and option checks: no ffmpeg runs")


def test_the_signature_changes_with_the_metadata_and_the_image_folders(tmp_path: Path) -> None:
    (tmp_path / "meta" / "episodes" / "chunk-000").mkdir(parents=True)
    (tmp_path / "images" / "top" / "episode_000000").mkdir(parents=True)
    info = tmp_path / "meta" / "info.json"
    info.write_text("{}")
    before = dataset_signature(tmp_path)
    assert len(before) == 3  # info.json, episodes/, the episode folder
    os.utime(info, ns=(1, 1))
    assert dataset_signature(tmp_path) != before
    after_meta = dataset_signature(tmp_path)
    (tmp_path / "images" / "top" / "episode_000001").mkdir()
    assert len(dataset_signature(tmp_path)) == len(after_meta) + 1
    (tmp_path / "videos").mkdir()  # not what the recorder writes
    assert len(dataset_signature(tmp_path)) == len(after_meta) + 1


@pytest.mark.parametrize("asked", [{"stream": True}, {"marker": "done"}])
def test_stream_and_marker_do_not_apply_to_a_dataset(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, asked: dict[str, object]
) -> None:
    said: list[str] = []
    with pytest.raises(UsageError, match=r"is a LeRobot dataset: .* --stream and --marker do not apply"):
        watch_dataset(
            WatchOptions(root=tmp_path, **asked), EncodeOptions(), ffmpeg_binary, lambda s, o: [], said.append
        )
    assert said == []
