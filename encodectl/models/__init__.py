"""pydantic models: the contract between encodectl's layers.

Options flow in (EncodeOptions, options.py), become jobs (FrameSequence + EncoderSettings + EncodeJob,
jobs.py) and come back as results (JobResult, results.py, where every result is built). The fixed
choices are in enums.py, the small values they share (frame rate, even size) in values.py. Nothing else
crosses module lines. Every name is importable from here, as `from encodectl.models import JobResult`.
"""

from .enums import (
    Codec,
    DepthMode,
    Device,
    FailureKind,
    GapPolicy,
    JobStatus,
    LeRobotRelease,
    Mode,
    Priority,
    Profile,
    VerifyMode,
)
from .jobs import (
    MINIMUM_FFMPEG,
    DepthQuantization,
    EncodeJob,
    EncoderSettings,
    FFmpegBinary,
    FileIdentity,
    FrameSequence,
)
from .options import MAX_WORKERS, EncodeOptions, options_from
from .results import DepthResult, JobResult, RunReport, RunSummary, VideoInfo
from .values import FrameRate, episode_label, even_size, from_user, one_line

__all__ = [
    "MAX_WORKERS",
    "MINIMUM_FFMPEG",
    "Codec",
    "DepthMode",
    "DepthQuantization",
    "DepthResult",
    "Device",
    "EncodeJob",
    "EncodeOptions",
    "EncoderSettings",
    "FFmpegBinary",
    "FailureKind",
    "FileIdentity",
    "FrameRate",
    "FrameSequence",
    "GapPolicy",
    "JobResult",
    "JobStatus",
    "LeRobotRelease",
    "Mode",
    "Priority",
    "Profile",
    "RunReport",
    "RunSummary",
    "VerifyMode",
    "VideoInfo",
    "episode_label",
    "even_size",
    "from_user",
    "one_line",
    "options_from",
]
