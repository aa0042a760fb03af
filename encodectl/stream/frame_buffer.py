"""The frames a stream holds between the recorder and its encoder: in memory, and on disk beyond that.

``put`` (the recorder's thread) only appends to a deque under a short lock: it never
touches the disk. Once the frames in memory pass half of the budget, a spill thread of
the buffer's own writes the oldest of them to disk, one file a frame, and frees their
memory; ``get`` (the encoder's feeding thread) takes frames in arrival order, from
memory or from disk. Nothing is dropped: only when the spill thread cannot keep up
either, and memory is full, does ``put`` wait, and it says so once, with the rates.
"""

from __future__ import annotations

import collections
import contextlib
import shutil
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel

from ..ffmpeg.child import lower_current_thread

SPILL_FILE_SUFFIX = ".frame"
SPILL_AT = 0.5  # of the memory budget: spilling starts here, leaving the rest to absorb a slow disk


class BufferPolicy(StrEnum):
    spill = "spill"  # frames beyond memory go to disk (a thread of their own): the recorder never waits
    block = "block"  # nothing goes to disk: add_frame waits for room, the recorder slows down


class BufferStats(BaseModel):
    frames_added: int = 0
    spilled: int = 0  # frames written to disk
    spilled_bytes: int = 0
    disk_bytes_peak: int = 0  # the most the spill folder held at once
    memory_bytes_peak: int = 0
    max_backlog: int = 0  # frames waiting for the encoder, at most
    blocked_calls: int = 0
    blocked_seconds: float = 0.0
    spill_seconds: float = 0.0  # spent writing spilled frames (on the spill thread)


class Taken:
    """A frame handed to the encoder; ``done()`` once the encoder has it (a spilled frame's file goes only then,
    so a recorder that dies meanwhile leaves it on disk for `recover`)."""

    __slots__ = ("_buffer", "_path", "_size", "data")

    def __init__(self, data: bytes, path: Path | None = None, buffer: FrameBuffer | None = None, size: int = 0) -> None:
        self.data, self._path, self._buffer, self._size = data, path, buffer, size

    def done(self) -> None:
        if self._path is not None and self._buffer is not None:
            self._path.unlink(missing_ok=True)
            self._buffer._released(self._size)
            self._path = None


class _Entry:
    """One frame: its bytes while in memory, its file once spilled."""

    __slots__ = ("consumed", "data", "path", "seq", "size", "spilling")

    def __init__(self, seq: int, data: bytes) -> None:
        self.seq, self.size = seq, len(data)
        self.data: bytes | None = data
        self.path: Path | None = None
        self.spilling = self.consumed = False


