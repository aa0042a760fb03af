"""What `check` found, as it crosses into the report and the API: pydantic models, typed values."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel

from ..models import FFmpegBinary, FrameRate, VerifyMode


class ProblemKind(StrEnum):
    missing_video = "missing-video"  # the file the metadata names is not there
    no_video = "no-video"  # the metadata gives the episode no video at all (v3.0 row without its columns)
    truncated = "truncated"  # an MP4 whose last box runs past the end of the file, or without its index
    unreadable = "unreadable"  # ffmpeg cannot open or read it
    decode = "decode"  # a frame does not decode (--decode)
    frame_count = "frame-count"  # not as many frames as the episode's length (or its frame folder)
    timestamps = "timestamps"  # a frame is not where a reader looks for it
    extra_frames = "extra-frames"  # frames of a file that no episode's span covers
    video_format = "format"  # codec, size or pixel format other than info.json says
    fps = "fps"  # a folder's video at another frame rate than asked
    cut_off_commit = "cut-off-commit"  # an encodectl commit was cut off: the next encode completes it


class Problem(BaseModel):
    """One thing wrong, named by camera and episode(s), with the file at fault relative to the root."""

    kind: ProblemKind
    camera: str | None = None
    episodes: list[int] = []  # LeRobot episode indices; empty for a problem of a whole file or a folder
    episode: str | None = None  # an episode folder's name (a folder that encode made)
    file: str | None = None  # relative to the checked root
    detail: str
    frames_on_disk: int | None = None  # frames of the episode still under images/ (None: no frame folder)
    repairable: bool = False  # --repair can re-encode it from those frames


class PathCheck(BaseModel):
    """The check of one path given: a LeRobot dataset, or a folder of episodes and their videos."""

    path: Path
    layout: str  # "lerobot v3.0", "lerobot v2.1" or "folder"
    mode: VerifyMode
    fps: FrameRate | None = None
    cameras: list[str] = []
    episodes: int = 0
    videos_read: int = 0  # files ffmpeg read
    frames_read: int = 0
    problems: list[Problem] = []
    repaired: list[str] = []  # what --repair changed, one line each
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


class CheckReport(BaseModel):
    encodectl: str
    ffmpeg: FFmpegBinary
    checks: list[PathCheck]
    problems: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.problems == 0
