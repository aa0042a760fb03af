"""Start an ffmpeg child: the one place in encodectl that does (tests/ffmpeg/test_child.py keeps it so).

Every child is prepared the same way, whoever starts it:
- never real-time priority: RLIMIT_RTPRIO 0 and, for root, CAP_SYS_NICE out of the bounding set
  (syscalls.py says why: SVT-AV1's threads once took the CPU from a recorder);
- with `die_with_parent` (the default), killed by the kernel when the thread that starts it dies, SIGKILL
  included (PR_SET_PDEATHSIG), so no ffmpeg encodes on for nobody;
- placed (Placement) in the caller's session and process group, in a session of its own, or idle beside
  the caller; the last two keep a Ctrl-C at the terminal for encodectl alone;
- with `nice`, run that many steps below the caller (lower_priority);
- its log read on a thread (LogTail), so that a chatty child never stalls on a full pipe;
- a kill that takes its whole process group when it has one, so nothing it started is left behind.

No preexec_fn does the privileged part, because a preexec_fn makes CPython fork() the caller instead of
vfork()ing it, and a fork copies the page tables of the whole process with the interpreter's lock held:
about 40 ms per ffmpeg in a recorder with torch loaded (750 MB), during which every thread, the one that
calls add_frame included, waits (benchmarks/spawn.py measures it). Instead the child execs util-linux's
setpriv and prlimit first, which do it after the exec and then exec ffmpeg in the same process, so the
pid the caller lowers, waits for and kills is ffmpeg's:

    setpriv --pdeathsig KILL [--bounding-set -sys_nice] -- prlimit --rtprio=0:0 -- ffmpeg ...

Where either tool is missing, or setpriv is older than util-linux 2.33 (no --pdeathsig), the child is
prepared as before by syscalls.preexec_for_ffmpeg, and forked (checked once per process, starting
nothing). One difference: setpriv does not check that its parent is still
there once the death signal is set, as the preexec_fn does; a starting thread that dies within the
millisecond between setpriv's exec and its prctl leaves an ffmpeg that ends with its input (a pipe
closes with its writer) or runs its file to the end, whose temporary output the orphan sweep removes.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import functools
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, Literal, overload

from ..outputs.sweep import stat_fields
from ..syscalls import preexec_for_ffmpeg

LOG_TAIL_LINES = 40
# How a child's standard stream is connected: to nothing, to a pipe the caller uses, to a LogTail
# (stderr only), or to an open file.
Stream = Literal["null", "pipe", "tail"] | IO[bytes]
# Where a child runs, for the scheduler and for the terminal's signals:
# - "caller": in the caller's session and process group (a read-back, a probe: short, and waited for);
# - "own_session": a session of its own, so a scheduling group (autogroup) apart from the caller's, lowered by
#   `nice` (the pool's encodes, which a recorder in another process must not feel);
# - "idle_beside_caller": SCHED_IDLE in the caller's own scheduling group, in a process group of its own (a
#   stream's encoder, beside the recorder that feeds it). An idle thread has the smallest share of its group
#   (a weight of 3 against 1,024) and gives way at once to any other thread that wakes, so the recorder's
#   thread runs the moment its sleep ends, and ffmpeg has the cores the rest of the time. In a group apart
#   (own session), the recorder's wake-up competes with the encoders' groups as wholes, and waits for them:
#   beside LeRobot's recorder (2 x 720p AV1, docs/lerobot.md) 21-47 of 600 ticks woke over 10 ms late,
#   against 0-1 here. The price: an idle thread waits for every other runnable thread of its group, however
#   long, and cannot be raised again without privilege. So it is idle only where that is safe (idle_is_safe):
#   the caller has a group of its own (in the machine's root group, where a process started without setsid
#   stays, idle would wait for every process of the machine), and no other process of its session is running
#   when the child starts (a build or a training run started from the same terminal would starve it: seen,
#   an encode beside two `yes` at 0.6% of a core); otherwise the child gets "own_session".
Placement = Literal["caller", "own_session", "idle_beside_caller"]
_CAP_SYS_NICE, _CAP_SETPCAP = 23, 8
_SCHED_IDLE = 5  # the policy's number in /proc/PID/stat (os.SCHED_IDLE is Linux's only)


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


class Child:
    """A running ffmpeg started by start_child."""

    def __init__(self, popen: subprocess.Popen[Any], log: LogTail, own_group: bool) -> None:
        self._popen = popen
        self._own_group = own_group
        self.log = log

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def stdin(self) -> IO[Any] | None:
        return self._popen.stdin

    @property
    def stdout(self) -> IO[Any] | None:
        return self._popen.stdout

    def poll(self) -> int | None:
        return self._popen.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Its exit code; subprocess.TimeoutExpired if it has not exited after `timeout` seconds."""
        return self._popen.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL to ffmpeg, and to anything it started when it has a process group of its own; nothing if it
        has already exited. Safe to call twice or from another thread."""
        if self._popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            if self._own_group:
                os.killpg(self._popen.pid, signal.SIGKILL)
            else:
                self._popen.kill()


def start_child(
    argv: Sequence[str],
    *,
    stdin: Stream = "null",
    stdout: Stream = "null",
    stderr: Stream = "tail",
    text: bool = False,
    placement: Placement = "caller",
    die_with_parent: bool = True,
    nice: int = 0,
    pass_fds: Sequence[int] = (),
) -> Child:
    """Start ffmpeg (`argv`, its path first) prepared as the module's docstring says; OSError if it cannot
    be started. `text` makes its pipes text (undecodable bytes replaced); `pass_fds` stay open in it."""
    if placement == "idle_beside_caller" and not idle_is_safe():
        placement = "own_session"
    popen = _popen(
        argv, stdin=stdin, stdout=stdout, stderr=stderr, text=text, placement=placement,
        die_with_parent=die_with_parent, pass_fds=pass_fds,
    )  # fmt: skip
    lower_priority(popen.pid, nice, idle=placement == "idle_beside_caller")
    # Without stderr="tail" the log stays empty: the caller reads it elsewhere, or nobody does.
    return Child(popen, LogTail(popen.stderr if stderr == "tail" else None), own_group=placement != "caller")


@overload
def run_child(
    argv: Sequence[str], *, input: bytes | None = ..., timeout: float | None = ..., text: Literal[False] = ...
) -> subprocess.CompletedProcess[bytes]: ...
@overload
def run_child(
    argv: Sequence[str], *, input: bytes | None = ..., timeout: float | None = ..., text: Literal[True]
) -> subprocess.CompletedProcess[str]: ...
def run_child(
    argv: Sequence[str], *, input: bytes | None = None, timeout: float | None = None, text: bool = False
) -> subprocess.CompletedProcess[Any]:
    """Run a short ffmpeg (a read-back, a probe, a decode) to the end, with `input` on its stdin (else
    nothing), and return what it printed (text: undecodable bytes as replacement characters). It dies with
    the thread that waits for it; subprocess.TimeoutExpired, once it is killed, after `timeout` seconds."""
    popen = _popen(
        argv, stdin="pipe" if input is not None else "null", stdout="pipe", stderr="pipe", text=text,
        placement="caller", die_with_parent=True, pass_fds=(),
    )  # fmt: skip
    with popen:
        try:
            out, err = popen.communicate(input.decode() if text and input is not None else input, timeout=timeout)
        except subprocess.TimeoutExpired as expired:
            popen.kill()
            expired.output, expired.stderr = popen.communicate()
            expired.cmd = list(argv)
            raise
        except BaseException:
            popen.kill()
            raise
    return subprocess.CompletedProcess(list(argv), popen.returncode, out, err)


def spawn_route() -> Literal["setpriv", "preexec_fn", "none"]:
    """How children are prepared in this process: by util-linux's tools after exec (vfork), by a
    preexec_fn (fork), or not at all (not Linux)."""
    if _wrappers() is not None:
        return "setpriv"
    return "preexec_fn" if preexec_for_ffmpeg() is not None else "none"


def _popen(
    argv: Sequence[str], *, stdin: Stream, stdout: Stream, stderr: Stream, text: bool, placement: Placement,
    die_with_parent: bool, pass_fds: Sequence[int],
) -> subprocess.Popen[Any]:  # fmt: skip
    wrappers = _wrappers()
    prefix: list[str] = []
    preexec: Callable[[], None] | None = None
    if wrappers is None:
        preexec = preexec_for_ffmpeg(die_with_parent=die_with_parent)
    else:
        _check_executable(argv[0])
        prefix = _prefix(*wrappers, die_with_parent=die_with_parent)
    return subprocess.Popen(
        [*prefix, *argv], stdin=_connect(stdin), stdout=_connect(stdout), stderr=_connect(stderr),
        start_new_session=placement == "own_session",
        process_group=0 if placement == "idle_beside_caller" else None,
        pass_fds=tuple(pass_fds), preexec_fn=preexec,
        text=text, errors="replace" if text else None,
    )  # fmt: skip


def _connect(stream: Stream) -> int | IO[bytes]:
    if stream == "null":
        return subprocess.DEVNULL
    if stream in ("pipe", "tail"):
        return subprocess.PIPE
    assert not isinstance(stream, str)
    return stream


def _prefix(setpriv: str, prlimit: str, die_with_parent: bool) -> list[str]:
    """setpriv first: the death signal is then set one exec sooner. prlimit lowers a limit, which needs
    no privilege, so it may come after the bounding set has lost CAP_SYS_NICE."""
    options = ["--pdeathsig", "KILL"] if die_with_parent else []
    if _drop_sys_nice():
        options += ["--bounding-set", "-sys_nice"]
    head = [setpriv, *options, "--"] if options else []
    return [*head, prlimit, "--rtprio=0:0", "--"]


@functools.cache
def _wrappers() -> tuple[str, str] | None:
    """setpriv's and prlimit's paths, where both are here and setpriv knows --pdeathsig (util-linux 2.33
    and later). Found without starting either: a check run would cost every encodectl command a process
    start before its first ffmpeg."""
    if sys.platform != "linux":
        return None
    setpriv, prlimit = shutil.which("setpriv"), shutil.which("prlimit")
    if setpriv is None or prlimit is None:
        return None
    try:
        if b"pdeathsig\0" not in Path(setpriv).read_bytes():  # the name in its table of long options
            return None
    except OSError:
        return None
    return setpriv, prlimit


@functools.cache
def _drop_sys_nice() -> bool:
    """Whether CAP_SYS_NICE must and can leave a child's bounding set: for root, whose capabilities after
    exec come from it, while it is there and this process may drop it (CAP_SETPCAP, which a container may
    withhold; the preexec_fn then cannot drop it either, and setpriv would refuse to start ffmpeg)."""
    if os.geteuid() != 0:
        return False
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return False
    sets = {line.split(":")[0]: int(line.split()[1], 16) for line in status.splitlines() if line.startswith("Cap")}
    return bool(sets.get("CapBnd", 0) & (1 << _CAP_SYS_NICE)) and bool(sets.get("CapEff", 0) & (1 << _CAP_SETPCAP))


def _check_executable(program: str) -> None:
    """The OSError Popen gives for a program it cannot run, which the tools in front of it would only
    report as an exit code of 126 or 127."""
    path = program if os.sep in program else shutil.which(program)
    if path is None or not Path(path).exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)
    if Path(path).is_dir() or not os.access(path, os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), program)


def lower_priority(pid: int, nice: int, *, idle: bool = False) -> None:
    """Run `pid` `nice` steps below the calling process, so that a recorder beside it keeps its frame rate;
    with `idle`, under SCHED_IDLE too (Placement says why).

    Set from outside rather than in the child before exec, which must do as little as possible (and
    nothing at all, for a vfork). Linux keeps a nice value and a policy per thread, so every thread the
    child has is changed, until no new one appears; the ones it starts later inherit them, as does the
    program it execs. With Linux's autogroup scheduling a nice value only counts inside the session's
    group, so the group is lowered too, but only when the child has a session of its own: otherwise the
    group is the caller's, and lowering it slows the recorder as well, while ffmpeg's threads still take
    whole scheduler ticks from it (measured: add_frame p99 3-4 ms instead of 0.4 ms).
    """
    if not nice and not idle:
        return
    target = _below_the_process(nice)
    done: set[int] = set()
    for _ in range(100):  # a child that never stops starting threads: the later ones inherit from the set ones
        if not (todo := set(_threads_of(pid)) - done):
            break
        for thread in todo:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, thread, target)
            if idle:
                with contextlib.suppress(OSError, AttributeError):  # AttributeError: not Linux
                    os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0))
        done |= todo
    with contextlib.suppress(OSError):
        if nice and os.getsid(pid) != os.getsid(0):
            _lower_group(pid, min(19, _group_nice("self") + nice))


def lower_current_thread(nice: int) -> None:
    """Run the calling thread `nice` steps below the process (a stream's writer, spill and statistics
    threads), so that the recorder's thread, which shares the process and its scheduler group, comes
    first when both could run (beside LeRobot's recorder, two runs each on a loaded machine: feeds over
    10 ms fell from 28 and 38 of 1,200 to 21 and 14). The interpreter's lock stays shared: a lowered
    thread holding it is still the one that can run while the recorder waits for it."""
    if not nice:
        return
    with contextlib.suppress(OSError, AttributeError):  # not Linux: threads share the process's priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _below_the_process(nice))


def _below_the_process(nice: int) -> int:
    # From the process's own value (its main thread's), not the calling thread's: a thread started by a
    # lowered one starts lowered, and lowering again from there would put it (and its ffmpeg) at the bottom.
    return min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + nice)


def _threads_of(pid: int) -> list[int]:
    try:
        return [int(thread.name) for thread in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:  # not Linux, or already gone
        return [pid]


def idle_is_safe() -> bool:
    """Whether a child may run idle beside this process (Placement says why it may not always)."""
    return in_own_scheduling_group() and not busy_neighbour_in_session()


def busy_neighbour_in_session() -> bool:
    """Whether a thread of another process of this session is running or waiting to run now, other than this
    process's children and threads already idle: what an idle child would wait for. The caller's children
    are its own work, as its threads are, and come first as they do (a read-back ffmpeg of the last episode
    among them). A snapshot (3-8 ms: one read of /proc per process, and per thread of the session's); a hog
    started later is not seen."""
    me, session = os.getpid(), os.getsid(0)
    try:
        entries = [entry.name for entry in os.scandir("/proc") if entry.name.isdigit() and int(entry.name) != me]
    except OSError:
        return False
    for pid in entries:
        fields = stat_fields(Path(f"/proc/{pid}/stat"))
        if fields is None or int(fields[3]) != session or int(fields[1]) == me:  # elsewhere, or ours
            continue
        try:
            threads = [task.name for task in os.scandir(f"/proc/{pid}/task")]
        except OSError:
            continue
        for thread in threads:
            task = stat_fields(Path(f"/proc/{pid}/task/{thread}/stat"))
            if task is not None and task[0] == "R" and int(task[38]) != _SCHED_IDLE:
                return True
    return False


def in_own_scheduling_group() -> bool:
    """Whether this process is scheduled in an autogroup of its own: autogroups on, this process in the root
    CPU cgroup (below a CPU cgroup, the cgroup is the group, and it spans other sessions), and a session of
    its own ("/autogroup-123 nice 0"; nothing for the root group, as for a process that never called setsid,
    under a container's init)."""
    try:
        if Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() != "1":
            return False
        own = bool(Path("/proc/self/autogroup").read_text().strip())
        return own and in_root_cpu_cgroup(Path("/proc/self/cgroup").read_text(), Path("/sys/fs/cgroup"))
    except OSError:
        return False


def in_root_cpu_cgroup(cgroups: str, mount: Path) -> bool:
    """Whether a process with this /proc/PID/cgroup is in the root CPU cgroup: cgroup v1's cpu hierarchy at
    "/"; or, on cgroup v2 (`mount` its mount point), no ancestor of its cgroup enables the cpu controller for
    the ones below it. An unreadable ancestor counts as a CPU cgroup: idle would not be safe."""
    unified = None
    for line in cgroups.splitlines():
        if line.count(":") < 2:
            continue
        hierarchy, controllers, path = line.split(":", 2)
        if "cpu" in controllers.split(","):
            return path == "/"
        if hierarchy == "0" and not controllers:
            unified = path
    if unified is None:
        return True  # no cpu controller anywhere
    folder = mount
    for part in [part for part in unified.split("/") if part]:
        try:
            if "cpu" in (folder / "cgroup.subtree_control").read_text().split():
                return False
        except OSError:
            return False
        folder /= part
    return True


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
