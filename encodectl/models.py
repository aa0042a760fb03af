"""pydantic models: the contract between encodectl's layers.

Options flow in (EncodeOptions), become jobs (FrameSequence + EncodeJob) and come
back as results (JobResult). Nothing else crosses module lines.
"""

from __future__ import annotations

import os
import re
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

# What people type for the NTSC rates, and the exact rates they mean.
_NTSC = {"23.976": Fraction(24000, 1001), "29.97": Fraction(30000, 1001), "59.94": Fraction(60000, 1001)}


def _parse_rate(value: Any) -> Fraction:
    """Accept 30, 29.97, "30000/1001" or "29.97"; keep the rate exact (29.97 means 30000/1001)."""
    if str(value).strip() in _NTSC:
        return _NTSC[str(value).strip()]
    if isinstance(value, Fraction):
        rate = value
    else:
        try:
            rate = Fraction(str(value).strip())
        except (ValueError, ZeroDivisionError) as error:
            raise ValueError(f"not a frame rate: {value!r} (use e.g. 30, 29.97 or 30000/1001)") from error
    if rate <= 0 or rate > 1000:
        raise ValueError(f"frame rate must be above 0 and at most 1000, not {value}")
    if rate.numerator > 1_000_000 or rate.denominator > 1_000_000:
        # MP4 stores time in 32-bit ticks: frame i at exactly i/fps needs a small exact fraction.
        raise ValueError(f"frame rate {value} cannot be stored exactly; give a fraction such as 30000/1001")
    return rate


FrameRate = Annotated[Fraction, BeforeValidator(_parse_rate), PlainSerializer(str, return_type=str)]


def even_size(width: int, height: int) -> tuple[int, int]:
    """Odd sizes are padded to even by one pixel (yuv420p needs even sizes); never rescaled."""
    return width + width % 2, height + height % 2


def episode_label(camera: str | None, episode: str) -> str:
    return f"{camera}/{episode}" if camera else episode


class Codec(StrEnum):
    h264 = "h264"
    hevc = "hevc"
    av1 = "av1"


class Device(StrEnum):
    auto = "auto"
    gpu = "gpu"
    cpu = "cpu"


class GapPolicy(StrEnum):
    error = "error"
    hold = "hold"


class VerifyMode(StrEnum):
    packets = "packets"  # read every packet's timestamp back (fast, no decoding)
    decode = "decode"  # additionally decode every frame


class Mode(StrEnum):
    sync = "sync"  # one job at a time, inline
    async_ = "async"  # a pool of workers in the background


MAX_WORKERS = 256  # parallel encodes: far above any machine's cores or a GPU's sessions


class Priority(StrEnum):
    low = "low"
    normal = "normal"


class Profile(StrEnum):
    default = "default"
    lerobot = "lerobot"


class LeRobotRelease(StrEnum):
    """The LeRobot releases whose datasets differ in what encodectl writes (see encodectl/lerobot/versions.py)."""

    v03 = "0.3"  # format v2.1 (LeRobot <= 0.3)
    v04 = "0.4"  # format v3.0, LeRobot 0.4 and 0.5: the camera info without encoder fields
    v06 = "0.6"  # format v3.0, LeRobot 0.6: encoder fields and the canonical is_depth_map in the camera info

    @classmethod
    def parse(cls, value: Any) -> Any:
        """ "0.6.1" -> 0.6, "0.5.1" -> 0.4 (0.5 writes as 0.4 does); anything else is left for the enum to refuse."""
        if isinstance(value, str):
            match = re.fullmatch(r"v?0\.(\d+)(?:\.\d+)*", value.strip())
            if match:
                minor = int(match.group(1))
                return {3: "0.3", 4: "0.4", 5: "0.4", 6: "0.6"}.get(minor, value)
        return value


class DepthMode(StrEnum):
    """What becomes of 16-bit single-channel (depth) frames."""

    lossless = "lossless"  # FFV1 gray16le in Matroska: every value kept, verified by frame hashes
    lerobot = "lerobot"  # LeRobot's own: 12-bit log-quantized codes, lossless HEVC gray12le in MP4
    lossy = "lossy"  # the colour encode (8-bit yuv420p with --codec, --quality...): the values are lost


