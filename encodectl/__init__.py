"""encodectl: recorded camera frames into verified videos, driving ffmpeg."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from .version import __version__

if TYPE_CHECKING:
    from .api import bench, check, encode, probe_gpu, recover, watch
    from .benchmarking.measures import BenchOptions, BenchReport
    from .checks.models import CheckReport, PathCheck, Problem, ProblemKind
    from .ffmpeg.encoder_choice import HardwareReport
    from .models import EncodeJob, EncodeOptions, EncoderSettings, FrameSequence, JobResult, JobStatus
    from .run.pool import EncoderPool
    from .stream.encoder import StreamEncoder
    from .stream.frame_buffer import BufferPolicy
    from .stream.lerobot import install_streaming, uninstall_streaming
    from .stream.recovery import RecoveredVideo
    from .watching.options import WatchOptions, WatchSummary

__all__ = [
    "BenchOptions",
    "BenchReport",
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
    "HardwareReport",
    "InputError",
    "Interrupted",
    "JobResult",
    "JobStatus",
    "PathCheck",
    "Problem",
    "ProblemKind",
    "QueueFullError",
    "RecoveredVideo",
    "StreamEncoder",
    "UsageError",
    "VerificationError",
    "WatchOptions",
    "WatchSummary",
    "__version__",
    "bench",
    "check",
    "encode",
    "install_streaming",
    "probe_gpu",
    "recover",
    "uninstall_streaming",
    "watch",
]

# Where each public name lives. Loaded on first use: `import encodectl.cli` (every command's start) must
# not pay for the check engine, the pool, LeRobot's metadata code and numpy when the command needs none.
_LAZY = {
    "encode": "api",  # one function per command, as the command line runs it
    "check": "api",
    "watch": "api",
    "bench": "api",
    "recover": "api",
    "probe_gpu": "api",
    "BenchOptions": "benchmarking.measures",
    "BenchReport": "benchmarking.measures",
    "HardwareReport": "ffmpeg.encoder_choice",
    "RecoveredVideo": "stream.recovery",
    "WatchOptions": "watching.options",
    "WatchSummary": "watching.options",
    "CheckReport": "checks.models",
    "PathCheck": "checks.models",
    "Problem": "checks.models",
    "ProblemKind": "checks.models",
    "EncodeJob": "models",
    "EncodeOptions": "models",
    "EncoderSettings": "models",
    "FrameSequence": "models",
    "JobResult": "models",
    "JobStatus": "models",
    "EncoderPool": "run.pool",
    "StreamEncoder": "stream.encoder",
    "BufferPolicy": "stream.encoder",
    "install_streaming": "stream.lerobot",  # LeRobot 0.6's recorder through StreamEncoder
    "uninstall_streaming": "stream.lerobot",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'encodectl' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value
