"""`encodectl check`: LeRobot datasets (v3.0, v2.1) and folders that encode made, read back as their readers
read them, changing nothing. Every problem is made for real (ffmpeg cuts a packet out, bytes are damaged,
a file is cut short) and must be found and named by camera and episode."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import encodectl
from encodectl.checks.readback import split_listing
from encodectl.job.mp4_table import packet_times
from encodectl.job.verify import read_frame_times
from encodectl.models import FFmpegBinary

from .conftest import BEFORE_FFMPEG, CliOutcome, assert_one_line_error, run_encodectl, run_encodectl_process

FIXTURES = Path(__file__).parent / "fixtures" / "lerobot"
TOP, WRIST = "observation.images.top", "observation.images.wrist"


@pytest.fixture(scope="module")
def finished_fixtures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """v30_partial and v21_partial (episodes 0-1 encoded by LeRobot), finished by `encodectl encode ROOT`:
    healthy datasets, made once; each test damages a copy."""
    made = {}
    for name in ("v30_partial", "v21_partial"):
        root = tmp_path_factory.mktemp("finished") / name
        shutil.copytree(FIXTURES / name, root)
        outcome = run_encodectl("encode", root, "--json")
        assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
        made[name] = root
    return made


@pytest.fixture
def finished(finished_fixtures: dict[str, Path], tmp_path: Path) -> Callable[[str], Path]:
    def copy(name: str) -> Path:
        root = tmp_path / name
        shutil.copytree(finished_fixtures[name], root)
        return root

    return copy


def raw_fixture(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    return root


def problems(outcome: CliOutcome) -> list[dict[str, Any]]:
    return [problem for check in outcome.json()["checks"] for problem in check["problems"]]


def named(found: list[dict[str, Any]]) -> set[tuple[str, str | None, tuple[int, ...]]]:
    return {(p["kind"], p["camera"], tuple(p["episodes"])) for p in found}


def v30_file(root: Path, camera: str, number: int = 0) -> Path:
    return root / "videos" / camera / "chunk-000" / f"file-{number:03d}.mp4"


def v21_file(root: Path, camera: str, episode: int) -> Path:
    return root / "videos" / "chunk-000" / camera / f"episode_{episode:06d}.mp4"


def tree_state(root: Path) -> dict[str, tuple[str, int, bytes | None]]:
    """Every entry below root, hidden ones included: its kind, mtime (ns) and, for a file, its bytes."""
    state = {".": ("dir", root.stat().st_mtime_ns, None)}
    for path in sorted(root.rglob("*")):
        stat = path.lstat()
        kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
        data = path.read_bytes() if kind == "file" else None
        state[str(path.relative_to(root))] = (kind, stat.st_mtime_ns, data)
    return state


def drop_packet(ffmpeg: FFmpegBinary, video: Path, index: int) -> None:
    """Cut packet `index` out of `video` by stream copy: every other frame keeps its timestamp."""
    cut = video.with_name("cut.mp4")
    subprocess.run(
        [str(ffmpeg.path), "-hide_banner", "-loglevel", "error", "-i", str(video), "-map", "0:v:0", "-c", "copy",
         "-bsf:v", f"noise=drop=eq(n\\,{index})", "-y", str(cut)],
        check=True,
    )  # fmt: skip
    cut.replace(video)


def damage(video: Path) -> None:
    """Flip bytes inside the first frame's data (its packet still lists with the same size and time)."""
    data = bytearray(video.read_bytes())
    start = data.index(b"mdat") + 4 + 20
    for offset in range(start, start + 40):
        data[offset] ^= 0x5A
    video.write_bytes(bytes(data))


