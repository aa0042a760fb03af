"""The stream's frame buffer: order, memory bound, spilling on a thread of its own, back-pressure last.

No ffmpeg here: the buffer decides none of what ffmpeg does; the streams that use it are
tested with the real ffmpeg in test_stream.py.

Every wait here is on something the buffer does (a frame spilled, put waiting, a warning), with
DEADLINE as its upper bound only: a change that breaks one of the buffer's own waits then fails its
test in seconds instead of hanging it (mutation testing, docs/testing.md). Threads the tests start
are daemons, so that a test failed while one of them is stuck still ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from encodectl.stream import frame_buffer
from encodectl.stream.frame_buffer import BufferPolicy, FrameBuffer

pytestmark = pytest.mark.same_on_every_ffmpeg("the buffer runs no ffmpeg at all")

FRAME = 100_000  # bytes
DEADLINE = 15.0  # seconds: long enough for a loaded machine; only ever reached when something is broken


def started(target: Callable[..., object], *args: object) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def joined(thread: threading.Thread) -> None:
    thread.join(DEADLINE)
    assert not thread.is_alive(), f"{thread.name} still running after {DEADLINE} s"


def frame(number: int) -> bytes:
    return number.to_bytes(4, "big") * (FRAME // 4)


def until(condition, what: str, timeout: float = DEADLINE) -> None:
    """Wait for something the code under test does (with a deadline long enough for a loaded machine)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.005)


def drain(buffer: FrameBuffer) -> list[int]:
    numbers = []
    while (taken := buffer.get(timeout=DEADLINE)) is not None:
        numbers.append(int.from_bytes(taken.data[:4], "big"))
        taken.done()
    return numbers


def test_frames_beyond_memory_go_to_disk_and_come_back_in_order(tmp_path):
    buffer = FrameBuffer(10 * FRAME, tmp_path / "spill")
    for number in range(100):  # nobody takes any: far beyond memory
        buffer.put(frame(number))
        # The recorder's pace follows the spill thread (an event, not a clock): whenever memory passes half
        # the budget, the spill thread brings it back, so put never finds memory full.
        until(lambda: buffer.memory_bytes <= 5 * FRAME, "the spill thread to bring memory back to half")
    stats = buffer.stats
    assert stats.memory_bytes_peak <= 6 * FRAME  # spilling began at half the budget
    assert stats.spilled >= 90 and buffer.disk_bytes == stats.spilled * FRAME
    assert stats.blocked_calls == 0  # the recorder never waited
    buffer.finish()
    assert drain(buffer) == list(range(100))
    buffer.stop()
    assert buffer.disk_bytes == 0 and not list((tmp_path / "spill").glob("*.frame"))


def test_the_spilled_frames_are_the_oldest_so_the_disk_continues_where_the_encoder_is(tmp_path):
    buffer = FrameBuffer(10 * FRAME, tmp_path / "spill")
    for number in range(40):
        buffer.put(frame(number))
        until(lambda: buffer.memory_bytes <= 5 * FRAME, "the spill thread to bring memory back to half")
    on_disk = sorted(int(path.stem) for path in (tmp_path / "spill").glob("*.frame"))
    assert on_disk == list(range(len(on_disk))) and len(on_disk) >= 35  # 0, 1, 2, ...: from the front
    assert buffer.disk_bytes > 0
    buffer.stop(discard=True)
    assert not (tmp_path / "spill").exists()
    assert buffer.disk_bytes == 0  # what it says is on disk: nothing, once the folder is gone


def test_a_taken_frame_stays_on_disk_until_the_encoder_has_it(tmp_path):
    buffer = FrameBuffer(2 * FRAME, tmp_path / "spill")
    for number in range(6):
        buffer.put(frame(number))
    changed_until(buffer, lambda: buffer.stats.spilled >= 1, "frame 0 to be spilled")  # the oldest goes first
    taken = buffer.get()
    assert taken is not None and taken.data == frame(0)
    assert (tmp_path / "spill" / "00000000.frame").exists()
    taken.done()
    assert not (tmp_path / "spill" / "00000000.frame").exists()
    buffer.stop(discard=True)


