"""Generate a small sample recording in LeRobot's layout (images/<camera>/episode_XXXXXX/frame_XXXXXX.png).

python examples/make_sample_recording.py demo-data --cameras 2 --episodes 3 --frames 60 --size 320x240
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from encodectl.ffmpeg.binary import find_ffmpeg
from encodectl.frames.synthetic import write_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="dataset root to create")
    parser.add_argument("--cameras", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--frames", type=int, default=60, help="frames per episode (30 fps)")
    parser.add_argument("--size", default="320x240", help="WIDTHxHEIGHT")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    started = time.perf_counter()
    folders = write_dataset(find_ffmpeg(), args.root, args.cameras, args.episodes, args.frames, (width, height))
    print(
        f"wrote {len(folders)} episode folders x {args.frames} frames ({width}x{height}) "
        f"under {args.root / 'images'} in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
