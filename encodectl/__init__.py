"""encodectl: recorded camera frames into verified videos, driving ffmpeg."""

from __future__ import annotations

from .checks.engine import check
from .checks.models import CheckReport, PathCheck, Problem, ProblemKind
from .errors import (
    EncodectlError,
    EncodeError,
    FFmpegNotFoundError,
    InputError,
    Interrupted,
    QueueFullError,
    UsageError,
    VerificationError,
)
from .models import EncodeJob, EncodeOptions, EncoderSettings, FrameSequence, JobResult, JobStatus
from .run.engine import encode
from .run.pool import EncoderPool
from .version import __version__

__all__ = [
    "BufferPolicy",
    "CheckReport",
    "EncodeError",
    "EncodeJob",
    "EncodeOptions",
    "EncodectlError",
    "EncoderPool",
    "EncoderSettings",
    "FFmpegNotFoundError",
    "FrameSequence",
    "InputError",
    "Interrupted",
    "JobResult",
    "JobStatus",
    "PathCheck",
    "Problem",
    "ProblemKind",
    "QueueFullError",
    "StreamEncoder",
    "UsageError",
    "VerificationError",
    "__version__",
    "check",
    "encode",
    "install_streaming",
    "uninstall_streaming",
]


def __getattr__(name: str) -> object:
    # StreamEncoder needs numpy; load it on first use so the CLI starts fast.
    if name in ("StreamEncoder", "BufferPolicy"):
        from .stream import encoder as stream

        return getattr(stream, name)
    if name in ("install_streaming", "uninstall_streaming"):  # LeRobot 0.6's recorder through StreamEncoder
        from .stream import lerobot

        return getattr(lerobot, name)
    raise AttributeError(f"module 'encodectl' has no attribute {name!r}")