class FrameBuffer:
    def __init__(
        self,
        memory_bytes: int,
        spill_dir: Path,
        policy: BufferPolicy = BufferPolicy.spill,
        warn: Callable[[str], None] | None = None,
        on_first_spill: Callable[[Path], None] | None = None,
        nice: int = 0,
    ) -> None:
        """`nice`: how far below the recorder's thread the spill thread runs."""
        self.memory_budget = memory_bytes
        self._nice = nice
        self.spill_dir = spill_dir
        self.policy = policy
        self.stats = BufferStats()
        self._warn = warn or (lambda _: None)
        self._on_first_spill = on_first_spill  # e.g. write what `recover` needs to encode the spilled frames
        self._entries: collections.deque[_Entry] = collections.deque()
        self._memory = 0
        self._on_disk = 0
        self._finished = self._stopped = False
        self._spilling_began = False
        self._warned: set[str] = set()
        self._changed = threading.Condition()
        self._arrivals: collections.deque[tuple[float, int]] = collections.deque()  # (time, bytes), the last second
        self._spiller: threading.Thread | None = None
        if policy is BufferPolicy.spill:
            self._spiller = threading.Thread(target=self._spill_loop, name="encodectl-spill", daemon=True)
            self._spiller.start()

    # -- the recorder's side -------------------------------------------------------------

    def put(self, data: bytes) -> None:
        """Append one frame; waits only when memory is full and nothing can go to disk fast enough."""
        with self._changed:
            now = time.perf_counter()
            self._arrivals.append((now, len(data)))
            while self._arrivals and now - self._arrivals[0][0] > 1.0:
                self._arrivals.popleft()
            if self._memory + len(data) > self.memory_budget and self._entries and not self._stopped:
                self._wait_for_room(len(data))
            entry = _Entry(self.stats.frames_added, data)
            self.stats.frames_added += 1
            self._entries.append(entry)
            self._memory += entry.size
            self.stats.memory_bytes_peak = max(self.stats.memory_bytes_peak, self._memory)
            self.stats.max_backlog = max(self.stats.max_backlog, len(self._entries))
            self._changed.notify_all()

    def _wait_for_room(self, size: int) -> None:
        """Called with the lock held: back-pressure, the last resort."""
        if self.policy is BufferPolicy.spill:
            arriving = sum(size for _, size in self._arrivals) / 2**20
            writing = self.stats.spilled_bytes / 2**20 / self.stats.spill_seconds if self.stats.spill_seconds else 0.0
            self._warn_once(
                "disk",
                f"the disk cannot keep up: frames arrive at {arriving:.0f} MB/s and spill at {writing:.0f} MB/s; "
                f"add_frame waits for room (memory buffer of {self.memory_budget / 2**20:.0f} MiB full)",
            )
        else:
            self._warn_once(
                "block",
                f"encoder cannot keep up: add_frame waits (memory buffer of {self.memory_budget / 2**20:.0f} MiB full)",
            )
        started = time.perf_counter()
        while self._memory + size > self.memory_budget and self._entries and not self._stopped:
            self._changed.wait(0.05)
        self.stats.blocked_calls += 1
        self.stats.blocked_seconds += time.perf_counter() - started

    def finish(self) -> None:
        """No more frames: get() returns None once every frame before this is taken."""
        with self._changed:
            self._finished = True
            self._changed.notify_all()

    # -- the encoder's side ---------------------------------------------------------------

    def get(self, timeout: float | None = None) -> Taken | None:
        """The next frame in arrival order; None once finished and empty (or after `timeout` with nothing)."""
        with self._changed:
            deadline = None if timeout is None else time.monotonic() + timeout
            while not self._entries:
                if self._finished or self._stopped:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._changed.wait(remaining if remaining is not None else 0.1)
            entry = self._entries.popleft()
            entry.consumed = True
            data, path = entry.data, entry.path
            if data is not None:
                self._memory -= entry.size
                entry.data = None
            self._changed.notify_all()
        if data is not None:
            return Taken(data)
        assert path is not None
        return Taken(path.read_bytes(), path, self, entry.size)  # read outside the lock: put() never waits for it

    def _released(self, size: int) -> None:
        with self._changed:
            self._on_disk -= size

    @property
    def backlog(self) -> int:
        with self._changed:
            return len(self._entries)

    @property
    def memory_bytes(self) -> int:
        return self._memory

    @property
    def disk_bytes(self) -> int:
        return self._on_disk

    def stop(self, discard: bool = False) -> None:
        """End the spill thread (after the last get()); with `discard`, drop every frame and the spill folder."""
        with self._changed:
            self._stopped = True
            if discard:
                self._entries.clear()
                self._memory = 0
            self._changed.notify_all()
        if self._spiller is not None:
            self._spiller.join(timeout=10)
        if discard:
            shutil.rmtree(self.spill_dir, ignore_errors=True)
            with self._changed:  # the spilled frames went with their folder: none is on disk any more
                self._on_disk = 0

    # -- the spill thread ----------------------------------------------------------------

    def _spill_loop(self) -> None:
        lower_current_thread(self._nice)
        while True:
            with self._changed:
                entry = self._next_to_spill()
                while entry is None and not self._stopped:
                    self._changed.wait(0.1)
                    entry = self._next_to_spill()
                if entry is None:
                    return
                entry.spilling = True
                data = entry.data
            assert data is not None
            path = self.spill_dir / f"{entry.seq:08d}{SPILL_FILE_SUFFIX}"
            started = time.perf_counter()
            try:
                self._write(path, data)
            except OSError as error:
                self._warn_once(
                    "spill-error", f"cannot spill frames to {self.spill_dir} ({error}); keeping them in memory"
                )
                with self._changed:
                    entry.spilling = False
                    self.policy = BufferPolicy.block  # in memory only, from now on
                return
            elapsed = time.perf_counter() - started
            with self._changed:
                self.stats.spill_seconds += elapsed
                if entry.consumed:  # the encoder took it from memory meanwhile
                    with contextlib.suppress(OSError):
                        path.unlink()
                    continue
                entry.data, entry.path = None, path
                self._memory -= entry.size
                self._on_disk += entry.size
                self.stats.spilled += 1
                self.stats.spilled_bytes += entry.size
                self.stats.disk_bytes_peak = max(self.stats.disk_bytes_peak, self._on_disk)
                self._changed.notify_all()

    def _next_to_spill(self) -> _Entry | None:
        """Called with the lock held: the oldest frame still in memory, while memory is past the mark.

        The oldest, so that the frames on disk run on from the ones the encoder has: should the
        recorder die, `recover` continues the video from them, and only the newest frames (in
        memory) are lost, as if the recording had ended a little earlier."""
        if self._memory <= SPILL_AT * self.memory_budget:
            return None
        return next((entry for entry in self._entries if entry.data is not None and not entry.spilling), None)

    def _write(self, path: Path, data: bytes) -> None:
        if not self._spilling_began:
            self._spilling_began = True
            self.spill_dir.mkdir(parents=True, exist_ok=True)
            if self._on_first_spill is not None:
                self._on_first_spill(self.spill_dir)
        path.write_bytes(data)

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self._warn(message)
