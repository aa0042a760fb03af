"""`encodectl watch` beside a real (simulated) recorder: one verified video per episode, whatever happens."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from encodectl.errors import StateError
from encodectl.ffmpeg.encoder_choice import plan_encoder
from encodectl.frames.synthetic import write_dataset
from encodectl.job.ledger import EpisodeRecord, Ledger, LedgerState, StreamUse, WatchLock
from encodectl.job.progress import RunTracker
from encodectl.models import EncodeOptions
from encodectl.watching.watcher import Watcher, WatchOptions, frame_signature

from .conftest import assert_one_line_error, files_in, run_encodectl

RECORDER = Path(__file__).parent.parent / "examples" / "simulated_recorder.py"
CAMERAS = ("observation.images.top", "observation.images.wrist")

WATCHERS_RULES = pytest.mark.same_on_every_ffmpeg(
    "the watcher's rules (completeness, late frames, the ledger, restarts) decide it; its encodes are the"
    " pool's and its streams StreamEncoder's, which run on every build elsewhere, and "
    "test_watch_stream_encodes_while_recording keeps watch's own frame-file stream on every build"
)


def start_watch(root: Path, *args: str) -> subprocess.Popen[str]:
    """A watcher, returned once it holds its lock (or has exited): frames written from then on are new to it.

    Without the wait, a watcher slow to start (two test processes share two cores) could first see
    frames written after Popen as older than --settle, i.e. as recorded before it started."""
    process = subprocess.Popen(
        [sys.executable, "-m", "encodectl.cli", "watch", str(root), "--settle", "1", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lock = root / ".encodectl" / "watch.lock"
    deadline = time.monotonic() + 60
    while process.poll() is None and not (lock.exists() and lock.read_text() == f"pid {process.pid}\n"):
        assert time.monotonic() < deadline, "the watcher did not start"
        time.sleep(0.02)
    return process


def record(root: Path, episodes: int, *args: str, first: int = 0) -> str:
    completed = subprocess.run(
        [sys.executable, str(RECORDER), str(root), "--episodes", str(episodes), "--seconds", "0.5",
         "--size", "64x48", "--pause", "0.3", "--first-episode", str(first), *args],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return completed.stdout


def videos(root: Path) -> list[str]:
    """Final videos only: hidden temporary or streaming files do not count. os.walk, not rglob: a stream's
    hidden spill folder may be removed while the tree is listed, which rglob reports as an error."""
    found = []
    for directory, folders, files in os.walk(root / "videos"):
        folders[:] = [name for name in folders if not name.startswith(".")]
        found += [str((Path(directory) / name).relative_to(root)) for name in files
                  if name.endswith(".mp4") and not name.startswith(".")]  # fmt: skip
    return sorted(found)


def wait_for_videos(root: Path, count: int, process: subprocess.Popen[str] | None = None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(videos(root)) < count:
        if process is not None:
            assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"only {videos(root)} after {timeout} s"
        time.sleep(0.1)


def stop(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def assert_exactly_one_verified_video_per_episode(root: Path, episodes: int, frames: int, decoded) -> None:
    expected = sorted(f"videos/{camera}/episode_{n:06d}.mp4" for camera in CAMERAS for n in range(episodes))
    assert videos(root) == expected
    for name in expected:
        assert decoded(root / name).frames == frames
    leftovers = [f for f in files_in(root) if f.endswith((".partial", ".tmp")) or ".frames/" in f]
    assert leftovers == []


@WATCHERS_RULES
@pytest.mark.parametrize("writes", ["atomic", "partial"])
def test_each_episode_becomes_one_verified_video_while_recording(tmp_path, decoded, writes):
    watcher = start_watch(tmp_path)
    record(tmp_path, 3, *(["--partial-writes"] if writes == "partial" else []))
    wait_for_videos(tmp_path, 6, watcher)
    code, out, err = stop(watcher)
    assert code == 130, err
    assert "6 done" in out
    assert_exactly_one_verified_video_per_episode(tmp_path, 3, 15, decoded)


@WATCHERS_RULES
def test_killed_watcher_restarts_without_losing_or_repeating_anything(tmp_path, decoded):
    watcher = start_watch(tmp_path)
    recorder = subprocess.Popen(
        [sys.executable, str(RECORDER), str(tmp_path), "--episodes", "4", "--seconds", "0.5", "--size", "64x48",
         "--pause", "0.3"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    wait_for_videos(tmp_path, 2, watcher)
    watcher.kill()  # SIGKILL: no clean-up at all
    watcher.wait()
    second = start_watch(tmp_path)  # returned once it holds the lock, i.e. it has begun its work
    second.kill()  # and once more, while the recording goes on
    second.wait()
    recorder.communicate(timeout=60)
    # The recorder has ended, so every episode is complete: no settle time to wait out on the clock.
    final = run_encodectl("watch", tmp_path, "--settle", "0", "--once", timeout=120)
    assert final.exit_code == 0, final.stderr
    assert_exactly_one_verified_video_per_episode(tmp_path, 4, 15, decoded)
    ledger = Ledger(tmp_path / ".encodectl" / "state.sqlite")
    assert sorted(r.state.value for r in ledger.all()) == ["done"] * 8
    ledger.close()


@WATCHERS_RULES
def test_an_interrupted_encode_is_redone_from_scratch(tmp_path, ffmpeg_binary, decoded):
    write_dataset(ffmpeg_binary, tmp_path, cameras=1, episodes=1, frames=6)
    episode = tmp_path / "images" / CAMERAS[0] / "episode_000000"
    output = tmp_path / "videos" / CAMERAS[0] / "episode_000000.mp4"
    output.parent.mkdir(parents=True)
    stale = output.with_name(".episode_000000.mp4.999999999-abcdef.partial")  # left by a dead watcher
    stale.write_bytes(b"half a video")
    ledger = Ledger(tmp_path / ".encodectl" / "state.sqlite")
    ledger.put(EpisodeRecord(source=episode, output=output, episode=episode.name, camera=CAMERAS[0],
                             signature=frame_signature(episode), state=LedgerState.encoding))  # fmt: skip
    ledger.close()
    outcome = run_encodectl("watch", tmp_path, "--once", "--settle", "0")
    assert outcome.exit_code == 0, outcome.stderr
    assert "was queued or encoding when the last watcher stopped; redoing it (1 temporary file(s) removed)" in (
        outcome.stderr
    )
    assert not stale.exists()
    assert decoded(output).frames == 6


@WATCHERS_RULES
def test_late_frames_get_the_video_redone(tmp_path, ffmpeg_binary, make_frames, decoded):
    write_dataset(ffmpeg_binary, tmp_path, cameras=1, episodes=1, frames=6)
    episode = tmp_path / "images" / CAMERAS[0] / "episode_000000"
    video = tmp_path / "videos" / CAMERAS[0] / "episode_000000.mp4"
    first = run_encodectl("watch", tmp_path, "--once", "--settle", "0", "--json")
    assert json.loads(first.stdout)["done"] == 1 and decoded(video).frames == 6
    again = run_encodectl("watch", tmp_path, "--once", "--settle", "0", "--json")
    assert json.loads(again.stdout)["done"] == 0  # nothing changed: nothing redone
    make_frames(episode, 3, start_number=6)
    late = run_encodectl("watch", tmp_path, "--once", "--settle", "0")
    assert late.exit_code == 0, late.stderr
    assert f"frames changed in {episode} after it was encoded (6 frames then, 9 now); redoing its video" in late.stderr
    assert "1 done (1 redone after late frames)" in late.stdout
    assert decoded(video).frames == 9


@WATCHERS_RULES
@pytest.mark.parametrize("damage", ["not a database", "a bad record"])
def test_an_unreadable_ledger_is_named_and_its_lock_released(tmp_path, ffmpeg_binary, damage):
    write_dataset(ffmpeg_binary, tmp_path, cameras=1, episodes=1, frames=3)
    state = tmp_path / ".encodectl" / "state.sqlite"
    state.parent.mkdir()
    if damage == "not a database":
        state.write_bytes(b"no SQLite file, just bytes " * 200)
    else:
        db = sqlite3.connect(state)
        db.execute("CREATE TABLE episodes (source TEXT PRIMARY KEY, record TEXT NOT NULL)")
        db.execute("""INSERT INTO episodes VALUES ('x', '{"source": "x", "state": "half')""")
        db.commit()
        db.close()
    outcome = run_encodectl("watch", tmp_path, "--once", "--settle", "0")
    assert_one_line_error(outcome, f"the watch ledger {state} is unreadable (", "move it aside")
    options = EncodeOptions(device="cpu")
    watcher = Watcher(WatchOptions(root=tmp_path, once=True, settle=0), options, ffmpeg_binary,
                      plan_encoder(options, ffmpeg_binary), RunTracker(), lambda _: None)  # fmt: skip
    with pytest.raises(StateError, match="move it aside"):
        watcher.run()
    lock = WatchLock(tmp_path)  # the failed run released it: the next watcher in this process may start
    lock.acquire()
    lock.release()
    if damage == "not a database":  # moved aside, as the message says, the ledger is rebuilt from the disk
        state.rename(state.with_name("state.sqlite.bad"))
        again = run_encodectl("watch", tmp_path, "--once", "--settle", "0", "--json")
        assert again.exit_code == 0 and json.loads(again.stdout)["done"] == 1


@WATCHERS_RULES
def test_two_watchers_on_one_output_refuse(tmp_path):
    first = start_watch(tmp_path)
    try:
        deadline = time.monotonic() + 60
        while (
            not (tmp_path / ".encodectl" / "watch.lock").exists()
            or not (tmp_path / ".encodectl" / "watch.lock").read_text()
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second = run_encodectl("watch", tmp_path, "--once")
        assert second.exit_code == 2
        assert f"another encodectl watch (pid {first.pid}) is already writing to {tmp_path}" in second.stderr
    finally:
        stop(first)


@WATCHERS_RULES
def test_marker_completes_an_episode_and_unfinished_ones_wait(tmp_path, make_frames, decoded):
    make_frames(tmp_path / "images" / CAMERAS[0] / "episode_000000", 5)
    (tmp_path / "images" / CAMERAS[0] / "episode_000000" / "DONE").touch()
    make_frames(tmp_path / "images" / CAMERAS[1] / "episode_000000", 5)  # no marker, just written
    outcome = run_encodectl("watch", tmp_path, "--once", "--marker", "DONE", "--settle", "60", "--json")
    summary = json.loads(outcome.stdout)
    assert (summary["done"], summary["waiting"]) == (1, 1)
    assert videos(tmp_path) == [f"videos/{CAMERAS[0]}/episode_000000.mp4"]


@WATCHERS_RULES
def test_delete_frames_only_after_the_video_is_verified(tmp_path, ffmpeg_binary, decoded):
    write_dataset(ffmpeg_binary, tmp_path, cameras=1, episodes=2, frames=4)
    bad = tmp_path / "images" / CAMERAS[0] / "episode_000001" / "frame_000002.png"
    bad.write_bytes(bad.read_bytes()[:100])  # this episode cannot be encoded: its frames must stay
    outcome = run_encodectl("watch", tmp_path, "--once", "--settle", "0", "--delete-frames", "--json")
    assert outcome.exit_code == 1
    summary = json.loads(outcome.stdout)
    assert (summary["done"], summary["failed"]) == (1, 1)
    assert not (tmp_path / "images" / CAMERAS[0] / "episode_000000").exists()
    assert decoded(tmp_path / "videos" / CAMERAS[0] / "episode_000000.mp4").frames == 4
    assert len(list((tmp_path / "images" / CAMERAS[0] / "episode_000001").glob("frame_*.png"))) == 4


@WATCHERS_RULES
def test_delete_frames_spares_a_frame_that_arrives_while_the_folder_is_listed(tmp_path, make_frames, monkeypatch):
    from encodectl.watching import signature as frames_of

    episode = tmp_path / "images" / CAMERAS[0] / "episode_000000"
    make_frames(episode, 4)
    signature = frame_signature(episode)  # what the video was made from
    late = episode / "frame_000004.png"
    listed = frames_of.frame_files

    def listing_then_a_frame_arrives(directory: Path) -> list[Path]:
        found = listed(directory)
        if not late.exists():
            late.write_bytes((episode / "frame_000000.png").read_bytes())  # the recorder goes on
        return found

    monkeypatch.setattr(frames_of, "frame_files", listing_then_a_frame_arrives)
    assert frames_of.delete_encoded_frames(episode, signature)
    assert late.exists(), "a frame that was never encoded was deleted"
    assert sorted(p.name for p in episode.iterdir()) == ["frame_000004.png"]  # the encoded ones went


@WATCHERS_RULES
def test_existing_verified_videos_are_adopted_not_redone(tmp_path, ffmpeg_binary):
    write_dataset(ffmpeg_binary, tmp_path, cameras=1, episodes=2, frames=4)
    assert run_encodectl("encode", tmp_path).exit_code == 0
    outcome = run_encodectl("watch", tmp_path, "--once", "--settle", "0", "--json")
    summary = json.loads(outcome.stdout)
    assert (summary["adopted"], summary["done"]) == (2, 0)


@WATCHERS_RULES
def test_an_existing_video_that_does_not_match_is_redone_not_adopted(tmp_path, ffmpeg_binary, decoded):
    # Its frame count matches; its rate does not (and the same check_video covers size, pixels and codec).
    write_dataset(ffmpeg_binary, tmp_path, cameras=1, episodes=1, frames=4)
    video = tmp_path / "videos" / CAMERAS[0] / "episode_000000.mp4"
    assert run_encodectl("encode", tmp_path, "--fps", "25").exit_code == 0  # the same frames, another rate
    outcome = run_encodectl("watch", tmp_path, "--once", "--settle", "0")
    assert "1 done (0 redone after late frames), 0 found already encoded" in outcome.stdout, outcome.stderr
    assert "is there but is not this episode's video (episode_000000.mp4 failed verification: " in outcome.stderr
    redone = decoded(video)
    assert (redone.codec, redone.timestamps[1]) == ("h264", Fraction(1, 30))


def _add_a_frame(frames: list[Path]) -> None:
    frames[0].with_name("frame_000003.png").write_bytes(frames[0].read_bytes())


def _begin_a_frame_with_an_old_time(frames: list[Path]) -> None:
    begun = frames[0].with_name("frame_000003.png")  # no bytes yet, and a time older than the newest
    begun.touch()
    os.utime(begun, ns=(frames[0].stat().st_mtime_ns, frames[0].stat().st_mtime_ns))


def _rewrite_with_a_later_time(frames: list[Path]) -> None:
    later = max(p.stat().st_mtime_ns for p in frames) + 10**9  # the same bytes written again, now
    frames[0].write_bytes(frames[0].read_bytes())
    os.utime(frames[0], ns=(later, later))


def _rewrite_with_another_size_and_the_same_time(frames: list[Path]) -> None:
    before = frames[1].stat()
    frames[1].write_bytes(frames[1].read_bytes() + b"\0")  # a frame finished in place, say
    os.utime(frames[1], ns=(before.st_atime_ns, before.st_mtime_ns))


def _remove_the_oldest_frame(frames: list[Path]) -> None:
    oldest = min(frames, key=lambda p: p.stat().st_mtime_ns)
    oldest.unlink()


def _read_the_frames(frames: list[Path]) -> None:
    for frame in frames:
        frame.read_bytes()


def _add_files_that_are_not_frames(frames: list[Path]) -> None:
    for name in ("DONE", "preview.png", ".frame_000003.png", "notes.txt"):  # a marker, a stray image, a temp file
        frames[0].with_name(name).write_bytes(b"x" * 100)


def _rename_a_frame(frames: list[Path]) -> None:
    frames[2].rename(frames[2].with_name("frame_000009.png"))


@WATCHERS_RULES
@pytest.mark.parametrize(
    ("change", "changes_it"),
    [
        (_add_a_frame, True),
        (_begin_a_frame_with_an_old_time, True),
        (_rewrite_with_a_later_time, True),
        (_rewrite_with_another_size_and_the_same_time, True),
        (_remove_the_oldest_frame, True),
        (_read_the_frames, False),
        (_add_files_that_are_not_frames, False),
        # Names are not part of it: count, bytes and times are. (The ledger stores signatures: adding names
        # would make every recorded episode look changed.)
        (_rename_a_frame, False),
    ],
    ids=lambda value: value.__name__.strip("_") if callable(value) else str(value),
)
def test_signature_changes_exactly_when_the_frames_do(tmp_path, make_frames, change, changes_it):
    frames = make_frames(tmp_path / "ep", 3)
    for number, frame in enumerate(frames):  # distinct times, a second apart, none of them the newest twice
        os.utime(frame, ns=(10**18 + number * 10**9, 10**18 + number * 10**9))
    before = frame_signature(tmp_path / "ep")
    assert frame_signature(tmp_path / "ep") == before  # nothing changed: the same signature
    change(frames)
    assert (frame_signature(tmp_path / "ep") != before) is changes_it


def ledger_records(root: Path) -> list[EpisodeRecord]:
    """What a running watcher's ledger holds, read-only (none before it exists)."""
    database = root / ".encodectl" / "state.sqlite"
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
            rows = connection.execute("SELECT record FROM episodes").fetchall()
    except sqlite3.Error:
        return []  # not created yet
    return [EpisodeRecord.model_validate_json(row[0]) for row in rows]


