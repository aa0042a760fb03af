"""A simulated two-camera recorder that streams frames straight into encoders (no PNG files at all).

    python examples/record_streaming.py /tmp/streamed --episodes 3 --seconds 5 --fps 30 --size 640x480
    python examples/record_streaming.py /tmp/streamed --size 1280x720 --profile lerobot   # LeRobot's AV1

Each camera has its own thread and its own StreamEncoder per episode; frames
(numpy HxWx3 uint8, with motion and sensor noise) are added in real time. At the
end of each episode the recorder calls close() and prints the latency from its
last frame to the verified video, the frames kept, the recorder's missed ticks
(a frame added more than one frame period late), what went to disk, and how long
add_frame took (p50/p99/max).
"""

from __future__ import annotations

import argparse
import math
import resource
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from encodectl import StreamEncoder
from encodectl.ffmpeg.binary import find_ffmpeg
from encodectl.ffmpeg.encoder_choice import plan_encoder
from encodectl.frames.synthetic import CAMERA_KEYS
from encodectl.models import EncodeOptions


def camera_frames(width: int, height: int, count: int, seed: int) -> list[np.ndarray]:
    """A loop of frames with a moving gradient and sensor noise, made once before recording."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    frames = []
    for index in range(count):
        base = (x + y + index * 8 + seed * 40) % 256
        rgb = np.stack([base, np.roll(base, index, axis=1), 255 - base], axis=-1)
        noisy = rgb + rng.normal(0, 6, rgb.shape)
        frames.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return frames


def record_camera(camera: str, index: int, args: argparse.Namespace, shared: dict[str, Any], log: list[str],
                  add_times: list[float], totals: dict[str, int], lock: threading.Lock) -> None:  # fmt: skip
    width, height = (int(v) for v in args.size.split("x"))
    frames = camera_frames(width, height, 30, index)
    count = round(args.seconds * args.fps)
    period = 1 / args.fps
    for episode in range(args.episodes):
        output = args.root / "videos" / camera / f"episode_{episode:06d}.mp4"
        encoder = StreamEncoder(output, width, height, fps=args.fps, camera=camera, overwrite=True, **shared)
        started = time.monotonic()
        local: list[float] = []
        missed = 0
        for frame_index in range(count):
            delay = started + frame_index * period - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif -delay > period:
                missed += 1  # this tick came more than a frame late: the recorder was held up
            before = time.perf_counter()
            encoder.add_frame(frames[frame_index % len(frames)])
            local.append(time.perf_counter() - before)
        stats = encoder.stats
        result = encoder.close()
        with lock:
            add_times.extend(local)
            totals["missed"] += missed
            totals["lost"] += count - (result.frames if result.ok else 0)
            totals["spilled_bytes"] += stats.spilled_bytes
            totals["memory_peak"] = max(totals["memory_peak"], stats.memory_bytes_peak)
            totals["disk_peak"] = max(totals["disk_peak"], stats.disk_bytes_peak)
            log.append(
                f"{camera}/episode_{episode:06d}: {result.status.value}, {result.frames} of {count} frames, "
                f"{missed} ticks missed, last frame -> verified video {result.latency_s or 0:.2f} s, "
                f"{result.size_bytes / 1e6:.1f} MB"
                + (f"; {'; '.join(result.notes)}" if result.notes else "")
                + (f"; {result.reason}" if result.reason else "")
            )
            print(log[-1], flush=True)
        time.sleep(args.pause)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--pause", type=float, default=1.0, help="reset between episodes")
    parser.add_argument("--profile", choices=["default", "lerobot"], help="lerobot: LeRobot's AV1 settings")
    parser.add_argument("--codec", choices=["h264", "hevc", "av1"])
    parser.add_argument("--policy", choices=["spill", "block"], default="spill")
    args = parser.parse_args()
    ffmpeg = find_ffmpeg()
    chosen = {name: value for name in ("profile", "codec") if (value := getattr(args, name)) is not None}
    plan = plan_encoder(EncodeOptions(**chosen), ffmpeg)  # probe once, share between cameras
    print(f"encoding with {plan.primary.encoder} ({plan.reason})")
    shared = {"ffmpeg_binary": ffmpeg, "plan": plan, "policy": args.policy, **chosen}
    log: list[str] = []
    add_times: list[float] = []
    totals = {"missed": 0, "lost": 0, "spilled_bytes": 0, "memory_peak": 0, "disk_peak": 0}
    lock = threading.Lock()
    threads = [
        threading.Thread(target=record_camera, args=(camera, index, args, shared, log, add_times, totals, lock))
        for index, camera in enumerate(CAMERA_KEYS[:2])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    add_times.sort()
    p99 = add_times[math.ceil(len(add_times) * 0.99) - 1]  # nearest rank
    print(f"add_frame over {len(add_times)} calls: p50 {statistics.median(add_times) * 1000:.2f} ms, "
          f"p99 {p99 * 1000:.2f} ms, max {add_times[-1] * 1000:.2f} ms")  # fmt: skip
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"recorder ticks missed: {totals['missed']} of {len(add_times)}; frames lost: {totals['lost']}; "
          f"peak memory (recorder process) {peak_rss:.0f} MB, of it frame buffers at most "
          f"{totals['memory_peak'] / 2**20:.0f} MiB per stream; spilled to disk {totals['spilled_bytes'] / 1e6:.0f} MB "
          f"(at most {totals['disk_peak'] / 1e6:.0f} MB at once per stream)")  # fmt: skip


if __name__ == "__main__":
    main()
