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
    UsageError,
    VerificationError,
)
from .models import EncodeJob, EncodeOptions, EncoderSettings, FrameSequence, JobResult, JobStatus

__all__ = [
    "EncodeError",
    "EncodeJob",
    "EncodeOptions",
    "EncodectlError",
    "EncoderSettings",
    "FFmpegNotFoundError",
    "FrameSequence",
    "InputError",
    "Interrupted",
    "JobResult",
    "JobStatus",
    "UsageError",
    "VerificationError",
    "__version__",
    "encode",
]
