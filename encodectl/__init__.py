"""encodectl: recorded camera frames into verified videos, driving ffmpeg."""

from __future__ import annotations

__version__ = "0.1.0"

from .engine import encode
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
from .pool import EncoderPool
from .stream import BufferPolicy, StreamEncoder

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
]