class DepthQuantization(BaseModel):
    """LeRobot's depth quantizer (lerobot.configs.video.DepthEncoderConfig, LeRobot 0.6): millimetres to
    12-bit codes, logarithmic by default. Distances in metres, as LeRobot records them in info.json."""

    depth_min: float = 0.01
    depth_max: float = 10.0
    shift: float = 3.5
    use_log: bool = True
    recorded: bool = False  # read from the dataset's info.json, not LeRobot's defaults


class EncodeOptions(BaseModel):
    """Everything a user can say about how to encode; shared by CLI and Python API."""

    model_config = ConfigDict(extra="forbid")

    fps: FrameRate = Fraction(30)
    codec: Codec = Codec.h264
    encoder: str | None = None
    device: Device = Device.auto
    preset: str = "fast"
    quality: int = Field(23, ge=0, le=51)
    gop: int | None = Field(None, ge=1)
    pix_fmt: str = "yuv420p"
    profile: Profile = Profile.default
    depth: DepthMode = DepthMode.lossless
    on_gap: GapPolicy = GapPolicy.error
    verify: VerifyMode = VerifyMode.packets
    overwrite: bool = False
    dry_run: bool = False
    threads: int | None = Field(None, ge=0)
    vendor: str | None = None  # restrict --device gpu to one vendor's encoders (from encoder_type)
    bitrate: str | None = None
    gpu_id: int | None = Field(None, ge=0)
    strict: bool = False  # no CPU fallback when a hardware encoder fails
    gpu_sessions: int = Field(2, ge=1)  # concurrent encodes per hardware encoder
    mode: Mode = Mode.async_
    workers: int | Literal["auto"] = 2
    queue_size: int = Field(100, ge=1)
    # None: low in async mode (the pool, watch, a stream: a recorder may run beside them), normal in sync
    # mode; `encode` (command and function) asks for normal: someone is waiting for its videos.
    priority: Priority | None = None
    output: Path | None = None
    ffmpeg: str | None = None
    # A LeRobot dataset: the release whose camera info to write; None: decided from the dataset itself.
    lerobot_version: LeRobotRelease | None = None

    @field_validator("lerobot_version", mode="before")
    @classmethod
    def _lerobot_version(cls, value: Any) -> Any:
        return LeRobotRelease.parse(value)

    @model_validator(mode="after")
    def _consistent(self) -> EncodeOptions:
        given = self.model_fields_set
        if self.profile is Profile.lerobot:
            # LeRobot's vcodec (h264, hevc, libsvtav1) is a choice it offers too; the rest it fixes.
            clash = sorted(given & {"encoder", "quality", "preset", "device", "bitrate", "vendor"})
            if clash:
                names = ", ".join("--" + name.replace("_", "-") for name in clash)
                raise ValueError(
                    f"--profile lerobot fixes LeRobot's encoder settings (libsvtav1 preset 12, crf 30, g 2); "
                    f"drop {names} or the profile"
                )
        return self

    @field_validator("workers", mode="before")
    @classmethod
    def _workers(cls, value: Any) -> Any:
        allowed = f"auto or a number from 1 to {MAX_WORKERS}"
        if isinstance(value, str) and value.strip() != "auto":
            try:
                value = int(value)
            except ValueError:
                raise ValueError(f"must be {allowed}, not {value!r}") from None
        if isinstance(value, int) and not 1 <= value <= MAX_WORKERS:
            # Each worker is a thread driving an ffmpeg: 0 would never start a job, 100,000 threads help nobody.
            raise ValueError(f"must be {allowed}, not {value}")
        return value.strip() if isinstance(value, str) else value

    @property
    def nice(self) -> int:
        """How much lower than normal the ffmpeg children run (recording comes first)."""
        low = self.priority is Priority.low or (self.priority is None and self.mode is Mode.async_)
        return 10 if low else 0


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


class JobStatus(StrEnum):
    done = "done"
    skipped = "skipped"
    failed = "failed"
    planned = "planned"  # --dry-run


