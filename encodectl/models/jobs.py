"""What a job is made of: the ffmpeg that runs it, the frames (each file's identity as it was checked),
the encoder settings (with LeRobot's depth quantizer) and the job itself, one camera-episode."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import BaseModel

from .enums import DepthMode, GapPolicy, VerifyMode
from .values import FrameRate, episode_label, even_size


class DepthQuantization(BaseModel):
    """LeRobot's depth quantizer (lerobot.configs.video.DepthEncoderConfig, LeRobot 0.6): millimetres to
    12-bit codes, logarithmic by default. Distances in metres, as LeRobot records them in info.json."""

    depth_min: float = 0.01
    depth_max: float = 10.0
    shift: float = 3.5
    use_log: bool = True
    recorded: bool = False  # read from the dataset's info.json, not LeRobot's defaults


# The oldest release the whole test suite has passed on (4.2.2; also 5.1 and the bundled n9.0).
MINIMUM_FFMPEG = (4, 2)


class FFmpegBinary(BaseModel):
    """The ffmpeg that encodectl drives, where it came from and why it was chosen."""

    path: Path
    version: str
    source: str  # "--ffmpeg", "ENCODECTL_FFMPEG", "imageio-ffmpeg" (the bundled build) or "PATH"
    reason: str = ""  # why this one, in words

    @property
    def version_tuple(self) -> tuple[int, int] | None:
        """(major, minor) of a release like "5.1.2" or "n7.0"; None for git builds ("N-1234-g…")."""
        match = re.match(r"n?(\d+)\.(\d+)", self.version)
        return (int(match.group(1)), int(match.group(2))) if match else None

    @property
    def supported(self) -> bool:
        """A release at least MINIMUM_FFMPEG, or a git build (its age is unknown: given the benefit of the doubt)."""
        version = self.version_tuple
        return version is None or version >= MINIMUM_FFMPEG


class FileIdentity(NamedTuple):
    """A file as it was when encodectl looked at it. The change time is in it because `touch -r` can put
    the modification time back after a same-size rewrite, but nothing outside the kernel sets ctime."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, stat: os.stat_result) -> FileIdentity:
        return cls(stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)

    @classmethod
    def of_path(cls, path: Path) -> FileIdentity | None:
        """The identity of `path` now (through links, as ffmpeg opens it); None if it has gone."""
        try:
            return cls.of(path.stat())
        except FileNotFoundError:
            return None


class FrameSequence(BaseModel):
    """One validated folder of numbered frames: what ffmpeg will be asked to read."""

    directory: Path
    prefix: str
    extension: str
    padding: int  # digits of zero-padding; 0 when numbers are not padded
    numbers: list[int]  # the frame numbers present, ascending
    gaps: list[tuple[int, int]] = []  # absent numbers between the first and last, as (first, last) ranges
    width: int
    height: int
    source_format: str  # e.g. "png rgb 8-bit"
    depth: bool = False  # 16-bit single-channel frames (a depth camera's), every one of them
    # Each frame as it was when its header was checked, by number: a frame that is not still exactly
    # this after the video is read back was changed under ffmpeg, and the video may hold either content.
    identities: dict[int, FileIdentity] = {}

    @property
    def missing_count(self) -> int:
        return sum(last - first + 1 for first, last in self.gaps)

    def missing(self) -> list[int]:
        return [number for first, last in self.gaps for number in range(first, last + 1)]

    @property
    def first(self) -> int:
        return self.numbers[0]

    @property
    def last(self) -> int:
        return self.numbers[-1]

    @property
    def decoder(self) -> str:
        """The ffmpeg decoder that reads these frames (image2 picks it by the extension)."""
        return "png" if self.extension.lower() == ".png" else "mjpeg"

    def filename(self, number: int) -> str:
        digits = f"{number:0{self.padding}d}" if self.padding else str(number)
        return f"{self.prefix}{digits}{self.extension}"

    def path(self, number: int) -> Path:
        return self.directory / self.filename(number)


class EncoderSettings(BaseModel):
    """A concrete encoder and the native arguments that realise the user's quality/preset."""

    encoder: str
    codec: str  # as ffmpeg names the stream's codec on read-back: h264, hevc, av1, ffv1
    hardware: bool = False
    pix_fmt: str = "yuv420p"  # what the video decodes to (checked on read-back)
    input_pix_fmt: str = "yuv420p"  # what the encoder is fed in system memory
    upload_filter: str | None = None  # e.g. "hwupload" for VAAPI
    global_args: list[str] = []  # e.g. ["-vaapi_device", "/dev/dri/renderD128"]
    gop: int
    arguments: dict[str, str] = {}  # ffmpeg output options, e.g. {"crf": "23", "preset": "fast"}
    container: Literal["mp4", "matroska"] = "mp4"
    depth: DepthMode | None = None  # set for depth frames: which of the depth routes this is
    quantization: DepthQuantization | None = None  # DepthMode.lerobot: the quantizer, applied before encoding

    @property
    def keeps_depth(self) -> bool:
        """Depth values go into the video as they are (lossless) or as LeRobot's codes: no colour conversion,
        no padding, and the decoded frames are checked against the source frames by hash."""
        return self.depth in (DepthMode.lossless, DepthMode.lerobot)


class EncodeJob(BaseModel):
    """One camera-episode to encode: validated frames in, one video out."""

    frames: FrameSequence
    output: Path
    episode: str
    camera: str | None = None
    fps: FrameRate
    encoder: EncoderSettings
    on_gap: GapPolicy = GapPolicy.error
    verify: VerifyMode = VerifyMode.packets
    threads: int | None = None  # CPU threads for decoding (and CPU encoding); None = ffmpeg's choice

    @property
    def held_frames(self) -> list[int]:
        return self.frames.missing() if self.on_gap is GapPolicy.hold else []

    @property
    def frame_count(self) -> int:
        """Frames the video must contain: the ones present plus held repeats."""
        held = self.frames.missing_count if self.on_gap is GapPolicy.hold else 0
        return len(self.frames.numbers) + held

    @property
    def output_size(self) -> tuple[int, int]:
        if self.encoder.keeps_depth:  # no chroma planes to subsample: any size goes as it is
            return self.frames.width, self.frames.height
        return even_size(self.frames.width, self.frames.height)

    @property
    def label(self) -> str:
        return episode_label(self.camera, self.episode)
