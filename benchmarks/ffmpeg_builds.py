"""The same encodes on two or more ffmpeg builds: how much the choice of ffmpeg costs or saves.

    python benchmarks/ffmpeg_builds.py --ffmpeg /usr/bin/ffmpeg [--ffmpeg OTHER] [--frames 300] [--runs 3]

The bundled build (imageio-ffmpeg) is always one of them. Each setting is encoded
by every build in turn, round after round, on the same frames. Two numbers per
run: the job's own wall time from `encodectl encode --json` (encode plus
read-back verification, not Python start-up), and the CPU time of the whole
`encodectl encode` process with its ffmpeg children, which a busy shared machine
disturbs less. The table gives the medians and each build's ratio to the bundled one.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from encodectl.ffmpeg.binary import bundled_ffmpeg, find_ffmpeg
from encodectl.frames.synthetic import write_frames

SETTINGS = {
    "libx264 --preset fast": ["--codec", "h264", "--preset", "fast"],
    "libsvtav1 --preset fast (SVT preset 8)": ["--codec", "av1", "--preset", "fast"],
    "libsvtav1 --preset 12": ["--codec", "av1", "--preset", "12"],
    "--profile lerobot": ["--profile", "lerobot"],
}


def job_seconds(ffmpeg: str, episode: Path, output: Path, arguments: list[str]) -> tuple[float, float]:
    """(wall seconds of the job, CPU seconds of encodectl and its ffmpeg) for one encode."""
    argv = [sys.executable, "-m", "encodectl.cli", "encode", str(episode), "-o", str(output), "--overwrite",
            "--sync", "--json", "--ffmpeg", ffmpeg, *arguments]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed = subprocess.run(argv, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(completed.stdout)["results"][0]
    if result["status"] != "done":
        raise SystemExit(f"{ffmpeg} {' '.join(arguments)}: {result['reason']}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return float(result["seconds"]), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ffmpeg", action="append", default=[], help="another build to compare (repeatable)")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "encodectl-bench-frames")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    bundled = bundled_ffmpeg()
    if bundled is None:
        raise SystemExit("the bundled ffmpeg (imageio-ffmpeg) is not installed")
    builds = [find_ffmpeg(path) for path in [str(bundled), *args.ffmpeg]]

    episode = args.data / f"{width}x{height}-{args.frames}"
    if len(list(episode.glob("*.png"))) != args.frames:
        print(f"generating {args.frames} frames {width}x{height} in {episode} ...", flush=True)
        write_frames(builds[0], episode, args.frames, (width, height))
    out = Path(tempfile.mkdtemp(prefix="encodectl-builds-"))

    for binary in builds:
        print(f"build {builds.index(binary)}: ffmpeg {binary.version} at {binary.path}")
    print(f"{args.frames} frames {width}x{height}; {args.runs} rounds; seconds per job (encode + verification)")
    wall: dict[tuple[str, int], list[float]] = {}
    cpu: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.runs):
        for name, arguments in SETTINGS.items():
            for index, binary in enumerate(builds):
                seconds, cpu_seconds = job_seconds(str(binary.path), episode, out / f"{index}.mp4", arguments)
                wall.setdefault((name, index), []).append(seconds)
                cpu.setdefault((name, index), []).append(cpu_seconds)
    for name in SETTINGS:
        print(name)
        for label, times in (("wall", wall), ("cpu ", cpu)):
            base = statistics.median(times[(name, 0)])
            cells = []
            for index in range(len(builds)):
                runs = times[(name, index)]
                median = statistics.median(runs)
                listed = ", ".join(f"{t:.2f}" for t in runs)
                cells.append(f"build {index}: {median:6.2f} s x{median / base:.2f} ({listed})")
            print(f"  {label} " + "   ".join(cells))


if __name__ == "__main__":
    main()
