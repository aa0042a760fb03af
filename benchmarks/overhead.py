"""Wall time of `encodectl encode` over the bare ffmpeg command it runs (target: ratio <= 1.02).

    python benchmarks/overhead.py [--frames 300] [--size 1280x720] [--runs 3]

Both sides run as fresh processes, alternated, on the same frames; both the ratio
of the medians and the median of the pairs' ratios are printed. encodectl's side
includes Python start-up, validation of every frame header and the read-back
verification of the video.
"""

from __future__ import annotations

import statistics
import sys

from bare_ffmpeg import arguments, pairs_line, prepare, runs_line, timed


def main() -> None:
    args = arguments(__doc__).parse_args()
    what, encodectl, bare = prepare(args, "overhead")

    print(what)
    bare_times, tool_times = [], []
    for _ in range(args.runs):
        bare_times.append(timed(bare))
        tool_times.append(timed([*encodectl, "--overwrite"]))
    bare_median, tool_median = statistics.median(bare_times), statistics.median(tool_times)
    startup = statistics.median(timed([sys.executable, "-c", "import encodectl.cli"]) for _ in range(3))
    print(runs_line("bare ffmpeg      ", bare_times))
    print(runs_line("encodectl encode ", tool_times))
    print(f"  of which Python start-up and imports ≈ {startup:.3f} s")
    print(f"ratio of medians : {tool_median / bare_median:.3f}  (target <= 1.02)")
    print(pairs_line(tool_times, bare_times, 1.02))


if __name__ == "__main__":
    main()
