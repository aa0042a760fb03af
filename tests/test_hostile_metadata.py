"""A dataset's metadata is untrusted input (datasets are downloaded from strangers), and files change
under a running encode: encodectl never writes outside the dataset, never replaces what it did not make,
and never calls a video done when the frames on disk are not the ones it holds.

Each test here is a route that an earlier encodectl took to the wrong outcome (a file written or replaced
outside the dataset, exit 0 with the wrong pictures, a frame's new content deleted).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from encodectl.lerobot.commit import CommitJournal, FileState, Move

from .conftest import BEFORE_FFMPEG, At, assert_one_line_error, encode_one_episode, run_encodectl
from .test_lerobot import CAMERAS, copy_fixture, digests, episode_rows

TOP, WRIST = CAMERAS
TEMPLATE = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"

COMMIT_IS_ENCODECTLS = pytest.mark.same_on_every_ffmpeg(
    "the commit, the journal and which frames may go are encodectl's; the encode before them is incidental"
)


def edit_info(root: Path, **changes: object) -> None:
    path = root / "meta" / "info.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}, indent=4))


def tree(directory: Path) -> dict[str, str]:
    """Every file under `directory` (its digest) and every folder: what a run must leave as it was."""
    found = digests(directory)
    found.update({f"{p.relative_to(directory)}/": "" for p in directory.rglob("*") if p.is_dir()})
    return found


def episodes_file(root: Path) -> Path:
    return root / "meta" / "episodes" / "chunk-000" / "file-000.parquet"


def rewrite_column(path: Path, name: str, values: list[object]) -> None:
    table = pq.read_table(path)
    column = table.column_names.index(name)
    table = table.set_column(column, name, pa.array(values, type=table.schema.field(name).type))
    pq.write_table(table, path)


# -- paths built from metadata stay inside the dataset ------------------------------------------------------


@BEFORE_FFMPEG
@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("../sib/" + TEMPLATE, "leads outside the dataset"),
        (TEMPLATE + "/../../../../../x/{video_key}.mp4", "leads outside the dataset"),
        ("/tmp/encodectl-absolute/" + TEMPLATE, "leads outside the dataset"),
        (TEMPLATE.replace("{video_key}", "{video_key.__class__}"), "uses {video_key.__class__}"),
        (TEMPLATE.replace("{chunk_index:03d}", "{chunk_index:{file_index}}"), "plain number formats"),
    ],
)
def test_a_video_path_template_that_leaves_the_dataset_is_refused(tmp_path, template, fragment):
    root = copy_fixture("v30_pending", tmp_path)
    sibling = tmp_path / "sib" / "videos" / TOP / "chunk-000" / "file-000.mp4"
    sibling.parent.mkdir(parents=True)
    sibling.write_bytes(b"a video of another dataset")
    edit_info(root, video_path=template)
    before = tree(tmp_path)
    outcome = run_encodectl("encode", root)
    assert_one_line_error(outcome, "video_path", fragment)
    assert tree(tmp_path) == before  # not a file written, replaced or staged, in the dataset or beside it
    assert not Path("/tmp/encodectl-absolute").exists()


@BEFORE_FFMPEG
@pytest.mark.parametrize("key", ["../../escape_k", "../../../victim3", "/abs", "cam/era", "..", "a\\b"])
def test_a_camera_key_that_is_not_a_plain_name_is_refused(tmp_path, key):
    root = copy_fixture("v30_pending", tmp_path)
    info = json.loads((root / "meta" / "info.json").read_text())
    info["features"] = {(key if name == TOP else name): feature for name, feature in info["features"].items()}
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=4))
    if key.startswith("../"):  # the frames where that key leads, as a hostile dataset would ship them
        shutil.copytree(root / "images" / TOP, (root / "images" / key).resolve())
    before = tree(tmp_path)
    outcome = run_encodectl("encode", root)
    assert_one_line_error(outcome, "is not a plain name")
    assert tree(tmp_path) == before


@BEFORE_FFMPEG
@pytest.mark.parametrize("folder", ["videos", "meta", "meta/episodes", "images", "images/" + TOP, ".encodectl"])
def test_a_folder_symlinked_out_of_the_dataset_is_refused(tmp_path, folder):
    root = copy_fixture("v30_pending", tmp_path)
    elsewhere = tmp_path / "elsewhere"
    target = root / folder
    if target.exists():
        shutil.move(target, elsewhere)
    else:
        elsewhere.mkdir()
    target.symlink_to(elsewhere, target_is_directory=True)
    before = tree(tmp_path)
    outcome = run_encodectl("encode", root, "--delete-frames")
    assert_one_line_error(outcome, str(root))
    assert any(word in outcome.stderr for word in ("outside the dataset", "is not a folder"))
    assert tree(tmp_path) == before  # no frame deleted, no video or metadata written through the link


@BEFORE_FFMPEG
def test_a_commit_journal_that_came_with_the_dataset_moves_nothing_out_of_it(tmp_path):
    root = copy_fixture("v30_pending", tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's file")
    source = root / "data" / "chunk-000" / "file-000.parquet"
    journal = root / ".encodectl" / "lerobot-commit.json"
    journal.parent.mkdir()
    move = Move(source=source, target=victim, staged=FileState.of(source), before=FileState.of(victim))
    journal.write_text(CommitJournal(moves=[move]).model_dump_json())
    before = tree(tmp_path)
    outcome = run_encodectl("encode", root)
    assert_one_line_error(outcome, "lerobot-commit.json", "not from this dataset's staging folder")
    assert tree(tmp_path) == before and victim.read_text() == "the user's file"


# -- metadata that contradicts itself changes nothing ----------------------------------------------------------


@BEFORE_FFMPEG
def test_duplicate_episode_rows_are_refused(tmp_path):
    root = copy_fixture("v30_pending", tmp_path)
    rewrite_column(episodes_file(root), "episode_index", [0, 0, 2])
    before = tree(tmp_path)
    outcome = run_encodectl("encode", root)
    assert_one_line_error(outcome, "episode_index 0 has two rows")
    assert tree(tmp_path) == before


@BEFORE_FFMPEG
def test_data_ranges_that_are_not_contiguous_are_refused(tmp_path):
    root = copy_fixture("v30_pending", tmp_path)
    rows = episode_rows(root)
    starts = [rows[i]["dataset_from_index"] + (1 if i == 1 else 0) for i in sorted(rows)]
    ends = [rows[i]["dataset_to_index"] + (1 if i == 1 else 0) for i in sorted(rows)]
    rewrite_column(episodes_file(root), "dataset_from_index", starts)
    rewrite_column(episodes_file(root), "dataset_to_index", ends)
    before = tree(tmp_path)
    assert_one_line_error(run_encodectl("encode", root), "episode 1 starts at data row 6", "not contiguous")
    assert tree(tmp_path) == before


@BEFORE_FFMPEG
def test_a_length_that_does_not_fit_its_data_range_is_refused(tmp_path):
    root = copy_fixture("v30_pending", tmp_path)
    rewrite_column(episodes_file(root), "length", [5, 7, 4])
    assert_one_line_error(run_encodectl("encode", root), "episode 1 spans data rows 5-11 (6 frames)", "length is 7")


@BEFORE_FFMPEG
def test_episodes_placed_at_overlapping_times_in_one_file_are_refused(tmp_path):
    root = copy_fixture("v30_partial", tmp_path)
    rewrite_column(episodes_file(root), f"videos/{TOP}/from_timestamp", [0.0, 0.1])
    before = tree(tmp_path)
    assert_one_line_error(run_encodectl("encode", root), "episodes 0 and 1 overlap", TOP)
    assert tree(tmp_path) == before


@BEFORE_FFMPEG
@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"fps": 10**30}, "fps 1000000000000000000000000000000 is not a whole number of frames per second from 1"),
        ({"video_files_size_in_mb": "big"}, "video_files_size_in_mb 'big' is not a size"),
    ],
)
def test_numbers_out_of_range_name_the_field_of_info_json(tmp_path, change, fragment):
    root = copy_fixture("v30_pending", tmp_path)
    edit_info(root, **change)
    outcome = run_encodectl("encode", root)
    assert_one_line_error(outcome, "meta/info.json", fragment)
    assert "--fps" not in outcome.stderr  # no such option was given


# -- nothing replaced that encodectl did not make -------------------------------------------------------------


@pytest.mark.parametrize("name", ["v30_pending", "v21_pending"])
def test_a_file_no_row_refers_to_is_not_replaced(tmp_path, cli, name):
    root = copy_fixture(name, tmp_path)
    if name == "v30_pending":
        theirs = root / "videos" / TOP / "chunk-000" / "file-000.mp4"
    else:
        theirs = root / "videos" / "chunk-000" / TOP / "episode_000000.mp4"
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(b"NOT MINE")
    outcome = cli("encode", root, "--json")
    assert outcome.exit_code == 1
    results = outcome.json()["results"]
    refused = [r for r in results if r["camera"] == TOP and r["status"] == "failed"]
    assert refused, results
    assert any(
        r["reason"] == f"{theirs} is already there, but no episode row of the dataset refers to it: encodectl "
        f"replaces nothing it did not make; move it away and run again ({TOP} not placed)"
        for r in refused
    )
    assert [r["status"] for r in results if r["camera"] == WRIST].count("done") == 3  # the other camera is placed
    assert theirs.read_bytes() == b"NOT MINE"
    if name == "v30_pending":
        assert all(row.get(f"videos/{TOP}/chunk_index") is None for row in episode_rows(root).values())


# -- frames that change during a job fail it -----------------------------------------------------------------


def rewrite_keeping_size_and_mtime(path: Path) -> bytes:
    """A same-size rewrite with the modification time put back, as `touch -r` does."""
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the picture data: header and end chunk stay whole
    new = bytes(data)
    path.write_bytes(new)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    return new


@pytest.mark.parametrize("verify", ["packets", "decode"])
def test_a_frame_rewritten_after_ffmpeg_read_it_fails_the_job(tmp_path, make_frames, ffmpeg_binary, verify):
    frames = make_frames(tmp_path / "ep", 6)
    rewrite = At("verifying", lambda: rewrite_keeping_size_and_mtime(frames[3]))
    result = encode_one_episode(tmp_path, ffmpeg_binary, rewrite, verify=verify)
    assert result.status.value == "failed"
    assert result.failure.value == "input"
    assert result.reason == (
        f"{frames[3]} changed while it was encoded (rewritten after encodectl checked it; the video may hold "
        "either picture); no video kept"
    )
    assert not (tmp_path / "ep.mp4").exists()


@COMMIT_IS_ENCODECTLS
def test_a_frame_rewritten_before_the_commit_is_neither_placed_nor_deleted(tmp_path, cli, monkeypatch):
    from encodectl.lerobot import finish_dataset as finish

    root = copy_fixture("v30_pending", tmp_path)
    frame = root / "images" / TOP / "episode-000001" / "frame-000002.png"
    new_content: list[bytes] = []
    read_frame_times = finish.read_frame_times

    def read_then_rewrite(*args, **kwargs):  # the jobs are done and verified; the commit has not begun
        if not new_content:
            new_content.append(rewrite_keeping_size_and_mtime(frame))
        return read_frame_times(*args, **kwargs)

    monkeypatch.setattr(finish, "read_frame_times", read_then_rewrite)
    outcome = cli("encode", root, "--delete-frames", "--json")
    assert outcome.exit_code == 1
    failed = [r for r in outcome.json()["results"] if r["status"] == "failed"]
    assert [(r["camera"], r["episode"]) for r in failed] == [(TOP, f"episode-00000{i}") for i in range(3)]
    assert all("changed after encodectl planned the episode" in r["reason"] for r in failed)
    assert frame.read_bytes() == new_content[0]  # its new content is kept, not deleted
    assert len(list((root / "images" / TOP / "episode-000001").iterdir())) == 6
    assert all(row.get(f"videos/{TOP}/chunk_index") is None for row in episode_rows(root).values())
    assert not (root / "videos" / TOP).exists()


# -- watch forgets what is gone -----------------------------------------------------------------------------


@COMMIT_IS_ENCODECTLS
def test_watch_forgets_the_failure_of_a_folder_that_is_gone(tmp_path, make_frames):
    make_frames(tmp_path / "ep_a", 3)
    bad = make_frames(tmp_path / "ep_b", 3)
    bad[1].write_bytes(bad[1].read_bytes()[:-20])  # truncated
    first = run_encodectl("watch", tmp_path, "--once", "--settle", "0")
    assert first.exit_code == 1
    assert "failed: " in first.stderr + first.stdout

    rerun = run_encodectl("watch", tmp_path, "--once", "--settle", "0")  # its summary agrees with its exit code
    assert rerun.exit_code == 1 and "0 failed (and 1 still failed from earlier runs)" in rerun.stdout

    shutil.rmtree(tmp_path / "ep_b")
    second = run_encodectl("watch", tmp_path, "--once", "--settle", "0")
    said = second.stdout + second.stderr
    assert second.exit_code == 0, said
    assert said.count(f"{tmp_path / 'ep_b'} is gone; its failure is forgotten") == 1
    assert "failed: " not in said
    assert "0 failed" in said

    third = run_encodectl("watch", tmp_path, "--once", "--settle", "0")
    assert third.exit_code == 0 and "ep_b" not in third.stdout + third.stderr


# -- what is said when the commit cannot finish --------------------------------------------------------------

# Runs encodectl in a process of its own and sends it SIGTERM while it syncs the commit's journal: the moment
# at which a commit stopped half-way would leave the dataset for the next run to complete.
TERM_DRIVER = """
import os, signal, sys
import encodectl.lerobot.commit as commit
real = commit._fsync
def fsync(path):
    if path.name.endswith(".tmp"):
        os.kill(os.getpid(), signal.SIGTERM)
    real(path)
