"""encodectl/lerobot/recorded.py: what a LeRobot recorder left of the episodes whose rows it never wrote.

Rows rebuilt from it and compared with LeRobot's own: tests/lerobot/test_heal.py, tests/test_lerobot.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from encodectl.errors import InputError
from encodectl.lerobot.meta import read_info
from encodectl.lerobot.recorded import (
    data_episodes,
    episode_tasks,
    existing_rows,
    feature_values,
    known_episodes,
    read_tasks,
)
from tests.conftest import copy_lerobot_fixture as copy

pytestmark = pytest.mark.same_on_every_ffmpeg("parquet files read with pyarrow: no ffmpeg runs")

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lerobot"


def test_what_a_recorder_left_without_rows(tmp_path: Path) -> None:
    info = read_info(copy("v30_061_rows_missing", tmp_path))
    assert (known_episodes(info), existing_rows(info)) == (set(), {})
    episodes = data_episodes(info)
    assert [(e.index, e.chunk, e.file, e.start, e.length) for e in episodes.values()] == [
        (0, 0, 0, 0, 5), (1, 0, 0, 5, 6), (2, 0, 0, 11, 4)]  # fmt: skip
    tasks = read_tasks(info.root)
    assert tasks == {0: "pick the cube", 1: "place the cube"}
    assert episode_tasks(episodes[1], tasks, info.root) == ["place the cube"]
    mixed = episodes[2].model_copy(update={"task_indices": [1, 0, 1, 0]})
    assert episode_tasks(mixed, tasks, info.root) == ["place the cube", "pick the cube"]  # first appearance
    with pytest.raises(InputError, match=r"episode 2 has task_index 7, which meta/tasks\.parquet lacks"):
        episode_tasks(mixed.model_copy(update={"task_indices": [7]}), tasks, info.root)


def test_feature_values_as_lerobots_buffer_held_them(tmp_path: Path) -> None:
    info = read_info(copy("v30_061_rows_missing", tmp_path))
    values = feature_values(info, [2])
    assert set(values) == {2}
    episode = values[2]
    assert "observation.images.top" not in episode and episode["observation.state"].shape == (4, 2)
    assert episode["index"].tolist() == [11, 12, 13, 14] and episode["index"].shape == (4,)
    assert episode["timestamp"].dtype == np.float64
    assert episode["timestamp"].tolist() == [0.0, 1 / 30, 2 / 30, 3 / 30]  # frame / fps, not float32's rounding


def test_rows_already_written_are_known_with_where_the_next_continue(tmp_path: Path) -> None:
    info = read_info(copy("v30_partial", tmp_path))
    assert known_episodes(info) == {0, 1, 2}
    rows = existing_rows(info)
    assert rows[2]["dataset_to_index"] == 15 and rows[2]["meta/episodes/file_index"] == 1


def rewrite_data(root: Path, change: Callable[[pa.Table], pa.Table]) -> Path:
    path = root / "data" / "chunk-000" / "file-000.parquet"
    table = pq.read_table(path)
    pq.write_table(change(table), path)
    return path


def test_data_that_does_not_tell_one_story_is_refused(tmp_path: Path) -> None:
    root = copy("v30_061_rows_missing", tmp_path)
    path = rewrite_data(root, lambda t: pa.concat_tables([t.slice(0, 3), t.slice(5, 6), t.slice(3, 2), t.slice(11)]))
    with pytest.raises(InputError, match=r"the rows of episode 0 are not contiguous in data/ \(they resume at row 9\)"):
        data_episodes(read_info(root))

    root = copy("v30_061_rows_missing", tmp_path / "renumbered")
    frames = [0, 1, 2, 3, 5, *range(6), *range(4)]
    path = rewrite_data(root, lambda t: t.set_column(t.column_names.index("frame_index"), "frame_index",
                                                     pa.array(frames, pa.int64())))  # fmt: skip
    with pytest.raises(InputError, match="episode 0's frame_index or index column is not numbered 0, 1, 2"):
        data_episodes(read_info(root))

    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(InputError, match="leaves it without its footer"):
        data_episodes(read_info(root))
