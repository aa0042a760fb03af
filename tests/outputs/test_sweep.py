"""encodectl/outputs/sweep.py: what runs that died left beside a video.

The sweep as encode runs it: tests/test_edge_cases.py; an ffmpeg killed with the encodectl that started it:
tests/test_interrupt.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from encodectl.outputs.sweep import process_alive, remove_stale_temp_files, stat_fields

pytestmark = pytest.mark.same_on_every_ffmpeg("files and processes of the test's own: no ffmpeg runs")


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def test_a_dead_runs_files_go_a_live_runs_and_a_streams_stay(tmp_path: Path) -> None:
    output = tmp_path / "ep.mp4"
    dead = dead_pid()
    partial = tmp_path / f".ep.mp4.{dead}-aaaaaa.partial"
    partial.write_bytes(b"x")
    staging = tmp_path / f".ep.mp4.{dead}-aaaaaa.frames"
    staging.mkdir()
    (staging / "000000.png").write_bytes(b"x")
    live = tmp_path / f".ep.mp4.{os.getpid()}-bbbbbb.partial"
    live.write_bytes(b"x")
    stream = tmp_path / f".ep.mp4.{dead}-cccccc.stream.mp4"  # a recording's only copy: recover decides
    stream.write_bytes(b"x")
    assert sorted(remove_stale_temp_files(output)) == sorted([partial, staging])
    assert not partial.exists() and not staging.exists()
    assert live.exists() and stream.exists()


def test_a_process_still_writing_a_dead_runs_file_is_killed(tmp_path: Path) -> None:
    """As an ffmpeg a SIGKILLed encodectl left behind (a session of its own): its command line names the file."""
    partial = tmp_path / f".ep.mp4.{dead_pid()}-dddddd.partial"
    partial.write_bytes(b"x")
    script = "import sys; print('running', flush=True); sys.stdin.read()"
    writer = subprocess.Popen([sys.executable, "-c", script, str(partial)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)  # fmt: skip
    try:
        # Running, not just started: for a moment after exec, /proc/PID/cmdline reads empty.
        assert writer.stdout is not None and writer.stdout.readline() == b"running\n"
        assert remove_stale_temp_files(tmp_path / "ep.mp4") == [partial]
        assert writer.wait(timeout=30) == -signal.SIGKILL
    finally:
        writer.kill()
        writer.wait()


def test_process_alive_says_dead_for_a_reaped_child_and_a_zombie() -> None:
    assert process_alive(os.getpid())
    assert not process_alive(dead_pid())
    zombie = subprocess.Popen([sys.executable, "-c", ""])
    os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped: a zombie
    try:
        assert not process_alive(zombie.pid)
    finally:
        zombie.wait()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_process_whose_main_thread_exited_is_alive_while_another_thread_runs() -> None:
    # What a SIGKILLed ffmpeg looks like for a moment: its leader a zombie, an encoder thread still exiting
    # (and holding the files they share). Here the other thread waits for its stdin to close.
    program = (
        "import ctypes, sys, threading\n"
        "threading.Thread(target=sys.stdin.read).start()\n"
        "print('ready', flush=True)\n"
        "ctypes.CDLL(None).pthread_exit(None)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", program], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        leader = Path(f"/proc/{child.pid}/stat")
        while leader.read_text().rsplit(")", 1)[1].split()[0] != "Z":
            os.sched_yield()  # the main thread is on its way out: an event, not a time
        assert process_alive(child.pid)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=60)
    assert not process_alive(child.pid)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_stat_fields_reads_a_live_thread_and_refuses_what_is_not_a_stat(tmp_path):
    fields = stat_fields(Path(f"/proc/{os.getpid()}/task/{threading.get_native_id()}/stat"))
    assert fields is not None and fields[0] == "R"  # this thread, running as it reads
    assert (int(fields[1]), int(fields[3])) == (os.getppid(), os.getsid(0))
    (tmp_path / "stat").write_bytes(b"12 (name) R 1 2")  # cut short: no policy field
    assert stat_fields(tmp_path / "stat") is None
    (tmp_path / "stat").write_bytes(b"12 name R")
    assert stat_fields(tmp_path / "stat") is None
    assert stat_fields(tmp_path / "gone") is None
