"""Which LeRobot release made a dataset, and the camera ``info`` that release writes for a video.

A dataset that encodectl finishes must carry, in ``features[<camera>]["info"]``, exactly
what the LeRobot release that made it would have written had it encoded the videos
itself: LeRobot 0.4's ``aggregate_datasets`` compares ``features`` exactly, and 0.6's
compares them ignoring only the encoder fields, so any other difference stops a merge
of recording sessions. What each release writes (read in its source, ``get_video_info``
and ``update_video_info``, and checked against datasets it wrote, tests/fixtures/lerobot):

- 0.3 (format v2.1) and 0.4 / 0.5 (v3.0): ``video.height``, ``video.width``,
  ``video.codec``, ``video.pix_fmt``, ``video.is_depth_map`` (false), ``video.fps``,
  ``video.channels``, ``has_audio``; written only where the camera has no ``info`` yet.
- 0.6: what the recorder declared stays first (a depth camera's ``is_depth_map`` and
  ``depth_unit``), then ``video.height``, ``video.width``, ``video.codec``,
  ``video.pix_fmt``, ``video.fps``, ``video.channels``, ``has_audio``, the encoder's
  settings ``video.g``, ``video.crf``, ``video.preset``, ``video.fast_decode``,
  ``video.video_backend`` (``"pyav"``), ``video.extra_options``, a depth camera's
  ``video.depth_min``, ``video.depth_max``, ``video.shift``, ``video.use_log``, and
  ``is_depth_map`` (its value, in the place the recorder gave it if it did). The encoder
  settings are those the encode really used (read from its ffmpeg command).

The release is decided by the first rule that applies:

1. ``--lerobot-version`` (``lerobot_version`` in the options), if given.
2. ``codebase_version`` v2.1: 0.3 (only LeRobot 0.3 and older write v2.1).
3. A camera already holding an ``info`` LeRobot wrote: 0.6 if it has the canonical
   ``is_depth_map``, ``depth_unit`` or an encoder field (``video.g``...); 0.4 if it has
   the legacy ``video.is_depth_map`` (0.6 migrates that key whenever it writes info).
4. A depth camera (``is_depth_map`` or ``depth_unit`` declared): 0.6, the first release
   with depth cameras.
5. ``info.json``'s key order: 0.6 writes it from a dataclass, ``codebase_version``,
   ``fps``, ``features`` first; 0.4 and 0.5 write a dict, ``codebase_version``,
   ``robot_type``, the totals, ``fps``... ``features`` last.
6. Otherwise 0.6, the current release, *assumed*: each result of the run says so.
"""

from __future__ import annotations

import itertools
from typing import Any

from pydantic import BaseModel

from ..errors import UsageError
from ..models import DepthQuantization, LeRobotRelease

# The fields of LeRobot 0.6's VideoEncoderConfig it records as video.<name> (vcodec and pix_fmt come from the
# stream), in its dataclass order, then DepthEncoderConfig's quantizer fields.
ENCODER_FIELDS = ("g", "crf", "preset", "fast_decode", "video_backend", "extra_options")
DEPTH_FIELDS = ("depth_min", "depth_max", "shift", "use_log")
V06_MARKERS = {"is_depth_map", "depth_unit", *(f"video.{name}" for name in ENCODER_FIELDS)}
V06_LAYOUT = ("codebase_version", "fps", "features")
V04_LAYOUT = ("codebase_version", "robot_type", "total_episodes")
# LeRobot 0.6's DepthEncoderConfig.extra_options default: what its depth videos record.
LEROBOT_DEPTH_EXTRA_OPTIONS = {"x265-params": "lossless=1"}


class ReleaseChoice(BaseModel):
    """The release a dataset's metadata is written for, and why."""

    release: LeRobotRelease
    reason: str
    assumed: bool = False  # the dataset could not tell

    @property
    def note(self) -> str:
        if self.assumed:
            return f"camera info written as LeRobot {self.release.value} writes it ({self.reason})"
        return f"camera info written as LeRobot {self.release.value} writes it"


class StreamInfo(BaseModel):
    """What LeRobot's get_video_info reads from the video stream."""

    height: int
    width: int
    codec: str
    pix_fmt: str
    fps: int
    channels: int
    has_audio: bool = False


class EncoderRecord(BaseModel):
    """The encoder settings LeRobot 0.6 records (VideoEncoderConfig, asdict, vcodec and pix_fmt left out)."""

    g: int | None = None
    crf: int | float | None = None
    preset: int | str | None = None
    fast_decode: int = 0
    video_backend: str = "pyav"
    extra_options: dict[str, Any] = {}
    depth: DepthQuantization | None = None  # a depth camera's quantizer (DepthEncoderConfig)


