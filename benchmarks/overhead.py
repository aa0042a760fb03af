"""Wall time of `encodectl encode` over the bare ffmpeg command it runs (target: ratio <= 1.03).

    python benchmarks/overhead.py [--frames 300] [--size 1280x720] [--runs 3]

Both sides run as fresh processes, alternated, on the same frames; the ratio is
of medians. encodectl's side includes Python start-up, validation of every
frame header and the read-back verification of the video.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from bare_ffmpeg import commands, episode_frames, runs_line, timed

from encodectl.ffmpeg_binary import find_ffmpeg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "encodectl-bench-frames")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    binary = find_ffmpeg()
    episode = episode_frames(args.data, args.frames, (width, height))
    encodectl, bare = commands(episode, Path(tempfile.mkdtemp(prefix="encodectl-overhead-")))

    print(f"ffmpeg {binary.version} ({binary.source}); {args.frames} frames {width}x{height}; {args.runs} runs each")
    bare_times, tool_times = [], []
    for _ in range(args.runs):
        bare_times.append(timed(bare))
        tool_times.append(timed([*encodectl, "--overwrite"]))
    bare_median, tool_median = statistics.median(bare_times), statistics.median(tool_times)
    startup = statistics.median(timed([sys.executable, "-c", "import encodectl.cli"]) for _ in range(3))
    print(runs_line("bare ffmpeg      ", bare_times))
    print(runs_line("encodectl encode ", tool_times))
    print(f"  of which Python start-up and imports ≈ {startup:.3f} s")
    print(f"ratio            : {tool_median / bare_median:.3f}  (target <= 1.03)")


if __name__ == "__main__":
    main()
