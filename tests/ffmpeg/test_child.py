"""ffmpeg children are started in one place (ffmpeg/child.py), and prepared there as they should be: never
real-time priority, killed with the thread that starts them when asked, lowered, in a session of their own
when asked, and the pid the caller holds is ffmpeg's. Each preparation is checked on both routes: util-linux's
tools after exec (vfork) and the preexec_fn (fork) where those tools are missing."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import BinaryIO

import pytest

from encodectl.ffmpeg import child as child_module
from encodectl.ffmpeg.child import Child, run_child, start_child
from encodectl.outputs.sweep import process_alive
from tests.conftest import needs_idle

pytestmark = pytest.mark.same_on_every_ffmpeg(
    "how a child is started, limited and killed is encodectl's and util-linux's, not the ffmpeg build's"
)

PACKAGE = Path(__file__).resolve().parents[2] / "encodectl"
# The one module that starts processes. encodectl runs no program other than ffmpeg, except the two tools
# that child.py itself puts in front of it (setpriv, prlimit).
STARTER = PACKAGE / "ffmpeg" / "child.py"
STARTS_A_PROCESS = {
    "subprocess": {"Popen", "run", "call", "check_call", "check_output", "getoutput", "getstatusoutput"},
    "os": {"system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp", "spawnl", "spawnle", "spawnlp",
           "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe", "execv", "execve", "execl", "execle", "execlp",
           "execlpe", "execvp", "execvpe"},
    "asyncio": {"create_subprocess_exec", "create_subprocess_shell"},
    "multiprocessing": {"Process"},
}  # fmt: skip

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc; PR_SET_PDEATHSIG is Linux's")


def process_starts(source: str) -> list[str]:
    """Where `source` starts a process: module.function attributes and from-imports of the names above."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.attr in STARTS_A_PROCESS.get(node.value.id, ()):
                found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in STARTS_A_PROCESS:
            names = STARTS_A_PROCESS[node.module]
            found += [f"line {node.lineno}: from {node.module} import {a.name}" for a in node.names if a.name in names]
    return found


@pytest.mark.same_on_every_ffmpeg("read from the source: no ffmpeg runs")
@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_ffmpeg_child_starts_processes(path):
    if path == STARTER:
        assert process_starts(path.read_text()) != []  # the check sees the one place that does
    else:
        assert process_starts(path.read_text()) == [], f"{path.name} starts a process: use ffmpeg.child"


@pytest.mark.same_on_every_ffmpeg("read from the source: no ffmpeg runs")
def test_the_check_catches_every_way_of_starting_a_process():
    source = (
        "import subprocess, os\nfrom subprocess import Popen\nsubprocess.run(['ffmpeg'])\nos.posix_spawn('x', [], {})"
        "\ntry:\n    pass\nexcept subprocess.TimeoutExpired:\n    pass\n"
    )
    assert process_starts(source) == ["line 2: from subprocess import Popen", "line 3: subprocess.run",
                                      "line 4: os.posix_spawn"]  # fmt: skip


