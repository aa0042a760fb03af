"""A simulated LeRobot recorder: cameras x episodes of PNG frames written in real time.

    python examples/simulated_recorder.py /tmp/rec --cameras 2 --episodes 3 --seconds 2 --fps 30 --size 640x480

Layout: ROOT/images/<camera>/episode_XXXXXX/frame_XXXXXX.png. By default each
frame appears atomically (written to a hidden name, then renamed), as careful
recorders do; --partial-writes writes frames in place in several chunks, like
recorders that do not, so a watcher can see half-written files. --marker NAME
writes that file into each episode folder when the episode ends. At the end it
prints how many frame deadlines it missed (a frame written later than 1/fps
after it was due).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from encodectl.ffmpeg.binary import find_ffmpeg
from encodectl.frames.synthetic import CAMERA_KEYS, FrameLoop


def write_in_chunks(path: Path, data: bytes, chunks: int = 4, pause: float = 0.002) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        step = max(1, len(data) // chunks)
        for start in range(0, len(data), step):
            handle.write(data[start : start + step])
            handle.flush()
            time.sleep(pause)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path)
    parser.add_argument("--cameras", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each episode")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between episodes (a reset)")
    parser.add_argument("--partial-writes", action="store_true", help="write frames in place, in chunks")
    parser.add_argument("--marker", help="file to write into each finished episode folder")
    parser.add_argument("--first-episode", type=int, default=0)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    ffmpeg = find_ffmpeg()
    cameras = CAMERA_KEYS[: args.cameras]
    loops = [
        FrameLoop.synthetic(ffmpeg, args.root / ".frame-loops" / camera, (width, height), count=30, seed=index)
        for index, camera in enumerate(cameras)
    ]
    frames = round(args.seconds * args.fps)
    missed = 0
    for episode in range(args.first_episode, args.first_episode + args.episodes):
        started = time.monotonic()
        for index in range(frames):
            due = started + index / args.fps
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif -delay > 1 / args.fps:
                missed += 1
            for loop, camera in zip(loops, cameras, strict=True):
                path = args.root / "images" / camera / f"episode_{episode:06d}" / f"frame_{index:06d}.png"
                if args.partial_writes:
                    write_in_chunks(path, loop.frames[(index + episode) % len(loop.frames)])
                else:
                    loop.write(path, index + episode)
        if args.marker:
            for camera in cameras:
                (args.root / "images" / camera / f"episode_{episode:06d}" / args.marker).touch()
        print(f"episode {episode}: {frames} frames x {len(cameras)} cameras", flush=True)
        time.sleep(args.pause)
    print(f"recorded {args.episodes} episodes; missed {missed} of {args.episodes * frames} frame deadlines", flush=True)


if __name__ == "__main__":
    main()
