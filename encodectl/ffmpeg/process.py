"""Run one ffmpeg child: progress from its ``-progress`` stream, the tail of its log, and a clean kill.

The child (started by child.start_child) gets its own session so a Ctrl-C at the terminal reaches
encodectl only; encodectl then kills the child itself and removes what it left, instead of letting
ffmpeg finalise a half-written file. If encodectl itself is killed (even by SIGKILL), the kernel kills
the child too (PR_SET_PDEATHSIG), so no ffmpeg goes on encoding a video nobody will verify.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator

from pydantic import BaseModel

from ..errors import Interrupted
from .child import run_child, start_child


class Progress(BaseModel):
    """One report from ffmpeg's -progress stream."""

    frame: int = 0
    fps: float = 0.0
    speed: float | None = None
    out_time_s: float = 0.0
    done: bool = False


class CancelToken:
    """Shared by everything that may need to stop running children at once (Ctrl-C, pool close)."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._running: set[FFmpegProcess] = set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        self._cancelled.set()
        with self._lock:
            running = list(self._running)
        for process in running:
            process.kill()

    def register(self, process: FFmpegProcess) -> None:
        with self._lock:
            self._running.add(process)
        if self.cancelled:
            process.kill()

    def unregister(self, process: FFmpegProcess) -> None:
        with self._lock:
            self._running.discard(process)


def capture(argv: list[str], timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run a short ffmpeg (a read-back, a probe, a remux) to the end and return what it printed, as text
    in which bytes that are not UTF-8 (a path it echoes need not be) are replacement characters. Like an
    encode, it dies with the thread that waits for it; TimeoutExpired after `timeout` seconds."""
    return run_child(argv, timeout=timeout, text=True)


class FFmpegProcess:
    """A running ffmpeg whose stdout carries -progress key=value lines."""

    def __init__(self, argv: list[str], nice: int = 0) -> None:
        self.argv = argv
        self._killed = False
        # A session of its own (see the module's docstring), yet killed if encodectl dies, SIGKILL
        # included: the thread that starts it waits in follow() for its end, so it outlives it.
        self._child = start_child(argv, stdout="pipe", text=True, placement="own_session", nice=nice)
        self.log = self._child.log

    @property
    def pid(self) -> int:
        return self._child.pid

    @property
    def killed(self) -> bool:
        return self._killed

    def follow(self, on_progress: Callable[[Progress], None] | None = None) -> int:
        """Read progress until ffmpeg exits; return its exit code."""
        assert self._child.stdout is not None
        fields: dict[str, str] = {}
        for line in self._child.stdout:
            key, _, value = line.strip().partition("=")
            fields[key] = value.strip()
            if key == "progress":
                if on_progress is not None:
                    on_progress(_progress_from(fields))
                fields = {}
        return self._child.wait()

    def kill(self) -> None:
        """Kill ffmpeg (and anything it started) at once; safe to call twice or from another thread."""
        self._killed = True
        self._child.kill()

    def wait(self) -> int:
        return self._child.wait()


def _progress_from(fields: dict[str, str]) -> Progress:
    def number(key: str) -> float | None:
        raw = fields.get(key, "").rstrip("x")
        try:
            return float(raw)
        except ValueError:
            return None

    out_time_us = number("out_time_us")
    return Progress(
        frame=int(number("frame") or 0),
        fps=number("fps") or 0.0,
        speed=number("speed"),
        out_time_s=(out_time_us or 0.0) / 1e6,
        done=fields.get("progress") == "end",
    )


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C/SIGTERM for a few lines that must not be cut in half (start + register a child).

    A signal that arrives meanwhile is delivered, as usual, when the block ends. It is
    caught and replayed rather than blocked: a blocked mask would be inherited by the
    children started inside, and ffmpeg would then ignore a SIGTERM for its whole life.
    Only the main thread receives Python signals, so elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in previous:
        signal.signal(number, lambda received, _frame: arrived.append(received))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        for received in dict.fromkeys(arrived):
            signal.raise_signal(received)


def run_ffmpeg(
    argv: list[str],
    token: CancelToken | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    nice: int = 0,
) -> tuple[int, list[str]]:
    """Run ffmpeg to the end; return (exit code, last log lines). Ctrl-C or cancel kills it."""
    if token is not None and token.cancelled:
        raise Interrupted()
    process: FFmpegProcess | None = None
    try:
        with signals_deferred():  # no window in which a started child is not yet known
            process = FFmpegProcess(argv, nice=nice)
            if token is not None:
                token.register(process)
        returncode = process.follow(on_progress)
    except BaseException:
        if process is not None:
            process.kill()
            process.wait()
        raise
    finally:
        if token is not None and process is not None:
            token.unregister(process)
    if process.killed:
        raise Interrupted()
    return returncode, process.log.lines()
