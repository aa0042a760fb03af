"""encodectl/lerobot/episodes.py: a LeRobot dataset's episode rows, read and written as LeRobot does.

Datasets finished and read back by LeRobot's own loader: tests/test_lerobot.py, tests_lerobot/; hostile
rows: tests/test_hostile_metadata.py."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from encodectl.errors import InputError
from encodectl.lerobot.episodes import check_consistent, read_episodes, read_episodes_table, write_episodes_table
from encodectl.lerobot.meta import DatasetEpisode, VideoPlacement, read_info
from tests.conftest import copy_lerobot_fixture as copy

pytestmark = pytest.mark.same_on_every_ffmpeg("metadata read and written with pyarrow: no ffmpeg runs")

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lerobot"
TOP, WRIST = "observation.images.top", "observation.images.wrist"


def test_v30_rows_with_their_spans_and_data_ranges(tmp_path: Path) -> None:
    root = copy("v30_partial", tmp_path)
    episodes = read_episodes(read_info(root))
    assert [(e.index, e.length, e.data_range, sorted(e.videos)) for e in episodes] == [
        (0, 5, (0, 5), [TOP, WRIST]), (1, 6, (5, 11), [TOP, WRIST]), (2, 4, (11, 15), [])]  # fmt: skip
    second = episodes[1].videos[TOP]
    assert (second.chunk, second.file) == (0, 0)
    assert (second.from_s, second.to_s) == pytest.approx((5 / 30, 11 / 30))
    assert episodes[2].meta_file == root / "meta" / "episodes" / "chunk-000" / "file-001.parquet"


def test_v21_an_mp4_cut_off_is_no_video(tmp_path: Path) -> None:
    root = copy("v21_partial", tmp_path)
    video = root / "videos" / "chunk-000" / TOP / "episode_000001.mp4"
    video.write_bytes(video.read_bytes()[:200])  # LeRobot 0.3 killed while writing it
    episodes = read_episodes(read_info(root))
    assert [(e.index, e.length, sorted(e.videos)) for e in episodes] == [
        (0, 5, [TOP, WRIST]), (1, 6, [WRIST]), (2, 4, [])]  # fmt: skip


def test_rows_that_contradict_each_other_are_refused(tmp_path: Path) -> None:
    info = read_info(copy("v30_partial", tmp_path))
    where = info.root / "meta" / "episodes"
    one = Path("a.parquet")

    def row(index: int, length: int = 5, **more: object) -> DatasetEpisode:
        return DatasetEpisode(index=index, length=length, meta_file=one, **more)  # type: ignore[arg-type]

    cases = [
        ([row(0), row(0)], "a.parquet: episode_index 0 has two rows; the metadata contradicts itself"),
        ([row(3, 0)], "a.parquet: episode 3 has length 0"),
        ([row(0, data_range=(0, 4))], "a.parquet: episode 0 spans data rows 0-4 (4 frames) but its length is 5"),
        ([row(0, data_range=(0, 5)), row(1, data_range=(6, 11))],
         "a.parquet: episode 1 starts at data row 6, but episode 0 ends at row 5"),
        ([row(0, videos={TOP: VideoPlacement(chunk=0, file=0, from_s=0.0, to_s=0.2)}),
          row(1, videos={TOP: VideoPlacement(chunk=0, file=0, from_s=0.1, to_s=0.3)})],
         f"{where}: episodes 0 and 1 overlap in {TOP}'s chunk 0 file 0 (0.1 s < 0.2 s)"),
        ([row(0, videos={TOP: VideoPlacement(chunk=0, file=0, from_s=0.2, to_s=0.2)})],
         f"a.parquet: episode 0's {TOP} span 0.2-0.2 s is not a span of time"),
    ]  # fmt: skip
    for episodes, message in cases:
        with pytest.raises(InputError) as caught:
            check_consistent(info, episodes)
        assert str(caught.value).startswith(message)
    check_consistent(info, [row(0, data_range=(0, 5)), row(2, data_range=(20, 25))])  # a row not yet written


def test_write_fills_the_video_columns_where_lerobot_puts_them(tmp_path: Path) -> None:
    root = copy("v30_partial", tmp_path)
    info = read_info(root)
    source = root / "meta" / "episodes" / "chunk-000" / "file-001.parquet"  # episode 2, without video columns
    placement = VideoPlacement(chunk=0, file=1, from_s=0.0, to_s=4 / 30)
    assert not write_episodes_table(info, source, {(0, TOP): placement}, tmp_path / "none.parquet")
    assert not (tmp_path / "none.parquet").exists()
    target = tmp_path / "written.parquet"
    assert write_episodes_table(info, source, {(2, TOP): placement}, target)
    table = pq.read_table(target)
    names = table.column_names
    after = names.index("dataset_to_index") + 1
    columns = ("chunk_index", "file_index", "from_timestamp", "to_timestamp")
    assert names[after : after + 8] == [f"videos/{key}/{column}" for key in (TOP, WRIST) for column in columns]
    row = table.to_pylist()[0]
    assert (row[f"videos/{TOP}/file_index"], row[f"videos/{TOP}/to_timestamp"]) == (1, 4 / 30)
    assert row[f"videos/{WRIST}/file_index"] is None
    assert str(table.schema.field(f"videos/{TOP}/chunk_index").type) == "int64"
    assert set(names) - {f"videos/{key}/{c}" for key in (TOP, WRIST) for c in columns} == set(
        pq.read_table(source).column_names
    )


def test_a_file_without_its_footer_is_a_lerobot_still_writing(tmp_path: Path) -> None:
    root = copy("v30_partial", tmp_path)
    path = root / "meta" / "episodes" / "chunk-000" / "file-001.parquet"
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(InputError, match="LeRobot keeps it open without a footer until it stops recording"):
        read_episodes_table(path)
