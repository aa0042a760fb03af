"""What each LeRobot release writes, compared with what encodectl writes in its place (no LeRobot at run time).

The fixtures were written by LeRobot 0.3.3, 0.4.4 and 0.6.1 themselves (tests/fixtures/lerobot/README.md):
a camera's ``info`` that encodectl writes must equal, key for key and in order, the one that
release wrote when it encoded the same frames itself (its *_partial fixture); episode rows a
0.6.1 recorder never wrote (v30_061_rows_missing) must come back equal to the rows LeRobot wrote
for the same recording (v30_061_pending), statistics within float rounding.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from encodectl.errors import UsageError
from encodectl.lerobot.heal import plan_rows
from encodectl.lerobot.meta import read_info
from encodectl.lerobot.versions import decide_release
from encodectl.models import LeRobotRelease

from .conftest import assert_one_line_error
from .conftest import copy_lerobot_fixture as copy_fixture

FIXTURES = Path(__file__).parent / "fixtures" / "lerobot"
RGB, DEPTH = "observation.images.top", "observation.images.depth"


def info_of(root: Path) -> dict[str, Any]:
    return json.loads((root / "meta" / "info.json").read_text())


def camera_infos(root: Path, depth_gop: int | None = None) -> dict[str, list[tuple[str, Any]]]:
    """Each camera's info as (key, value) pairs in the file's order: the order is compared too.

    `depth_gop` stands for a depth camera's video.g: encodectl records the one it used (1: x265's lossless
    12-bit HEVC reads back exactly only in keyframes), LeRobot the 2 it passes."""
    features = info_of(root)["features"]
    infos = {key: list(feature["info"].items()) for key, feature in features.items() if feature["dtype"] == "video"}
    if depth_gop is not None:
        for key, pairs in infos.items():
            if dict(pairs).get("is_depth_map"):
                infos[key] = [(name, depth_gop if name == "video.g" else value) for name, value in pairs]
    return infos


def digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def rows_of(path: Path) -> pa.Table:
    return pq.read_table(path)


def close(a: Any, b: Any) -> bool:
    """Equal, numbers to float rounding (nested lists compared element by element)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    return bool(a == b)


# --- the camera info, release by release ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("pending", "lerobot_encoded", "release"),
    [
        ("v21_pending", "v21_partial", "0.3.3"),
        ("v30_pending", "v30_partial", "0.4.4"),
        ("v30_061_pending", "v30_061_partial", "0.6.1"),
    ],
)
def test_camera_info_is_what_the_lerobot_release_that_made_the_dataset_writes(
    tmp_path, cli, pending, lerobot_encoded, release
):
    root = copy_fixture(pending, tmp_path)
    outcome = cli("encode", root, "--json")
    assert outcome.exit_code == 0, outcome.stdout
    # Keys, values, types and order, as LeRobot wrote them for the same frames with its own encoder.
    assert camera_infos(root) == camera_infos(FIXTURES / lerobot_encoded, depth_gop=1), release
    done = [r for r in outcome.json()["results"] if r["status"] == "done"]
    assert done and not any("assumed" in note for r in done for note in r["notes"])


def test_the_release_is_read_from_the_dataset():
    def choice(name: str) -> tuple[str, str]:
        decided = decide_release(info_of(FIXTURES / name), None)
        assert not decided.assumed
        return decided.release.value, decided.reason

    assert choice("v21_pending") == ("0.3", "format v2.1")
    assert choice("v30_pending")[0] == "0.4"  # info.json laid out as 0.4 writes it
    assert choice("v30_partial") == ("0.4", "a camera's info in LeRobot 0.4's form")
    assert choice("v30_061_pending") == ("0.6", "a depth camera (LeRobot 0.6 and later)")
    assert choice("v30_061_partial") == ("0.6", "a camera's info in LeRobot 0.6's form")
    # 0.6 without a depth camera and before any video: its info.json layout (fps and features first).
    document = info_of(FIXTURES / "v30_061_pending")
    del document["features"][DEPTH]
    assert decide_release(document, None).release is LeRobotRelease.v06
    assert "laid out" in decide_release(document, None).reason