def being_streamed(root: Path, episode: Path) -> bool:
    """The watcher has started a stream for `episode`: its ledger holds it as being encoded."""
    return any(r.source == episode and r.state is LedgerState.encoding for r in ledger_records(root))


def wait_for(condition, timeout: float = 120, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.1)


@WATCHERS_RULES
def test_late_frames_are_noticed_while_the_watcher_runs(tmp_path, make_frames, decoded):
    episode = tmp_path / "images" / CAMERAS[0] / "episode_000000"
    video = tmp_path / "videos" / CAMERAS[0] / "episode_000000.mp4"
    watcher = start_watch(tmp_path)
    try:
        make_frames(episode, 10)
        wait_for(lambda: video.exists(), what="first video")
        assert decoded(video).frames == 10
        make_frames(episode, 5, start_number=10)  # the recorder had only stalled
        wait_for(lambda: video.exists() and decoded(video).frames == 15, what="redone video")
    finally:
        err = stop(watcher)[2]
    assert "frames changed in" in err and "(10 frames then, 15 now); redoing its video" in err


@WATCHERS_RULES
def test_frames_copied_in_with_old_times_wait_for_the_copy_to_finish(tmp_path, make_frames, decoded):
    # `cp -p` / `rsync -a` keep the source's old modification times: they must not make a
    # folder look finished while it is still being copied.
    source = tmp_path / "elsewhere"
    frames = make_frames(source, 12)
    old = time.time() - 3600
    for path in frames:
        os.utime(path, (old, old))
    episode = tmp_path / "watched" / "images" / CAMERAS[0] / "episode_000000"
    episode.mkdir(parents=True)
    watcher = start_watch(tmp_path / "watched", "--settle", "1.5")  # returned once it watches
    try:
        for path in frames:
            target = episode / path.name
            target.write_bytes(path.read_bytes())
            os.utime(target, (old, old))
            time.sleep(0.05)
        video = tmp_path / "watched" / "videos" / CAMERAS[0] / "episode_000000.mp4"
        wait_for(lambda: video.exists(), what="video")  # renamed into place whole, after its read-back
        assert decoded(video).frames == 12
    finally:
        stop(watcher)