def set_length(root: Path, episode: int, length: int) -> None:
    path = root / "meta" / "episodes.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for row in rows:
        if row["episode_index"] == episode:
            row["length"] = length
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def edit_info(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / "meta" / "info.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=4))


# --- healthy datasets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["v30_partial", "v21_partial"])
def test_a_dataset_finished_by_encode_is_clean(finished, cli, name):
    root = finished(name)
    outcome = cli("check", root, "--json")
    assert outcome.exit_code == 0, outcome.stdout
    report = outcome.json()
    [check] = report["checks"]
    assert check["problems"] == [] and report["problems"] == 0
    assert check["layout"] == f"lerobot {'v3.0' if name.startswith('v30') else 'v2.1'}"
    assert check["episodes"] == 3 and check["cameras"] == [TOP, WRIST]
    assert check["frames_read"] == 2 * (5 + 6 + 4)
    # Every file the metadata refers to, read once: v2.1 a file per episode; v3.0 a file per camera, and a second
    # where episode 2 began a new one (it does when this ffmpeg's encoder differs from the one LeRobot used).
    assert check["videos_read"] == (len(list(root.glob("videos/**/*.mp4"))) if name.startswith("v30") else 6)

    decoded = cli("check", root, "--decode", "--json")
    assert decoded.exit_code == 0 and decoded.json()["checks"][0]["mode"] == "decode"


def test_lerobot_encoded_videos_of_a_partial_dataset_pass_and_the_pending_episode_is_named(tmp_path, cli):
    """The fixtures' episodes 0-1 were encoded by LeRobot itself; episode 2's row has no video columns."""
    root = raw_fixture("v30_partial", tmp_path)
    outcome = cli("check", root, "--json")
    assert outcome.exit_code == 1
    found = problems(outcome)
    assert named(found) == {("no-video", TOP, (2,)), ("no-video", WRIST, (2,))}
    assert all(p["frames_on_disk"] == 4 and p["repairable"] for p in found)
    assert "still under images/" in found[0]["detail"]


def test_an_episode_without_a_video_or_frames_says_so(tmp_path, cli):
    root = raw_fixture("v30_partial", tmp_path)
    shutil.rmtree(root / "images" / WRIST / "episode-000002")
    found = problems(cli("check", root, "--json"))
    wrist = next(p for p in found if p["camera"] == WRIST)
    assert wrist["kind"] == "no-video" and wrist["frames_on_disk"] is None and not wrist["repairable"]
    assert "no frames under images/ either" in wrist["detail"]


def test_v21_missing_video_of_a_partial_dataset_is_named(tmp_path, cli):
    root = raw_fixture("v21_partial", tmp_path)
    outcome = cli("check", root, "--json")
    assert outcome.exit_code == 1
    found = problems(outcome)
    assert named(found) == {("missing-video", TOP, (2,)), ("missing-video", WRIST, (2,))}
    assert {p["file"] for p in found} == {f"videos/chunk-000/{camera}/episode_000002.mp4" for camera in (TOP, WRIST)}


# --- each problem found and named --------------------------------------------------------------------------------


def test_v30_dropped_frame_in_the_middle_of_an_episode(finished, cli, ffmpeg_binary):
    root = finished("v30_partial")
    # file-000 holds episode 0 (5 frames), then episode 1 (6): packet 7 is episode 1's frame 2.
    drop_packet(ffmpeg_binary, v30_file(root, TOP), 7)
    outcome = cli("check", root, "--json")
    assert outcome.exit_code == 1
    found = problems(outcome)
    assert named(found) == {("frame-count", TOP, (1,))}
    assert "5 frames where its length is 6" in found[0]["detail"]
    assert "frame 2 is not at" in found[0]["detail"]
    assert "lost earlier" not in found[0]["detail"]  # the frames after it kept their places


def test_v21_dropped_frame_in_the_middle_of_an_episode(finished, cli, ffmpeg_binary):
    root = finished("v21_partial")
    drop_packet(ffmpeg_binary, v21_file(root, WRIST, 1), 3)
    found = problems(cli("check", root, "--json"))
    assert named(found) == {("frame-count", WRIST, (1,))}
    assert "frame 3 is not at 0.100000 s" in found[0]["detail"]


def test_v30_missing_file(finished, cli):
    root = finished("v30_partial")
    v30_file(root, WRIST).unlink()
    found = problems(cli("check", root, "--json"))
    kinds = {(p["kind"], p["camera"]) for p in found}
    assert ("missing-video", WRIST) in kinds and all(p["camera"] == WRIST for p in found)
    missing = next(p for p in found if p["kind"] == "missing-video")
    assert missing["file"] == f"videos/{WRIST}/chunk-000/file-000.mp4" and 0 in missing["episodes"]


def test_v21_truncated_file(finished, cli):
    root = finished("v21_partial")
    video = v21_file(root, TOP, 1)
    video.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    found = problems(cli("check", root, "--json"))
    assert named(found) == {("truncated", TOP, (1,))}
    assert "truncated" in found[0]["detail"]


def test_v30_truncated_file(finished, cli):
    root = finished("v30_partial")
    video = v30_file(root, TOP)
    video.write_bytes(video.read_bytes()[:-100])
    found = problems(cli("check", root, "--json"))
    assert {(p["kind"], p["camera"]) for p in found} == {("truncated", TOP)}
    assert set(found[0]["episodes"]) >= {0, 1}


def test_damaged_bytes_are_found_with_decode_only(finished, cli):
    root = finished("v21_partial")
    damage(v21_file(root, WRIST, 0))
    assert cli("check", root).exit_code == 0  # the packets are all there, at their times
    outcome = cli("check", root, "--decode", "--json")
    assert outcome.exit_code == 1
    found = problems(outcome)
    assert named(found) == {("decode", WRIST, (0,))}
    assert found[0]["file"] == f"videos/chunk-000/{WRIST}/episode_000000.mp4"
    assert found[0]["detail"].startswith("a frame does not decode: libdav1d: "), found[0]["detail"]
    assert "Input #" not in found[0]["detail"] and "muxing overhead" not in found[0]["detail"]


def test_v30_damaged_bytes_name_the_file_and_its_episodes(finished, cli):
    root = finished("v30_partial")
    damage(v30_file(root, TOP))
    found = problems(cli("check", root, "--decode", "--json"))
    assert {(p["kind"], p["camera"]) for p in found} == {("decode", TOP)}
    assert set(found[0]["episodes"]) >= {0, 1}


def test_frame_count_mismatch_with_the_episode_length(finished, cli):
    root = finished("v21_partial")
    set_length(root, 0, 4)  # the videos hold 5
    found = problems(cli("check", root, "--json"))
    assert named(found) == {("frame-count", TOP, (0,)), ("frame-count", WRIST, (0,))}
    assert "5 frames where its length is 4" in found[0]["detail"]


def test_v30_frame_count_mismatch_in_the_episodes_parquet(finished, cli):
    # The metadata agrees with itself (the last episode's length and data range both one frame longer), but
    # the video holds a frame less than the row says.
    root = finished("v30_partial")
    path = root / "meta" / "episodes" / "chunk-000" / "file-001.parquet"
    table = pq.read_table(path)
    longer = {name: [value + 1 for value in table.column(name).to_pylist()] for name in ("length", "dataset_to_index")}
    for name, values in longer.items():
        table = table.set_column(
            table.column_names.index(name), name, pa.array(values, type=table.schema.field(name).type)
        )
    pq.write_table(table, path)
    found = problems(cli("check", root, "--json"))
    assert ("frame-count", TOP, (2,)) in named(found) and ("frame-count", WRIST, (2,)) in named(found)
    assert "frame 4 is not at" in next(p for p in found if p["episodes"] == [2])["detail"]


def test_codec_and_size_disagreeing_with_info_json(finished, cli):
    root = finished("v30_partial")

    def change(document: dict[str, Any]) -> None:
        info = document["features"][TOP]["info"]
        info["video.codec"], info["video.width"] = "h264", 32

    edit_info(root, change)
    found = problems(cli("check", root, "--json"))
    assert {(p["kind"], p["camera"]) for p in found} == {("format", TOP)}
    assert "codec av1, info.json says h264" in found[0]["detail"]
    assert "size 64x64, info.json says 32x64" in found[0]["detail"]


def test_the_table_names_camera_episode_and_file_within_80_columns(finished, cli):
    root = finished("v21_partial")
    v21_file(root, TOP, 1).unlink()
    outcome = cli("check", root)
    assert outcome.exit_code == 1
    lines = outcome.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines[1:]), outcome.stdout
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    assert rows[0][:3] == ["top", "1", "missing-video"]
    detail = "".join(row[3] for row in rows)
    assert detail.startswith(f"videos/chunk-000/{TOP}/episode_000001.mp4: the file is missing")


