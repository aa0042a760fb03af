"""The stream's frame buffer: order, memory bound, spilling on a thread of its own, back-pressure last.

No ffmpeg here: the buffer decides none of what ffmpeg does; the streams that use it are
tested with the real ffmpeg in test_stream.py."""

from __future__ import annotations

import threading
import time

import pytest

from encodectl.stream.frame_buffer import BufferPolicy, FrameBuffer

pytestmark = pytest.mark.same_on_every_ffmpeg("the buffer runs no ffmpeg at all")

FRAME = 100_000  # bytes


def frame(number: int) -> bytes:
    return number.to_bytes(4, "big") * (FRAME // 4)


def until(condition, what: str, timeout: float = 60) -> None:
    """Wait for something the code under test does (with a deadline long enough for a loaded machine)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.005)


def drain(buffer: FrameBuffer) -> list[int]:
    numbers = []
    while (taken := buffer.get(timeout=5)) is not None:
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
    buffer.stop(discard=True)
    assert not (tmp_path / "spill").exists()


def test_a_taken_frame_stays_on_disk_until_the_encoder_has_it(tmp_path):
    buffer = FrameBuffer(2 * FRAME, tmp_path / "spill")
    for number in range(6):
        buffer.put(frame(number))
        time.sleep(0.01)
    time.sleep(0.1)
    taken = buffer.get()
    assert taken is not None and (tmp_path / "spill" / "00000000.frame").exists()
    taken.done()
    assert not (tmp_path / "spill" / "00000000.frame").exists()
    buffer.stop(discard=True)


def test_when_the_disk_cannot_keep_up_either_put_waits_and_says_so_once(tmp_path):
    warnings: list[str] = []
    buffer = FrameBuffer(4 * FRAME, tmp_path / "spill", warn=warnings.append)
    slow_write = buffer._write

    def slow_disk(path, data):
        time.sleep(0.05)
        slow_write(path, data)

    buffer._write = slow_disk  # type: ignore[method-assign]
    for number in range(20):
        buffer.put(frame(number))
    assert buffer.stats.blocked_calls > 0 and buffer.stats.memory_bytes_peak <= 4 * FRAME
    assert len([w for w in warnings if "the disk cannot keep up" in w]) == 1
    assert "MB/s" in next(w for w in warnings if "the disk cannot keep up" in w)
    buffer.finish()
    assert drain(buffer) == list(range(20))
    buffer.stop()


def test_block_policy_never_spills_and_waits_for_the_encoder(tmp_path):
    buffer = FrameBuffer(3 * FRAME, tmp_path / "spill", policy=BufferPolicy.block)
    taken: list[int] = []

    def slow_encoder() -> None:
        while (item := buffer.get(timeout=5)) is not None:
            time.sleep(0.01)
            taken.append(int.from_bytes(item.data[:4], "big"))
            item.done()

    consumer = threading.Thread(target=slow_encoder)
    consumer.start()
    for number in range(30):
        buffer.put(frame(number))
    buffer.finish()
    consumer.join(timeout=10)
    buffer.stop()
    assert taken == list(range(30))
    assert buffer.stats.spilled == 0 and buffer.stats.blocked_calls > 0
    assert buffer.stats.memory_bytes_peak <= 3 * FRAME and not (tmp_path / "spill").exists()


# Deterministic pressure: a disk that writes only when the test lets it (no clock involved).


class GatedDisk:
    """Stands for the spill folder's disk: each write waits until the test releases one."""

    def __init__(self, buffer: FrameBuffer) -> None:
        self.buffer, self.real = buffer, buffer._write
        self.allowed = threading.Semaphore(0)
        self.waiting = threading.Event()
        self.fail_with: OSError | None = None
        buffer._write = self.write  # type: ignore[method-assign]

    def write(self, path, data) -> None:
        self.waiting.set()
        self.allowed.acquire()
        if self.fail_with is not None:
            raise self.fail_with
        self.real(path, data)

    def release(self, writes: int = 1) -> None:
        for _ in range(writes):
            self.allowed.release()


def changed_until(buffer: FrameBuffer, condition, what: str, timeout: float = 60) -> None:
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
    assert disk.waiting.wait(60)
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
    assert disk.waiting.wait(60)
    recorder = threading.Thread(target=buffer.put, args=(big,))
    recorder.start()
    changed_until(buffer, lambda: len(warnings) == 1, "put to say it waits")
    assert warnings == [
        "the disk cannot keep up: frames arrive at 3 MB/s and spill at 0 MB/s; add_frame waits for room "
        "(memory buffer of 2 MiB full)"
    ]
    assert recorder.is_alive() and buffer.stats.frames_added == 2
    disk.release(3)
    recorder.join(60)
    assert not recorder.is_alive()
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
    recorder = threading.Thread(target=buffer.put, args=(big,))
    recorder.start()
    changed_until(buffer, lambda: bool(warnings), "put to say it waits")
    assert warnings == ["encoder cannot keep up: add_frame waits (memory buffer of 3 MiB full)"]
    taken = buffer.get()
    assert taken is not None
    recorder.join(60)
    assert not recorder.is_alive() and buffer.stats.blocked_calls == 1 and buffer.backlog == 3
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
    assert disk.waiting.wait(60)
    disk.release()
    until(lambda: buffer.policy is BufferPolicy.block, "the spill thread to give up")  # it notifies no one
    assert warnings == [f"cannot spill frames to {tmp_path / 'spill'} ([Errno 28] No space left on device); keeping "
                        "them in memory"]  # fmt: skip
    buffer._spiller.join(60)  # type: ignore[union-attr]
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
    assert disk.waiting.wait(60)  # frame 0 is being written
    taken = buffer.get()
    assert taken is not None and taken.data == frame(0)  # from memory
    disk.release()
    until(lambda: buffer.stats.spill_seconds > 0, "the write to end")  # then nothing changes that others wait on
    until(lambda: not (tmp_path / "spill" / "00000000.frame").exists(), "its file to go")
    assert buffer.stats.spilled == 0 and buffer.disk_bytes == 0
    buffer.stop(discard=True)


def test_get_without_frames(tmp_path):
    buffer = FrameBuffer(FRAME, tmp_path / "spill", policy=BufferPolicy.block)
    assert buffer.get(timeout=0) is None  # nothing, and no time to wait
    getter = threading.Thread(target=lambda: results.append(buffer.get()))
    results: list = []
    getter.start()
    buffer.put(frame(7))
    getter.join(60)
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
    kept = FrameBuffer(FRAME, tmp_path / "spill", policy=BufferPolicy.block)
    kept.put(frame(1))
    kept.stop()
    assert kept.backlog == 1  # stopped, not discarded: the frames stay for whoever drains them