@WATCHERS_RULES
def test_new_frames_after_deleted_frames_never_replace_the_video(tmp_path, ffmpeg_binary, make_frames, decoded):
    write_dataset(ffmpeg_binary, tmp_path, cameras=1, episodes=1, frames=6)
    episode = tmp_path / "images" / CAMERAS[0] / "episode_000000"
    video = tmp_path / "videos" / CAMERAS[0] / "episode_000000.mp4"
    assert run_encodectl("watch", tmp_path, "--once", "--settle", "0", "--delete-frames").exit_code == 0
    assert not episode.exists() and decoded(video).frames == 6
    make_frames(episode, 4, start_number=6)  # the tail of the episode, after its start was deleted
    outcome = run_encodectl("watch", tmp_path, "--once", "--settle", "0", "--delete-frames")
    assert outcome.exit_code == 1
    assert "arrived after this episode was encoded and its frames deleted" in outcome.stderr
    assert decoded(video).frames == 6  # the whole episode's video, not its tail
    assert len(list(episode.glob("frame_*.png"))) == 4  # and the new frames are left alone


@WATCHERS_RULES
def test_watching_an_episode_folder_itself_is_refused(tmp_path, make_frames):
    make_frames(tmp_path / "ep", 3)
    outcome = run_encodectl("watch", tmp_path / "ep", "--once")
    assert outcome.exit_code == 2 and "holds frames itself; watch the folder above it" in outcome.stderr
    assert not (tmp_path / "ep" / ".encodectl").exists()