class FailureKind(StrEnum):
    input = "input"  # the frames were rejected before encoding
    encoding = "encode"  # ffmpeg failed
    verify = "verify"  # the video did not read back as expected
    interrupted = "interrupted"


class VideoInfo(BaseModel):
    """What reading a video back with ffmpeg found."""

    frames: int
    fps: FrameRate | None
    width: int
    height: int
    pix_fmt: str
    codec: str
    timestamps_exact: bool  # frame i at i/fps, exactly, or on the tick nearest to it (timestamp_tolerance_s)
    timestamp_tolerance_s: float = 0.0  # half the container's tick where it cannot hold i/fps exactly


class DepthResult(BaseModel):
    """What became of an episode's depth frames (in JobResult, JSON included)."""

    mode: DepthMode
    lossless: bool  # every value of every frame decodes back exactly as it is in the frames
    container: str  # "matroska" or "mp4"
    hashed_frames: int = 0  # decoded frames found identical, by hash, to the source's (LeRobot: to its codes)
    quantization: DepthQuantization | None = None  # DepthMode.lerobot


class JobResult(BaseModel):
    """What happened to one camera-episode."""

    source: Path
    output: Path
    episode: str
    camera: str | None = None
    status: JobStatus
    failure: FailureKind | None = None
    reason: str | None = None
    frames: int = 0  # frames in the video (source frames plus held repeats)
    source_frames: int = 0
    held_frames: list[int] = []
    fps: FrameRate | None = None
    width: int | None = None
    height: int | None = None
    padded_from: str | None = None
    source_format: str | None = None
    # The frame files as encoded (names and file identities, hashed): --delete-frames deletes only those.
    frames_digest: str | None = None
    depth: DepthResult | None = None  # depth frames only
    encoder: str | None = None
    ffmpeg_path: Path | None = None  # the ffmpeg binary that ran the job (a Dask worker's own)
    ffmpeg_version: str | None = None
    fallback: str | None = None  # why the job did not run on the encoder first chosen
    worker: str | None = None  # the Dask worker that ran it (--executor dask)
    dataset: Path | None = None  # the LeRobot dataset it belongs to (its video is placed after all are encoded)
    seconds: float = 0.0
    latency_s: float | None = None  # streams: from the last frame to the verified video
    size_bytes: int = 0
    notes: list[str] = []
    command: list[str] = []

    @property
    def label(self) -> str:
        return episode_label(self.camera, self.episode)

    @property
    def ok(self) -> bool:
        return self.status is not JobStatus.failed

    def with_ffmpeg(self, binary: FFmpegBinary) -> JobResult:
        """Name the ffmpeg that ran (or, for a job that needed none, would have run) this job."""
        self.ffmpeg_path, self.ffmpeg_version = binary.path, binary.version
        return self


class RunSummary(BaseModel):
    jobs: int
    done: int
    skipped: int
    failed: int
    planned: int = 0
    fallbacks: int = 0
    frames: int
    bytes: int
    wall_seconds: float
    fps: float


class RunReport(BaseModel):
    """What ``encodectl encode --json`` prints."""

    encodectl: str
    ffmpeg: FFmpegBinary
    results: list[JobResult]
    summary: RunSummary


def one_line(error: ValidationError, prefix: str = "", as_option: bool = True, suffix: str = ": ") -> str:
    """The first problem of a pydantic error as '<where><suffix><message>', and how many more there are.

    With as_option, a field name is written as the CLI option (quality_x -> --quality-x)."""
    first = error.errors()[0]
    parts = [str(part) for part in first["loc"]]
    where = prefix + ("-".join(parts).replace("_", "-") if as_option else ".".join(parts)) if parts else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}{suffix if where else ''}{message}{more}"


def options_from(values: dict[str, Any]) -> EncodeOptions:
    """EncodeOptions from user-given values; a bad value is one UsageError line naming the option."""
    from .errors import UsageError

    try:
        return EncodeOptions(**values)
    except ValidationError as error:
        raise UsageError(f"invalid {one_line(error, prefix='--')}") from None
