"""LeRobot datasets (v3.0 and v2.1) finished in place, checked as LeRobot's own loader reads them.

The fixtures under tests/fixtures/lerobot/ were made by LeRobot itself (see the README
there). Every video is decoded with PyAV, as LeRobot's loader does: frame i of an
episode must be found at from_timestamp + i/fps within LeRobot's tolerance (1e-4 s),
and look like its source frame.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow.parquet as pq
import pytest

from .conftest import assert_one_line_error, episode_rows, files_in, run_encodectl
from .conftest import copy_lerobot_fixture as copy_fixture

FIXTURES = Path(__file__).parent / "fixtures" / "lerobot"
CAMERAS = ("observation.images.top", "observation.images.wrist")
LENGTHS = (5, 6, 4)
FPS = 30
TOLERANCE_S = 1e-4

# The commit's journal, locks and open-file checks, and the refusals: their outcome is encodectl's; the
# encodes and joins they wrap are checked on every build by the other tests of this file.
COMMIT_MACHINERY = pytest.mark.same_on_every_ffmpeg(
    "the LeRobot commit's journal, locks, open-file checks and refusals decide it; the encodes and "
    "stream-copy joins they wrap run on every build in this file's other tests"
)
# What LeRobot 0.4.4 itself writes into info.json for these frames (from a dataset it encoded).
LEROBOT_VIDEO_INFO = {
    "video.height": 64,
    "video.width": 64,
    "video.codec": "av1",
    "video.pix_fmt": "yuv420p",
    "video.is_depth_map": False,
    "video.fps": 30,
    "video.channels": 3,
    "has_audio": False,
}


def digests(root: Path, *, under: str = "") -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((root / under).rglob("*"))
        if path.is_file()
    }


def frames_of(path: Path) -> list[tuple[Fraction, np.ndarray]]:
    """Every decoded frame of a video (PyAV), with its timestamp in seconds."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [(frame.pts * stream.time_base, frame.to_ndarray(format="rgb24")) for frame in container.decode(stream)]


def source_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)


def assert_reads_like_lerobot(video: Path, start: float, length: int, frames_dir: Path, pattern: str) -> None:
    """Frame i at start + i/fps within LeRobot's tolerance, and it is the source frame i."""
    decoded = frames_of(video)
    for index in range(length):
        wanted = Fraction(start) + Fraction(index, FPS)
        near = [image for stamp, image in decoded if abs(stamp - wanted) <= TOLERANCE_S]
        assert len(near) == 1, f"{video.name}: frame {index} of the episode at {float(wanted):.6f} s: {len(near)} found"
        assert psnr(near[0], source_frame(frames_dir / pattern.format(index))) > 20


def test_v30_pending_dataset_is_finished_as_lerobot_itself_writes_it(tmp_path, cli):
    root = copy_fixture("v30_pending", tmp_path)
    before = digests(root)
    outcome = cli("encode", root, "--json")
    assert outcome.exit_code == 0, outcome.stdout
    results = outcome.json()["results"]
    done = [r for r in results if r["status"] == "done"]
    assert len(done) == 6 and {r["encoder"] for r in done} == {"libsvtav1"}
    cut_off = [r for r in results if r["status"] == "skipped"]
    assert {r["episode"] for r in cut_off} == {"episode-000003"}
    assert all("not in the dataset's metadata" in r["reason"] for r in cut_off)

    # LeRobot's settings: libsvtav1 preset 12, crf 30, a keyframe every 2 frames.
    command = done[0]["command"]
    assert [command[command.index(flag) + 1] for flag in ("-crf", "-preset", "-g")] == ["30", "12", "2"]

    rows = episode_rows(root)
    start = 0.0
    for index, length in enumerate(LENGTHS):
        for camera in CAMERAS:
            row = rows[index]
            assert (row[f"videos/{camera}/chunk_index"], row[f"videos/{camera}/file_index"]) == (0, 0)
            assert row[f"videos/{camera}/from_timestamp"] == pytest.approx(start, abs=1e-12)
            assert row[f"videos/{camera}/to_timestamp"] == pytest.approx(start + length / FPS, abs=1e-12)
            video = root / "videos" / camera / "chunk-000" / "file-000.mp4"
            frames = root / "images" / camera / f"episode-{index:06d}"
            assert_reads_like_lerobot(video, row[f"videos/{camera}/from_timestamp"], length, frames, "frame-{:06d}.png")
        start += length / FPS
    for camera in CAMERAS:  # the cut-off episode's frames are not in the video
        assert len(frames_of(root / "videos" / camera / "chunk-000" / "file-000.mp4")) == sum(LENGTHS)

    # The schema LeRobot's own writer produces: video columns after dataset_to_index, camera by camera.
    names = pq.read_schema(root / "meta" / "episodes" / "chunk-000" / "file-000.parquet").names
    at = names.index("dataset_to_index") + 1
    video_columns = [
        f"videos/{c}/{n}" for c in CAMERAS for n in ("chunk_index", "file_index", "from_timestamp", "to_timestamp")
    ]
    assert names[at : at + 8] == video_columns
    schema = pq.read_schema(root / "meta" / "episodes" / "chunk-000" / "file-000.parquet")
    assert [str(schema.field(c).type) for c in video_columns[:4]] == ["int64", "int64", "double", "double"]

    info = json.loads((root / "meta" / "info.json").read_text())
    for camera in CAMERAS:
        assert info["features"][camera]["info"] == LEROBOT_VIDEO_INFO
    assert "encodectl" not in info  # LeRobot's own settings: nothing of ours recorded

    after = digests(root)
    changed = {path for path in before if before[path] != after.get(path)}
    assert changed == {"meta/info.json", "meta/episodes/chunk-000/file-000.parquet"}
    added = set(after) - set(before)
    assert added == {f"videos/{c}/chunk-000/file-000.mp4" for c in CAMERAS}  # nothing else, no staging left


