"""StreamEncoder: frames in, verified video out; never a dropped frame; crashes recoverable."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from encodectl import BufferPolicy, InputError, JobResult, JobStatus, StreamEncoder, UsageError
from encodectl.ffmpeg import child as child_module
from encodectl.ffmpeg.child import _group_nice
from encodectl.outputs.sweep import process_alive

from .conftest import decode, files_in, needs_idle, run_encodectl


def gray(value: int, width: int = 64, height: int = 48) -> np.ndarray:
    return np.full((height, width, 3), value, dtype=np.uint8)


def mean_brightness(path: Path) -> list[float]:
    import av

    with av.open(str(path)) as container:
        return [float(frame.to_ndarray(format="gray").mean()) for frame in container.decode(video=0)]


def test_streamed_frames_become_a_verified_video(tmp_path, decoded):
    encoder = StreamEncoder(tmp_path / "cam" / "episode.mp4", 64, 48, fps=30, device="cpu")
    for index in range(45):
        encoder.add_frame(gray(index * 5))
    result = encoder.close()
    assert result.status is JobStatus.done, result.reason
    assert result.frames == 45 and result.encoder == "libx264"
    video = decoded(tmp_path / "cam" / "episode.mp4")
    assert video.frames == 45
    assert video.timestamps == [Fraction(i, 30) for i in range(45)]
    assert files_in(tmp_path) == ["cam/episode.mp4"]  # no fragmented or temporary file left
    brightness = mean_brightness(tmp_path / "cam" / "episode.mp4")
    assert brightness == sorted(brightness)  # in order


def test_odd_sized_frames_are_padded(tmp_path, decoded):
    encoder = StreamEncoder(tmp_path / "odd.mp4", 63, 47, device="cpu")
    for index in range(5):
        encoder.add_frame(gray(index, 63, 47))
    assert encoder.close().status is JobStatus.done
    assert (decoded(tmp_path / "odd.mp4").width, decoded(tmp_path / "odd.mp4").height) == (64, 48)


def test_a_frame_of_the_wrong_shape_is_refused(tmp_path):
    encoder = StreamEncoder(tmp_path / "x.mp4", 64, 48, device="cpu")
    encoder.add_frame(gray(0))
    with pytest.raises(InputError, match=r"frame 1 is 48x64x4 uint8; this stream takes 48x64x3 uint8 \(RGB\)"):
        encoder.add_frame(np.zeros((48, 64, 4), dtype=np.uint8))
    encoder.abort()
    assert files_in(tmp_path) == []


def test_abort_leaves_nothing(tmp_path):
    encoder = StreamEncoder(tmp_path / "x.mp4", 64, 48, device="cpu")
    for index in range(20):
        encoder.add_frame(gray(index))
    encoder.abort()
    assert files_in(tmp_path) == []


def test_a_chatty_encoder_never_stalls_the_stream(tmp_path, ffmpeg_binary):
    from encodectl.ffmpeg.binary import find_ffmpeg

    # TEST DOUBLE: the real ffmpeg behind a wrapper that first writes 1 MiB to its log, as a verbose
    # encoder can. Unread, the log fills its pipe, the encoder stops reading frames, and close() waits.
    chatty = tmp_path / "chatty-ffmpeg"
    chatty.write_text(
        f'#!/bin/sh\nyes "a chatty encoder line" | head -c 1048576 >&2\nexec "{ffmpeg_binary.path}" "$@"\n'
    )
    chatty.chmod(0o755)
    encoder = StreamEncoder(tmp_path / "out" / "x.mp4", 64, 48, device="cpu", ffmpeg_binary=find_ffmpeg(chatty))
    results: list[JobResult] = []
    closer = threading.Thread(target=lambda: results.append(encoder.close()), daemon=True)
    try:
        for index in range(40):  # more than the pipe to ffmpeg holds
            encoder.add_frame(gray(index * 6))
        closer.start()
        closer.join(timeout=30)
        assert not closer.is_alive(), "close() stalled behind the encoder's full log pipe"
    finally:
        if closer.is_alive():
            os.killpg(encoder._process.pid, signal.SIGKILL)
    assert (results[0].status, results[0].frames) == (JobStatus.done, 40), results[0].reason


@pytest.mark.parametrize("policy", [BufferPolicy.block, BufferPolicy.spill])
def test_a_full_buffer_never_drops_a_frame(tmp_path, policy):
    # A small buffer in front of a slow encoder: frames arrive far faster than it encodes. With spill, the
    # recorder's pace follows the spill thread (an event: memory back at half the budget), never a clock.
    buffer_frames = 2 if policy is BufferPolicy.block else 8
    encoder = StreamEncoder(tmp_path / "x.mp4", 640, 480, device="cpu", buffer_frames=buffer_frames, policy=policy,
                            preset="veryslow")  # fmt: skip
    warnings: list[str] = []
    encoder._warn = warnings.append
    if policy is BufferPolicy.spill:
        os.kill(encoder._process.pid, signal.SIGSTOP)  # an encoder that has fallen far behind
    for index in range(60):
        encoder.add_frame(gray(index * 4, 640, 480))
        if policy is BufferPolicy.spill:
            buffer = encoder._buffer
            deadline = time.monotonic() + 60
            while buffer.memory_bytes > buffer.memory_budget // 2:
                assert time.monotonic() < deadline, "the spill thread never brought memory back to half"
                time.sleep(0.005)
    if policy is BufferPolicy.spill:
        os.kill(encoder._process.pid, signal.SIGCONT)
    result = encoder.close()
    assert result.status is JobStatus.done, result.reason
    assert result.frames == 60
    brightness = mean_brightness(tmp_path / "x.mp4")
    assert len(brightness) == 60 and brightness == sorted(brightness)  # every frame, in order
    if policy is BufferPolicy.block:
        assert encoder.stats.blocked_calls > 0 and encoder.stats.spilled == 0
        assert any("add_frame waits" in warning for warning in warnings)
    else:
        assert encoder.stats.spilled > 0 and encoder.stats.blocked_calls == 0
        assert any("spilling frames" in warning for warning in warnings)
    assert files_in(tmp_path) == ["x.mp4"]


def test_hardware_encoder_failing_at_start_falls_back_without_losing_frames(tmp_path, fake_gpu, monkeypatch):
    from encodectl.ffmpeg.binary import find_ffmpeg

    monkeypatch.setenv("FAKE_NVENC_MODE", "fail-at-run")
    encoder = StreamEncoder(tmp_path / "x.mp4", 64, 48, device="auto", ffmpeg_binary=find_ffmpeg(fake_gpu.path))
    assert encoder.plan.primary.encoder == "h264_nvenc"  # the probe's test encode passed
    for index in range(40):
        encoder.add_frame(gray(index * 6))
    result = encoder.close()
    assert result.status is JobStatus.done, result.reason
    assert result.encoder == "libx264" and result.frames == 40
    assert "h264_nvenc failed" in (result.fallback or "")
    assert len(mean_brightness(tmp_path / "x.mp4")) == 40


def start_recorder_then_kill(tmp_path: Path, output: Path, also_ffmpeg: bool, *args: str, frames: int = 45) -> int:
    """Run tests/stream_then_hang.py, SIGKILL it mid-episode; return how many frames reached ffmpeg."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("stream_then_hang.py")), str(output), str(frames), *args],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    written, ffmpeg_pid, holder = (int(word) for word in process.stdout.readline().split())
    if also_ffmpeg:  # first, so that it cannot see the end of its input and write out the rest
        os.kill(ffmpeg_pid, signal.SIGKILL)  # a process group of its own: the killpg below misses it
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 60
    while process_alive(ffmpeg_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if holder:  # the copy of ffmpeg's input kept open by the recorder's helper (see stream_then_hang.py)
        os.kill(holder, signal.SIGKILL)
    assert not process_alive(ffmpeg_pid)
    return written


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_frames_spilled_when_the_recorder_dies_are_recovered_into_the_video(tmp_path):
    # The encoder had fallen behind (stopped) and the memory holds two frames: nearly every frame is on disk
    # when the recorder is killed. recover encodes them and joins them after what the encoder had taken.
    output = tmp_path / "episode.mp4"
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("stream_then_hang.py")), str(output), "40", "behind"],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    _, ffmpeg_pid, _ = (int(word) for word in process.stdout.readline().split())
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    os.kill(ffmpeg_pid, signal.SIGCONT)  # it reads what it was given, to the end, and writes it out
    deadline = time.monotonic() + 60
    while process_alive(ffmpeg_pid):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    outcome = run_encodectl("recover", tmp_path, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    (recovered,) = json.loads(outcome.stdout)
    assert recovered["status"] == "recovered" and Path(recovered["output"]) == output, recovered
    assert "spilled frame(s) encoded and joined after it" in recovered["reason"], recovered
    # Lost: at most what memory held (two frames, the newest) and the one in the encoder's hands.
    assert 40 - 3 <= recovered["frames"] <= 40
    brightness = mean_brightness(output)
    assert len(brightness) == recovered["frames"] and brightness == sorted(brightness)
    assert decode(output).timestamps == [Fraction(i, 30) for i in range(recovered["frames"])]
    assert files_in(tmp_path) == ["episode.mp4"]


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_power_cut_mid_stream_then_recover(tmp_path):
    output = tmp_path / "cam" / "episode.mp4"
    assert start_recorder_then_kill(tmp_path, output, also_ffmpeg=True) == 45  # recorder and encoder die at once
    assert not output.exists()
    leftovers = [f for f in files_in(tmp_path) if f.endswith(".stream.mp4")]
    assert len(leftovers) == 1

    outcome = run_encodectl("recover", tmp_path, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    (recovered,) = json.loads(outcome.stdout)
    assert recovered["status"] == "recovered" and Path(recovered["output"]) == output
    # Keyframe every 10 frames: lost are the fragment being written and the frames still inside the
    # encoder (its lookahead and frame threads), about two keyframe intervals at most.
    assert 45 - 2 * 10 <= recovered["frames"] < 45
    brightness = mean_brightness(output)
    assert len(brightness) == recovered["frames"]
    assert brightness == sorted(brightness)
    assert [f for f in files_in(tmp_path) if f.endswith(".stream.mp4")] == []
    again = run_encodectl("recover", tmp_path)
    assert again.exit_code == 0 and "nothing to recover" in again.stdout


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_recorder_crash_loses_no_frame_that_reached_the_encoder(tmp_path):
    # Only the recorder dies: its encoder sees the end of its input and writes out every frame.
    output = tmp_path / "cam" / "episode.mp4"
    assert start_recorder_then_kill(tmp_path, output, also_ffmpeg=False) == 45
    outcome = run_encodectl("recover", tmp_path, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    (recovered,) = json.loads(outcome.stdout)
    assert recovered["status"] == "recovered" and recovered["frames"] == 45
    assert mean_brightness(output) == sorted(mean_brightness(output))


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG and /proc are Linux's")
@pytest.mark.same_on_every_ffmpeg(
    "the encoder's death with its parent is encodectl's (PR_SET_PDEATHSIG); the frame count that shows it relies "
    "on the bundled build keeping an unfinished fragment unwritten, which ffmpeg 5.1 at times writes out"
)
def test_a_watch_stream_encoder_dies_with_the_watcher(tmp_path):
    # watch --stream has every frame on disk: its encoder is killed with it instead of writing out the
    # frames it holds (the recorder's encoder above does that), so only finished fragments remain.
    from encodectl.ffmpeg.binary import find_ffmpeg
    from encodectl.stream.recovery import recover

    output = tmp_path / "episode.mp4"
    assert start_recorder_then_kill(tmp_path, output, False, "die-with-parent", frames=15) == 15
    (recovered,) = recover(tmp_path, find_ffmpeg())
    assert recovered.status == "empty" or recovered.frames <= 10  # one keyframe interval at most, not all 15


def test_recover_leaves_a_stream_that_its_encoder_still_holds(tmp_path):
    # The recorder named in the file is long gone, but the lock on the file is held, as the encoder
    # of a crashed recorder holds it while it writes its last fragments.
    fragmented = tmp_path / ".episode.mp4.999999999-abc123.stream.mp4"
    fragmented.write_bytes(b"\0" * 100)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import fcntl, time; f = open({str(fragmented)!r}, 'ab'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print(1, flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "1"
        outcome = run_encodectl("recover", tmp_path, "--json")
    finally:
        holder.kill()
        holder.wait()
    assert outcome.exit_code == 0, outcome.stderr
    (result,) = json.loads(outcome.stdout)
    assert result["status"] == "in use" and result["reason"] == "its encoder is still writing it"
    assert fragmented.read_bytes() == b"\0" * 100


def test_a_stream_cut_before_its_first_fragment_is_cleared_away(tmp_path):
    # What ffmpeg writes before the first fragment: the header boxes only (ftyp, moov), then a cut.
    header = b"\x00\x00\x00\x10ftypiso5\x00\x00\x02\x00" + b"\x00\x00\x00\x08moov" + b"\x00\x00\x01\x00moof"
    fragmented = tmp_path / "cam" / ".episode.mp4.999999999-abc123.stream.mp4"
    fragmented.parent.mkdir()
    fragmented.write_bytes(header + b"\0" * 40)  # a moof box cut off before its end
    outcome = run_encodectl("recover", tmp_path, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    (result,) = json.loads(outcome.stdout)
    assert result["status"] == "empty"
    assert result["reason"] == "cut off before its first fragment was complete; removed"
    assert files_in(tmp_path) == []
    assert run_encodectl("recover", tmp_path).stdout.startswith("nothing to recover under")


def test_an_exception_in_the_with_block_keeps_every_frame_for_recover(tmp_path):
    output = tmp_path / "cam" / "episode.mp4"
    warnings: list[str] = []
    encoder = StreamEncoder(output, 64, 48, device="cpu", gop=10, on_warning=warnings.append)
    with pytest.raises(RuntimeError, match="robot arm fault"), encoder:
        for index in range(37):
            encoder.add_frame(gray(index * 5))
        raise RuntimeError("robot arm fault")
    assert not output.exists()
    (kept,) = [f for f in files_in(tmp_path) if f.endswith(".stream.mp4")]
    assert ".detached-" in kept
    assert warnings[-1].startswith("episode.mp4 was not closed: its 37 frame(s) are kept in ")
    outcome = run_encodectl("recover", tmp_path, "--json")
    (recovered,) = json.loads(outcome.stdout)
    assert recovered["status"] == "recovered" and recovered["frames"] == 37  # all of them, not a fragment fewer
    assert mean_brightness(output) == sorted(mean_brightness(output))


def test_a_recorder_that_exits_without_close_keeps_the_frames_it_had_buffered(tmp_path):
    # 40 frames added in a burst, then an uncaught exception: most are still in the buffer when the
    # interpreter exits, and must reach the encoder all the same.
    output = tmp_path / "episode.mp4"
    script = (
        "import numpy as np\n"
        "from encodectl import StreamEncoder\n"
        f"encoder = StreamEncoder({str(output)!r}, 320, 240, device='cpu', gop=10, preset='slow')\n"
        "for i in range(40):\n"
        "    encoder.add_frame(np.full((240, 320, 3), i * 6, dtype=np.uint8))\n"
        "raise SystemExit('the recorder stops here')\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1 and "the recorder stops here" in completed.stderr
    outcome = run_encodectl("recover", tmp_path, "--json")
    (recovered,) = json.loads(outcome.stdout)
    assert recovered["status"] == "recovered" and recovered["frames"] == 40


def test_add_frame_refuses_what_is_not_an_array(tmp_path):
    encoder = StreamEncoder(tmp_path / "x.mp4", 64, 48, device="cpu")
    with pytest.raises(InputError, match=r"^add_frame takes a numpy array \(HxWx3 uint8 RGB\), not list$"):
        encoder.add_frame([[0, 0, 0]])
    encoder.abort()


def _threads_once_started(pid: int) -> list[int]:
    task_dir = Path(f"/proc/{pid}/task")
    deadline = time.monotonic() + 60
    while len(list(task_dir.iterdir())) == 1 and time.monotonic() < deadline:
        time.sleep(0.02)  # ffmpeg starts its threads once the first frame is in
    threads = [int(t.name) for t in task_dir.iterdir()]
    assert len(threads) > 1  # ffmpeg's demuxer, filter and encoder threads: each must be placed
    return threads


SCHED_IDLE = 5


RECORDER_IN_A_SESSION = """
import json, os, sys, time
from pathlib import Path
import numpy as np
from encodectl import StreamEncoder
encoder = StreamEncoder(sys.argv[1], 64, 48, device="cpu")  # the async default: low priority
for index in range(30):
    encoder.add_frame(np.full((48, 64, 3), index * 8, np.uint8))
pid = encoder._process.pid
tasks = Path(f"/proc/{pid}/task")
deadline = time.monotonic() + 60
while len(list(tasks.iterdir())) == 1 and time.monotonic() < deadline:
    time.sleep(0.02)  # ffmpeg starts its threads once the first frame is in
stats = [(t / "stat").read_text().rsplit(")", 1)[1].split() for t in tasks.iterdir()]
print(json.dumps({
    "same_session": os.getsid(pid) == os.getsid(0), "own_process_group": os.getpgid(pid) == pid != os.getpgid(0),
    "same_group": Path(f"/proc/{pid}/autogroup").read_text() == Path("/proc/self/autogroup").read_text(),
    "policies": sorted({int(fields[38]) for fields in stats}), "threads": len(stats),
    "nice": sorted({int(fields[16]) for fields in stats}), "base": os.getpriority(os.PRIO_PROCESS, 0),
    "frames": encoder.close().frames,
}))
"""


@needs_idle
def test_the_encoder_runs_idle_beside_a_recorder_in_a_session_of_its_own(tmp_path):
    # As a recorder started from a terminal runs: in a session, so a scheduling group, of its own.
    run = subprocess.run(
        [sys.executable, "-c", RECORDER_IN_A_SESSION, str(tmp_path / "x.mp4")], capture_output=True, text=True,
        start_new_session=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["same_session"] and seen["own_process_group"] and seen["same_group"]  # not lowered either
    assert seen["threads"] > 1 and seen["policies"] == [SCHED_IDLE]  # every thread idle, not only the first
    assert seen["nice"] == [min(19, seen["base"] + 10)] and seen["frames"] == 30


@contextlib.contextmanager
def _encoder_in_a_session_of_its_own(tmp_path: Path, **options: object) -> Iterator[tuple[int, list[int]]]:
    """A stream's ffmpeg, 30 frames in, checked to have a session of its own and every thread at the normal
    policy: its pid and threads; closed with every frame at the end."""
    encoder = StreamEncoder(tmp_path / "x.mp4", 64, 48, device="cpu", **options)
    try:
        for index in range(30):
            encoder.add_frame(gray(index))
        pid = encoder._process.pid
        assert os.getsid(pid) == pid != os.getsid(0)
        threads = _threads_once_started(pid)
        # Every thread at the normal policy, read again: ffmpeg may have started one more meanwhile.
        assert set(_scheduling_policies(pid)) == {0}
        yield pid, threads
    finally:
        assert encoder.close().frames == 30


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_where_idle_is_not_safe_the_encoder_runs_lowered_in_a_group_of_its_own(tmp_path, monkeypatch):
    # Where the recorder never called setsid (a container's init, CI's runner), idle would yield to every
    # process of the machine; beside a busy process of its session, to that process.
    monkeypatch.setattr(child_module, "idle_is_safe", lambda: False)
    lowered = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    with _encoder_in_a_session_of_its_own(tmp_path) as (pid, threads):  # the async default: low priority
        assert {os.getpriority(os.PRIO_PROCESS, t) for t in threads} == {lowered}
        if Path("/proc/self/autogroup").exists():
            group_nice = min(19, _group_nice("self") + 10)
            deadline = time.monotonic() + 5  # unprivileged, the kernel may make the change wait up to 0.1 s
            while not Path(f"/proc/{pid}/autogroup").read_text().endswith(f"nice {group_nice}\n"):
                assert time.monotonic() < deadline, Path(f"/proc/{pid}/autogroup").read_text()
                time.sleep(0.02)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_at_normal_priority_the_encoder_has_a_session_and_scheduling_group_of_its_own(tmp_path):
    own_group = Path("/proc/self/autogroup").read_text() if Path("/proc/self/autogroup").exists() else None
    with _encoder_in_a_session_of_its_own(tmp_path, priority="normal") as (pid, threads):
        assert {os.getpriority(os.PRIO_PROCESS, t) for t in threads} == {os.getpriority(os.PRIO_PROCESS, 0)}
        if own_group is not None:
            assert Path(f"/proc/{pid}/autogroup").read_text() != own_group
            assert Path(f"/proc/{pid}/autogroup").read_text().endswith("nice 0\n")  # a new group, not lowered


def _scheduling_policies(pid: int) -> list[int]:
    """Each thread's policy from /proc/PID/task/*/stat (field 41): 0 normal, 1 FIFO, 2 round-robin..."""
    policies = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            policies.append(int((task / "stat").read_text().rsplit(")", 1)[1].split()[38]))
    return policies


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_an_ffmpeg_child_cannot_take_real_time_priority():
    # The mechanism, on a child that asks for SCHED_FIFO itself: as root (CI) it gets it without the
    # preparation, which is why SVT-AV1's threads once took the CPU from the recorder.
    from encodectl.syscalls import preexec_for_ffmpeg

    ask = "import os; os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1)); print('real-time')"
    prepared = subprocess.run(
        [sys.executable, "-c", ask], preexec_fn=preexec_for_ffmpeg(), capture_output=True, text=True
    )
    assert prepared.returncode == 1 and "PermissionError" in prepared.stderr and "real-time" not in prepared.stdout
    if os.geteuid() == 0:  # the control: without it, root's child does get real-time priority
        assert subprocess.run([sys.executable, "-c", ask], capture_output=True, text=True).stdout == "real-time\n"


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("priority", ["low", "normal"])
def test_svt_av1_threads_in_a_stream_never_take_real_time_priority(tmp_path, priority):
    # SVT-AV1 4.x sets SCHED_FIFO on its threads when it may (root): a stream's encoder must not. Every thread
    # keeps the one policy the stream gave it: normal, or idle at low priority where that is safe.
    encoder = StreamEncoder(tmp_path / "x.mp4", 64, 64, device="cpu", codec="av1", priority=priority)
    try:
        for index in range(20):
            encoder.add_frame(gray(index * 10, 64, 64))
        pid = encoder._process.pid
        deadline = time.monotonic() + 60
        while len(_scheduling_policies(pid)) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)  # SVT starts its threads once the first frame is in
        policies = _scheduling_policies(pid)
        assert len(policies) >= 4 and len(set(policies)) == 1, policies
        assert set(policies) <= ({0, SCHED_IDLE} if priority == "low" else {0}), policies
    finally:
        assert encoder.close().frames == 20


def test_short_stream_on_a_failing_hardware_encoder_still_falls_back(tmp_path, fake_gpu, monkeypatch):
    from encodectl.ffmpeg.binary import find_ffmpeg

    monkeypatch.setenv("FAKE_NVENC_MODE", "fail-at-run")
    encoder = StreamEncoder(tmp_path / "x.mp4", 64, 48, device="auto", ffmpeg_binary=find_ffmpeg(fake_gpu.path))
    for index in range(5):  # few enough to fit in the pipe before the failure shows
        encoder.add_frame(gray(index * 40))
    result = encoder.close()
    assert result.status is JobStatus.done, result.reason
    assert (result.encoder, result.frames) == ("libx264", 5)
    assert len(mean_brightness(tmp_path / "x.mp4")) == 5


def test_a_failed_stream_is_handed_over_to_recover_at_once(tmp_path):
    encoder = StreamEncoder(tmp_path / "x.mp4", 64, 48, device="cpu", gop=5)
    for index in range(30):
        encoder.add_frame(gray(index * 8))
    # Waited on what the encoder writes, not on the clock: every frame taken, and a fragment on disk.
    deadline = time.monotonic() + 60
    while encoder.stats.frames_written < 30 or b"moof" not in encoder.fragmented.read_bytes():
        assert time.monotonic() < deadline, "the stream never wrote a fragment"
        time.sleep(0.01)
    os.kill(encoder._process.pid, signal.SIGKILL)  # the encoder dies under a live recorder
    result = encoder.close()
    assert result.status is JobStatus.failed and "exit -9" in (result.reason or "")
    assert any("failed-" in note and "encodectl recover" in note for note in result.notes)
    outcome = run_encodectl("recover", tmp_path, "--json")  # this process is alive: recover must not wait for it
    (recovered,) = json.loads(outcome.stdout)
    assert recovered["status"] == "recovered" and recovered["frames"] > 0
    assert (tmp_path / "x.mp4").exists()


def test_recover_keeps_off_a_stream_that_close_is_still_finishing(tmp_path, monkeypatch, ffmpeg_binary):
    # ffmpeg has exited, but close() is still rewriting and verifying the file: it is not recover's yet.
    import encodectl.stream.recovery as recovery_module
    from encodectl.stream.recovery import recover

    seen_by_recover = []
    real_remux = recovery_module.remux_to_mp4

    def remux_with_a_recover_alongside(binary, fragmented, target):
        seen_by_recover.extend(r.status for r in recover(tmp_path, ffmpeg_binary))
        real_remux(binary, fragmented, target)

    monkeypatch.setattr(recovery_module, "remux_to_mp4", remux_with_a_recover_alongside)
    encoder = StreamEncoder(tmp_path / "x.mp4", 64, 48, device="cpu")
    for index in range(12):
        encoder.add_frame(gray(index))
    result = encoder.close()
    assert seen_by_recover == ["in use"]
    assert result.status is JobStatus.done and result.frames == 12
    assert files_in(tmp_path) == ["x.mp4"]


def test_recover_never_overwrites_a_video_that_is_already_there(tmp_path):
    for taken in ("episode.mp4", "episode.recovered.mp4"):
        (tmp_path / taken).write_bytes(b"an earlier video")
    encoder = StreamEncoder(tmp_path / "episode.mp4", 64, 48, device="cpu", gop=5)
    for index in range(10):
        encoder.add_frame(gray(index * 9))
    assert encoder.detach() is not None
    outcome = run_encodectl("recover", tmp_path, "--json")
    (recovered,) = json.loads(outcome.stdout)
    assert recovered["status"] == "recovered" and recovered["frames"] == 10
    assert Path(recovered["output"]).name == "episode.recovered-2.mp4"
    assert (tmp_path / "episode.mp4").read_bytes() == (tmp_path / "episode.recovered.mp4").read_bytes()
    assert (tmp_path / "episode.mp4").read_bytes() == b"an earlier video"


def test_a_stream_takes_lerobot_settings(tmp_path):
    # LeRobot's own settings (libsvtav1 preset 12, crf 30, a keyframe every 2 frames), frames 64 high: the
    # least SVT-AV1 takes on every supported ffmpeg.
    encoder = StreamEncoder(tmp_path / "ep.mp4", 64, 64, fps=30, profile="lerobot")
    assert encoder.policy is BufferPolicy.spill  # the default: the recorder never waits
    for index in range(12):
        encoder.add_frame(gray(index * 16, 64, 64))
    result = encoder.close()
    assert result.status is JobStatus.done, result.reason
    assert result.encoder == "libsvtav1" and result.frames == 12
    video = decode(tmp_path / "ep.mp4")
    assert video.timestamps == [Fraction(i, 30) for i in range(12)]
    assert video.keyframes[:3] == [0, 2, 4]


def test_a_depth_stream_keeps_every_value(tmp_path):
    import av

    rng = np.random.default_rng(7)
    frames = [rng.integers(0, 12_000, size=(48, 64), dtype=np.uint16) for _ in range(10)]
    for frame in frames:
        frame[:5, :7] = 0  # holes: no reading, as real depth has
    with pytest.raises(UsageError, match=r"name the video depth\.mkv"):
        StreamEncoder(tmp_path / "depth.mp4", 64, 48, fps=30, depth=True)
    encoder = StreamEncoder(tmp_path / "depth.mkv", 64, 48, fps=30, depth=True)
    with pytest.raises(InputError, match="this depth stream takes 48x64 uint16"):
        encoder.add_frame(gray(1))
    for frame in frames:
        encoder.add_frame(frame.astype(">u2"))  # big-endian arrays are read as the values they hold
    result = encoder.close()
    assert result.status is JobStatus.done, result.reason
    assert result.depth is not None and result.depth.lossless and result.depth.hashed_frames == 10
    with av.open(str(tmp_path / "depth.mkv")) as container:
        decoded = [frame.to_ndarray(format="gray16le") for frame in container.decode(video=0)]
    assert len(decoded) == 10 and all((a == b).all() for a, b in zip(decoded, frames, strict=True))
    assert files_in(tmp_path) == ["depth.mkv"]


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_depth_stream_whose_recorder_dies_is_recovered_exactly(tmp_path):
    import av

    output = tmp_path / "depth.mkv"
    assert start_recorder_then_kill(tmp_path, output, False, "depth", frames=20) == 20
    outcome = run_encodectl("recover", tmp_path, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    (recovered,) = json.loads(outcome.stdout)
    assert recovered["status"] == "recovered" and Path(recovered["output"]) == output, recovered
    with av.open(str(output)) as container:
        values = [int(frame.to_ndarray(format="gray16le")[0, 0]) for frame in container.decode(video=0)]
    assert values == [1000 + index for index in range(20)]  # every frame, every value, in order
    assert files_in(tmp_path) == ["depth.mkv"]
