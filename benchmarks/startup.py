"""Start-up budget: from the exec of `encodectl encode EPISODE` to the exec of its first ffmpeg (target <= 0.15 s).

    python benchmarks/startup.py [--frames 300] [--size 1280x720] [--runs 7]

Each run starts `encodectl encode` (the console script, as a user types it) under `strace -f -e trace=execve`
and reads the two moments from the kernel's own record: the exec of encodectl and the first exec of the ffmpeg
binary under it. Everything between is encodectl's: Python start-up, imports, option parsing, finding and
identifying ffmpeg, reading every frame's header, planning. The run is stopped there (the encode is not what is
measured). Both are printed: the first ffmpeg of any kind (a `-version` question, where one is asked) and the
encode. One warm-up run is not counted (it fills the OS page cache and encodectl's cache of the ffmpeg's
version, as any earlier run on the machine does). The package's bytecode is compiled first, as `pip install`
leaves it (an editable install under PYTHONDONTWRITEBYTECODE would otherwise compile every module every run).

The floors under it are measured the same way, by programs that exec `true` where encodectl execs ffmpeg:
Python alone, and Python with what the design fixes for every command line (typer, and pydantic with one model
built, which loads pydantic's schema machinery as encodectl's first model does). What is above the second floor
is encodectl's own.

strace follows the process with ptrace, which costs a little: the figures are an upper bound. Without strace
(apt-get install strace) the script says so and stops.
"""

from __future__ import annotations

import compileall
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bare_ffmpeg import arguments, episode_frames

import encodectl
from encodectl.ffmpeg.binary import find_ffmpeg

BUDGET_S = 0.15
_EXECVE = re.compile(r"^\d+\s+(\d+\.\d+) execve\(\"([^\"]+)\"")


def encodectl_script() -> str:
    """The console script beside this Python (a virtualenv's bin/), else PATH's."""
    beside = Path(sys.executable).parent / "encodectl"
    found = str(beside) if beside.exists() else shutil.which("encodectl")
    if found is None:
        sys.exit("no encodectl console script beside this Python nor on PATH: pip install -e . first")
    return found


def one_run(strace: str, command: list[str], ffmpeg: str, scratch: Path, timeout: float = 30.0) -> tuple[float, float]:
    """Seconds from encodectl's exec to the first exec of `ffmpeg` (whatever it is asked), and to the exec of
    the encode itself (not a `-version` nor an `-encoders` question), from strace's timestamps."""
    trace = scratch / "trace.txt"
    trace.unlink(missing_ok=True)
    process = subprocess.Popen(
        [strace, "-f", "--seccomp-bpf", "-qq", "-ttt", "-v", "-e", "trace=execve", "-o", str(trace), *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            finished = process.poll() is not None
            times = _exec_times(trace, ffmpeg)
            if times is not None:
                return times[1] - times[0], times[2] - times[0]
            if finished:
                raise SystemExit(f"no ffmpeg encode was started; run it by hand: {' '.join(command)}")
            time.sleep(0.02)  # the trace file is read while the run goes on; this loop's CPU is negligible
        raise SystemExit(f"no ffmpeg within {timeout:.0f} s")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # strace, encodectl and its ffmpeg: their own session
        process.wait()


def _exec_times(trace: Path, ffmpeg: str) -> tuple[float, float, float] | None:
    """encodectl's exec, the first ffmpeg's, and the encode's (strace -v writes every argument)."""
    try:
        lines = trace.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return None
    started = first_ffmpeg = None
    for line in lines:
        match = _EXECVE.match(line)
        if match is None or ("= 0" not in line and "<unfinished" not in line):
            continue
        moment, program = float(match.group(1)), match.group(2)
        if started is None:
            started = moment
        elif program == ffmpeg:
            first_ffmpeg = first_ffmpeg or moment
            if '"-version"' not in line and '"-encoders"' not in line:
                return started, first_ffmpeg, moment
    return None


def floor_programs(true: str) -> dict[str, list[str]]:
    """Programs that do what every run of encodectl must do before its first ffmpeg, then exec `true`."""
    then_true = f"import os; os.execv({true!r}, [{true!r}])"
    libraries = "import typer, pydantic\nclass Floor(pydantic.BaseModel):\n    x: int = 0\n"
    return {
        "python alone          ": [sys.executable, "-c", then_true],
        "+ typer, pydantic     ": [sys.executable, "-c", libraries + then_true],
    }


def main() -> None:
    parser = arguments(__doc__)
    parser.set_defaults(runs=7)
    args = parser.parse_args()
    strace = shutil.which("strace")
    if strace is None:
        sys.exit("startup.py needs strace (apt-get install strace) to see the exec of ffmpeg")
    width, height = (int(v) for v in args.size.split("x"))
    binary = find_ffmpeg()
    episode = episode_frames(args.data, args.frames, (width, height))
    compileall.compile_dir(Path(encodectl.__file__).parent, quiet=1)
    scratch = Path(tempfile.mkdtemp(prefix="encodectl-startup-"))
    command = [encodectl_script(), "encode", str(episode), "-o", str(scratch / "out.mp4"), "--overwrite"]
    print(f"ffmpeg {binary.version} ({binary.source}); {args.frames} frames {width}x{height}; {args.runs} runs")
    print(f"command: {' '.join(command)}")
    one_run(strace, command, str(binary.path), scratch)  # warm-up, not counted
    runs = [one_run(strace, command, str(binary.path), scratch) for _ in range(args.runs)]
    firsts, encodes = [first for first, _ in runs], [encode for _, encode in runs]
    for label, times in (("exec -> first ffmpeg", firsts), ("exec -> the encode  ", encodes)):
        print(f"{label}: median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f})")
    true = shutil.which("true") or "/bin/true"
    for label, floor in floor_programs(true).items():
        one_run(strace, floor, true, scratch)  # warm-up, not counted
        times = [one_run(strace, floor, true, scratch)[0] for _ in range(args.runs)]
        print(f"floor: {label}-> exec: median {statistics.median(times):.3f} s (min {min(times):.3f})")
    median = statistics.median(encodes)
    print(f"budget {BUDGET_S:.2f} s to the encode: {'within' if median <= BUDGET_S else 'OVER'}, on a machine "
          f"with load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