def test_v21_pending_dataset_gets_one_video_per_episode(tmp_path, cli):
    root = copy_fixture("v21_pending", tmp_path)
    before = digests(root)
    outcome = cli("encode", root, "--json")
    assert outcome.exit_code == 0, outcome.stdout
    for index, length in enumerate(LENGTHS):
        for camera in CAMERAS:
            video = root / "videos" / "chunk-000" / camera / f"episode_{index:06d}.mp4"
            frames = root / "images" / camera / f"episode_{index:06d}"
            assert_reads_like_lerobot(video, 0.0, length, frames, "frame_{:06d}.png")
            assert len(frames_of(video)) == length
    info = json.loads((root / "meta" / "info.json").read_text())
    assert all(info["features"][camera]["info"] == LEROBOT_VIDEO_INFO for camera in CAMERAS)
    after = digests(root)
    assert {path for path in before if before[path] != after[path]} == {"meta/info.json"}
    assert len(set(after) - set(before)) == 6


@pytest.mark.parametrize("name", ["v30_partial", "v21_partial"])
def test_episodes_lerobot_encoded_stay_and_the_pending_one_is_added(tmp_path, cli, name):
    root = copy_fixture(name, tmp_path)
    lerobot_videos = digests(root, under="videos")
    outcome = cli("encode", root, "--json")
    assert outcome.exit_code == 0, outcome.stdout
    assert [r["episode"][-1] for r in outcome.json()["results"] if r["status"] == "done"] == ["2", "2"]
    if name == "v21_partial":
        assert all(digests(root, under="videos")[path] == digest for path, digest in lerobot_videos.items())
        for camera in CAMERAS:
            video = root / "videos" / "chunk-000" / camera / "episode_000002.mp4"
            assert_reads_like_lerobot(video, 0.0, 4, root / "images" / camera / "episode_000002", "frame_{:06d}.png")
        return
    rows = episode_rows(root)
    for camera in CAMERAS:
        row = rows[2]
        placed = (row[f"videos/{camera}/chunk_index"], row[f"videos/{camera}/file_index"])
        # Joined to LeRobot's file when the encoder's configuration matches it, else a file of its own.
        expected_start = rows[1][f"videos/{camera}/to_timestamp"] if placed == (0, 0) else 0.0
        assert placed in {(0, 0), (0, 1)}
        assert row[f"videos/{camera}/from_timestamp"] == pytest.approx(expected_start, abs=1e-12)
        video = root / "videos" / camera / "chunk-000" / f"file-{placed[1]:03d}.mp4"
        assert_reads_like_lerobot(
            video, expected_start, 4, root / "images" / camera / "episode-000002", "frame-{:06d}.png"
        )
        # LeRobot's own episodes are still where its metadata says.
        first = root / "videos" / camera / "chunk-000" / "file-000.mp4"
        decoded = frames_of(first)
        for index in (0, 1):
            begin = Fraction(rows[index][f"videos/{camera}/from_timestamp"])
            for frame in range(LENGTHS[index]):
                assert any(abs(stamp - begin - Fraction(frame, FPS)) <= TOLERANCE_S for stamp, _ in decoded)
    schemas = [pq.read_schema(path) for path in sorted((root / "meta" / "episodes").glob("chunk-*/*.parquet"))]
    assert schemas[0].equals(schemas[1])  # the resumed recording's episodes file now matches the first


