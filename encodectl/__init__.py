"""encodectl: recorded camera frames into verified videos, driving ffmpeg."""

from __future__ import annotations

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
    "QueueFullError",
    "StreamEncoder",
    "UsageError",
    "VerificationError",
    "__version__",
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
