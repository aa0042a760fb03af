"""Camera-like test frames made by ffmpeg itself: motion plus sensor noise.

Used by the sample recording (`make demo`), the tests and the benchmarks, so no
image library is needed and the content compresses like real footage would
(noise keeps the encoder honest; a flat test pattern would flatter it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import EncodeError
from ..ffmpeg.child import run_child
from ..ffmpeg.frames_command import build_depth_frames_command, build_test_frames_command
from ..ffmpeg.log import meaningful_error
from ..ffmpeg.process import capture
from ..models import FFmpegBinary

CAMERA_KEYS = ("observation.images.top", "observation.images.wrist", "observation.images.side")


def write_frames(
    ffmpeg_binary: FFmpegBinary,
    directory: Path,
    count: int,
    size: tuple[int, int] = (64, 48),
    *,
    start_number: int = 0,
    prefix: str = "frame_",
    padding: int = 6,
    extension: str = ".png",
    pix_fmt: str | None = None,
    seed: int = 0,
    noise: int = 12,
) -> list[Path]:
    """Write `count` numbered frames into `directory` and return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    argv = build_test_frames_command(
        ffmpeg_binary, directory, count, size, start_number=start_number, prefix=prefix, padding=padding,
        extension=extension, pix_fmt=pix_fmt, seed=seed, noise=noise,
    )  # fmt: skip
    completed = capture(argv)
    if completed.returncode != 0:
        why = meaningful_error(completed.stderr.splitlines())
        raise EncodeError(f"could not generate frames in {directory}: {why}")
    digits = (lambda n: f"{n:0{padding}d}") if padding else str
    return [directory / f"{prefix}{digits(n)}{extension}" for n in range(start_number, start_number + count)]


def write_dataset(
    ffmpeg_binary: FFmpegBinary,
    root: Path,
    cameras: int = 2,
    episodes: int = 3,
    frames: int = 30,
    size: tuple[int, int] = (64, 48),
) -> list[Path]:
    """A LeRobot-layout recording: root/images/<camera>/episode_XXXXXX/frame_XXXXXX.png."""
    folders = []
    for camera_index in range(cameras):
        camera = (
            CAMERA_KEYS[camera_index] if camera_index < len(CAMERA_KEYS) else f"observation.images.cam{camera_index}"
        )
        for episode in range(episodes):
            folder = root / "images" / camera / f"episode_{episode:06d}"
            write_frames(ffmpeg_binary, folder, frames, size, seed=camera_index * 100 + episode)
            folders.append(folder)
    return folders


class FrameLoop:
    """A few pre-rendered frames, written again and again as fast as a real recorder writes.

    Rendering each frame with ffmpeg would cost a process start per frame; a recorder
    only writes bytes it already has, so simulated ones should too.
    """

    def __init__(self, frames: list[bytes]) -> None:
        if not frames:
            raise ValueError("a frame loop needs at least one frame")
        self.frames = frames

    @classmethod
    def synthetic(
        cls, ffmpeg_binary: FFmpegBinary, directory: Path, size: tuple[int, int], count: int = 30, seed: int = 0
    ) -> FrameLoop:
        """`count` camera-like frames rendered once by ffmpeg (kept in `directory`)."""
        return cls([path.read_bytes() for path in write_frames(ffmpeg_binary, directory, count, size, seed=seed)])

    @classmethod
    def from_files(cls, paths: list[Path]) -> FrameLoop:
        """A loop of existing frames (a user's own recording), read once."""
        return cls([path.read_bytes() for path in paths])

    def write(self, path: Path, index: int) -> int:
        """Write frame `index` (cycling through the loop) to `path`, whole at once; return the bytes written."""
        data = self.frames[index % len(self.frames)]
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.tmp")
        temp.write_bytes(data)
        temp.replace(path)
        return len(data)


def depth_maps(count: int, size: tuple[int, int] = (64, 48), seed: int = 0) -> Iterator[Any]:
    """`count` depth-camera-like frames (uint16 HxW numpy arrays, millimetres): a wall and a far window up to
    about 12 m, a table seen in perspective, boxes on it and an arm moving over them; sensor noise that grows
    with the square of the distance, and the zero holes real depth has (shadows beside edges, dropouts, the
    out-of-range part of the window)."""
    import numpy as np

    width, height = size
    rng = np.random.default_rng(seed)
    rows = np.arange(height, dtype=np.float64)[:, None] / max(1, height - 1)
    cols = np.arange(width, dtype=np.float64)[None, :] / max(1, width - 1)
    wall = 2600.0 + 900.0 * cols + 0.0 * rows
    scene = np.where(rows < 0.35, wall, 1.0 / (1.0 / 1300.0 + (rows - 0.35) * (1.0 / 450.0 - 1.0 / 1300.0) / 0.65))
    window = (rows < 0.22) & (cols > 0.62) & (cols < 0.9)
    scene = np.where(window, 8000.0 + 4200.0 * (cols - 0.62) / 0.28, scene)
    shadow = np.zeros((height, width), dtype=bool)
    for left, right, top, bottom, lift in ((0.12, 0.3, 0.55, 0.8, 120.0), (0.5, 0.66, 0.45, 0.62, 90.0)):
        box = (cols >= left) & (cols < right) & (rows >= top) & (rows < bottom)
        scene = np.where(box, scene - lift, scene)
        shadow |= (cols >= left - 0.02) & (cols < left) & (rows >= top) & (rows < bottom)
    for index in range(count):
        phase = 2 * np.pi * (index + seed * 7) / 90.0
        centre = 0.5 + 0.3 * np.sin(phase)
        arm = (np.abs(cols - centre) < 0.06) & (rows < 0.5 + 0.15 * np.cos(phase))
        depth = np.where(arm, 420.0 + 180.0 * rows, scene)
        noisy = depth + rng.normal(0.0, 1.0, depth.shape) * 3e-6 * depth * depth
        holes = shadow | (arm & (np.abs(cols - centre + 0.065) < 0.008)) | (rng.random(depth.shape) < 0.01)
        holes |= window & (cols > 0.82)  # beyond the sensor's range
        yield np.where(holes, 0, np.clip(np.rint(noisy), 1, 65535)).astype("<u2")


def write_depth_frames(
    ffmpeg_binary: FFmpegBinary,
    directory: Path,
    count: int,
    size: tuple[int, int] = (64, 48),
    *,
    extension: str = ".png",
    prefix: str = "frame_",
    padding: int = 6,
    seed: int = 0,
    tiff_compression: str = "raw",
) -> list[Path]:
    """Write `count` 16-bit single-channel depth frames (see depth_maps) as PNG (gray16) or TIFF, encoded by
    ffmpeg itself, and return their paths. TIFFs are uncompressed by default, as LeRobot writes its own."""
    directory.mkdir(parents=True, exist_ok=True)
    argv = build_depth_frames_command(
        ffmpeg_binary, directory, size, prefix=prefix, padding=padding, extension=extension,
        tiff_compression=tiff_compression,
    )  # fmt: skip
    data = b"".join(frame.tobytes() for frame in depth_maps(count, size, seed))
    completed = run_child(argv, input=data)
    if completed.returncode != 0:
        why = meaningful_error(completed.stderr.decode(errors="replace").splitlines())
        raise EncodeError(f"could not generate depth frames in {directory}: {why}")
    return [directory / f"{prefix}{n:0{padding}d}{extension}" for n in range(count)]
