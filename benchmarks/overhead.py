"""Wall time of `encodectl encode` over the bare ffmpeg command it runs (target: ratio <= 1.03).

    python benchmarks/overhead.py [--frames 300] [--size 1280x720] [--runs 3]

Both sides run as fresh processes, alternated, on the same frames; the ratio is
of medians. encodectl's side includes Python start-up, validation of every
frame header and the read-back verification of the video.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from encodectl.ffmpeg_binary import find_ffmpeg
from encodectl.synthetic import write_frames


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "encodectl-bench-frames")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    binary = find_ffmpeg()

    episode = args.data / f"{width}x{height}-{args.frames}"
    if len(list(episode.glob("*.png"))) != args.frames:
        print(f"generating {args.frames} frames {width}x{height} in {episode} ...", flush=True)
        write_frames(binary, episode, args.frames, (width, height))

    out = Path(tempfile.mkdtemp(prefix="encodectl-overhead-"))
    encodectl = [sys.executable, "-m", "encodectl.cli", "encode", str(episode), "-o", str(out / "tool.mp4")]
    plan = subprocess.run([*encodectl, "--dry-run", "--json"], check=True, capture_output=True, text=True)
    bare = json.loads(plan.stdout)["results"][0]["command"]
    bare[-1] = str(out / "bare.mp4")  # the same command, writing straight to its final name
    bare = [arg for arg in bare if arg not in ("-progress", "pipe:1")]

    print(f"ffmpeg {binary.version} ({binary.source}); {args.frames} frames {width}x{height}; {args.runs} runs each")
    bare_times, tool_times = [], []
    for _ in range(args.runs):
        bare_times.append(timed(bare))
        tool_times.append(timed([*encodectl, "--overwrite"]))
    bare_median, tool_median = statistics.median(bare_times), statistics.median(tool_times)
    startup = statistics.median(timed([sys.executable, "-c", "import encodectl.cli"]) for _ in range(3))
    print(f"bare ffmpeg      : {bare_median:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in bare_times)})")
    print(f"encodectl encode : {tool_median:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in tool_times)})")
    print(f"  of which Python start-up and imports ≈ {startup:.3f} s")
    print(f"ratio            : {tool_median / bare_median:.3f}  (target <= 1.03)")


if __name__ == "__main__":
    main()