def test_a_second_run_changes_no_byte(tmp_path, cli):
    root = copy_fixture("v30_pending", tmp_path)
    assert cli("encode", root).exit_code == 0
    state = {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in root.rglob("*") if path.is_file()}
    again = cli("encode", root, "--json")
    assert again.exit_code == 0
    assert {r["status"] for r in again.json()["results"]} == {"skipped"}
    assert {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in root.rglob("*") if path.is_file()} == state


def test_an_episode_whose_frames_do_not_match_its_length_fails_alone(tmp_path, cli):
    root = copy_fixture("v30_pending", tmp_path)
    (root / "images" / CAMERAS[0] / "episode-000001" / "frame-000005.png").unlink()
    outcome = cli("encode", root, "--json")
    assert outcome.exit_code == 1
    failed = [r for r in outcome.json()["results"] if r["status"] == "failed"]
    assert len(failed) == 1
    assert failed[0]["camera"] == CAMERAS[0] and failed[0]["episode"] == "episode-000001"
    assert "has 5 frames but the dataset's metadata says the episode has 6" in failed[0]["reason"]
    rows = episode_rows(root)
    assert rows[1][f"videos/{CAMERAS[0]}/chunk_index"] is None  # not placed: the next run may finish it
    assert rows[1][f"videos/{CAMERAS[1]}/chunk_index"] == 0
    assert rows[2][f"videos/{CAMERAS[0]}/from_timestamp"] == pytest.approx(5 / FPS)  # episode 2 follows episode 0


def test_settings_given_are_recorded_and_kept_for_the_rest(tmp_path, cli):
    root = copy_fixture("v30_pending", tmp_path)
    held = tmp_path / "held.png"
    shutil.move(root / "images" / CAMERAS[1] / "episode-000002" / "frame-000003.png", held)
    first = cli("encode", root, "--codec", "h264", "--json")
    assert first.exit_code == 1  # the wrist camera's episode 2 lacks a frame
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["features"][CAMERAS[0]]["info"]["video.codec"] == "h264"
    assert info["encodectl"]["videos"][CAMERAS[1]]["options"] == {"codec": "h264"}

    shutil.move(held, root / "images" / CAMERAS[1] / "episode-000002" / "frame-000003.png")
    second = cli("encode", root, "--json")  # no options: the dataset's recorded settings
    assert second.exit_code == 0, second.stdout
    done = [r for r in second.json()["results"] if r["status"] == "done"]
    assert [(r["camera"], r["encoder"]) for r in done] == [(CAMERAS[1], "libx264")]
    row = episode_rows(root)[2]
    assert (row[f"videos/{CAMERAS[1]}/file_index"], row[f"videos/{CAMERAS[1]}/from_timestamp"]) == (
        0,
        pytest.approx(11 / FPS),
    )
    video = root / "videos" / CAMERAS[1] / "chunk-000" / "file-000.mp4"
    assert_reads_like_lerobot(video, 11 / FPS, 4, root / "images" / CAMERAS[1] / "episode-000002", "frame-{:06d}.png")


def test_a_full_file_makes_the_next_file_and_chunk(tmp_path, cli):
    root = copy_fixture("v30_pending", tmp_path)
    info_path = root / "meta" / "info.json"
    info = json.loads(info_path.read_text())
    info.update(video_files_size_in_mb=0.000001, chunks_size=2)  # every episode passes it: one file each
    info_path.write_text(json.dumps(info, indent=4))
    assert cli("encode", root).exit_code == 0
    rows = episode_rows(root)
    for camera in CAMERAS:
        places = [(rows[i][f"videos/{camera}/chunk_index"], rows[i][f"videos/{camera}/file_index"]) for i in range(3)]
        assert places == [(0, 0), (0, 1), (1, 0)]
        assert [rows[i][f"videos/{camera}/from_timestamp"] for i in range(3)] == [0.0, 0.0, 0.0]
        assert_reads_like_lerobot(
            root / "videos" / camera / "chunk-001" / "file-000.mp4",
            0.0,
            4,
            root / "images" / camera / "episode-000002",
            "frame-{:06d}.png",
        )