@pytest.mark.parametrize("writes", ["atomic", "partial"])
def test_watch_stream_encodes_while_recording(tmp_path, decoded, writes):
    watcher = start_watch(tmp_path, "--stream")
    record(tmp_path, 2, *(["--partial-writes"] if writes == "partial" else []))
    wait_for_videos(tmp_path, 4, watcher)
    # A video is in place a moment before the watcher has reported it: stop only once all four are recorded.
    wait_for(lambda: [r.state for r in ledger_records(tmp_path)] == [LedgerState.done] * 4, what="4 done")
    code, out, err = stop(watcher)
    assert code == 130, err
    assert_exactly_one_verified_video_per_episode(tmp_path, 2, 15, decoded)
    assert [f for f in files_in(tmp_path) if f.endswith(".stream.mp4")] == []
    assert (out + err).count("after the last frame") == 4  # all four streamed, none fell back to the files


@WATCHERS_RULES
def test_watch_stream_latency_counts_from_the_last_frame_written(tmp_path, make_frames):
    # No marker: the episode is known complete only after --settle (3 s here) of stillness, and the
    # latency it reports must include that wait, not just the close() after it. (With 1 s, a watcher
    # slow to take its first look, on a busy machine, saw the frames as recorded before it started.)
    episode = tmp_path / "images" / CAMERAS[0] / "episode_000000"
    watcher = start_watch(tmp_path, "--stream", "--settle", "3")
    try:
        make_frames(episode, 5)
        written = time.monotonic()
        # The ledger, not the video: the video is renamed into place a moment before the watcher
        # records it done and prints the latency.
        wait_for(lambda: [r.state for r in ledger_records(tmp_path)] == [LedgerState.done], what="done")
        seen_done = time.monotonic()
    finally:
        _, out, err = stop(watcher)
    latency = re.search(r"verified ([0-9.]+) s after the last frame", out + err)
    assert latency is not None, out + err
    # At least the settle time, and no more than the test itself saw pass from its last frame to the
    # done record (plus the reading of the ledger): a latency counted from anything earlier shows.
    assert 3.0 <= float(latency.group(1)) <= seen_done - written + 0.5


