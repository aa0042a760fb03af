"""Ctrl-C and SIGTERM: the ffmpeg child dies, no partial file is left, exit code 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from encodectl.outputs.sweep import process_alive

from .conftest import children_of, files_in

pytestmark = pytest.mark.same_on_every_ffmpeg(
    "encodectl's signal handling and clean-up: ffmpeg is killed, whichever build it is"
)


@pytest.mark.parametrize("mode", ["--sync", "--async"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_kills_ffmpeg_and_leaves_no_partial_file(tmp_path, make_frames, signum, mode):
    # Large enough that the encode is still running when the signal arrives.
    make_frames(tmp_path / "ep", 150, size=(640, 480), noise=0)
    before = files_in(tmp_path)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "encodectl.cli",
            "encode",
            str(tmp_path / "ep"),
            "--preset",
            "slow",
            "--threads",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".ep.mp4.*.partial")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "ffmpeg never started writing"
        time.sleep(0.02)
    children = children_of(process.pid)
    assert children, "expected a running ffmpeg child"

    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)

    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert files_in(tmp_path) == before  # no video, no .partial, frames untouched
    for child in children:
        assert not process_alive(child)
    os.sync()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_children_started_while_signals_are_deferred_still_take_sigterm():
    from encodectl.ffmpeg.process import signals_deferred

    with signals_deferred():
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        status = Path(f"/proc/{child.pid}/status").read_text()
        blocked = int(next(line for line in status.splitlines() if line.startswith("SigBlk:")).split()[1], 16)
        assert blocked & ((1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))) == 0
        child.terminate()
        assert child.wait(timeout=10) == -signal.SIGTERM
    finally:
        child.kill()
        child.wait()


def test_a_signal_during_a_deferred_block_arrives_when_it_ends():
    from encodectl.ffmpeg.process import signals_deferred

    reached_the_end = False
    with pytest.raises(KeyboardInterrupt), signals_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        reached_the_end = True
    assert reached_the_end


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG and /proc are Linux's")
@pytest.mark.parametrize(
    ("command", "nice"),
    [(["encode", "--async"], 0), (["watch", "--once", "--settle", "0"], 10)],  # ffmpeg started by a pool worker
)
def test_kill_9_of_encodectl_takes_its_ffmpeg_with_it(tmp_path, make_frames, command, nice):
    # SIGKILL leaves encodectl no time to clean up: the kernel must end its ffmpeg (a session of its own).
    make_frames(tmp_path / "root" / "ep", 150, size=(640, 480), noise=0)
    target = tmp_path / "root" / ("ep" if command[0] == "encode" else "")
    process = subprocess.Popen(
        [sys.executable, "-m", "encodectl.cli", command[0], str(target), *command[1:], "--preset", "slow",
         "--threads", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not list((tmp_path / "root").glob(".ep.mp4.*.partial")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "ffmpeg never started writing"
        time.sleep(0.02)
    (ffmpeg,) = children_of(process.pid)
    ffmpeg_nice = int(Path(f"/proc/{ffmpeg}/stat").read_text().rsplit(")", 1)[1].split()[16])
    assert os.getsid(ffmpeg) != os.getsid(process.pid)  # still a session of its own (scheduling, Ctrl-C)
    process.kill()
    process.wait()
    deadline = time.monotonic() + 2  # at once, in fact; left alone it would encode on for several seconds
    while process_alive(ffmpeg):
        assert time.monotonic() < deadline, f"ffmpeg {ffmpeg} still running after encodectl was killed"
        time.sleep(0.02)
    assert ffmpeg_nice == nice  # watch's default is low priority, for the recorder beside it; encode's normal