def test_frames_stay_in_order_across_memory_and_disk_when_put_had_to_wait(tmp_path):
    warnings: list[str] = []
    buffer = FrameBuffer(4 * FRAME, tmp_path / "spill", warn=warnings.append)
    disk = GatedDisk(buffer)
    recorder = started(lambda: [buffer.put(frame(number)) for number in range(20)])
    changed_until(buffer, lambda: bool(warnings), "put to say it waits")  # memory full, the disk held
    assert buffer.stats.frames_added == 4 and recorder.is_alive()
    disk.release(20)
    joined(recorder)
    assert buffer.stats.blocked_calls >= 1 and buffer.stats.memory_bytes_peak <= 4 * FRAME
    assert len(warnings) == 1 and warnings[0].startswith("the disk cannot keep up: frames arrive at ")
    buffer.finish()
    assert drain(buffer) == list(range(20))
    buffer.stop()


def test_block_policy_never_spills_and_waits_for_the_encoder(tmp_path):
    waits: list[str] = []
    buffer = FrameBuffer(3 * FRAME, tmp_path / "spill", policy=BufferPolicy.block, warn=waits.append)

    def record() -> None:
        for number in range(30):
            buffer.put(frame(number))
        buffer.finish()

    recorder = started(record)
    changed_until(buffer, lambda: bool(waits), "put to wait for the encoder")
    assert buffer.stats.frames_added == 3
    assert drain(buffer) == list(range(30))  # the encoder takes them now, the recorder follows
    joined(recorder)
    assert buffer.stats.spilled == 0 and buffer.stats.blocked_calls >= 1
    assert buffer.stats.memory_bytes_peak <= 3 * FRAME and not (tmp_path / "spill").exists()
    buffer.stop()


# Deterministic pressure: a disk that writes only when the test lets it (no clock involved).


class GatedDisk:
    """Stands for the spill folder's disk: each write waits until the test releases one."""

    def __init__(self, buffer: FrameBuffer) -> None:
        self.buffer, self.real = buffer, buffer._write
        self.allowed = threading.Semaphore(0)
        self.waiting = threading.Event()
        self.writes = 0  # begun
        self.begun = threading.Condition()
        self.fail_with: OSError | None = None
        buffer._write = self.write  # type: ignore[method-assign]

    def write(self, path, data) -> None:
        with self.begun:
            self.writes += 1
            self.begun.notify_all()
        self.waiting.set()
        self.allowed.acquire()
        if self.fail_with is not None:
            raise self.fail_with
        self.real(path, data)

    def release(self, writes: int = 1) -> None:
        for _ in range(writes):
            self.allowed.release()

    def wait_for_write(self, number: int) -> None:
        """Until write `number` (from 1) has begun: the spill thread has then timed its start."""
        with self.begun:
            assert self.begun.wait_for(lambda: self.writes >= number, DEADLINE), f"write {number} never began"


class Clock:
    """perf_counter for the buffer: it moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = 100.0

    def perf_counter(self) -> float:
        return self.now


def changed_until(buffer: FrameBuffer, condition, what: str, timeout: float = DEADLINE) -> None:
    """Wait on the buffer's own condition (notified on every change) for `condition`."""
    with buffer._changed:
        assert buffer._changed.wait_for(condition, timeout), f"waited {timeout} s for {what}"