@WATCHERS_RULES
def test_watching_a_folder_that_does_not_exist_is_a_usage_error(tmp_path):
    outcome = run_encodectl("watch", tmp_path / "nope", "--once")
    assert outcome.exit_code == 2
    assert outcome.stderr.strip() == (
        f"encodectl: error: {tmp_path / 'nope'} is not a folder (create it, or start watch once the recorder has)"
    )


@WATCHERS_RULES
def test_watch_stream_leaves_episodes_recorded_before_it_started_to_the_batch_path(tmp_path, make_frames):
    # A dataset already on disk: nothing is being recorded, so nothing is streamed, and a video
    # that `encode` already made is adopted, not made again.
    done, todo = (tmp_path / "images" / CAMERAS[0] / f"episode_00000{i}" for i in range(2))
    for episode in (done, todo):
        make_frames(episode, 4)
        for frame in episode.iterdir():
            os.utime(frame, (time.time() - 60, time.time() - 60))
    assert run_encodectl("encode", done, "-o", tmp_path / "videos" / CAMERAS[0] / "episode_000000.mp4").exit_code == 0
    made = (tmp_path / "videos" / CAMERAS[0] / "episode_000000.mp4").stat()
    watcher = start_watch(tmp_path, "--stream")
    try:
        wait_for(lambda: (tmp_path / "videos" / CAMERAS[0] / "episode_000001.mp4").exists(), what="video")
    finally:
        _, out, err = stop(watcher)
    again = (tmp_path / "videos" / CAMERAS[0] / "episode_000000.mp4").stat()
    assert (again.st_ino, again.st_mtime_ns) == (made.st_ino, made.st_mtime_ns)
    assert "after the last frame" not in out + err  # no stream was started