# --- changing nothing ------------------------------------------------------------------------------------------------


def test_check_changes_nothing_in_the_dataset(finished, cli, ffmpeg_binary):
    root = finished("v30_partial")
    drop_packet(ffmpeg_binary, v30_file(root, TOP), 7)
    damage(v30_file(root, WRIST))
    shutil.copytree(FIXTURES / "v30_partial" / "images", root / "images", dirs_exist_ok=True)
    before = tree_state(root)
    for arguments in ([], ["--decode"], ["--json"]):
        assert cli("check", root, *arguments).exit_code == 1
    after = tree_state(root)
    assert after.keys() == before.keys()  # no lock file, no .encodectl folder
    assert after == before  # bytes and modification times


# --- the command line ------------------------------------------------------------------------------------------------


def test_exit_codes_of_a_real_process(finished, tmp_path):
    clean = finished("v21_partial")
    broken = raw_fixture("v21_partial", tmp_path / "broken")
    assert run_encodectl_process("check", clean).exit_code == 0
    outcome = run_encodectl_process("check", clean, broken)
    assert outcome.exit_code == 1 and "Traceback" not in outcome.stderr
    assert_one_line_error(run_encodectl_process("check", tmp_path / "nothing-here"), "does not exist")
    (broken / "meta" / "info.json").write_text("{not json")
    assert_one_line_error(run_encodectl_process("check", broken), "info.json is not valid JSON")


