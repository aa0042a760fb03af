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