def test_delete_frames_removes_only_what_the_dataset_now_holds(tmp_path, cli):
    root = copy_fixture("v30_pending", tmp_path)
    assert cli("encode", root, "--delete-frames").exit_code == 0
    left = files_in(root / "images")
    assert left == sorted(f"{c}/episode-000003/frame-{i:06d}.png" for c in CAMERAS for i in range(3))


@COMMIT_MACHINERY
def test_dry_run_changes_nothing(tmp_path, cli):
    root = copy_fixture("v30_pending", tmp_path)
    before = digests(root)
    outcome = cli("encode", root, "--dry-run")
    assert outcome.exit_code == 0
    assert outcome.stdout.count("libsvtav1") == 6
    assert digests(root) == before and not (root / ".encodectl").exists()


@pytest.mark.parametrize(
    ("change", "args", "fragment"),
    [
        (lambda info: info.update(codebase_version="v2.0"), [], "format 'v2.0' is not supported"),
        (lambda info: None, ["--fps", "25"], "--fps 25 disagrees with the dataset's fps 30"),
        (lambda info: None, ["-o", "elsewhere"], "-o does not apply to a LeRobot dataset"),
        (lambda info: None, ["--overwrite"], "--overwrite does not apply to a LeRobot dataset"),
    ],
)
@COMMIT_MACHINERY
def test_what_cannot_be_done_is_one_line_and_changes_nothing(tmp_path, change, args, fragment):
    root = copy_fixture("v30_pending", tmp_path)
    info_path = root / "meta" / "info.json"
    info = json.loads(info_path.read_text())
    change(info)
    info_path.write_text(json.dumps(info, indent=4))
    before = digests(root)
    assert_one_line_error(run_encodectl("encode", root, *args), fragment)
    assert digests(root) == before


@COMMIT_MACHINERY
def test_mixing_codecs_in_one_dataset_is_refused(tmp_path):
    root = copy_fixture("v30_partial", tmp_path)
    assert_one_line_error(run_encodectl("encode", root, "--codec", "h264"), "the dataset's videos are av1 yuv420p")


@COMMIT_MACHINERY
def test_a_dataset_still_being_recorded_is_left_alone(tmp_path):
    root = copy_fixture("v30_pending", tmp_path)
    before = digests(root)
    # LeRobot keeps its parquet writers open while it records: a process holding a file of the dataset.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; f = open(sys.argv[1], 'ab'); print(flush=True); time.sleep(60)",
         str(root / "meta" / "episodes" / "chunk-000" / "file-000.parquet")],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline()
        outcome = run_encodectl("encode", root)
    finally:
        holder.kill()
        holder.wait()
    assert_one_line_error(outcome, "meta/episodes/chunk-000/file-000.parquet is open in python", f"pid {holder.pid}")
    assert digests(root) == before


@COMMIT_MACHINERY
def test_an_episodes_file_without_its_footer_is_left_alone(tmp_path):
    root = copy_fixture("v30_pending", tmp_path)
    parquet = root / "meta" / "episodes" / "chunk-000" / "file-000.parquet"
    parquet.write_bytes(parquet.read_bytes()[:-200])  # as a LeRobot killed while recording leaves it
    before = digests(root)
    assert_one_line_error(run_encodectl("encode", root), "file-000.parquet does not read cleanly")
    assert digests(root) == before


@COMMIT_MACHINERY
def test_a_second_encodectl_on_the_dataset_is_refused_with_the_first_named(tmp_path):
    root = copy_fixture("v30_pending", tmp_path)
    first = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time; d = os.open(sys.argv[1], os.O_RDONLY); "
         "fcntl.flock(d, fcntl.LOCK_EX); print(flush=True); time.sleep(60)", str(root)],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert first.stdout is not None and first.stdout.readline()
        outcome = run_encodectl("encode", root)
    finally:
        first.kill()
        first.wait()
    assert_one_line_error(outcome, f"another encodectl (pid {first.pid}", "is finishing")