def test_json_has_typed_values(finished, cli):
    root = finished("v21_partial")
    v21_file(root, TOP, 1).unlink()
    report = cli("check", root, "--json").json()
    assert isinstance(report["problems"], int) and isinstance(report["seconds"], float)
    [check] = report["checks"]
    assert check["path"] == str(root) and check["mode"] == "packets" and check["fps"] == 30
    assert isinstance(check["frames_read"], int) and isinstance(check["videos_read"], int)
    [problem] = check["problems"]
    assert problem == {
        "kind": "missing-video",
        "camera": TOP,
        "episodes": [1],
        "episode": None,
        "file": f"videos/chunk-000/{TOP}/episode_000001.mp4",
        "detail": "the file is missing; no frames under images/ either",
        "frames_on_disk": None,
        "repairable": False,
    }


def test_the_python_api_returns_pydantic_results(finished):
    root = finished("v30_partial")
    v30_file(root, WRIST).unlink()
    report = encodectl.check(root)
    assert isinstance(report, encodectl.CheckReport) and not report.ok
    assert {problem.kind for problem in report.checks[0].problems} == {encodectl.ProblemKind.missing_video}
    assert encodectl.check([root], decode=True).checks[0].mode.value == "decode"


# --- hostile metadata ---------------------------------------------------------------------------------------------


@BEFORE_FFMPEG
def test_a_camera_key_that_climbs_out_of_the_dataset_is_refused(tmp_path, cli):
    root = raw_fixture("v21_partial", tmp_path / "inside")
    outside = tmp_path / "secret" / "episode_000000.mp4"
    outside.parent.mkdir()
    outside.write_bytes(b"not for reading")

    def change(document: dict[str, Any]) -> None:
        document["features"]["../../../../secret"] = document["features"].pop(TOP)

    edit_info(root, change)
    before = outside.stat().st_atime_ns
    outcome = cli("check", root)
    assert_one_line_error(outcome, "is not a plain name", "outside the dataset")
    assert outside.stat().st_atime_ns == before


@BEFORE_FFMPEG
def test_a_video_path_template_outside_the_dataset_is_refused(tmp_path, cli):
    root = raw_fixture("v30_partial", tmp_path)
    edit_info(root, lambda d: d.update(video_path="/tmp/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"))
    assert_one_line_error(cli("check", root), "video_path", "leads outside the dataset")


@BEFORE_FFMPEG
def test_a_video_linked_to_a_file_outside_the_dataset_is_refused(tmp_path, cli):
    root = raw_fixture("v21_partial", tmp_path / "inside")
    elsewhere = tmp_path / "elsewhere.mp4"
    shutil.copyfile(v21_file(root, TOP, 0), elsewhere)
    v21_file(root, TOP, 0).unlink()
    v21_file(root, TOP, 0).symlink_to(elsewhere)
    assert_one_line_error(cli("check", root), "outside the dataset", "elsewhere.mp4")