@pytest.fixture(params=["setpriv", "preexec_fn"])
def route(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test on both routes: the tools after exec where this machine has them, and the preexec_fn."""
    if request.param == "setpriv":
        if child_module._wrappers() is None:
            pytest.skip("no working setpriv and prlimit (util-linux) here")
    else:
        monkeypatch.setattr(child_module, "_wrappers", lambda: None)
    assert child_module.spawn_route() == request.param
    return request.param


def started_ffmpeg(ffmpeg_path: Path, **options: object) -> tuple[Child, BinaryIO]:
    """An ffmpeg waiting for raw frames on its stdin, once it has shown that it runs: its first log line,
    written once every tool in front of it has exec'd it. The caller reads or closes its log."""
    read_end, write_end = os.pipe()
    argv = [str(ffmpeg_path), "-nostats", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "8x8", "-i", "pipe:0",
            "-f", "null", "-"]  # fmt: skip
    with os.fdopen(write_end, "wb") as log_writer:
        child = start_child(argv, stdin="pipe", stderr=log_writer, **options)  # type: ignore[arg-type]
    log = os.fdopen(read_end, "rb")
    assert log.readline().startswith(b"ffmpeg version"), "ffmpeg did not start"
    return child, log


def stat_fields(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


@linux_only
def test_the_child_is_ffmpeg_itself_without_real_time_priority_lowered_in_its_session(route, ffmpeg_binary):
    child, log = started_ffmpeg(ffmpeg_binary.path, placement="own_session", nice=7)
    try:
        # The pid the caller lowers, waits for and kills is ffmpeg's: the tools in front of it exec'd it.
        assert Path(f"/proc/{child.pid}/exe").resolve() == ffmpeg_binary.path.resolve()
        limits = Path(f"/proc/{child.pid}/limits").read_text().splitlines()
        (rtprio,) = [line.split()[3:5] for line in limits if line.startswith("Max realtime priority")]
        assert rtprio == ["0", "0"]
        if os.geteuid() == 0:  # root keeps no CAP_SYS_NICE to raise (bit 23 of the bounding set)
            status = Path(f"/proc/{child.pid}/status").read_text()
            bounding = int(next(line for line in status.splitlines() if line.startswith("CapBnd")).split()[1], 16)
            assert not bounding & (1 << 23)
        assert int(stat_fields(child.pid)[16]) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 7)
        assert os.getsid(child.pid) == child.pid
    finally:
        child.kill()
        assert child.wait() == -9
        log.close()


def thread_policies(pid: int) -> set[int]:
    """Each thread's scheduling policy (field 41 of its stat): 0 normal, 5 SCHED_IDLE."""
    return {int(stat_fields(int(task.name))[38]) for task in Path(f"/proc/{pid}/task").iterdir()}


IDLE_CHILD = """
import json, os, sys
from encodectl.ffmpeg import child
if sys.argv[2] == "preexec_fn":
    child._wrappers = lambda: None
read_end, write_end = os.pipe()
argv = [sys.argv[1], "-nostats", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "8x8", "-i", "pipe:0", "-f", "null", "-"]
with os.fdopen(write_end, "wb") as log_writer:
    started = child.start_child(argv, stdin="pipe", stderr=log_writer, placement="idle_beside_caller", nice=3)
with os.fdopen(read_end, "rb") as log:
    first_line = log.readline().decode()  # once every tool in front of ffmpeg has exec'd it
    pid = started.pid
    tasks = os.listdir(f"/proc/{pid}/task")
    stats = [open(f"/proc/{pid}/task/{t}/stat").read().rsplit(")", 1)[1].split() for t in tasks]
    limits = open(f"/proc/{pid}/limits").read()
    print(json.dumps({
        "first_line": first_line, "exe": os.path.realpath(f"/proc/{pid}/exe"),
        "same_session": os.getsid(pid) == os.getsid(0), "own_process_group": os.getpgid(pid) == pid != os.getpgid(0),
        "policies": sorted({int(fields[38]) for fields in stats}), "nice": int(stats[0][16]),
        "base": os.getpriority(os.PRIO_PROCESS, 0), "rtprio_0": "Max realtime priority     0" in limits,
    }))
    started.kill()
    print(started.wait())
"""


@linux_only
@needs_idle
def test_an_idle_child_runs_in_the_callers_session_in_a_process_group_of_its_own(route, ffmpeg_binary):
    # In a caller with a session of its own, as a recorder started from a terminal (CI's runner is in the root
    # group, and this test's session holds the other test workers: idle would not be safe here).
    run = subprocess.run(
        [sys.executable, "-c", IDLE_CHILD, str(ffmpeg_binary.path), route], capture_output=True, text=True,
        start_new_session=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    report, exit_code = run.stdout.splitlines()
    seen = json.loads(report)
    assert seen["first_line"].startswith("ffmpeg version") and seen["exe"] == str(ffmpeg_binary.path.resolve())
    assert seen["same_session"] and seen["own_process_group"]  # its scheduling group; out of Ctrl-C's reach
    assert seen["policies"] == [5]  # SCHED_IDLE, every thread
    assert seen["nice"] == min(19, seen["base"] + 3) and seen["rtprio_0"]
    assert exit_code == "-9"


@linux_only
def test_where_idle_is_not_safe_an_idle_child_gets_a_session_of_its_own(ffmpeg_binary, monkeypatch):
    # In the root group idle would yield to every process of the machine; beside a busy process of the
    # session, to it, however long it runs.
    monkeypatch.setattr(child_module, "idle_is_safe", lambda: False)
    child, log = started_ffmpeg(ffmpeg_binary.path, placement="idle_beside_caller", nice=3)
    try:
        assert os.getsid(child.pid) == child.pid and thread_policies(child.pid) == {0}
        assert int(stat_fields(child.pid)[16]) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 3)
    finally:
        child.kill()
        assert child.wait() == -9
        log.close()


@needs_idle
def test_a_process_in_a_session_of_its_own_has_a_scheduling_group_of_its_own():
    ask = "from encodectl.ffmpeg.child import in_own_scheduling_group as f; print(f())"
    in_new_session = subprocess.run([sys.executable, "-c", ask], capture_output=True, text=True, start_new_session=True)
    assert in_new_session.stdout == "True\n", in_new_session.stderr


def cgroup_tree(tmp_path: Path, enabled: dict[str, str]) -> Path:
    """A cgroup v2 mount with `cgroup.subtree_control` in each folder given (relative path: its controllers)."""
    for folder, controllers in enabled.items():
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "cgroup.subtree_control").write_text(controllers + "\n")
    return tmp_path


