"""encodectl against LeRobot's own encoding, on the same frames (LeRobot 0.4, format v3.0).

    python benchmarks/lerobot.py --lerobot-python /path/to/venv-with-lerobot/bin/python [--runs 3]

1. One episode, 300 frames of 640x480 (camera-like, with sensor noise): LeRobot's
   ``encode_video_frames`` (the call alone, timed inside LeRobot's Python, import not
   counted) against ``encodectl encode --profile lerobot`` (the whole process), with
   each video's PSNR/SSIM against the source frames and its size. Beside them, the floor:
   bare ffmpeg with the same encoder options on frames already decoded and converted
   (raw yuv420p read from a file), and what decoding and converting the PNG frames alone
   costs; each with its CPU time (user + system) next to its wall time.
2. A pending dataset, 3 episodes x 2 cameras x 300 frames, recorded by LeRobot with a
   batch size never reached: ``encodectl encode ROOT`` (whole process, on a fresh copy
   each run) against the time LeRobot's own save path spends encoding the same
   episodes (``save_episode`` with batch size 1, less ``save_episode`` without encoding).

LeRobot is never imported here: its side runs in the interpreter given (a scratch
virtualenv). Without --lerobot-python, only encodectl's side is measured, and said so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from encodectl.benchmarking.quality import measure_quality
from encodectl.ffmpeg.binary import find_ffmpeg
from encodectl.frames.sequence import scan_frames
from encodectl.frames.synthetic import write_frames

# Runs in LeRobot's interpreter. argv: mode, frames folder, output, [cameras, episodes]
LEROBOT_SIDE = r"""
import json, shutil, sys, time
from pathlib import Path
import numpy as np
from PIL import Image
mode, frames, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
if mode == "encode":
    from lerobot.datasets.video_utils import encode_video_frames
    started = time.perf_counter()
    encode_video_frames(frames, out, 30, overwrite=True)
    print(json.dumps({"seconds": time.perf_counter() - started}))
    sys.exit()
from lerobot.datasets.lerobot_dataset import LeRobotDataset
cameras, episodes = int(sys.argv[4]), int(sys.argv[5])
images = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(frames.glob("frame-*.png"))]
keys = [f"observation.images.cam{c}" for c in range(cameras)]
features = {k: {"dtype": "video", "shape": images[0].shape, "names": ["height", "width", "channels"]} for k in keys}
features["action"] = {"dtype": "float32", "shape": (2,), "names": ["x", "y"]}
timings = {}
for batch in (1000, 1):  # 1000: never reached, frames left pending; 1: LeRobot encodes each episode
    root = out / f"batch-{batch}"
    shutil.rmtree(root, ignore_errors=True)
    dataset = LeRobotDataset.create("bench/lerobot", 30, features, root=root, batch_encoding_size=batch)
    spent = 0.0
    for episode in range(episodes):
        for index, image in enumerate(images):
            frame = {k: np.roll(image, 8 * (c + episode), axis=1) for c, k in enumerate(keys)}
            dataset.add_frame({**frame, "action": np.zeros(2, np.float32), "task": "bench"})
        started = time.perf_counter()
        dataset.save_episode()
        spent += time.perf_counter() - started
    dataset.finalize()
    timings[batch] = spent
print(json.dumps({"pending": str(out / "batch-1000"), "encoding_seconds": timings[1] - timings[1000],
                  "save_with_encoding": timings[1], "save_without": timings[1000]}))
"""


def run_lerobot(python: str, *args: str) -> dict[str, object]:
    completed = subprocess.run(
        # -P: nothing from the current folder on sys.path, where run_all.py's (benchmarks/) would give this
        # script for `import lerobot`.
        [python, "-P", "-c", LEROBOT_SIDE, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if completed.returncode != 0:
        raise LeRobotFailed(completed.stderr)
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


class LeRobotFailed(Exception):
    """LeRobot's side exited with an error: its stderr."""

    def last_line(self) -> str:
        lines = [line for line in str(self).splitlines() if line.strip()]
        return lines[-1] if lines else "no message"


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started


