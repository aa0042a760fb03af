"""Run one ffmpeg child: progress from its ``-progress`` stream, the tail of its log, and a clean kill.

The child gets its own session so a Ctrl-C at the terminal reaches encodectl
only; encodectl then kills the child itself and removes what it left, instead of
letting ffmpeg finalise a half-written file. If encodectl itself is killed (even
by SIGKILL), the kernel kills the child too (PR_SET_PDEATHSIG), so no ffmpeg goes
on encoding a video nobody will verify.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from pydantic import BaseModel

from ..errors import Interrupted
from ..syscalls import preexec_for_ffmpeg

LOG_TAIL_LINES = 40


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
    return subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace", timeout=timeout,
        check=False, preexec_fn=preexec_for_ffmpeg(),
    )  # fmt: skip


def lower_priority(pid: int, nice: int) -> None:
    """Run `pid` `nice` steps below the caller, so that a recorder beside it keeps its frame rate.

    Set from outside rather than in a preexec_fn, which must do as little as possible once
    the pool has threads (see syscalls.preexec_for_ffmpeg). Linux keeps a nice value
    per thread, so every thread the child has by now is lowered; the ones it starts later
    inherit it. With Linux's autogroup scheduling a nice value only counts inside the
    session's group, so the group is lowered too, but only when the child has a session of
    its own: otherwise the group is the caller's, and lowering it slows the recorder as
    well, while ffmpeg's threads still take whole scheduler ticks from it (measured:
    add_frame p99 3-4 ms instead of 0.4 ms).
    """
    if not nice:
        return
    target = min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice)
    for thread in _threads_of(pid):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, thread, target)
    with contextlib.suppress(OSError):
        if os.getsid(pid) != os.getsid(0):
            _lower_group(pid, min(19, _group_nice("self") + nice))


def _threads_of(pid: int) -> list[int]:
    try:
        return [int(thread.name) for thread in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:  # not Linux, or already gone
        return [pid]


def _group_nice(pid: int | str) -> int:
    """The nice value of a process's autogroup ("/autogroup-123 nice 0"); 0 where there is none."""
    try:
        return int(Path(f"/proc/{pid}/autogroup").read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return 0


def _write_group_nice(pid: int, nice: int) -> None:
    Path(f"/proc/{pid}/autogroup").write_text(f"{nice}\n")


def _lower_group(pid: int, nice: int, tries: int = 30) -> None:
    try:
        _write_group_nice(pid, nice)
    except BlockingIOError:
        # Without CAP_SYS_ADMIN the kernel takes one autogroup change per 0.1 s, machine-wide, so the
        # second of two cameras' encoders started together is refused at first: try again shortly.
        if tries:
            retry = threading.Timer(0.11, _lower_group, (pid, nice, tries - 1))
            retry.daemon = True
            retry.start()
    except OSError:
        pass  # no autogroup here, or the process is gone


class LogTail:
    """The last lines of a child's log, read by a thread of its own while the child runs: a chatty child
    would otherwise fill the pipe (64 KiB) and stall, and whoever waits for it with it."""

    def __init__(self, stream: IO[str] | IO[bytes] | None) -> None:
        self._lines: collections.deque[str] = collections.deque(maxlen=LOG_TAIL_LINES)
        self._reader = threading.Thread(target=self._read, args=(stream,), name="encodectl-log", daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str] | IO[bytes] | None) -> None:
        if stream is None:
            return
        with stream, contextlib.suppress(OSError, ValueError):  # closed under us: the tail so far stands
            for line in stream:
                text = line.decode(errors="replace") if isinstance(line, bytes) else line
                self._lines.append(text.rstrip("\n"))

    def lines(self, wait: float = 5.0) -> list[str]:
        """The tail, once the child has closed its end (at its exit), or after `wait` seconds."""
        self._reader.join(timeout=wait)
        return list(self._lines)


class FFmpegProcess:
    """A running ffmpeg whose stdout carries -progress key=value lines."""

    def __init__(self, argv: list[str], nice: int = 0) -> None:
        self.argv = argv
        self._killed = False
        # A session of its own (see the module's docstring), yet killed if encodectl dies, SIGKILL
        # included: the thread that starts it waits in follow() for its end, so it outlives it.
        self._popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=preexec_for_ffmpeg(),
            text=True,
            errors="replace",
        )
        if nice:
            lower_priority(self._popen.pid, nice)
        self.log = LogTail(self._popen.stderr)

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def killed(self) -> bool:
        return self._killed

    def follow(self, on_progress: Callable[[Progress], None] | None = None) -> int:
        """Read progress until ffmpeg exits; return its exit code."""
        assert self._popen.stdout is not None
        fields: dict[str, str] = {}
        for line in self._popen.stdout:
            key, _, value = line.strip().partition("=")
            fields[key] = value.strip()
            if key == "progress":
                if on_progress is not None:
                    on_progress(_progress_from(fields))
                fields = {}
        return self._popen.wait()

    def kill(self) -> None:
        """Kill ffmpeg (and anything it started) at once; safe to call twice or from another thread."""
        self._killed = True
        if self._popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._popen.pid, signal.SIGKILL)

    def wait(self) -> int:
        return self._popen.wait()


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