@COMMIT_MACHINERY
def test_without_pyarrow_a_v30_dataset_is_one_line_naming_the_extra(tmp_path):
    root = copy_fixture("v30_pending", tmp_path)
    blocker = tmp_path / "no-pyarrow"
    (blocker / "pyarrow").mkdir(parents=True)
    (blocker / "pyarrow" / "__init__.py").write_text("raise ImportError('pyarrow is not installed')\n")
    outcome = run_encodectl("encode", root, env={"PYTHONPATH": str(blocker)})
    assert_one_line_error(outcome, "needs pyarrow", "pip install 'encodectl[lerobot]'")
    v21 = copy_fixture("v21_pending", tmp_path)  # v2.1 keeps its episodes in JSON lines: no pyarrow needed
    assert run_encodectl("encode", v21, env={"PYTHONPATH": str(blocker)}).exit_code == 0


# A run killed at any moment leaves the dataset as it was (or with what was fully done), and the next run
# finishes it. The driver kills encodectl itself (SIGKILL) right before its Nth move into the dataset.
KILL_DRIVER = """
import os, signal, sys
import encodectl.lerobot.commit as finish
limit, real, moves = int(os.environ["KILL_AT_MOVE"]), finish.publish, []
def publish(source, target):
    if len(moves) == limit:
        os.kill(os.getpid(), signal.SIGKILL)
    moves.append(target)
    real(source, target)
finish.publish = publish
sys.argv = ["encodectl", *sys.argv[1:]]
from encodectl.cli import main
main()
"""