def timed_cpu(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU time (user + system, of the children) of one run of `argv`."""
    before = os.times()
    wall = timed(argv)
    after = os.times()
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def floor(ffmpeg: Path, dry_run: list[str], out: Path, args: argparse.Namespace) -> None:
    """The encode alone, on frames already decoded: what no route from PNG frames can beat."""
    planned = json.loads(subprocess.run(dry_run, check=True, capture_output=True, text=True).stdout)
    argv = planned["results"][0]["command"]
    frames_input = argv.index("-i") + 1
    mapped = argv.index("-map") + 2
    graph = argv[argv.index("-filter_complex") + 1]
    decode = [*argv[: frames_input + 1], "-filter_complex", graph, "-map", argv[mapped - 1]]
    decode = [word for word in decode if word not in ("-progress", "pipe:1", "-nostats")]
    raw = out / "frames.yuv"
    width, height = args.size.split("x")
    subprocess.run([*decode, "-f", "rawvideo", str(raw)], check=True, capture_output=True)
    from_raw = [str(ffmpeg), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-f", "rawvideo",
                "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-framerate", "30", "-i", str(raw),
                *argv[mapped:-1], str(out / "floor.mp4")]  # fmt: skip
    for name, command in (
        ("the same encode from raw yuv420p (the floor)", from_raw),
        ("decoding and converting the PNG frames alone", [*decode, "-f", "null", "-"]),
        ("bare ffmpeg, the command encodectl runs", [*argv[:-1], str(out / "bare.mp4")]),
    ):
        runs = [timed_cpu(command) for _ in range(args.runs)]
        wall = statistics.median(wall for wall, _ in runs)
        cpu = statistics.median(cpu for _, cpu in runs)
        print(f"  {name + ':':<51} median {wall:.2f} s, CPU {cpu:.2f} s")
    raw.unlink()


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s (runs: {', '.join(f'{v:.2f}' for v in values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lerobot-python", help="a Python interpreter that has lerobot (0.6.1 or 0.4.4) installed")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--episode-only", action="store_true", help="part 1 only (one episode), not the dataset")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "encodectl-bench-lerobot")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    width, height = (int(v) for v in args.size.split("x"))
    binary = find_ffmpeg()
    frames = args.data / f"frames-{width}x{height}-{args.frames}"
    if len(list(frames.glob("frame-*.png"))) != args.frames:
        print(f"generating {args.frames} frames {width}x{height} in {frames} ...", flush=True)
        write_frames(binary, frames, args.frames, (width, height), prefix="frame-")
    sequence = scan_frames(frames)
    print(f"ffmpeg {binary.version} ({binary.source} {binary.path}); {args.frames} frames {width}x{height}")
    if not args.lerobot_python:
        print("LeRobot's side not measured: give --lerobot-python (a virtualenv with lerobot 0.6.1 or 0.4.4)")

    print("\n1. one episode")
    out = args.data / "out"
    out.mkdir(parents=True, exist_ok=True)
    encodectl = [sys.executable, "-m", "encodectl.cli", "encode", str(frames), "--profile", "lerobot"]
    floor(binary.path, [*encodectl, "-o", str(out / "encodectl.mp4"), "--overwrite", "--dry-run", "--json"], out, args)
    tool, calls = [], []
    for _ in range(args.runs):  # alternated, so that a change in the machine's load falls on both sides
        tool.append(timed([*encodectl, "-o", str(out / "encodectl.mp4"), "--overwrite"]))
        if args.lerobot_python:
            try:
                lerobot = run_lerobot(args.lerobot_python, "encode", str(frames), str(out / "lerobot.mp4"))
            except LeRobotFailed as failed:
                sys.exit(f"LeRobot's side failed:\n{str(failed)[-2000:]}")
            calls.append(float(str(lerobot["seconds"])))
    line = f"  encodectl encode --profile lerobot (whole process): {spread(tool)}"
    videos = {"encodectl": out / "encodectl.mp4"}
    if calls:
        videos["LeRobot"] = out / "lerobot.mp4"
        print(f"  LeRobot encode_video_frames (the call alone):       {spread(calls)}")
        pairs = statistics.median(mine / theirs for mine, theirs in zip(tool, calls, strict=True))
        line += f"; ratio {pairs:.2f}, the median of the pairs' (target <= 0.8)"
    print(line)
    for name, video in videos.items():
        score = measure_quality(binary, str(video), sequence, Fraction(30))
        size = video.stat().st_size
        print(f"  {name:<9} PSNR {score.psnr_db:.2f} dB, SSIM {score.ssim:.4f}, {size / 1024:.0f} KiB")

    if not args.lerobot_python or args.episode_only:
        return
    print("\n2. a pending dataset: 3 episodes x 2 cameras, recorded by LeRobot (batch size never reached)")
    try:
        made = run_lerobot(args.lerobot_python, "dataset", str(frames), str(args.data / "datasets"), "2", "3")
    except LeRobotFailed as failed:  # LeRobot 0.6.1's own finalize() fails on a batch never reached
        print(f"  skipped: LeRobot could not make the pending dataset itself ({failed.last_line()})")
        return
    pending = Path(str(made["pending"]))
    runs = []
    for _ in range(args.runs):
        copy = args.data / "datasets" / "copy"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(pending, copy)
        runs.append(timed([sys.executable, "-m", "encodectl.cli", "encode", str(copy)]))
    lerobot_seconds = float(str(made["encoding_seconds"]))
    print(f"  encodectl encode ROOT (whole process, 6 videos):     {spread(runs)}")
    print(
        f"  LeRobot's save path, encoding the same 6 videos:     {lerobot_seconds:.2f} s "
        f"(save_episode {float(str(made['save_with_encoding'])):.2f} s with encoding, "
        f"{float(str(made['save_without'])):.2f} s without)"
    )
    print(f"  ratio {statistics.median(runs) / lerobot_seconds:.2f}")


if __name__ == "__main__":
    main()