@pytest.mark.same_on_every_ffmpeg("reads a cgroup listing: no ffmpeg runs")
@pytest.mark.parametrize(
    ("cgroups", "enabled", "root"),
    [
        ("12:cpu,cpuacct:/\n11:memory:/docker/x\n", {}, True),  # v1, the cpu hierarchy at its root
        ("12:cpu,cpuacct:/docker/x\n0::/\n", {}, False),  # v1, a container's CPU cgroup
        ("3:cpuset:/a\n2:cpuacct:/b\n", {}, True),  # no cpu controller mounted at all
        ("0::/user.slice/session-2.scope\n", {".": "memory pids", "user.slice": "memory"}, True),
        ("0::/user.slice/session-2.scope\n", {".": "cpu memory", "user.slice": "memory"}, False),
        ("0::/user.slice/session-2.scope\n", {".": "memory", "user.slice": "cpu"}, False),
        ("0::/user.slice/session-2.scope\n", {".": "memory"}, False),  # user.slice's listing unreadable
        ("0::/\n", {".": "cpu"}, True),  # the root cgroup itself: the root task group
        ("garbage\n12:cpu:/\n", {}, True),  # a line that is not one is passed over
    ],
)
def test_the_root_cpu_cgroup_is_told_from_a_cpu_cgroup(tmp_path, cgroups, enabled, root):
    assert child_module.in_root_cpu_cgroup(cgroups, cgroup_tree(tmp_path, enabled)) is root


# A neighbour says "go" once it computes; the shell runs the check only then.
BUSY = "print('go', flush=True)\nwhile True: pass\n"
IDLE_BUSY = "import os\nos.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))\n" + BUSY
CHECK = "from encodectl.ffmpeg.child import busy_neighbour_in_session as busy\nprint(busy())\n"
CHECK_BESIDE_OWN_CHILD = (
    "import subprocess, sys\nfrom encodectl.ffmpeg.child import busy_neighbour_in_session as busy\n"
    f"hog = subprocess.Popen([sys.executable, '-c', {BUSY!r}], stdout=subprocess.PIPE)\nhog.stdout.readline()\n"
    "print(busy())\nhog.kill()\n"
)


@linux_only
@pytest.mark.parametrize(
    ("neighbour", "check", "busy"),
    [
        (BUSY, CHECK, True),  # a process of the session that computes
        (None, CHECK, False),  # nothing else runs in the session (the shell waits)
        (IDLE_BUSY, CHECK, False),  # it computes, but idle itself: it waits as an idle child would
        (None, CHECK_BESIDE_OWN_CHILD, False),  # the caller's own children are its own business
    ],
    ids=["busy", "quiet", "idle", "own-child"],
)
def test_a_busy_process_of_the_session_is_seen(tmp_path, neighbour, check, busy):
    (tmp_path / "check.py").write_text(check)
    lines = [f'"{sys.executable}" check.py']
    if neighbour is not None:
        (tmp_path / "neighbour.py").write_text(neighbour)
        # In a session of its own, as a terminal's: the neighbour first, the check once it computes.
        lines = ["mkfifo go", f'"{sys.executable}" neighbour.py > go & hog=$!', "read line < go", *lines, "kill $hog"]
    run = subprocess.run(
        ["sh", "-c", "\n".join(lines)], cwd=tmp_path, capture_output=True, text=True, start_new_session=True,
        timeout=60,
    )  # fmt: skip
    assert run.stdout == f"{busy}\n", run.stderr


@linux_only
@pytest.mark.parametrize("placement", ["caller", "own_session"])
def test_other_placements_keep_the_normal_policy(route, ffmpeg_binary, placement):
    child, log = started_ffmpeg(ffmpeg_binary.path, placement=placement, nice=3)
    try:
        assert thread_policies(child.pid) == {0}
        assert (os.getsid(child.pid) == os.getsid(0)) is (placement == "caller")
    finally:
        child.kill()
        assert child.wait() == -9
        log.close()


@linux_only
def test_kill_takes_the_childs_whole_process_group(tmp_path):
    # What the child started goes with it, e.g. a helper a wrapper script put in front of ffmpeg. (An idle
    # child has its process group too: same kill.)
    script = tmp_path / "ffmpeg"
    script.write_text("#!/bin/sh\nsleep 1000 &\necho $!\nwait\n")
    script.chmod(0o755)
    child = start_child([str(script)], stdout="pipe", placement="own_session")
    assert child.stdout is not None
    grandchild = int(child.stdout.readline())
    child.kill()
    assert child.wait() == -9
    deadline = time.monotonic() + 30
    while process_alive(grandchild):  # a zombie until init reaps it: dead all the same
        assert time.monotonic() < deadline, f"{grandchild} outlived the kill"
        time.sleep(0.02)


