"""The fixed choices: what a user may pick (codec, device, gap policy, verification, mode, priority,
profile, LeRobot release, depth route) and what a job's result may say (status, failure kind)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any


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
