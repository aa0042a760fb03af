"""What a user can say about how to encode (EncodeOptions), shared by the CLI and the Python API, and
how user-given values become one (options_from)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .enums import Codec, DepthMode, Device, GapPolicy, LeRobotRelease, Mode, Priority, Profile, VerifyMode
from .values import FrameRate, from_user

MAX_WORKERS = 256  # parallel encodes: far above any machine's cores or a GPU's sessions


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


def options_from(values: dict[str, Any]) -> EncodeOptions:
    """EncodeOptions from user-given values; a bad value is one UsageError line naming the option."""
    return from_user(EncodeOptions, values)
