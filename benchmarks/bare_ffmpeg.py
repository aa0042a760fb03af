"""What overhead.py and priority.py share: the frames, and `encodectl encode` beside the bare ffmpeg command it runs."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from encodectl.ffmpeg.binary import find_ffmpeg
from encodectl.frames.synthetic import write_depth_frames, write_frames


def arguments(description: str | None) -> argparse.ArgumentParser:
    """The options both benchmarks take; a benchmark adds its own."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "encodectl-bench-frames")
    return parser


def prepare(args: argparse.Namespace, name: str) -> tuple[str, list[str], list[str]]:
    """A line saying what is measured, and the two commands (see `commands`) on the frames asked for."""
    width, height = (int(v) for v in args.size.split("x"))
    binary = find_ffmpeg()
    episode = episode_frames(args.data, args.frames, (width, height))
    encodectl, bare = commands(episode, Path(tempfile.mkdtemp(prefix=f"encodectl-{name}-")))
    what = f"ffmpeg {binary.version} ({binary.source}); {args.frames} frames {width}x{height}; {args.runs} runs each"
    return what, encodectl, bare


def episode_frames(data: Path, frames: int, size: tuple[int, int], depth: bool = False) -> Path:
    """A folder of `frames` camera-like frames (sensor noise), or 16-bit depth frames, made once and kept in `data`."""
    width, height = size
    episode = data / f"{'depth-' if depth else ''}{width}x{height}-{frames}"
    if len(list(episode.glob("*.png"))) != frames:
        print(f"generating {frames} {'depth ' if depth else ''}frames {width}x{height} in {episode} ...", flush=True)
        (write_depth_frames if depth else write_frames)(find_ffmpeg(), episode, frames, size)
    return episode


def commands(episode: Path, out: Path) -> tuple[list[str], list[str]]:
    """`encodectl encode` of `episode` (a fresh process each run), and the ffmpeg command it runs, writing
    straight to its final name without the progress stream."""
    encodectl = [sys.executable, "-m", "encodectl.cli", "encode", str(episode), "-o", str(out / "tool.mp4")]
    plan = subprocess.run([*encodectl, "--dry-run", "--json"], check=True, capture_output=True, text=True)
    bare = json.loads(plan.stdout)["results"][0]["command"]
    bare[-1] = str(out / "bare.mp4")
    return encodectl, [arg for arg in bare if arg not in ("-progress", "pipe:1")]


def timed(argv: list[str], own_session: bool = False) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, start_new_session=own_session)
    return time.perf_counter() - started


def runs_line(label: str, times: list[float]) -> str:
    return f"{label}: {statistics.median(times):.3f} s  (runs: {', '.join(f'{t:.3f}' for t in times)})"


def pairs_line(tool_times: list[float], bare_times: list[float], target: float) -> str:
    """The median of the runs' ratios, each encodectl run over the bare run just before it: steadier than the
    ratio of the medians on a machine whose speed drifts during the call (both are printed)."""
    ratios = [tool / bare for tool, bare in zip(tool_times, bare_times, strict=True)]
    return (
        f"ratio of pairs   : {statistics.median(ratios):.3f}  (pairs {min(ratios):.3f}-{max(ratios):.3f}; "
        f"target <= {target})"
    )
