"""The writer thread of a stream: every frame from the buffer, in order, into the encoder process, then
the encoder ended; a hardware encoder that fails before proving itself is replaced by the CPU encoder
and given again every frame it had (replay.py), in a loop, not by recursion.

What abort() also reaches for (the process, the error, the replay) is changed under the stream's one
lock, which StreamEncoder owns and hands in; this thread alone replaces the process, so it reads its
own fields without the lock.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

from ..ffmpeg.child import lower_current_thread
from ..models import DepthMode, EncoderSettings
from .encoder_process import EncoderProcess
from .frame_buffer import FrameBuffer
from .replay import Replay

STREAM_END_TIMEOUT_S = 600.0


class StreamWriter:
    """Feeds one stream's encoder from its buffer; `error` says why the stream failed, if it did."""

    def __init__(
        self,
        buffer: FrameBuffer,
        lock: threading.Lock,
        process: EncoderProcess,
        start: Callable[[EncoderSettings], EncoderProcess],
        replay: Replay | None,
        *,
        stream_file: Path,
        fallback_note: str | None,
        warn: Callable[[str], None],
        nice: int = 0,
    ) -> None:
        """`start` starts an encoder for other settings (the CPU restart); it is called with `lock` held."""
        self._buffer, self._lock, self._start, self._warn = buffer, lock, start, warn
        self._nice = nice  # how far below the recorder's thread this one runs, as its ffmpeg does
        self._stream_file = stream_file
        self.process = process  # under the lock: replaced here (a CPU restart), killed by abort()
        self.error: str | None = None  # under the lock; the first reason stands, but abort() has the last word
        self._replay = replay  # under the lock: None once the encoder proved itself (or restarted)
        self._aborted = False  # under the lock
        self.settings = process.settings
        self.fallback = fallback_note  # why the stream is not on the encoder first planned
        self.frames_written = 0  # frames the current encoder has taken
        self.hashes: list[str] = []  # depth kept exactly: every frame's md5, as given, to check the video against
        # A daemon, so a recorder that forgets close() can still exit; encoder._detach_open_streams
        # makes sure the frames it already took are written out first.
        self._thread = threading.Thread(target=self._run, name="encodectl-stream-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def abort_locked(self) -> EncoderProcess:
        """Called by abort() with the lock held: no frame is fed and no restart made from here on, and the
        encoder of the moment (a CPU restart's, if one was under way: it held the lock) is killed."""
        self._aborted = True
        self.error = "aborted"
        self.process.kill()
        return self.process

    def _run(self) -> None:
        """Feed ffmpeg every frame in order until the buffer is finished; whatever goes wrong, the stream
        ends and says why."""
        lower_current_thread(self._nice)
        try:
            while (taken := self._buffer.get()) is not None:
                if self.error is None:
                    self._deliver(taken.data)
                taken.done()
        except Exception as error:  # noqa: BLE001 - the recorder must hear of it, not lose a thread
            self._fail(f"stream writer failed: {type(error).__name__}: {error}")
            self._buffer.stop()  # a waiting add_frame returns, and raises the error
        finally:
            self._end()

    def _deliver(self, data: bytes) -> None:
        if self.settings.depth is DepthMode.lossless:
            self.hashes.append(hashlib.md5(data, usedforsecurity=False).hexdigest())  # here, not on the recorder's time
        if not self._feed(data):
            self._restart_or_fail(self.process.wait())

    def _end(self) -> None:
        """Close the encoder's input and wait for it. A short stream can fit in the pipe before a failing
        encoder is noticed, so a failure here restarts on the CPU too, and the new encoder is ended in turn."""
        while True:
            returncode = self.process.end(STREAM_END_TIMEOUT_S)
            if returncode is None:
                self._fail(f"ffmpeg did not finish within {STREAM_END_TIMEOUT_S:.0f} s")
                returncode = self.process.wait()
            if returncode == 0 or self._aborted or not self._restart_or_fail(returncode):
                return

    def _restart_or_fail(self, returncode: int) -> bool:
        """The encoder exited with `returncode`: go on with the CPU encoder, fed every kept frame, while
        a restart may be made (the one place that restarts); else the stream fails with the reason."""
        while True:
            reason = self.process.failure(returncode)
            replay = self._restart(reason)
            if replay is None:
                self._fail(reason)
                return False
            if all(self._feed(data) for data in replay):
                return True
            returncode = self.process.wait()  # the CPU encoder died too

    def _restart(self, reason: str) -> list[bytes] | None:
        """A hardware encoder that failed before proving itself: the CPU encoder in its place, and the
        frames to give it again; None if no restart may be made (none planned, proved, aborted, failed)."""
        with self._lock:  # abort() waits for the CPU encoder to start, and kills that one
            replay = self._replay
            if self._aborted or self.error is not None or replay is None:
                return None
            self._stream_file.unlink(missing_ok=True)
            try:
                process = self._start(replay.fallback)
            except OSError as error:  # the stream fails with this reason, on the encoder it was on
                self.error = self.error or f"{reason}; the CPU encoder could not start ({error.strerror or error})"
                return None
            self.fallback, self.settings, self._replay, self.process = reason, replay.fallback, None, process
        self._warn(f"{reason}; continuing on the CPU with {self.settings.encoder}")
        self.frames_written = 0
        return replay.frames

    def _feed(self, data: bytes) -> bool:
        """One frame into the encoder; False when it is gone."""
        replay = self._replay
        if replay is not None:
            replay.keep(data)
        if not self.process.feed(data):
            return False
        self.frames_written += 1
        if replay is not None and replay.no_longer_needed(self.frames_written):
            with self._lock:
                self._replay = None
        return True

    def _fail(self, reason: str) -> None:
        with self._lock:
            self.error = self.error or reason