commit._fsync = fsync
sys.argv = ["encodectl", *sys.argv[1:]]
from encodectl.cli import main
main()
"""


@COMMIT_IS_ENCODECTLS
def test_sigterm_during_the_commit_lets_it_finish_then_stops(tmp_path):
    import subprocess
    import sys

    root = copy_fixture("v30_pending", tmp_path)
    stopped = subprocess.run(
        [sys.executable, "-c", TERM_DRIVER, "encode", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert stopped.returncode == 130, stopped.stderr
    assert "encodectl: interrupted; running encodes stopped, no partial files left" in stopped.stderr
    assert not (root / ".encodectl").exists()  # nothing left for a next run to complete: the claim holds
    rows = episode_rows(root)
    assert all(row[f"videos/{camera}/chunk_index"] == 0 for row in rows.values() for camera in CAMERAS)


@COMMIT_IS_ENCODECTLS
def test_a_read_only_target_is_named_and_the_next_run_completes_the_commit(tmp_path):
    import subprocess

    root = copy_fixture("v30_pending", tmp_path)
    info = root / "meta" / "info.json"
    if subprocess.run(["chattr", "+i", str(info)], capture_output=True, check=False).returncode != 0:
        pytest.skip("chattr +i is not available on this file system")
    try:
        blocked = run_encodectl("encode", root)
    finally:
        subprocess.run(["chattr", "-i", str(info)], check=True)
    assert_one_line_error(
        blocked,
        f"cannot put {info} in place (Operation not permitted); the rest of the commit waits in "
        f"{root / '.encodectl' / 'lerobot-commit.json'}, and the next run completes it once that file can be written",
        code=1,
    )
    finished = run_encodectl("encode", root, "--json")
    assert finished.exit_code == 0, finished.stderr
    assert all(row[f"videos/{camera}/chunk_index"] == 0 for row in episode_rows(root).values() for camera in CAMERAS)
    assert not (root / ".encodectl").exists()


def test_a_failed_job_says_why_on_stderr(tmp_path, make_frames):
    make_frames(tmp_path / "rec" / "ep_a", 4)
    frames = make_frames(tmp_path / "rec" / "ep_b", 4)
    frames[2].write_bytes(frames[2].read_bytes()[:-20])
    outcome = run_encodectl("encode", tmp_path / "rec")
    assert outcome.exit_code == 1  # one done, one failed
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("encodectl: error: ")]
    assert len(errors) == 1 and errors[0].startswith("encodectl: error: ep_b: ") and "frame_000002.png" in errors[0]


@BEFORE_FFMPEG
def test_watch_deletes_no_frame_rewritten_since_it_was_encoded(tmp_path, make_frames):
    from encodectl.frames.sequence import scan_frames, sequence_digest
    from encodectl.watching.signature import delete_encoded_frames, frame_signature

    frames = make_frames(tmp_path / "ep", 4)
    signature, encoded = frame_signature(tmp_path / "ep"), sequence_digest(scan_frames(tmp_path / "ep"))
    new = rewrite_keeping_size_and_mtime(frames[1])
    assert frame_signature(tmp_path / "ep") == signature  # count, bytes and newest mtime cannot tell
    assert delete_encoded_frames(tmp_path / "ep", signature, encoded) is False
    assert [frame.exists() for frame in frames] == [True] * 4 and frames[1].read_bytes() == new
    # The frames as encoded are deleted, every one.
    assert delete_encoded_frames(tmp_path / "ep", signature, sequence_digest(scan_frames(tmp_path / "ep")))
    assert not any(frame.exists() for frame in frames)


@BEFORE_FFMPEG
def test_a_frame_that_links_out_of_the_dataset_is_refused(tmp_path, make_frames):
    root = copy_fixture("v30_pending", tmp_path)
    secret = make_frames(tmp_path / "private", 1, size=(64, 64))[0]
    frame = root / "images" / TOP / "episode-000000" / "frame-000002.png"
    frame.unlink()
    frame.symlink_to(secret)
    before = tree(tmp_path)
    assert_one_line_error(run_encodectl("encode", root), "a frame leads to", str(secret), "outside the dataset")
    assert tree(tmp_path) == before


# -- routes a second reader found -------------------------------------------------------------------------


@BEFORE_FFMPEG
def test_a_shipped_journal_with_relative_paths_moves_nothing(tmp_path):
    home = tmp_path / "home"
    root = copy_fixture("v30_pending", home)
    staged = root / ".encodectl" / "lerobot-staging" / "x"
    staged.parent.mkdir(parents=True)
    staged.write_text("payload")
    (root / "ds").symlink_to(".")  # the same file from the current folder and from the root
    move = Move(
        source=Path("ds/.encodectl/lerobot-staging/x"), target=Path(".config/autostart/evil.desktop"),
        staged=FileState.of(staged), before=None,
    )  # fmt: skip
    (root / ".encodectl" / "lerobot-commit.json").write_text(CommitJournal(moves=[move]).model_dump_json())
    before = tree(tmp_path)
    outcome = subprocess.run(
        [sys.executable, "-m", "encodectl.cli", "encode", root.name], cwd=home, capture_output=True, text=True,
        check=False, timeout=120,
    )  # fmt: skip
    assert outcome.returncode == 2, outcome.stderr
    assert "lerobot-commit.json moves ds/.encodectl/lerobot-staging/x" in outcome.stderr
    assert tree(tmp_path) == before and not (home / ".config").exists()


@BEFORE_FFMPEG
@pytest.mark.parametrize("name", ["lerobot-staging", "lerobot-made.json", "watch.lock", "state.sqlite"])
def test_a_link_inside_encodectl_s_own_folder_is_refused(tmp_path, name):
    root = copy_fixture("v30_pending", tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / ".encodectl").mkdir()
    (root / ".encodectl" / name).symlink_to(outside if name == "lerobot-staging" else outside / "victim")
    before = tree(tmp_path)
    said = f"{root / '.encodectl' / name} is a link or a special file"
    for command in (("encode", root), ("check", root, "--repair")):
        assert_one_line_error(run_encodectl(*command), said)
    watched = run_encodectl("watch", root, "--once", "--settle", "0")  # watch says it and goes on; --once fails
    assert watched.exit_code == 1 and said in watched.stderr and "1 failed" in watched.stdout
    assert tree(tmp_path) == before and list(outside.iterdir()) == []


@BEFORE_FFMPEG
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("video_path", TEMPLATE + "\n#"),
        ("video_path", TEMPLATE.replace("videos/", "vid\x1beos/")),
        ("key", "top\ndone"),
    ],
)
def test_control_characters_in_metadata_are_refused(tmp_path, field, value):
    root = copy_fixture("v30_pending", tmp_path)
    info = json.loads((root / "meta" / "info.json").read_text())
    if field == "key":
        info["features"] = {(value if name == TOP else name): feature for name, feature in info["features"].items()}
    else:
        info[field] = value
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=4))
    before = tree(tmp_path)
    outcome = run_encodectl("encode", root)
    assert_one_line_error(outcome, "control character")
    assert tree(tmp_path) == before


@COMMIT_IS_ENCODECTLS
def test_a_frame_link_pointed_elsewhere_after_planning_is_not_placed(tmp_path, cli, monkeypatch, make_frames):
    from encodectl.lerobot import finish_dataset as finish

    root = copy_fixture("v30_pending", tmp_path)
    red = make_frames(tmp_path / "elsewhere", 1, size=(64, 64), seed=9)[0]
    frame = root / "images" / TOP / "episode-000000" / "frame-000002.png"
    kept = root / "images" / "kept-000002.png"  # a link to a file inside the dataset: allowed
    frame.replace(kept)
    frame.symlink_to(kept)
    plan_dataset = finish.plan_dataset

    def plan_then_repoint(*args, **kwargs):
        plan = plan_dataset(*args, **kwargs)
        frame.unlink()
        frame.symlink_to(red)  # after the link was checked: the encode would read a picture from outside
        return plan

    monkeypatch.setattr(finish, "plan_dataset", plan_then_repoint)
    outcome = cli("encode", root, "--json")
    assert outcome.exit_code == 1
    failed = {(r["camera"], r["episode"]) for r in outcome.json()["results"] if r["status"] == "failed"}
    assert (TOP, "episode-000000") in failed
    assert all(row.get(f"videos/{TOP}/chunk_index") is None for row in episode_rows(root).values())


@BEFORE_FFMPEG
@pytest.mark.parametrize(("recorded", "fragment"), [({"fps": 15}, "fps"), ({"dry_run": True}, "dry_run")])
def test_options_recorded_in_info_json_are_encoder_settings_only(tmp_path, recorded, fragment):
    root = copy_fixture("v30_pending", tmp_path)
    edit_info(root, encodectl={"videos": {TOP: {"options": recorded}}})
    before = tree(tmp_path)
    assert_one_line_error(run_encodectl("encode", root), f"encodectl.videos records {fragment}", "not encoder settings")
    assert tree(tmp_path) == before


@COMMIT_IS_ENCODECTLS
def test_delete_frames_deletes_frames_only(tmp_path):
    root = copy_fixture("v30_pending", tmp_path)
    folder = root / "images" / TOP / "episode-000000"
    others = ["notes.txt", ".DS_Store", "frame-000000.png.bak"]
    for name in others:
        (folder / name).write_text("the user's")
    outcome = run_encodectl("encode", root, "--delete-frames")
    assert outcome.exit_code == 0, outcome.stderr
    assert sorted(path.name for path in folder.iterdir()) == sorted(others)


@BEFORE_FFMPEG
def test_two_cameras_led_to_one_folder_are_refused_not_said_done(tmp_path):
    root = copy_fixture("v30_pending", tmp_path)
    (root / "videos" / WRIST).mkdir(parents=True)
    (root / "videos" / TOP).symlink_to(WRIST)  # inside the dataset, but both cameras' files in one place
    outcome = run_encodectl("encode", root)
    assert_one_line_error(outcome, "two files of this commit would go to one place", "nothing was changed")
    assert list((root / "videos" / WRIST).iterdir()) == []
    assert all(row.get(f"videos/{TOP}/chunk_index") is None for row in episode_rows(root).values())


def test_a_span_past_the_end_of_its_file_is_not_appended_to(tmp_path, cli):
    root = copy_fixture("v30_partial", tmp_path)
    path = root / "meta" / "episodes" / "chunk-000" / "file-000.parquet"
    ends = pq.read_table(path).column(f"videos/{TOP}/to_timestamp").to_pylist()
    rewrite_column(path, f"videos/{TOP}/to_timestamp", [*ends[:-1], 5.0])
    outcome = cli("encode", root, "--json")
    assert outcome.exit_code == 1
    failed = [r for r in outcome.json()["results"] if r["status"] == "failed"]
    assert [r["camera"] for r in failed] == [TOP] and "past the file's end" in failed[0]["reason"]


@BEFORE_FFMPEG
@pytest.mark.parametrize("name", ["v21_pending", "v30_pending"])
def test_a_fifo_in_place_of_metadata_or_a_video_is_one_line_not_a_hang(tmp_path, name):
    root = copy_fixture(name, tmp_path)
    if name == "v21_pending":
        fifo = root / "meta" / "episodes.jsonl"
        fifo.unlink()
    else:
        fifo = root / "meta" / "info.json"
        fifo.unlink()
    os.mkfifo(fifo)
    for command in ("encode", "check"):
        assert_one_line_error(run_encodectl(command, root, timeout=60), "is not a regular file")


@BEFORE_FFMPEG
@pytest.mark.parametrize(
    ("change", "fragment"), [({"names": 5}, "are not lists"), ({"shape": ["a", {}, 3]}, "not a frame size")]
)
def test_odd_feature_values_are_one_line_not_an_internal_error(tmp_path, change, fragment):
    root = copy_fixture("v30_pending", tmp_path)
    info = json.loads((root / "meta" / "info.json").read_text())
    info["features"][TOP].update(change)
    if "shape" in change:
        info["features"][TOP]["names"] = ["height", "width", "channels"]
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=4))
    assert_one_line_error(run_encodectl("encode", root), fragment)
