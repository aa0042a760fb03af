"""What starting ffmpeg costs the other threads of a big process (a recorder with torch loaded: ~750 MB).

    python benchmarks/spawn.py [--mib 800] [--starts 20] [--torch]

The process first allocates and touches `--mib` MiB (with --torch it imports torch first, as LeRobot's
recorder has). A second thread then ticks every millisecond (time.sleep(0.001)) and records how late each
tick wakes: while one thread holds the interpreter's lock, the ticker cannot run, as add_frame could not in a
recorder. The main thread starts ffmpeg `--starts` times on each route, with a pause between starts:

- preexec_fn: subprocess.Popen with syscalls.preexec_for_ffmpeg(), as encodectl started every ffmpeg before
  ffmpeg/child.py. A preexec_fn makes CPython fork(), copying the page tables of the whole process.
- child:      ffmpeg.child.start_child, as encodectl does now (setpriv and prlimit do the preparation after
  exec, so CPython vforks); on a machine without them it falls back to the preexec_fn, and says so.
- bare:       subprocess.Popen with no preparation at all, the floor.

For each route it prints the start call's median and longest duration, and the ticker's lateness while that
route ran: the longest, the 99th percentile, and how many ticks were over 5 ms late. Each started ffmpeg waits
for raw frames on its stdin and is killed once the next one has started, so children never pile up.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from encodectl.ffmpeg.binary import find_ffmpeg
from encodectl.ffmpeg.child import spawn_route, start_child
from encodectl.syscalls import preexec_for_ffmpeg

PAUSE_S = 0.05  # between starts: a quiet stretch, so each start's lateness stands alone
LATE_MS = 5.0


class Ticker:
    """A thread that sleeps 1 ms at a time and records how late it woke, in ms."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self._running = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)
        self._thread.start()

    def _tick(self) -> None:
        while not self._stop.is_set():
            before = time.perf_counter()
            time.sleep(0.001)
            late = (time.perf_counter() - before - 0.001) * 1000
            if self._running.is_set():
                self.lateness.append(late)

    def measure(self) -> None:
        self.lateness = []
        self._running.set()

    def pause(self) -> list[float]:
        self._running.clear()
        return sorted(self.lateness)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def allocate(mib: int) -> list[bytearray]:
    """`mib` MiB in 8 MiB blocks, every page written, so that all of it is resident and mapped."""
    blocks = []
    for _ in range(mib // 8):
        block = bytearray(8 << 20)
        block[::4096] = b"\1" * len(range(0, len(block), 4096))
        blocks.append(block)
    return blocks


def routes(ffmpeg: str) -> dict[str, Callable[[], Callable[[], None]]]:
    """Each route: a function that starts one ffmpeg and returns how to end it."""
    argv = [ffmpeg, "-v", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "8x8", "-i", "pipe:0", "-f", "null",
            "-"]  # fmt: skip

    def popen(preexec: Callable[[], None] | None) -> Callable[[], None]:
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   start_new_session=True, preexec_fn=preexec)  # fmt: skip

        def end() -> None:
            process.kill()
            process.communicate()

        return end

    def child() -> Callable[[], None]:
        started = start_child(argv, stdin="pipe", placement="own_session")

        def end() -> None:
            started.kill()
            started.wait()

        return end

    return {
        "preexec_fn": lambda: popen(preexec_for_ffmpeg()),
        "child": child,
        "bare": lambda: popen(None),
    }


def resident_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=800, help="memory to allocate and touch first (MiB)")
    parser.add_argument("--starts", type=int, default=20, help="ffmpeg starts per route")
    parser.add_argument("--torch", action="store_true", help="import torch first, as a LeRobot recorder has")
    args = parser.parse_args()
    if args.torch:
        import torch  # noqa: F401  (its libraries mapped, as in a recorder)
    memory = allocate(args.mib)
    ffmpeg = str(find_ffmpeg().path)
    print(f"Python {sys.version.split()[0]}, {resident_mib():.0f} MiB resident, child route here: {spawn_route()}")
    ticker = Ticker()
    table = routes(ffmpeg)
    for start in table.values():  # warm-up: the tool check, the page cache, the first thread of each kind
        start()()
    print(f"{'route':<11} {'start median':>13} {'start max':>10} {'tick late max':>14} {'p99':>8} "
          f"{f'> {LATE_MS:.0f} ms':>8}")  # fmt: skip
    for name, start in table.items():
        seconds, previous = [], None
        ticker.measure()
        for _ in range(args.starts):
            began = time.perf_counter()
            end = start()
            seconds.append(time.perf_counter() - began)
            if previous is not None:
                previous()
            previous = end
            time.sleep(PAUSE_S)
        lateness = ticker.pause()
        if previous is not None:
            previous()
        p99 = lateness[max(0, int(len(lateness) * 0.99) - 1)]
        late = sum(1 for value in lateness if value > LATE_MS)
        print(f"{name:<11} {statistics.median(seconds) * 1000:>10.2f} ms {max(seconds) * 1000:>7.2f} ms "
              f"{lateness[-1]:>11.2f} ms {p99:>5.2f} ms {late:>4}/{len(lateness)}")  # fmt: skip
    ticker.stop()
    del memory


if __name__ == "__main__":
    main()
