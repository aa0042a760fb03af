"""encodectl/lerobot/heal.py: the episode rows a LeRobot recorder never wrote, rebuilt as LeRobot writes them.

Datasets healed and finished through `encode ROOT`, loaded back by LeRobot: tests/test_lerobot.py,
tests_lerobot/."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from encodectl.errors import InputError
from encodectl.lerobot.episodes import read_episodes
from encodectl.lerobot.heal import commit_rows, dry_run_results, missing_rows, rows_to_rebuild
from encodectl.lerobot.meta import read_info
from encodectl.models import FFmpegBinary, JobStatus
from tests.conftest import copy_lerobot_fixture as copy

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lerobot"
TOP, DEPTH = "observation.images.top", "observation.images.depth"
ROWS = Path("meta") / "episodes" / "chunk-000" / "file-000.parquet"


def test_the_rows_rebuilt_are_lerobots_own(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    """v30_061_pending holds the rows LeRobot 0.6.1 computed for the same recording: the rebuilt ones equal them,
    statistics of both cameras included (sampled frames decoded by ffmpeg)."""
    root = copy("v30_061_rows_missing", tmp_path)
    plan = rows_to_rebuild(root, ffmpeg_binary, tmp_path / "staging")
    assert plan is not None and plan.episodes == [0, 1, 2]
    assert plan.note == "its episode row rebuilt in meta/episodes, as LeRobot writes it (episodes 0-2 had none)"
    assert [move.target for move in plan.moves] == [root / ROWS]  # info.json and stats.json count them already
    assert not (root / ROWS).exists()  # staged only
    rebuilt = pq.read_table(plan.moves[0].source)
    lerobots = pq.read_table(FIXTURES / "v30_061_pending" / ROWS)
    assert rebuilt.column_names == lerobots.column_names
    assert rebuilt.to_pylist() == lerobots.to_pylist()
    dry = dry_run_results(plan)  # what --dry-run says instead of committing
    assert [(r.camera, r.episode) for r in dry] == [
        (camera, f"episode-{index:06d}") for index in range(3) for camera in (TOP, DEPTH)]  # fmt: skip
    assert {(r.status, r.reason, r.dataset) for r in dry} == {(JobStatus.skipped, "its episode row is missing "
        "(LeRobot never wrote it): would be rebuilt, then encoded", root)}  # fmt: skip

    commit_rows(plan)
    assert [(e.index, e.length, e.data_range) for e in read_episodes(read_info(root))] == [
        (0, 5, (0, 5)), (1, 6, (5, 11)), (2, 4, (11, 15))]  # fmt: skip
    assert missing_rows(read_info(root)) == []
    assert rows_to_rebuild(root, ffmpeg_binary, tmp_path / "again") is None


@pytest.mark.same_on_every_ffmpeg("metadata read and frames counted: refused before any frame is decoded")
def test_frames_that_disagree_with_the_data_are_refused_before_anything_is_written(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    root = copy("v30_061_rows_missing", tmp_path)
    assert missing_rows(read_info(root)) == [0, 1, 2]
    assert missing_rows(read_info(copy("v30_partial", tmp_path))) == []
    (root / "images" / TOP / "episode-000000" / "frame-000004.png").unlink()  # the first frames sampled
    with pytest.raises(InputError) as caught:
        rows_to_rebuild(root, ffmpeg_binary, tmp_path / "staging")
    assert str(caught.value) == (
        f"{root / 'images' / TOP / 'episode-000000'}: 4 frame(s) on disk for episode 0, which has 5 in data/ "
        "(frame-000000 on, without gaps): the frames and the data disagree; nothing was changed"
    )
    assert not (root / ROWS).exists()
