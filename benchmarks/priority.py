"""`encodectl encode` against the bare ffmpeg command it runs, on a machine that is busy with other programs.

    python benchmarks/priority.py [--frames 300] [--size 1280x720] [--runs 3] [--hogs N]

`--hogs` CPU-bound programs at normal priority (busy loops; default: one per core) run through every
timed run, each in a session of its own as programs started from their own terminals are. Timed, as
fresh processes, alternated, on the same frames: the bare ffmpeg command (in a session of its own too,
as from a terminal), `encodectl encode` (normal priority, its default) and `encodectl encode --priority
low` (nice 10 and a lowered scheduling group: the default of watch, EncoderPool and StreamEncoder,
made for a recorder beside them). Ratios are of medians; a plain encode should stay within a few
percent of bare ffmpeg, and low priority shows what a starved encode costs.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from bare_ffmpeg import arguments, prepare, runs_line, timed

from encodectl.run.pool import cpu_count

HOG = "while True: pass"


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--hogs", type=int, default=cpu_count(), help="busy programs beside the encodes")
    args = parser.parse_args()
    what, encodectl, bare = prepare(args, "priority")
    sides = {
        "bare ffmpeg                     ": lambda: timed(bare, own_session=True),
        "encodectl encode                ": lambda: timed([*encodectl, "--overwrite"]),
        "encodectl encode --priority low ": lambda: timed([*encodectl, "--overwrite", "--priority", "low"]),
    }

    print(f"{what}; {args.hogs} CPU-bound program(s) at normal priority beside them, on {cpu_count()} cores")
    hogs = [subprocess.Popen([sys.executable, "-c", HOG], start_new_session=True) for _ in range(args.hogs)]
    try:
        times: dict[str, list[float]] = {label: [] for label in sides}
        for _ in range(args.runs):
            for label, run in sides.items():
                times[label].append(run())
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    bare_median = statistics.median(next(iter(times.values())))
    for label, runs in times.items():
        print(f"{runs_line(label, runs)}  ratio {statistics.median(runs) / bare_median:.3f}")


if __name__ == "__main__":
    main()
