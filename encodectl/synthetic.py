"""Camera-like test frames made by ffmpeg itself: motion plus sensor noise.

Used by the sample recording (`make demo`), the tests and the benchmarks, so no
image library is needed and the content compresses like real footage would
(noise keeps the encoder honest; a flat test pattern would flatter it).
"""

from __future__ import annotations

from pathlib import Path

from .command import image2_pattern
from .errors import EncodeError
from .ffmpeg_log import meaningful_error
from .ffmpeg_process import capture
from .models import FFmpegBinary

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
    width, height = size
    # A moving test pattern, a per-seed hue so cameras and episodes differ, and temporal noise.
    source = f"testsrc2=size={width + width % 2}x{height + height % 2}:rate=30,hue=h={(seed * 47) % 360}"
    if noise:
        source += f",noise=alls={noise}:allf=t+u:all_seed={seed + 1}"
    # testsrc2 makes even sizes only; crop in RGB to get odd ones exactly.
    source += f",format=rgb24,crop={width}:{height}:0:0"
    pattern = image2_pattern(directory, prefix, padding, extension)
    argv = [
        str(ffmpeg_binary.path),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        source,
        "-frames:v",
        str(count),
        "-start_number",
        str(start_number),
    ]
    if pix_fmt:
        argv += ["-pix_fmt", pix_fmt]
    if extension.lower() in (".jpg", ".jpeg"):
        argv += ["-q:v", "3"]
    argv += ["-f", "image2", pattern]
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