def decide_release(document: dict[str, Any], override: LeRobotRelease | None) -> ReleaseChoice:
    """The LeRobot release whose camera info this dataset (its info.json, as read) gets; see the module's rules."""
    version = document.get("codebase_version")
    if override is not None:
        if (version == "v2.1") != (override is LeRobotRelease.v03):
            raise UsageError(
                f"--lerobot-version {override.value} does not fit a format {version} dataset "
                "(LeRobot 0.3 writes v2.1; 0.4 and later write v3.0)"
            )
        return ReleaseChoice(release=override, reason="--lerobot-version")
    if version == "v2.1":
        return ReleaseChoice(release=LeRobotRelease.v03, reason="format v2.1")
    features = document.get("features")
    infos = [
        feature["info"]
        for feature in (features.values() if isinstance(features, dict) else [])
        if isinstance(feature, dict) and feature.get("dtype") == "video" and isinstance(feature.get("info"), dict)
    ]
    written = [info for info in infos if "video.codec" in info]
    if any(V06_MARKERS & set(info) for info in written):
        return ReleaseChoice(release=LeRobotRelease.v06, reason="a camera's info in LeRobot 0.6's form")
    if any("video.is_depth_map" in info for info in written):
        return ReleaseChoice(release=LeRobotRelease.v04, reason="a camera's info in LeRobot 0.4's form")
    if any({"is_depth_map", "depth_unit"} & set(info) for info in infos):
        return ReleaseChoice(release=LeRobotRelease.v06, reason="a depth camera (LeRobot 0.6 and later)")
    keys = tuple(document)
    if keys[: len(V06_LAYOUT)] == V06_LAYOUT:
        return ReleaseChoice(release=LeRobotRelease.v06, reason="info.json laid out as LeRobot 0.6 writes it")
    if keys[: len(V04_LAYOUT)] == V04_LAYOUT:
        return ReleaseChoice(release=LeRobotRelease.v04, reason="info.json laid out as LeRobot 0.4 and 0.5 write it")
    return ReleaseChoice(
        release=LeRobotRelease.v06,
        reason="assumed: the dataset does not say which LeRobot made it; --lerobot-version to choose",
        assumed=True,
    )


def camera_info(
    release: LeRobotRelease,
    stream: StreamInfo,
    existing: dict[str, Any],
    encoder: EncoderRecord,
    depth: bool,
) -> dict[str, Any]:
    """``features[<camera>]["info"]`` as `release` writes it once the camera's first video exists."""
    picture = {
        "video.height": stream.height,
        "video.width": stream.width,
        "video.codec": stream.codec,
        "video.pix_fmt": stream.pix_fmt,
    }
    rest = {"video.fps": stream.fps, "video.channels": stream.channels, "has_audio": stream.has_audio}
    if release is not LeRobotRelease.v06:
        # get_video_info's own dict, replacing nothing: 0.3 and 0.4 write info only where there is none.
        return {**picture, "video.is_depth_map": False, **rest}
    settings: dict[str, Any] = {f"video.{name}": getattr(encoder, name) for name in ENCODER_FIELDS}
    if depth:
        quantization = encoder.depth or DepthQuantization()
        settings.update({f"video.{name}": getattr(quantization, name) for name in DEPTH_FIELDS})
    # update_video_info: {**existing, **new}; the legacy marker migrated to the canonical key.
    merged = {**existing, **picture, **rest, **settings, "is_depth_map": depth}
    if "video.is_depth_map" in merged:
        legacy = merged.pop("video.is_depth_map")
        merged.setdefault("is_depth_map", legacy)
    return merged


def encoder_record(command: list[str], depth: DepthQuantization | None = None) -> EncoderRecord:
    """What LeRobot 0.6 would record of an encode, from the ffmpeg command that made the video."""
    options: dict[str, str] = {}
    for flag, value in itertools.pairwise(command):
        if flag.startswith("-") and not value.startswith("-"):
            options[flag[1:]] = value  # the last one wins, as in ffmpeg
    quality = next((options[name] for name in ("crf", "cq", "qp", "global_quality") if name in options), None)
    fast_decode = 0
    for part in options.get("svtav1-params", "").split(":"):
        name, _, value = part.partition("=")
        if name == "fast-decode" and value.isdigit():
            fast_decode = int(value)
    if options.get("tune") == "fastdecode":
        fast_decode = 1
    return EncoderRecord(
        g=_number(options.get("g")),
        crf=_number(quality),
        preset=_number(options.get("preset")),
        fast_decode=fast_decode,
        extra_options=dict(LEROBOT_DEPTH_EXTRA_OPTIONS) if depth is not None else {},
        depth=depth,
    )


def _number(value: str | None) -> Any:
    """An option's value as LeRobot keeps it: a number where it is one (SVT-AV1's preset 12), else the word."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value
