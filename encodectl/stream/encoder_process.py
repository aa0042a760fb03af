"""One ffmpeg encoder of a stream: started, fed raw frames on its stdin, its stderr drained, ended.

A StreamEncoder has one at a time; a hardware encoder that fails before proving itself is replaced
by a CPU one (replay.py, writer.py). The child is started as every ffmpeg child of encodectl is
(ffmpeg.child: never real-time priority; killed with its parent when asked; its log read by a LogTail)
and, at low priority, run idle beside the recorder.
"""

from __future__ import annotations

import contextlib
import fcntl
import subprocess

from ..ffmpeg.child import start_child
from ..ffmpeg.log import encoder_failure
from ..models import EncoderSettings


class EncoderProcess:
    """A running ffmpeg that reads raw frames on its stdin and writes the stream file it was given."""

    def __init__(
        self,
        argv: list[str],
        settings: EncoderSettings,
        *,
        stream_file_lock: int,
        nice: int,
        die_with_parent: bool,
        frame_pixels: int,
    ) -> None:
        """Start ffmpeg (OSError if it cannot be); `stream_file_lock` is passed on so that ffmpeg holds the
        stream file's lock too (recovery.py), `frame_pixels` sizes the pipe."""
        self.settings = settings
        # At low priority (the default: `nice` > 0), idle beside the recorder where that is safe: SCHED_IDLE in
        # the recorder's own scheduling group, so that its thread runs the moment its sleep ends and ffmpeg has
        # the cores the rest of the time (ffmpeg.child.Placement); else, and at normal priority, a session of
        # its own. Either way in a process group of its own: a Ctrl-C meant for the recorder does not end the
        # encoder behind its back (close() or abort() does that). Nor does the recorder's death, unless
        # asked: ffmpeg then reads to the end of its input and writes out every frame it was given. A CPU
        # restart is started by the writer thread, which waits for it.
        self._child = start_child(
            argv, stdin="pipe", placement="idle_beside_caller" if nice else "own_session",
            die_with_parent=die_with_parent, nice=nice, pass_fds=(stream_file_lock,),
        )  # fmt: skip
        if self._child.stdin is not None and hasattr(fcntl, "F_SETPIPE_SZ"):
            # A pipe that holds a whole frame: one write per frame instead of fifteen 64 KiB ones,
            # so the writer thread holds the GIL (and delays add_frame) less often.
            pipe_bytes = min(1 << 20, max(1 << 16, 3 * frame_pixels))
            with contextlib.suppress(OSError):
                fcntl.fcntl(self._child.stdin.fileno(), fcntl.F_SETPIPE_SZ, pipe_bytes)

    @property
    def pid(self) -> int:
        return self._child.pid

    def feed(self, data: bytes) -> bool:
        """Write one frame; False when ffmpeg is gone (its exit code says why)."""
        assert self._child.stdin is not None
        try:
            self._child.stdin.write(data)
        except (BrokenPipeError, OSError):
            return False
        return True

    def end(self, timeout: float) -> int | None:
        """Close ffmpeg's input and wait for its exit code; None when it had not exited after `timeout`
        seconds, and was killed."""
        if self._child.stdin is not None:
            with contextlib.suppress(OSError):  # ffmpeg already gone: its exit code says why
                self._child.stdin.close()
        try:
            return self._child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self._child.wait()
            return None

    def kill(self) -> None:
        """SIGKILL (its process group); nothing if it has already exited. Safe from any thread."""
        self._child.kill()

    def wait(self, timeout: float | None = None) -> int:
        return self._child.wait(timeout=timeout)

    def failure(self, returncode: int) -> str:
        """Why it failed, in one line, from its exit code and the tail of its log."""
        return encoder_failure(self.settings.encoder, returncode, self._child.log.lines())