def test_spilling_begins_past_half_of_memory_with_the_oldest_frame(tmp_path):
    spill = tmp_path / "spill"
    began: list = []
    buffer = FrameBuffer(4 * FRAME, spill, on_first_spill=began.append)
    disk = GatedDisk(buffer)
    buffer.put(frame(0))
    buffer.put(frame(1))  # exactly half the budget: nothing to spill yet
    assert buffer.memory_bytes == 2 * FRAME and not disk.waiting.is_set()
    buffer.put(frame(2))  # past half: the oldest frame goes first
    assert disk.waiting.wait(DEADLINE)
    disk.release()
    changed_until(buffer, lambda: buffer.stats.spilled == 1, "frame 0 to be spilled")
    assert sorted(p.name for p in spill.iterdir()) == ["00000000.frame"]
    assert began == [spill]  # told once, before the first frame file
    assert (buffer.memory_bytes, buffer.disk_bytes) == (2 * FRAME, FRAME)
    stats = buffer.stats
    assert (stats.frames_added, stats.spilled_bytes, stats.disk_bytes_peak) == (3, FRAME, FRAME)
    assert (stats.memory_bytes_peak, stats.max_backlog, stats.blocked_calls) == (3 * FRAME, 3, 0)
    assert stats.spill_seconds > 0
    assert buffer.backlog == 3
    taken = buffer.get()
    assert taken is not None and taken.data == frame(0)  # read back from its file
    assert (spill / "00000000.frame").exists() and buffer.disk_bytes == FRAME  # until the encoder has it
    taken.done()
    taken.done()  # once only
    assert not (spill / "00000000.frame").exists() and buffer.disk_bytes == 0
    memory = buffer.get()
    assert memory is not None and memory.data == frame(1) and buffer.memory_bytes == FRAME
    memory.done()  # a frame from memory has no file
    assert buffer.backlog == 1
    buffer.stop(discard=True)
    assert buffer.backlog == 0 and buffer.memory_bytes == 0 and not spill.exists()
    assert began == [spill]


def test_put_waits_when_memory_and_disk_are_both_full_and_says_so_once(tmp_path):
    warnings: list[str] = []
    buffer = FrameBuffer(2 * 2**20, tmp_path / "spill", warn=warnings.append)
    disk = GatedDisk(buffer)
    big = bytes(2**20)
    buffer.put(big)
    buffer.put(big)  # memory full; the disk holds the first write
    assert disk.waiting.wait(DEADLINE)
    recorder = started(buffer.put, big)
    changed_until(buffer, lambda: len(warnings) == 1, "put to say it waits")
    assert warnings == [
        "the disk cannot keep up: frames arrive at 3 MB/s and spill at 0 MB/s; add_frame waits for room "
        "(memory buffer of 2 MiB full)"
    ]
    assert recorder.is_alive() and buffer.stats.frames_added == 2
    disk.release(3)
    joined(recorder)
    assert buffer.stats.frames_added == 3 and buffer.stats.blocked_calls == 1
    assert buffer.stats.blocked_seconds > 0
    assert buffer.stats.memory_bytes_peak <= 2 * 2**20
    changed_until(buffer, lambda: buffer.memory_bytes <= 2**20, "the spill thread to make room")
    buffer.put(b"x")  # room now: no second warning, no wait
    disk.release(10)
    buffer.finish()
    assert [len(t.data) for t in iter(buffer.get, None)] == [2**20] * 3 + [1]
    buffer.stop()
    assert len(warnings) == 1 and buffer.stats.blocked_calls == 1


def test_block_policy_waits_for_the_encoder_and_says_so(tmp_path):
    warnings: list[str] = []
    buffer = FrameBuffer(3 * 2**20, tmp_path / "spill", policy=BufferPolicy.block, warn=warnings.append)
    big = bytes(2**20)
    for _ in range(3):
        buffer.put(big)
    recorder = started(buffer.put, big)
    changed_until(buffer, lambda: bool(warnings), "put to say it waits")
    assert warnings == ["encoder cannot keep up: add_frame waits (memory buffer of 3 MiB full)"]
    taken = buffer.get()
    assert taken is not None
    joined(recorder)
    assert buffer.stats.blocked_calls == 1 and buffer.backlog == 3
    assert buffer.stats.spilled == 0 and not (tmp_path / "spill").exists()
    buffer.stop()


def test_a_frame_larger_than_memory_is_taken_when_nothing_else_is_held(tmp_path):
    buffer = FrameBuffer(10, tmp_path / "spill", policy=BufferPolicy.block)
    buffer.put(bytes(100))  # nothing held: waiting would never end
    assert buffer.stats.blocked_calls == 0 and buffer.memory_bytes == 100
    buffer.stop()


