"""`encodectl watch` beside a recorder: last frame -> verified video latency, and the recorder's missed deadlines.

    python benchmarks/watch.py [--episodes 4] [--seconds 10] [--size 640x480] [--marker]

Two cameras at 30 fps are recorded in real time by examples/simulated_recorder.py
while `encodectl watch` runs beside it. For each camera-episode: latency = when
the ledger recorded the video as verified minus the newest frame's modification
time; detection = latency minus the encode's own time (what the watcher spent
noticing the episode was complete and waiting for a free worker). Target: encode
time plus at most 1 s.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from encodectl.job.ledger import Ledger, LedgerState

RECORDER = Path(__file__).parent.parent / "examples" / "simulated_recorder.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--pause", type=float, default=2.0, help="reset time between episodes")
    parser.add_argument("--marker", action="store_true", help="the recorder writes a DONE marker per episode")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="encodectl-watch-bench-") as scratch:
        root = Path(scratch)
        marker = ["--marker", "DONE"] if args.marker else []
        watcher = subprocess.Popen(
            [sys.executable, "-m", "encodectl.cli", "watch", str(root), *marker],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        recorded = subprocess.run(
            [sys.executable, str(RECORDER), str(root), "--episodes", str(args.episodes), "--seconds",
             str(args.seconds), "--size", args.size, "--pause", str(args.pause), *marker],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        expected = 2 * args.episodes
        deadline = time.monotonic() + 600
        ledger = Ledger(root / ".encodectl" / "state.sqlite")
        while sum(r.state is LedgerState.done for r in ledger.all()) < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        watcher.send_signal(signal.SIGTERM)
        watcher.communicate(timeout=120)
        latencies, detections = [], []
        for record in sorted(ledger.all(), key=lambda r: str(r.source)):
            latency = record.updated - record.signature.newest_mtime_ns / 1e9
            encode = record.encode_seconds or 0.0
            latencies.append(latency)
            detections.append(latency - encode)
            print(f"  {record.camera}/{record.episode}: latency {latency:5.2f} s = encode {encode:5.2f} s"
                  f" + detection and queueing {latency - encode:5.2f} s")  # fmt: skip
        ledger.close()
        print(recorded.strip().splitlines()[-1])
        print(f"2 cameras x {args.episodes} episodes x {args.seconds:g} s at 30 fps, {args.size}, "
              f"{'marker' if args.marker else 'no marker (later episode / --settle rules)'}:")  # fmt: skip
        print(f"  latency last frame -> verified video: median {statistics.median(latencies):.2f} s, "
              f"max {max(latencies):.2f} s")  # fmt: skip
        print(f"  of which detection and queueing: median {statistics.median(detections):.2f} s, "
              f"max {max(detections):.2f} s (target <= 1 s beyond the encode)")  # fmt: skip


if __name__ == "__main__":
    main()