def test_a_dataset_that_cannot_tell_gets_the_current_release_said_to_be_assumed(tmp_path, cli):
    root = copy_fixture("v30_pending", tmp_path)
    document = info_of(root)
    reordered = {"features": document.pop("features"), **document}  # neither release's layout
    (root / "meta" / "info.json").write_text(json.dumps(reordered, indent=4))
    outcome = cli("encode", root, "--json")
    assert outcome.exit_code == 0, outcome.stdout
    done = [r for r in outcome.json()["results"] if r["status"] == "done"]
    assert all(any("LeRobot 0.6" in n and "assumed" in n for n in r["notes"]) for r in done)
    info = dict(camera_infos(root)[RGB])
    assert (info["video.g"], info["video.crf"], info["video.preset"], info["is_depth_map"]) == (2, 30, 12, False)


def test_lerobot_version_overrides_and_must_fit_the_format(tmp_path, cli):
    root = copy_fixture("v30_pending", tmp_path)
    outcome = cli("encode", root, "--lerobot-version", "0.6.1", "--preset", "8", "--codec", "av1", "--json")
    assert outcome.exit_code == 0, outcome.stdout
    info = dict(camera_infos(root)[RGB])
    # The settings the encode really used (its command), as 0.6 records them: numbers where they are numbers.
    command = next(r for r in outcome.json()["results"] if r["status"] == "done")["command"]
    assert info["video.preset"] == int(command[command.index("-preset") + 1]) == 8
    assert info["video.g"] == int(command[command.index("-g") + 1])
    assert info["video.crf"] == int(command[command.index("-crf") + 1])
    assert "video.is_depth_map" not in info and info["is_depth_map"] is False

    v21 = copy_fixture("v21_pending", tmp_path)
    before = digests(v21)
    assert_one_line_error(cli("encode", v21, "--lerobot-version", "0.6"), "does not fit a format v2.1 dataset")
    assert_one_line_error(cli("encode", v21, "--lerobot-version", "0.2"), "--lerobot-version")
    assert digests(v21) == before
    with pytest.raises(UsageError):
        decide_release(info_of(FIXTURES / "v30_pending"), LeRobotRelease.v03)


# --- episode rows a LeRobot 0.6.1 recorder never wrote ------------------------------------------------------


def test_rebuilt_rows_equal_the_rows_lerobot_wrote_for_the_same_recording(tmp_path, ffmpeg_binary):
    root = copy_fixture("v30_061_rows_missing", tmp_path)
    plan = plan_rows(read_info(root), ffmpeg_binary, tmp_path / "staging")
    assert plan is not None and plan.episodes == [0, 1, 2]
    rebuilt = rows_of(plan.moves[0].source)
    lerobot = rows_of(FIXTURES / "v30_061_pending" / "meta" / "episodes" / "chunk-000" / "file-000.parquet")
    assert plan.moves[0].target == root / "meta" / "episodes" / "chunk-000" / "file-000.parquet"
    assert rebuilt.schema.equals(lerobot.schema, check_metadata=False)  # columns, order and types
    for ours, theirs in zip(rebuilt.to_pylist(), lerobot.to_pylist(), strict=True):
        different = [name for name in theirs if not close(ours[name], theirs[name])]
        assert not different, (theirs["episode_index"], different)
    # LeRobot had written info.json's totals and stats.json at each episode: both stay as they are.
    assert [move.target.name for move in plan.moves] == ["file-000.parquet"]


def test_totals_and_stats_are_brought_up_to_date_as_lerobot_does(tmp_path, ffmpeg_binary):
    root = copy_fixture("v30_061_rows_missing", tmp_path)
    document = info_of(root)
    document.update(total_episodes=0, total_frames=0, total_tasks=0, splits={})
    (root / "meta" / "info.json").write_text(json.dumps(document, indent=4))
    (root / "meta" / "stats.json").unlink()
    plan = plan_rows(read_info(root), ffmpeg_binary, tmp_path / "staging")
    assert plan is not None
    staged = {move.target.name: move.source for move in plan.moves}
    info = json.loads(staged["info.json"].read_text())
    lerobot_info = info_of(FIXTURES / "v30_061_pending")
    assert info == lerobot_info and list(info) == list(lerobot_info)
    stats = json.loads(staged["stats.json"].read_text())
    lerobot_stats = json.loads((FIXTURES / "v30_061_pending" / "meta" / "stats.json").read_text())
    assert set(stats) == set(lerobot_stats)
    for feature, values in lerobot_stats.items():
        assert list(stats[feature]) == list(values)
        assert all(close(stats[feature][name], value) for name, value in values.items()), feature