@BEFORE_FFMPEG
def test_an_episodes_file_linked_outside_is_refused(tmp_path, cli):
    root = raw_fixture("v30_partial", tmp_path / "inside")
    meta = root / "meta" / "episodes" / "chunk-000" / "file-001.parquet"
    elsewhere = tmp_path / "file-001.parquet"
    meta.replace(elsewhere)
    meta.symlink_to(elsewhere)
    assert_one_line_error(cli("check", root), "an episodes file leads to", "outside the dataset")


# --- a folder that encode made ------------------------------------------------------------------------------------


def test_a_folder_that_encode_made(tmp_path, cli, make_frames):
    root = tmp_path / "recording"
    make_frames(root / "cam" / "episode_0", 6)
    make_frames(root / "cam" / "episode_1", 4)
    assert cli("encode", root).exit_code == 0
    clean = cli("check", root, "--json")
    assert clean.exit_code == 0, clean.stdout
    assert clean.json()["checks"][0]["layout"] == "folder" and clean.json()["checks"][0]["frames_read"] == 10

    sorted((root / "cam" / "episode_1").iterdir())[-1].unlink()
    (root / "cam" / "episode_0.mp4").unlink()
    found = problems(cli("check", root, "--json"))
    assert {(p["kind"], p["episode"]) for p in found} == {("missing-video", "episode_0"), ("frame-count", "episode_1")}
    assert next(p for p in found if p["kind"] == "frame-count")["detail"] == "4 frames, its folder holds 3"

    other_rate = problems(cli("check", root / "cam" / "episode_1", "--fps", "25", "--json"))
    assert {(p["kind"], p["episode"]) for p in other_rate} == {("frame-count", "episode_1"), ("fps", "episode_1")}
    assert next(p for p in other_rate if p["kind"] == "fps")["detail"] == "frame rate 30, expected 25 (--fps)"


@BEFORE_FFMPEG
def test_fps_does_not_apply_to_a_dataset(tmp_path, cli):
    assert_one_line_error(cli("check", raw_fixture("v30_partial", tmp_path), "--fps", "25"), "--fps does not apply")


def test_split_listing_keeps_each_input_apart():
    stdout = "\n".join([
        "#tb 0: 1/15360", "#dimensions 0: 64x64", "#tb 1: 1/90000", "#dimensions 1: 32x16",
        "0,          0,          0,      512,       91, 0xb8a72384",
        "1,          0,          0,     3000,      370, 0x4bebbb52",
        "0,        512,        512,      512,      115, 0xff5a3681, F=0x0",
    ])  # fmt: skip
    stderr = (
        "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mp4':\n"
        "  Stream #0:0[0x1](und): Video: av1 (libdav1d) (Main) (av01 / 0x31307661), yuv420p(tv), 64x64\n"
        "Input #1, mov,mp4,m4a,3gp,3g2,mj2, from 'b.mp4':\n"
        "  Stream #1:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv444p(tv, progressive), 32x16\n"
        "Stream mapping:\n  Stream #0:0 -> #0:0 (copy)\n"
    )
    first, second = split_listing(stdout, stderr, [Path("a.mp4"), Path("b.mp4")])
    assert (first.video.codec, first.video.pix_fmt, first.video.frames, first.pts) == ("av1", "yuv420p", 2, [0, 512])
    assert (second.video.codec, second.video.pix_fmt, second.video.width, second.time_base) == (
        "h264", "yuv444p", 32, (1, 90000),
    )  # fmt: skip


# --- --repair ---------------------------------------------------------------------------------------------------


