"""A simulated recorder that hands each finished episode to an EncoderPool and keeps recording.

    python examples/record_with_pool.py /tmp/recording --episodes 4 --seconds 3 --fps 30 --size 640x480

Two cameras write PNG frames in real time (LeRobot layout). At the end of each
episode the recorder calls pool.submit() for each camera and prints how long
that hand-off blocked it: with the pool it is a fraction of a millisecond, while
the encodes run in the background at low CPU priority.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from encodectl import EncoderPool
from encodectl.ffmpeg.binary import find_ffmpeg
from encodectl.frames.synthetic import CAMERA_KEYS, FrameLoop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path)
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each episode")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--workers", default="2")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    ffmpeg = find_ffmpeg()
    frames_per_episode = int(args.seconds * args.fps)
    cameras = CAMERA_KEYS[:2]
    handoffs: list[float] = []
    loops = [FrameLoop.synthetic(ffmpeg, args.root / ".frame-loops" / camera, (width, height), seed=n) for n, camera in
             enumerate(cameras)]  # fmt: skip

    workers = args.workers if args.workers == "auto" else int(args.workers)
    with EncoderPool(workers=workers, queue_size=100, device="auto", overwrite=True) as pool:
        print(f"pool: {pool.workers} workers, encoder {pool.plan.primary.encoder} ({pool.plan.reason})")
        futures = []
        for episode in range(args.episodes):
            started = time.monotonic()
            for index in range(frames_per_episode):
                # Real time: frame i of every camera is due at started + i/fps.
                delay = started + index / args.fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                for loop, camera in zip(loops, cameras, strict=True):
                    folder = args.root / "images" / camera / f"episode_{episode:06d}"
                    loop.write(folder / f"frame_{index:06d}.png", index + episode)
            lag = time.monotonic() - started - args.seconds
            for camera in cameras:
                folder = args.root / "images" / camera / f"episode_{episode:06d}"
                output = args.root / "videos" / camera / f"episode_{episode:06d}.mp4"
                before = time.perf_counter()
                futures.append(pool.submit(folder, output, camera=camera))
                handoffs.append(time.perf_counter() - before)
            print(
                f"episode {episode}: recorded {frames_per_episode} frames x {len(cameras)} cameras "
                f"(behind real time by {max(0.0, lag):.2f} s); hand-off blocked "
                f"{handoffs[-2] * 1000:.2f} ms + {handoffs[-1] * 1000:.2f} ms; queue {pool.queue_depth}"
            )
        print("recording done; waiting for the last encodes ...")
    for future in futures:
        result = future.result()
        print(f"  {result.status.value:<7} {result.label}: {result.frames} frames, {result.seconds:.2f} s")
    print(
        f"hand-off blocked the recorder: median {statistics.median(handoffs) * 1000:.2f} ms, "
        f"max {max(handoffs) * 1000:.2f} ms over {len(handoffs)} submits"
    )


if __name__ == "__main__":
    main()