def test_a_dataset_without_its_rows_is_healed_then_finished_like_one_lerobot_flushed(tmp_path, cli):
    healed = copy_fixture("v30_061_rows_missing", tmp_path)
    flushed = copy_fixture("v30_061_pending", tmp_path)
    dry = cli("encode", healed, "--dry-run", "--json")
    assert dry.exit_code == 0
    assert not (healed / "meta" / "episodes").exists()  # a dry run changes nothing
    assert sum("would be rebuilt" in (r["reason"] or "") for r in dry.json()["results"]) == 6
    for root in (healed, flushed):
        outcome = cli("encode", root, "--json")
        assert outcome.exit_code == 0, outcome.stdout
        results = outcome.json()["results"]
        assert [r["status"] for r in results].count("done") == 6  # both cameras of 3 episodes, depth too
    notes = [n for r in results for n in r["notes"]]
    assert not any("row rebuilt" in n for n in notes)  # the flushed one needed no rows
    assert not any("apply to colour frames" in n for n in notes)  # no option was given: none is said to be ignored
    path = Path("meta") / "episodes" / "chunk-000" / "file-000.parquet"
    ours, theirs = rows_of(healed / path), rows_of(flushed / path)
    assert ours.schema.equals(theirs.schema, check_metadata=False)
    assert all(close(a, b) for a, b in zip(ours.to_pylist(), theirs.to_pylist(), strict=True))
    assert info_of(healed) == info_of(flushed)
    assert not (healed / ".encodectl").exists()


def _rewrite_data(root: Path, order: list[int]) -> None:
    path = root / "data" / "chunk-000" / "file-000.parquet"
    table = pq.read_table(path)
    pq.write_table(table.take(order), path)


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        ("frame missing", "frame(s) on disk for episode 1, which has 6 in data/"),
        ("rows apart", "the rows of episode 1 are not contiguous"),
        ("no footer", "does not read as parquet"),
        ("frame numbers", "frame_index or index column is not numbered"),
    ],
)
def test_inconsistent_data_is_refused_in_one_line_with_nothing_changed(tmp_path, cli, damage, fragment):
    root = copy_fixture("v30_061_rows_missing", tmp_path)
    data = root / "data" / "chunk-000" / "file-000.parquet"
    if damage == "frame missing":
        (root / "images" / RGB / "episode-000001" / "frame-000005.png").unlink()
    elif damage == "rows apart":  # episode 1 (rows 5-10) interrupted by a row of episode 2
        _rewrite_data(root, [*range(0, 10), 11, 10, *range(12, 15)])
    elif damage == "no footer":
        data.write_bytes(data.read_bytes()[:-200])
    else:  # episode 2's frame_index 0, 1, 3, 2
        _rewrite_data(root, [*range(0, 11), 11, 13, 12, 14])
    before = digests(root)
    assert_one_line_error(cli("encode", root), fragment, "nothing was changed")
    assert digests(root) == before


def test_rows_lost_by_a_resumed_recording_go_in_the_next_file_as_lerobot_puts_them(tmp_path, ffmpeg_binary):
    # v30_061_partial: episodes 0-1 in file-000 (first session), episode 2's row in file-001 (the resumed one).
    root = copy_fixture("v30_061_partial", tmp_path)
    lost = root / "meta" / "episodes" / "chunk-000" / "file-001.parquet"
    lerobot = rows_of(lost)
    lost.unlink()
    plan = plan_rows(read_info(root), ffmpeg_binary, tmp_path / "staging")
    assert plan is not None and plan.episodes == [2]
    assert [move.target for move in plan.moves] == [lost]
    rebuilt = rows_of(plan.moves[0].source)
    assert rebuilt.schema.equals(lerobot.schema, check_metadata=False)
    assert all(close(a, b) for a, b in zip(rebuilt.to_pylist(), lerobot.to_pylist(), strict=True))
    assert rebuilt.to_pylist()[0]["dataset_from_index"] == 11  # where episode 1 ends, in data/'s second file