def test_repair_rewrites_a_v30_file_whole_from_its_episodes_frames(tmp_path, cli, ffmpeg_binary):
    root = raw_fixture("v30_pending", tmp_path)
    assert cli("encode", root).exit_code == 0  # the frames stay: episodes 0-2 joined in file-000
    rows_before = {row["episode_index"]: row for row in episode_rows(root)}
    drop_packet(ffmpeg_binary, v30_file(root, TOP), 7)  # episode 1's frame 2
    assert named(problems(cli("check", root, "--json"))) == {("frame-count", TOP, (1,))}

    outcome = cli("check", root, "--repair", "--json")
    assert outcome.exit_code == 0, outcome.stdout
    [check] = outcome.json()["checks"]
    assert check["problems"] == []
    assert check["repaired"] == [
        f"{TOP} videos/{TOP}/chunk-000/file-000.mp4: rewritten from the frames of episodes 0, 1, 2, verified as "
        "LeRobot reads it"
    ]
    rows = {row["episode_index"]: row for row in episode_rows(root)}
    for index in (0, 1, 2):  # the spans as LeRobot computes them, the same as before the damage
        for column in ("from_timestamp", "to_timestamp", "chunk_index", "file_index"):
            name = f"videos/{TOP}/{column}"
            assert rows[index][name] == rows_before[index][name]
    assert not (root / ".encodectl").exists()  # the staging went with the commit
    assert cli("check", root, "--decode").exit_code == 0


def test_repair_replaces_a_damaged_v21_file_and_encodes_a_missing_one(finished, cli):
    root = finished("v21_partial")  # episode 2's frames are still under images/
    damage(v21_file(root, WRIST, 2))
    v21_file(root, TOP, 2).unlink()
    outcome = cli("check", root, "--decode", "--repair", "--json")
    assert outcome.exit_code == 0, outcome.stdout
    [check] = outcome.json()["checks"]
    assert sorted(check["repaired"]) == [
        f"{TOP} episode_000002: encoded again from its frames",
        f"{WRIST} episode_000002: encoded again from its frames",
    ]
    assert cli("check", root, "--decode").exit_code == 0


def test_repair_encodes_episodes_without_a_video_as_encode_does(tmp_path, cli):
    root = raw_fixture("v30_partial", tmp_path)
    outcome = cli("check", root, "--repair", "--json")
    assert outcome.exit_code == 0, outcome.stdout
    assert len(outcome.json()["checks"][0]["repaired"]) == 2


def test_repair_leaves_what_it_cannot_make_and_changes_nothing(finished, cli):
    root = finished("v30_partial")
    damage(v30_file(root, WRIST, 0))  # episodes 0-1, encoded by LeRobot, whose frames are gone
    before = tree_state(root)
    outcome = cli("check", root, "--decode", "--repair", "--json")
    assert outcome.exit_code == 1
    [check] = outcome.json()["checks"]
    assert {(p["kind"], p["camera"]) for p in check["problems"]} == {("decode", WRIST)}
    assert check["repaired"] == [] and not check["problems"][0]["repairable"]
    assert tree_state(root) == before


@BEFORE_FFMPEG
def test_repair_applies_to_lerobot_datasets_only(tmp_path, cli, make_frames):
    make_frames(tmp_path / "episode_0", 3)
    assert_one_line_error(cli("check", tmp_path, "--repair"), "--repair applies to LeRobot datasets")


def episode_rows(root: Path) -> list[dict[str, Any]]:
    return [
        row
        for path in sorted((root / "meta" / "episodes").glob("*/*.parquet"))
        for row in pq.read_table(path).to_pylist()
    ]


# --- the MP4 sample table, against ffmpeg's listing ------------------------------------------------------------------


def test_the_sample_table_says_what_ffmpeg_lists(finished, ffmpeg_binary, tmp_path, make_frames):
    """LeRobot's own AV1 files, encodectl's, and joined v3.0 files: the same packets, times and format as ffmpeg's
    listing, and encodectl's H.264 file too (tests/job/test_avc_config.py has H.264's other forms)."""
    files = sorted(FIXTURES.glob("*/videos/**/*.mp4")) + sorted(finished("v30_partial").glob("videos/**/*.mp4"))
    depth = [path for path in files if "depth" in path.parent.parent.name]  # HEVC with B-frames: ffmpeg's to list
    assert depth and all(packet_times(path) is None for path in depth)
    files = [path for path in files if path not in depth]
    assert len(files) >= 8
    for path in files:
        fast = packet_times(path)
        assert fast is not None, path
        listed = read_frame_times(ffmpeg_binary, path)
        assert (fast.pts, fast.end, fast.time_base) == (listed.pts, listed.end, listed.time_base), path
        assert fast.video == listed.video, path
    make_frames(tmp_path / "episode", 4)
    encodectl.encode(tmp_path / "episode")
    fast = packet_times(tmp_path / "episode.mp4")
    listed = read_frame_times(ffmpeg_binary, tmp_path / "episode.mp4")
    assert fast is not None and (fast.pts, fast.end, fast.video) == (listed.pts, listed.end, listed.video)