def test_a_disk_that_fails_keeps_the_frames_in_memory(tmp_path):
    warnings: list[str] = []
    buffer = FrameBuffer(2 * FRAME, tmp_path / "spill", warn=warnings.append)
    disk = GatedDisk(buffer)
    disk.fail_with = OSError(28, "No space left on device")
    for number in range(2):  # past half of memory: a write begins (a third frame would wait for it)
        buffer.put(frame(number))
    assert disk.waiting.wait(DEADLINE)
    disk.release()
    until(lambda: buffer.policy is BufferPolicy.block, "the spill thread to give up")  # it notifies no one
    assert warnings == [f"cannot spill frames to {tmp_path / 'spill'} ([Errno 28] No space left on device); keeping "
                        "them in memory"]  # fmt: skip
    buffer._spiller.join(DEADLINE)  # type: ignore[union-attr]
    assert not buffer._spiller.is_alive()  # type: ignore[union-attr]
    assert buffer.stats.spilled == 0 and buffer.memory_bytes == 2 * FRAME
    buffer.finish()
    assert drain(buffer) == [0, 1]
    buffer.stop()


def test_a_frame_the_encoder_took_while_it_was_written_is_not_kept_on_disk(tmp_path):
    buffer = FrameBuffer(2 * FRAME, tmp_path / "spill")
    disk = GatedDisk(buffer)
    for number in range(2):
        buffer.put(frame(number))
    assert disk.waiting.wait(DEADLINE)  # frame 0 is being written
    taken = buffer.get()
    assert taken is not None and taken.data == frame(0)  # from memory
    disk.release()
    until(lambda: buffer.stats.spill_seconds > 0, "the write to end")  # then nothing changes that others wait on
    until(lambda: not (tmp_path / "spill" / "00000000.frame").exists(), "its file to go")
    assert buffer.stats.spilled == 0 and buffer.disk_bytes == 0
    buffer.put(frame(2))  # past half again: the spill thread goes on, with the oldest frame still in memory
    disk.release()
    changed_until(buffer, lambda: buffer.stats.spilled == 1, "frame 1 to be spilled")
    assert sorted(path.name for path in (tmp_path / "spill").iterdir()) == ["00000001.frame"]
    buffer.stop(discard=True)


def test_spilling_stops_at_half_of_memory(tmp_path):
    buffer = FrameBuffer(4 * FRAME, tmp_path / "spill")
    for number in range(3):
        buffer.put(frame(number))
    buffer.stop()  # the spill thread ends its frame, then stops: memory is back at half
    assert (buffer.stats.spilled, buffer.memory_bytes, buffer.disk_bytes) == (1, 2 * FRAME, FRAME)
    assert buffer.backlog == 3


def test_a_frame_taken_from_disk_can_be_done_after_the_spill_folder_went(tmp_path):
    buffer = FrameBuffer(2 * FRAME, tmp_path / "spill")
    for number in range(3):
        buffer.put(frame(number))
    changed_until(buffer, lambda: buffer.stats.spilled >= 1, "frame 0 to be spilled")
    taken = buffer.get()
    assert taken is not None and taken.data == frame(0)
    buffer.stop(discard=True)  # the stream was aborted while the encoder still had the frame
    assert not (tmp_path / "spill").exists()
    on_disk = buffer.disk_bytes
    taken.done()  # no error: the file is gone already
    assert buffer.disk_bytes == on_disk - FRAME


def test_the_spill_thread_is_a_named_daemon(tmp_path):
    # A daemon, so that a recorder that dies without stop() does not keep its process alive; named, so that
    # a thread dump says what it is.
    buffer = FrameBuffer(FRAME, tmp_path / "spill")
    assert [(t.name, t.daemon) for t in threading.enumerate() if t is buffer._spiller] == [("encodectl-spill", True)]
    buffer.stop()