@COMMIT_MACHINERY
@pytest.mark.parametrize(
    ("name", "kill_at"),
    [
        ("v30_pending", 0),  # the journal written, nothing moved yet
        ("v30_pending", 1),  # one camera's video moved
        ("v30_pending", 3),  # every video and info.json moved, not the episodes file
        ("v30_partial", 1),  # beside LeRobot's own videos: one camera's new or extended file moved
        ("v30_partial", 2),
    ],
)
def test_a_run_killed_while_committing_leaves_the_dataset_as_before_and_the_next_run_finishes(tmp_path, name, kill_at):
    root = copy_fixture(name, tmp_path)
    before = digests(root, under="meta")
    killed = subprocess.run(
        [sys.executable, "-c", KILL_DRIVER, "encode", str(root)],
        env={**os.environ, "KILL_AT_MOVE": str(kill_at)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr
    # The episodes files are the last to move: until they do, the dataset reads exactly as before.
    after = digests(root, under="meta")
    episodes_files = [path for path in before if "episodes" in path]
    assert [after[path] for path in episodes_files] == [before[path] for path in episodes_files]
    assert (root / ".encodectl" / "lerobot-commit.json").is_file()

    finished = run_encodectl("encode", root, "--json")
    assert finished.exit_code == 0, finished.stderr
    assert {r["status"] for r in finished.json()["results"]} == {"skipped"}  # the commit was completed, not redone
    rows = episode_rows(root)
    for camera in CAMERAS:
        assert rows[1][f"videos/{camera}/to_timestamp"] == pytest.approx(11 / 30)
        placed = rows[2][f"videos/{camera}/file_index"]
        video = root / "videos" / camera / "chunk-000" / f"file-{placed:03d}.mp4"
        frames = FIXTURES / "v30_pending" / "images" / camera / "episode-000002"
        assert_reads_like_lerobot(video, rows[2][f"videos/{camera}/from_timestamp"], 4, frames, "frame-{:06d}.png")
    assert not (root / ".encodectl").exists()


@COMMIT_MACHINERY
def test_a_run_killed_while_encoding_leaves_nothing_and_the_next_run_finishes(tmp_path):
    root = copy_fixture("v30_pending", tmp_path)
    before = digests(root)
    process = subprocess.Popen([sys.executable, "-m", "encodectl.cli", "encode", str(root), "--sync"])
    deadline = time.monotonic() + 60
    staging = root / ".encodectl" / "lerobot-staging"
    while not (staging.is_dir() and any(staging.rglob("*.mp4"))):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    process.kill()
    process.wait()
    assert {path: digest for path, digest in digests(root).items() if not path.startswith(".encodectl")} == before
    assert run_encodectl("encode", root).exit_code == 0
    assert not (root / ".encodectl").exists()
    assert len(frames_of(root / "videos" / CAMERAS[0] / "chunk-000" / "file-000.mp4")) == sum(LENGTHS)


def test_lerobot_profile_with_lerobot_codec_choice(tmp_path, make_frames, cli):
    make_frames(tmp_path / "ep", 4, size=(64, 64))
    outcome = cli("encode", tmp_path / "ep", "--profile", "lerobot", "--codec", "h264", "--json")
    assert outcome.exit_code == 0, outcome.stdout
    command = outcome.json()["results"][0]["command"]
    assert command[command.index("-c:v") + 1] == "libx264"
    assert [command[command.index(flag) + 1] for flag in ("-crf", "-g")] == ["30", "2"]


def test_watch_once_finishes_a_pending_dataset(tmp_path):
    root = copy_fixture("v30_pending", tmp_path)
    outcome = run_encodectl("watch", root, "--once")
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.count("done    ") == 6 and "6 done" in outcome.stdout
    assert episode_rows(root)[2][f"videos/{CAMERAS[0]}/to_timestamp"] == pytest.approx(0.5)


@COMMIT_MACHINERY
def test_watch_finishes_the_dataset_once_the_recorder_has_closed_it(tmp_path):
    root = copy_fixture("v30_pending", tmp_path)
    # A recorder that keeps the episodes file open until told to close it (a line on its stdin).
    recorder = subprocess.Popen(
        [sys.executable, "-c", "import sys; f = open(sys.argv[1], 'ab'); print(flush=True); sys.stdin.readline()",
         str(root / "meta" / "episodes" / "chunk-000" / "file-000.parquet")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert recorder.stdin is not None and recorder.stdout is not None and recorder.stdout.readline()
    watcher = subprocess.Popen(
        [sys.executable, "-m", "encodectl.cli", "watch", str(root), "--settle", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    said, printed = LineReader(watcher.stderr), LineReader(watcher.stdout)
    try:
        # Events, not the clock: the watcher says it found the recorder; only then is the recorder closed.
        said.wait_for(lambda line: f"(pid {recorder.pid}) is writing the dataset" in line)
        assert not (root / "videos").exists()  # nothing while the recorder has the dataset open
        recorder.stdin.write("close\n")
        recorder.stdin.flush()
        assert recorder.wait(timeout=60) == 0
        # The watcher prints a line per episode placed, once the commit is made: six, then it is stopped.
        for _ in range(6):
            printed.wait_for(lambda line: line.startswith("done    "))
        assert episode_rows(root)[2].get(f"videos/{CAMERAS[1]}/to_timestamp") is not None
    finally:
        watcher.send_signal(2)
        watcher.wait(timeout=60)
        recorder.kill()
    assert printed.all().count("done    ") == 6


class LineReader:
    """A child's output read on a thread of its own, so a test waits for a line (with a deadline long enough
    for a loaded machine) instead of sleeping and hoping."""

    def __init__(self, stream: Any) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, wanted: Callable[[str], bool], timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, f"the output ended without the line waited for: {self.seen}"
            self.seen.append(line)
            if wanted(line):
                return line

    def all(self) -> str:
        """Everything printed, once the child has ended."""
        while (line := self.lines.get(timeout=60)) is not None:
            self.seen.append(line)
        return "".join(self.seen)


@COMMIT_MACHINERY
def test_watch_stream_does_not_apply_to_a_lerobot_dataset(tmp_path):
    root = copy_fixture("v30_pending", tmp_path)
    assert_one_line_error(run_encodectl("watch", root, "--stream", "--once"), "--stream and --marker do not apply")


@COMMIT_MACHINERY
def test_a_dataset_changed_while_encoding_is_not_committed(tmp_path, cli, monkeypatch):
    import encodectl.lerobot.finish_dataset as finish

    root = copy_fixture("v30_pending", tmp_path)
    info_path = root / "meta" / "info.json"
    real = finish.commit_dataset

    def recorder_resumes_meanwhile(plan, *args, **kwargs):  # as a resumed recording rewrites info.json
        info = json.loads(info_path.read_text())
        info["total_episodes"] = 4
        info_path.write_text(json.dumps(info, indent=4))
        return real(plan, *args, **kwargs)

    monkeypatch.setattr(finish, "commit_dataset", recorder_resumes_meanwhile)
    before = digests(root)
    outcome = cli("encode", root)
    assert outcome.exit_code == 2
    assert "meta/info.json changed while encoding; nothing was changed in the dataset" in outcome.stderr
    unchanged = {p: d for p, d in digests(root).items() if p != "meta/info.json"}
    assert unchanged == {p: d for p, d in before.items() if p != "meta/info.json"}
    assert json.loads(info_path.read_text())["total_episodes"] == 4 and not (root / ".encodectl").exists()


@COMMIT_MACHINERY
def test_a_cut_off_commit_is_dropped_when_the_dataset_changed_since(tmp_path):
    root = copy_fixture("v30_pending", tmp_path)
    killed = subprocess.run(
        [sys.executable, "-c", KILL_DRIVER, "encode", str(root)],
        env={**os.environ, "KILL_AT_MOVE": "2"},  # both videos moved, not info.json nor the episodes file
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert killed.returncode == -9
    info_path = root / "meta" / "info.json"
    info = json.loads(info_path.read_text())
    info["note"] = "written by a resumed recording"
    info_path.write_text(json.dumps(info, indent=4))
    state = digests(root)
    dry = run_encodectl("encode", root, "--dry-run")  # a dry run completes nothing
    assert dry.exit_code == 0 and digests(root) == state

    again = run_encodectl("encode", root, "--json")
    assert again.exit_code == 0, again.stderr
    info = json.loads(info_path.read_text())
    assert info["note"] == "written by a resumed recording"  # not put back to the journal's copy
    assert info["features"][CAMERAS[0]]["info"] == LEROBOT_VIDEO_INFO
    assert [r["status"] for r in again.json()["results"]].count("done") == 6  # planned and made again
    rows = episode_rows(root)
    for camera in CAMERAS:
        assert rows[2][f"videos/{camera}/from_timestamp"] == pytest.approx(11 / 30)
        assert len(frames_of(root / "videos" / camera / "chunk-000" / "file-000.mp4")) == sum(LENGTHS)
    assert not (root / ".encodectl").exists()


def test_a_video_lerobot_was_killed_writing_is_made_again(tmp_path, cli):
    root = copy_fixture("v21_partial", tmp_path)
    video = root / "videos" / "chunk-000" / CAMERAS[0] / "episode_000002.mp4"
    # What LeRobot 0.3 leaves when killed mid-encode: its header and part of the frames, no index (moov).
    video.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x10\x00mdat" + b"\x00" * 64)
    outcome = cli("encode", root, "--json")
    assert outcome.exit_code == 0, outcome.stdout
    assert len(frames_of(video)) == 4


@COMMIT_MACHINERY
def test_a_folder_inside_a_dataset_is_refused(tmp_path):
    root = copy_fixture("v30_pending", tmp_path)
    before = digests(root)
    episode = root / "images" / CAMERAS[0] / "episode-000000"
    assert_one_line_error(run_encodectl("encode", episode), "is inside the LeRobot dataset", "give the dataset's root")
    assert digests(root) == before
    loose = run_encodectl("encode", episode, "-o", tmp_path / "loose.mp4")
    assert loose.exit_code == 0 and (tmp_path / "loose.mp4").is_file()  # a loose copy outside the dataset is fine


def test_stale_column_descriptions_are_not_kept(tmp_path, cli):
    root = copy_fixture("v30_partial", tmp_path)
    path = root / "meta" / "episodes" / "chunk-000" / "file-001.parquet"
    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata({b"pandas": b'{"columns": []}', b"other": b"kept"}), path)
    assert cli("encode", root).exit_code == 0
    assert pq.read_schema(path).metadata == {b"other": b"kept"}


@COMMIT_MACHINERY
@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"fps": 29.97}, "fps 29.97 is not a whole number"),
        ({"chunks_size": 0}, "chunks_size 0 is not a whole number from 1 to 1000000"),
        ({"video_path": None}, "video_path '' lacks {video_key}"),
    ],
)
def test_odd_metadata_is_one_line(tmp_path, change, fragment):
    root = copy_fixture("v30_pending", tmp_path)
    info_path = root / "meta" / "info.json"
    info_path.write_text(json.dumps({**json.loads(info_path.read_text()), **change}, indent=4))
    assert_one_line_error(run_encodectl("encode", root), fragment)