@linux_only
@pytest.mark.parametrize("die_with_parent", [True, False])
def test_the_child_dies_with_the_thread_that_started_it_when_asked(route, ffmpeg_binary, die_with_parent):
    started: list[tuple[Child, BinaryIO]] = []
    thread = threading.Thread(
        target=lambda: started.append(started_ffmpeg(ffmpeg_binary.path, die_with_parent=die_with_parent))
    )
    thread.start()
    thread.join()
    ((child, log),) = started
    with log:  # open to the end: ffmpeg writes its log to it
        if die_with_parent:
            # Its stdin is still open here, so nothing but the death signal can end it.
            assert child.wait(timeout=30) == -9
            return
        assert child.stdin is not None
        child.stdin.write(bytes(64))
        child.stdin.close()
        assert child.wait(timeout=30) == 0  # it lived on and encoded the frame it was given


@linux_only
def test_a_child_asking_for_real_time_priority_is_refused(route):
    # The mechanism, on a child that asks for SCHED_FIFO itself: as root (CI) it would get it unprepared,
    # which is why SVT-AV1's threads once took the CPU from the recorder.
    ask = "import os; os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1)); print('real-time')"
    completed = run_child([sys.executable, "-c", ask], text=True)
    assert completed.returncode == 1 and "PermissionError" in completed.stderr
    assert "real-time" not in completed.stdout


@linux_only
def test_a_program_that_cannot_run_is_an_oserror_on_both_routes(route, tmp_path):
    with pytest.raises(FileNotFoundError):
        start_child([str(tmp_path / "no-ffmpeg")])
    script = tmp_path / "ffmpeg"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    with pytest.raises(PermissionError):  # no x bit at all: not even root may run it
        start_child([str(script)])
    script.chmod(0o755)
    assert run_child([str(script)]).returncode == 0


def test_run_child_feeds_its_input_and_kills_it_at_the_timeout(ffmpeg_binary):
    # One gray 8x8 frame in, its raw bytes out.
    argv = [str(ffmpeg_binary.path), "-v", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "8x8", "-i",
            "pipe:0", "-f", "rawvideo", "-"]  # fmt: skip
    completed = run_child(argv, input=bytes(range(64)))
    assert (completed.returncode, completed.stdout, completed.args) == (0, bytes(range(64)), argv)
    endless = [str(ffmpeg_binary.path), "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=8x8", "-f", "null",
               "-"]  # fmt: skip
    with pytest.raises(subprocess.TimeoutExpired) as expired:
        run_child(endless, timeout=0.5)
    assert expired.value.cmd == endless


@pytest.mark.same_on_every_ffmpeg("a thread's scheduling priority: no ffmpeg runs")
@pytest.mark.parametrize(("steps", "expected"), [(0, 0), (5, 5), (30, 19)])
def test_a_thread_lowers_itself_alone_and_never_past_19(steps, expected):
    base = os.getpriority(os.PRIO_PROCESS, 0)
    seen: list[int] = []

    def lowered() -> None:
        child_module.lower_current_thread(steps)
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    thread = threading.Thread(target=lowered)
    thread.start()
    thread.join()
    assert seen == [min(19, base + expected)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base  # the caller's thread kept its own


@pytest.mark.same_on_every_ffmpeg("a thread's scheduling priority: no ffmpeg decides it")
def test_a_thread_started_by_a_lowered_one_is_lowered_from_the_process_not_twice(ffmpeg_binary):
    base = os.getpriority(os.PRIO_PROCESS, os.getpid())
    seen: dict[str, int] = {}

    def inner() -> None:
        child_module.lower_current_thread(5)
        seen["thread"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        argv = [str(ffmpeg_binary.path), "-hide_banner", "-f", "lavfi", "-i", "nullsrc", "-f", "null", "-"]
        child = start_child(argv, stdin="pipe", nice=5)
        try:
            seen["ffmpeg"] = os.getpriority(os.PRIO_PROCESS, child.pid)
        finally:
            child.kill()

    def outer() -> None:
        child_module.lower_current_thread(5)
        thread = threading.Thread(target=inner)  # starts at the lowered value of this one
        thread.start()
        thread.join()

    thread = threading.Thread(target=outer)
    thread.start()
    thread.join()
    assert seen == {"thread": min(19, base + 5), "ffmpeg": min(19, base + 5)}