def test_get_without_frames(tmp_path):
    buffer = FrameBuffer(FRAME, tmp_path / "spill", policy=BufferPolicy.block)
    assert buffer.get(timeout=0) is None  # nothing, and no time to wait
    results: list = []
    getter = started(lambda: results.append(buffer.get()))
    buffer.put(frame(7))
    joined(getter)
    assert results[0].data == frame(7)
    buffer.finish()
    assert buffer.get() is None  # finished and empty: at once
    buffer.stop()
    stopped = FrameBuffer(FRAME, tmp_path / "spill2")
    stopped.stop()
    assert stopped.get() is None
    assert not stopped._spiller.is_alive()  # type: ignore[union-attr]


def test_stop_discard_drops_every_frame(tmp_path):
    buffer = FrameBuffer(FRAME, tmp_path / "spill", policy=BufferPolicy.block)
    buffer.put(frame(1))
    buffer.stop(discard=True)
    assert buffer.backlog == 0 and buffer.memory_bytes == 0 and buffer.get() is None
    kept = FrameBuffer(3 * FRAME, tmp_path / "spill", policy=BufferPolicy.block)
    for number in range(3):
        kept.put(frame(number))
    kept.stop()
    assert (kept.backlog, kept.memory_bytes) == (3, 3 * FRAME)  # stopped, not discarded: the frames stay
    assert kept.get().data == frame(0)  # type: ignore[union-attr]
    assert (kept.backlog, kept.memory_bytes) == (2, 2 * FRAME)
    assert kept.get().data == frame(1)  # type: ignore[union-attr]
    assert (kept.backlog, kept.memory_bytes) == (1, FRAME)


