"""The async pool: non-blocking submit, full queues, cancel, thread budgets, priority, live table."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

from encodectl import EncoderPool, Interrupted, JobStatus, QueueFullError
from encodectl.ffmpeg.encoder_choice import plan_encoder
from encodectl.frames.synthetic import write_dataset
from encodectl.job.progress import JobState, RunTracker
from encodectl.models import EncodeOptions
from encodectl.outputs.sweep import process_alive
from encodectl.report.live import live_view
from encodectl.run.pool import resolve_workers

from .conftest import children_of, files_in, run_encodectl

pytestmark = pytest.mark.same_on_every_ffmpeg(
    "the pool's queueing, cancelling, thread shares and priorities: its jobs are the runner's encode, "
    "which runs on every build elsewhere"
)


def no_temporary_files(root: Path) -> bool:
    return not any(name.endswith((".partial", ".frames")) or ".frames/" in name for name in files_in(root))


def test_two_recorder_threads_submit_through_a_small_queue(tmp_path, make_frames, decoded):
    for camera in ("top", "wrist"):
        for episode in range(3):
            make_frames(tmp_path / camera / f"ep{episode}", 5 + episode)
    futures = {}
    lock = threading.Lock()

    def recorder(camera: str, pool: EncoderPool) -> None:
        for episode in range(3):
            future = pool.submit(tmp_path / camera / f"ep{episode}", camera=camera)  # blocks while full
            with lock:
                futures[(camera, episode)] = future

    with EncoderPool(workers=2, queue_size=1, device="cpu") as pool:
        threads = [threading.Thread(target=recorder, args=(camera, pool)) for camera in ("top", "wrist")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(futures) == 6
    for (camera, episode), future in futures.items():
        result = future.result()
        assert result.status is JobStatus.done and result.camera == camera
        assert decoded(tmp_path / camera / f"ep{episode}.mp4").frames == 5 + episode
    assert no_temporary_files(tmp_path)


def test_submit_returns_at_once_and_a_full_queue_says_so(tmp_path, make_frames):
    make_frames(tmp_path / "long", 120, size=(320, 240))
    make_frames(tmp_path / "short", 3)
    with EncoderPool(workers=1, queue_size=1, device="cpu", preset="slow") as pool:
        first = pool.submit(tmp_path / "long")  # taken by the only worker
        assert not first.done()  # submit did not wait for the encode
        deadline = time.monotonic() + 60
        while pool.queue_depth and time.monotonic() < deadline:
            time.sleep(0.01)
        second = pool.submit(tmp_path / "short", tmp_path / "second.mp4")  # fills the queue
        with pytest.raises(QueueFullError, match=r"encode queue is full \(1 jobs waiting\)"):
            pool.submit(tmp_path / "short", tmp_path / "third.mp4", block=False)
        with pytest.raises(QueueFullError, match=r"after waiting 0\.1 s"):
            pool.submit(tmp_path / "short", tmp_path / "fourth.mp4", timeout=0.1)
    assert first.result().status is JobStatus.done
    assert second.result().status is JobStatus.done
    assert not (tmp_path / "third.mp4").exists() and not (tmp_path / "fourth.mp4").exists()


def test_close_without_waiting_cancels_and_cleans_up(tmp_path, make_frames):
    # A long episode from a few rendered frames, over and over: rendering all 200 took most of the test.
    loop = make_frames(tmp_path / "loop", 10, size=(640, 480))
    (tmp_path / "long").mkdir()
    for number in range(200):
        shutil.copyfile(loop[number % len(loop)], tmp_path / "long" / f"frame_{number:06d}.png")
    for index in range(3):
        make_frames(tmp_path / f"ep{index}", 3)
    pool = EncoderPool(workers=1, queue_size=10, device="cpu", preset="slow")
    running = pool.submit(tmp_path / "long")
    queued = [pool.submit(tmp_path / f"ep{index}") for index in range(3)]
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".long.mp4.*.partial")):
        assert time.monotonic() < deadline, "ffmpeg never started"
        time.sleep(0.02)

    pool.close(wait=False)

    with pytest.raises(Interrupted):
        running.result(timeout=10)
    assert all(future.cancelled() for future in queued)
    assert not (tmp_path / "long.mp4").exists()
    assert not any((tmp_path / f"ep{index}.mp4").exists() for index in range(3))
    assert no_temporary_files(tmp_path)
    assert running_ffmpeg_children() == []


def running_ffmpeg_children() -> list[int]:
    """ffmpeg processes started by this test process that are still running (zombies do not count)."""
    alive = []
    for pid in children_of(os.getpid()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"ffmpeg" in cmdline and process_alive(pid):
            alive.append(pid)
    return alive


def test_one_failure_never_stops_the_pool(tmp_path, make_frames):
    make_frames(tmp_path / "good1", 4)
    (tmp_path / "empty").mkdir()
    make_frames(tmp_path / "good2", 4)
    with EncoderPool(workers=2, device="cpu") as pool:
        futures = [pool.submit(tmp_path / name) for name in ("good1", "empty", "good2")]
    statuses = [future.result().status for future in futures]
    assert statuses == [JobStatus.done, JobStatus.failed, JobStatus.done]
    assert "no frames in" in (futures[1].result().reason or "")


def test_async_and_sync_give_the_same_verified_videos(tmp_path, ffmpeg_binary, decoded):
    write_dataset(ffmpeg_binary, tmp_path / "ds", cameras=2, episodes=2, frames=7)
    asynchronous = run_encodectl("encode", tmp_path / "ds", "--async", "--workers", "2", "-o", tmp_path / "a", "--json")
    synchronous = run_encodectl("encode", tmp_path / "ds", "--sync", "-o", tmp_path / "s", "--json")
    assert asynchronous.exit_code == synchronous.exit_code == 0
    for report in (asynchronous, synchronous):
        results = json.loads(report.stdout)["results"]
        assert [r["status"] for r in results] == ["done"] * 4
    videos = list((tmp_path / "a").rglob("*.mp4"))
    assert len(videos) == 4
    for video in videos:
        twin = tmp_path / "s" / video.relative_to(tmp_path / "a")
        first, second = decoded(video), decoded(twin)
        assert first.frames == second.frames == 7
        assert first.timestamps == second.timestamps


def test_plain_lines_in_a_pipe(tmp_path, ffmpeg_binary):
    write_dataset(ffmpeg_binary, tmp_path / "ds", cameras=1, episodes=3, frames=4)
    outcome = run_encodectl("encode", tmp_path / "ds")
    assert outcome.exit_code == 0
    lines = outcome.stdout.strip().splitlines()
    assert len(lines) == 4
    assert sorted(line.split()[1] for line in lines[:3]) == [
        f"observation.images.top/episode_00000{i}" for i in range(3)
    ]
    assert all(line.startswith("done ") for line in lines[:3])
    assert lines[3].startswith("3 done, 0 failed of 3 job(s)")
    assert "━" not in outcome.stdout  # no live table outside a terminal


def test_thread_budget_shares_the_cores(tmp_path, make_frames, ffmpeg_binary):
    plan = plan_encoder(EncodeOptions(device="cpu"), ffmpeg_binary)
    assert resolve_workers("auto", plan, gpu_sessions=2, cores=8) == 8
    assert resolve_workers(3, plan, gpu_sessions=2, cores=8) == 3
    make_frames(tmp_path / "alone", 4)
    with EncoderPool(workers=2, device="cpu") as pool:
        lone = pool.submit(tmp_path / "alone").result()
    cores = pool._cores
    assert lone.command[lone.command.index("-threads") + 1] == str(cores)  # a lone job gets every core
    with EncoderPool(workers=2, device="cpu", threads=1) as pool:
        fixed = pool.submit(tmp_path / "alone", tmp_path / "fixed.mp4").result()
    assert fixed.command.count("-threads") == 2 and fixed.command[fixed.command.index("-threads") + 1] == "1"


@pytest.mark.parametrize(
    ("args", "nice"), [(["--async"], 0), (["--async", "--priority", "low"], 10), (["--sync", "--priority", "low"], 10)]
)
def test_encode_runs_at_normal_priority_unless_told_low(tmp_path, make_frames, args, nice):
    # Someone waits for a plain `encode`: starved at nice 10 beside two busy programs, it took 6x as long.
    # Low stays the default where a recorder runs beside the encodes (watch, EncoderPool, StreamEncoder).
    make_frames(tmp_path / "ep", 150, size=(640, 480), noise=0)
    process = subprocess.Popen(
        [sys.executable, "-m", "encodectl.cli", "encode", str(tmp_path / "ep"), "--preset", "slow", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".ep.mp4.*.partial")):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        children = children_of(process.pid)
        assert children
        stat = Path(f"/proc/{children[0]}/stat").read_text().rsplit(")", 1)[1].split()
        assert int(stat[16]) == nice  # field 19 of /proc/PID/stat: the nice value
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 130
    assert no_temporary_files(tmp_path)


def test_live_table_shows_running_and_queued_jobs_and_a_footer():
    tracker = RunTracker()
    running = tracker.add("episode_000000", "observation.images.top")
    tracker.add("episode_000001", "observation.images.top")
    listener = tracker.listener(running)
    listener.started("libx264", 90)
    from encodectl.ffmpeg.process import Progress

    listener.progress(Progress(frame=45, fps=30.0, speed=1.0))
    snapshot = tracker.snapshot()
    assert [view.state for view in snapshot.active] == [JobState.running, JobState.queued]
    assert snapshot.active[0].eta_seconds == pytest.approx(1.5)
    console = Console(record=True, width=140, color_system=None)
    console.print(live_view(snapshot))
    text = console.export_text()
    assert "episode_000000" in text and "45/90" in text and "1.00x" in text and "running" in text
    assert "queued" in text
    assert "queue 1 · running 1 · done 0 · failed 0" in text


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice values and autogroups are Linux's")
def test_lowering_a_child_lowers_the_threads_it_already_has():
    from encodectl.ffmpeg.child import lower_priority

    child = subprocess.Popen(
        [sys.executable, "-c", "import threading, time; "
         "[threading.Thread(target=time.sleep, args=(30,), daemon=True).start() for _ in range(3)]; "
         "print(1, flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "1"
        threads = [int(t.name) for t in Path(f"/proc/{child.pid}/task").iterdir()]
        assert len(threads) == 4
        lower_priority(child.pid, 10)
        lowered = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
        assert [os.getpriority(os.PRIO_PROCESS, t) for t in threads] == [lowered] * 4
    finally:
        child.kill()
        child.wait()


def test_a_refused_autogroup_change_is_tried_again(monkeypatch):
    # Without CAP_SYS_ADMIN, Linux takes one autogroup change per 0.1 s machine-wide (EAGAIN otherwise):
    # the kernel's refusal is played here, since these tests may run as root, who is never refused.
    from encodectl.ffmpeg import child as ffmpeg_child

    calls: list[tuple[int, int]] = []

    def refused_once(pid: int, nice: int) -> None:
        calls.append((pid, nice))
        if len(calls) == 1:
            raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(ffmpeg_child, "_write_group_nice", refused_once)
    ffmpeg_child._lower_group(4242, 10)
    deadline = time.monotonic() + 60
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert calls == [(4242, 10), (4242, 10)]
