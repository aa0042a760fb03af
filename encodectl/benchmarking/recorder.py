"""The simulated recorder: camera-like frames (or the user's own) written, or handed over, in real time, one
frame every 1/fps like a camera, counting the frame deadlines it missed."""

from __future__ import annotations

import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from ..frames.sequence import scan_frames
from ..frames.synthetic import CAMERA_KEYS, FrameLoop
from ..models import FFmpegBinary
from .measures import BenchOptions


def frame_loops(options: BenchOptions, ffmpeg_binary: FFmpegBinary, folder: Path) -> list[FrameLoop]:
    """What each camera writes: synthetic camera-like frames, or the user's own frames."""
    if options.frames is not None:
        sequence = scan_frames(options.frames)
        loop = FrameLoop.from_files([sequence.path(n) for n in sequence.numbers])
        return [loop] * options.cameras
    return [FrameLoop.synthetic(ffmpeg_binary, folder / str(n), options.size, seed=n) for n in range(options.cameras)]


def camera_names(count: int) -> list[str]:
    return [CAMERA_KEYS[n] if n < len(CAMERA_KEYS) else f"observation.images.cam{n}" for n in range(count)]


def record_episode(
    root: Path, episode: int, cameras: list[str], loops: list[FrameLoop], frames: int, fps: Fraction
) -> int:
    """Write one episode's frames in real time; return how many frame deadlines were missed."""

    def write(index: int) -> None:
        for loop, camera in zip(loops, cameras, strict=True):
            loop.write(root / "images" / camera / f"episode_{episode:06d}" / f"frame_{index:06d}.png", index)

    return in_real_time(frames, fps, write)


def in_real_time(frames: int, fps: Fraction, produce: Callable[[int], None]) -> int:
    """Call produce(i) for each frame at its due time i/fps, like a camera; return the deadlines missed.

    The episode lasts its full length whatever the last frame took."""
    started = time.monotonic()
    missed = 0
    period = float(1 / fps)
    for index in range(frames):
        delay = started + index * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif -delay > period:
            missed += 1
        produce(index)
    remaining = started + frames * period - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
    return missed
