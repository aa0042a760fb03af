"""What overhead.py and priority.py share: the frames, and `encodectl encode` beside the bare ffmpeg command it runs."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from encodectl.ffmpeg_binary import find_ffmpeg
from encodectl.synthetic import write_frames


def episode_frames(data: Path, frames: int, size: tuple[int, int]) -> Path:
    """A folder of `frames` camera-like frames (sensor noise), made once and kept in `data`."""
    width, height = size
    episode = data / f"{width}x{height}-{frames}"
    if len(list(episode.glob("*.png"))) != frames:
        print(f"generating {frames} frames {width}x{height} in {episode} ...", flush=True)
        write_frames(find_ffmpeg(), episode, frames, size)
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
