"""How long `encodectl check` takes on a LeRobot dataset of many episodes (default 200 x 2 cameras).

Makes the dataset once (one clip per camera encoded as LeRobot encodes, libsvtav1 preset 12 crf 30 g 2,
then copied: v2.1 one file per episode, v3.0 all episodes of a camera joined by stream copy into one
file), writes its metadata as LeRobot does, then times `encodectl check ROOT` as a fresh process, in
packet mode and with --decode. The dataset must check clean; the figures are wall-clock seconds.

    python benchmarks/check.py --format v2.1 --episodes 200 --frames 150 --size 640x480 --runs 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from encodectl.ffmpeg.binary import find_ffmpeg
from encodectl.frames.synthetic import write_frames

CAMERAS = ("observation.images.top", "observation.images.wrist")
FPS = 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--format", choices=("v3.0", "v2.1"), default="v2.1")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--frames", type=int, default=150, help="frames per episode")
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--decode", action="store_true", help="time --decode as well")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "encodectl-bench-check")
    args = parser.parse_args()
    width, height = (int(value) for value in args.size.split("x"))
    root = args.data / f"{args.format}-{args.episodes}x{args.frames}-{args.size}"
    if not (root / "meta" / "info.json").is_file():
        make_dataset(root, args.format, args.episodes, args.frames, (width, height))
    binary = find_ffmpeg()
    print(f"ffmpeg {binary.version} ({binary.source}); {root}: LeRobot {args.format}, {args.episodes} episodes x "
          f"{len(CAMERAS)} cameras, {args.frames} frames {args.size} each; {args.runs} runs")  # fmt: skip
    for extra in [[]] + ([["--decode"]] if args.decode else []):
        command = [sys.executable, "-m", "encodectl.cli", "check", str(root), *extra]
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            completed = subprocess.run(command, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - started)
            if completed.returncode != 0:
                sys.exit(f"check did not pass ({completed.returncode}): {completed.stdout}{completed.stderr}")
        shown = " ".join(command[2:]).replace(str(root), "ROOT")
        print(f"{shown}: median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})")


def make_dataset(root: Path, version: str, episodes: int, frames: int, size: tuple[int, int]) -> None:
    binary = find_ffmpeg()
    work = Path(tempfile.mkdtemp(prefix="encodectl-bench-check-"))
    print(f"making {root} ...", flush=True)
    write_frames(binary, work / "frames", frames, size)
    clip = work / "clip.mp4"
    pattern = str(work / "frames" / "frame_%06d.png")
    subprocess.run(
        [str(binary.path), "-hide_banner", "-loglevel", "error", "-framerate", str(FPS), "-i", pattern,
         "-c:v", "libsvtav1", "-preset", "12", "-crf", "30", "-g", "2", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
    )  # fmt: skip
    duration = frames / FPS
    root.mkdir(parents=True, exist_ok=True)
    (root / "meta").mkdir(exist_ok=True)
    if version == "v2.1":
        for camera in CAMERAS:
            folder = root / "videos" / "chunk-000" / camera
            folder.mkdir(parents=True, exist_ok=True)
            for episode in range(episodes):
                shutil.copyfile(clip, folder / f"episode_{episode:06d}.mp4")
        rows = [{"episode_index": episode, "tasks": ["bench"], "length": frames} for episode in range(episodes)]
        (root / "meta" / "episodes.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
        video_path = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        listing = work / "list.ffconcat"
        listing.write_text("ffconcat version 1.0\n" + f"file '{clip}'\n" * episodes)
        for camera in CAMERAS:
            target = root / "videos" / camera / "chunk-000" / "file-000.mp4"
            target.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [str(binary.path), "-hide_banner", "-loglevel", "error", "-f", "concat", "-safe", "0",
                 "-i", str(listing), "-c", "copy", str(target)],
                check=True,
            )  # fmt: skip
        columns: dict[str, list[object]] = {
            "episode_index": list(range(episodes)),
            "length": [frames] * episodes,
        }
        for camera in CAMERAS:
            starts = [episode * duration for episode in range(episodes)]
            columns[f"videos/{camera}/chunk_index"] = [0] * episodes
            columns[f"videos/{camera}/file_index"] = [0] * episodes
            columns[f"videos/{camera}/from_timestamp"] = starts
            columns[f"videos/{camera}/to_timestamp"] = [start + duration for start in starts]
        path = root / "meta" / "episodes" / "chunk-000" / "file-000.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(columns), path)
        video_path = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    width, height = size
    info = {
        "video.height": height, "video.width": width, "video.codec": "av1", "video.pix_fmt": "yuv420p",
        "video.is_depth_map": False, "video.fps": FPS, "video.channels": 3, "has_audio": False,
    }  # fmt: skip
    features = {
        camera: {"dtype": "video", "shape": [height, width, 3], "names": ["height", "width", "channels"], "info": info}
        for camera in CAMERAS
    }
    document = {
        "codebase_version": version, "fps": FPS, "chunks_size": 1000, "total_episodes": episodes,
        "video_path": video_path, "features": features,
    }  # fmt: skip
    (root / "meta" / "info.json").write_text(json.dumps(document, indent=4))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