@WATCHERS_RULES
def test_watch_stream_falls_back_to_files_for_a_gap(tmp_path, make_frames, decoded):
    episode = tmp_path / "images" / CAMERAS[0] / "episode_000000"
    watcher = start_watch(tmp_path, "--stream", "--on-gap", "hold", "--settle", "3")  # see the latency test
    try:
        make_frames(episode, 5)
        wait_for(lambda: [r.stream for r in ledger_records(tmp_path)] == [StreamUse.fed], what="stream")
        make_frames(episode, 5, start_number=6)  # frame 5 never comes
        video = tmp_path / "videos" / CAMERAS[0] / "episode_000000.mp4"
        wait_for(lambda: video.exists(), what="video")
    finally:
        err = stop(watcher)[2]
    assert "frame 5 is missing, late or incomplete; encoding it from its files" in err
    assert decoded(video).frames == 11  # the gap held, as --on-gap hold asks


@WATCHERS_RULES
def test_watch_stream_takes_a_frame_that_arrives_before_its_predecessor(tmp_path, make_frames, decoded):
    # Recorders that save frames from several threads can finish frame 1 before frame 0.
    root = tmp_path / "root"
    episode = root / "images" / CAMERAS[0] / "episode_000000"
    episode.mkdir(parents=True)
    video = root / "videos" / CAMERAS[0] / "episode_000000.mp4"
    # --settle 5: frame 1 alone must not be still long enough to count as the whole episode (DONE ends it).
    watcher = start_watch(root, "--stream", "--marker", "DONE", "--settle", "5")
    try:
        staging = make_frames(tmp_path / "staging", 12)  # outside the watched folder: not an episode of its own
        staging[1].rename(episode / staging[1].name)
        wait_for(lambda: being_streamed(root, episode), what="stream from frame 1")
        for path in staging[:1] + staging[2:]:
            path.rename(episode / path.name)
        (episode / "DONE").touch()
        wait_for(lambda: video.exists(), what="video")
    finally:
        err = stop(watcher)[2]
    assert decoded(video).frames == 12
    assert "frame 0 arrived after frame 1 had been encoded" in err