def test_a_packet_cut_out_shows_in_the_sample_table(finished, ffmpeg_binary):
    root = finished("v21_partial")
    drop_packet(ffmpeg_binary, v21_file(root, TOP, 0), 2)
    fast = packet_times(v21_file(root, TOP, 0))
    assert fast is not None and fast.pts == read_frame_times(ffmpeg_binary, v21_file(root, TOP, 0)).pts
    assert len(fast.pts) == 4 and fast.pts[2] - fast.pts[1] == 2 * (fast.pts[1] - fast.pts[0])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file whatever its mode")
def test_a_video_this_user_may_not_read_is_a_problem_not_a_crash(finished, cli):
    root = finished("v21_partial")
    v21_file(root, TOP, 0).chmod(0)
    found = problems(cli("check", root, "--json"))
    assert named(found) == {("unreadable", TOP, (0,))}


def test_a_frame_lost_before_the_encoder_shows_as_a_short_episode(finished, cli, tmp_path):
    """Re-encoded with one frame left out, the frames close up on the grid: only the count tells."""
    root = finished("v21_partial")
    frames = tmp_path / "episode_000002"
    shutil.copytree(root / "images" / TOP / "episode_000002", frames)
    (frames / "frame_000001.png").unlink()  # frame 1 of 4 lost; 2 and 3 close up
    for number in (2, 3):
        (frames / f"frame_{number:06d}.png").replace(frames / f"frame_{number - 1:06d}.png")
    [result] = encodectl.encode(frames, codec="av1", profile="lerobot", fps=30)
    assert result.frames == 3
    shutil.copyfile(result.output, v21_file(root, TOP, 2))
    found = problems(cli("check", root, "--json"))
    assert named(found) == {("frame-count", TOP, (2,))}
    assert found[0]["detail"].startswith("3 frames where its length is 4; frame 3 is not at 0.100000 s")


def test_a_damaged_index_never_raises(tmp_path):
    """Bytes of the moov box flipped at random: the table reader answers or leaves the file to ffmpeg."""
    import random

    source = sorted(FIXTURES.glob("v21_partial/videos/**/*.mp4"))[0].read_bytes()
    moov = source.index(b"moov") - 4
    generator = random.Random(23)
    for _ in range(200):
        data = bytearray(source)
        for _ in range(generator.randint(1, 6)):
            data[generator.randrange(moov, len(data))] = generator.randrange(256)
        (tmp_path / "damaged.mp4").write_bytes(bytes(data))
        packet_times(tmp_path / "damaged.mp4")  # None or FrameTimes; never an exception


def test_v30_a_frame_lost_and_closed_up_shows_at_the_files_last_episode(tmp_path, cli, ffmpeg_binary):
    """Every later frame moves one place earlier, on the grid: LeRobot fails only at the file's end, and so
    the problem shows there, saying why."""
    root = raw_fixture("v30_pending", tmp_path)
    assert cli("encode", root).exit_code == 0  # episodes of 5, 6 and 4 frames in file-000
    video = v30_file(root, TOP)
    step = read_frame_times(ffmpeg_binary, video).pts[1]
    cut = video.with_name("cut.mp4")
    subprocess.run(
        [str(ffmpeg_binary.path), "-hide_banner", "-loglevel", "error", "-i", str(video), "-map", "0:v:0",
         "-c", "copy", "-bsf:v", f"noise=drop=eq(n\\,2),setts=ts=N*{step}", "-y", str(cut)],
        check=True,
    )  # fmt: skip
    cut.replace(video)
    found = problems(cli("check", root, "--json"))
    assert named(found) == {("frame-count", TOP, (2,))}
    assert "the file holds 14 frames, its episodes' lengths add up to 15" in found[0]["detail"]