def test_the_warning_gives_the_rates_of_the_last_second_and_of_the_disk(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(frame_buffer, "time", SimpleNamespace(perf_counter=clock.perf_counter,
                                                              monotonic=time.monotonic))  # fmt: skip
    warnings: list[str] = []
    buffer = FrameBuffer(4 * 2**20, tmp_path / "spill", warn=warnings.append)
    disk = GatedDisk(buffer)
    big = bytes(2**20)
    for now in (100.0, 100.25, 100.5):
        clock.now = now
        buffer.put(big)  # the third passes half of memory: frame 0 is written
    disk.wait_for_write(1)
    clock.now = 100.75
    disk.release()  # frame 0 took 0.25 s
    changed_until(buffer, lambda: buffer.stats.spilled == 1, "frame 0 to be spilled")
    buffer.put(big)  # at 100.75, past half again: frame 1 is written, and held
    disk.wait_for_write(2)
    clock.now = 101.0
    buffer.put(big)  # memory full
    clock.now = 101.25
    recorder = started(buffer.put, big)
    changed_until(buffer, lambda: bool(warnings), "put to say it waits")
    # 5 MiB arrived in the second up to 101.25 (from 100.25 on), 1 MiB was spilled in 0.25 s
    assert warnings == ["the disk cannot keep up: frames arrive at 5 MB/s and spill at 4 MB/s; add_frame waits "
                        "for room (memory buffer of 4 MiB full)"]  # fmt: skip
    clock.now = 102.0
    disk.release(10)  # frame 1 took 1.25 s; the frames after it no time at all
    joined(recorder)
    buffer.finish()
    assert [len(taken.data) for taken in iter(buffer.get, None)] == [2**20] * 6
    buffer.stop()
    stats = buffer.stats
    assert stats.spill_seconds == 1.5 and stats.spilled >= 2 and stats.spilled_bytes == stats.spilled * 2**20


class WatchedCondition(threading.Condition):
    """The buffer's condition, noting for the test the frame count at which one thread (`thread`) waited on it."""

    def __init__(self, buffer: FrameBuffer) -> None:
        super().__init__()
        self.buffer: FrameBuffer = buffer
        self.thread: threading.Thread | None = None
        self.waited_at: set[int] = set()
        self.noted = threading.Condition()

    def wait(self, timeout=None):
        if threading.current_thread() is self.thread:
            with self.noted:
                self.waited_at.add(self.buffer.stats.frames_added)
                self.noted.notify_all()
        return super().wait(timeout)

    def waits_at(self, frames_added: int) -> None:
        with self.noted:
            assert self.noted.wait_for(lambda: frames_added in self.waited_at, DEADLINE), (
                f"waited {DEADLINE} s for {self.thread} to wait with {frames_added} frames added"
            )


def test_every_wait_of_put_is_counted_and_timed_and_said_once(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(frame_buffer, "time", SimpleNamespace(perf_counter=clock.perf_counter,
                                                              monotonic=time.monotonic))  # fmt: skip
    warnings: list[str] = []
    buffer = FrameBuffer(2 * FRAME, tmp_path / "spill", policy=BufferPolicy.block, warn=warnings.append)
    buffer._changed = watched = WatchedCondition(buffer)  # no thread of the buffer's own uses it yet
    buffer.put(frame(0))
    buffer.put(frame(1))  # memory full
    recorder = threading.Thread(target=lambda: [buffer.put(frame(n)) for n in (2, 3)], daemon=True)
    watched.thread = recorder
    recorder.start()
    watched.waits_at(2)
    clock.now = 103.0  # put waited 3 s for frame 2
    assert buffer.get().data == frame(0)  # type: ignore[union-attr]
    watched.waits_at(3)  # and waits again, for frame 3
    clock.now = 104.0  # 1 s more
    assert buffer.get().data == frame(1)  # type: ignore[union-attr]
    joined(recorder)
    assert (buffer.stats.frames_added, buffer.stats.blocked_calls, buffer.stats.blocked_seconds) == (4, 2, 4.0)
    assert warnings == ["encoder cannot keep up: add_frame waits (memory buffer of 0 MiB full)"]  # 200 kB
    buffer.finish()
    assert drain(buffer) == [2, 3]
    buffer.stop()


def test_the_spill_folder_is_made_once_with_its_parents_or_used_as_it_is(tmp_path):
    began: list[Path] = []
    warnings: list[str] = []  # put may wait for the disk (and say so); a spill that fails says "cannot spill"
    failed = lambda: [w for w in warnings if w.startswith("cannot spill")]  # noqa: E731
    deep = tmp_path / "a" / "b" / "spill"
    buffer = FrameBuffer(2 * FRAME, deep, warn=warnings.append, on_first_spill=began.append)
    for number in range(6):
        buffer.put(frame(number))
    until(lambda: buffer.stats.spilled >= 3 or failed(), "three frames to be spilled")
    assert failed() == [] and began == [deep]  # told once, however many frames follow
    assert sorted(path.name for path in deep.iterdir())[:3] == [f"0000000{n}.frame" for n in range(3)]
    buffer.finish()
    assert drain(buffer) == list(range(6))
    buffer.stop()

    there = tmp_path / "there"
    there.mkdir()
    again = FrameBuffer(2 * FRAME, there, warn=warnings.append)
    for number in range(3):
        again.put(frame(number))
    until(lambda: again.stats.spilled >= 1 or failed(), "a frame to be spilled into the folder there")
    assert failed() == [] and (there / "00000000.frame").exists()
    again.stop(discard=True)


def test_get_waits_as_long_as_its_timeout_on_the_buffers_clock(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(frame_buffer, "time", SimpleNamespace(perf_counter=time.perf_counter,
                                                              monotonic=clock.perf_counter))  # fmt: skip
    buffer = FrameBuffer(FRAME, tmp_path / "spill", policy=BufferPolicy.block)
    assert buffer.get(timeout=0) is None  # no time to wait, even on a clock that stands still
    buffer._changed = watched = WatchedCondition(buffer)  # no thread of the buffer's own uses it
    results: list = []
    watched.thread = threading.Thread(target=lambda: results.append(buffer.get(timeout=0.5)), daemon=True)
    watched.thread.start()
    watched.waits_at(0)
    buffer.put(frame(7))  # within the half second, on the buffer's clock
    joined(watched.thread)
    assert [taken.data for taken in results] == [frame(7)]

    results.clear()
    watched.thread = threading.Thread(target=lambda: results.append(buffer.get(timeout=0.5)), daemon=True)
    watched.thread.start()
    watched.waits_at(1)
    clock.now += 0.5  # the half second has passed: get gives up (at its next look, within half a second)
    joined(watched.thread)
    assert results == [None]
    buffer.stop()
