"""What comes back: a video as read back (VideoInfo), an episode's result (JobResult, with its depth's,
DepthResult) and a run's (RunSummary, RunReport). Each result is built here, by its constructors, from
what its producer knows: an episode that never reached ffmpeg, a planned job, a stream."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from .enums import DepthMode, FailureKind, JobStatus
from .jobs import DepthQuantization, EncodeJob, EncoderSettings, FFmpegBinary
from .values import FrameRate, episode_label


class EpisodeLike(Protocol):
    """What a result needs of an episode that never reached ffmpeg (frames.layout's EpisodeSource)."""

    @property
    def directory(self) -> Path: ...
    @property
    def output(self) -> Path: ...
    @property
    def episode(self) -> str: ...
    @property
    def camera(self) -> str | None: ...


class VideoInfo(BaseModel):
    """What reading a video back with ffmpeg found."""

    frames: int
    fps: FrameRate | None
    width: int
    height: int
    pix_fmt: str
    codec: str
    timestamps_exact: bool  # frame i at i/fps, exactly, or on the tick nearest to it (timestamp_tolerance_s)
    timestamp_tolerance_s: float = 0.0  # half the container's tick where it cannot hold i/fps exactly


class DepthResult(BaseModel):
    """What became of an episode's depth frames (in JobResult, JSON included)."""

    mode: DepthMode
    lossless: bool  # every value of every frame decodes back exactly as it is in the frames
    container: str  # "matroska" or "mp4"
    hashed_frames: int = 0  # decoded frames found identical, by hash, to the source's (LeRobot: to its codes)
    quantization: DepthQuantization | None = None  # DepthMode.lerobot

    @classmethod
    def of_settings(cls, settings: EncoderSettings) -> DepthResult | None:
        """The depth route these settings take, before any frame is hashed; None for colour frames."""
        if settings.depth is None:
            return None
        return cls(
            mode=settings.depth,
            lossless=settings.depth is DepthMode.lossless,
            container=settings.container,
            quantization=settings.quantization,
        )


class JobResult(BaseModel):
    """What happened to one camera-episode."""

    source: Path
    output: Path
    episode: str
    camera: str | None = None
    status: JobStatus
    failure: FailureKind | None = None
    reason: str | None = None
    frames: int = 0  # frames in the video (source frames plus held repeats)
    source_frames: int = 0
    held_frames: list[int] = []
    fps: FrameRate | None = None
    width: int | None = None
    height: int | None = None
    padded_from: str | None = None
    source_format: str | None = None
    # The frame files as encoded (names and file identities, hashed): --delete-frames deletes only those.
    frames_digest: str | None = None
    depth: DepthResult | None = None  # depth frames only
    encoder: str | None = None
    ffmpeg_path: Path | None = None  # the ffmpeg binary that ran the job (a Dask worker's own)
    ffmpeg_version: str | None = None
    fallback: str | None = None  # why the job did not run on the encoder first chosen
    worker: str | None = None  # the Dask worker that ran it (--executor dask)
    dataset: Path | None = None  # the LeRobot dataset it belongs to (its video is placed after all are encoded)
    seconds: float = 0.0
    latency_s: float | None = None  # streams: from the last frame to the verified video
    size_bytes: int = 0
    notes: list[str] = []
    command: list[str] = []

    @classmethod
    def of_source(cls, source: EpisodeLike, status: JobStatus, **fields: Any) -> JobResult:
        """A result for an episode that never reached ffmpeg (skipped, rejected, or left to another step)."""
        return cls(
            source=source.directory,
            output=source.output,
            episode=source.episode,
            camera=source.camera,
            status=status,
            **fields,
        )

    @classmethod
    def of_job(cls, job: EncodeJob, status: JobStatus, frames_digest: str) -> JobResult:
        """A planned job's result before it runs, with what its plan implies said in its notes (frames held,
        padding, what becomes of depth frames). `frames_digest`: the frame files as checked."""
        frames = job.frames
        width, height = job.output_size
        padded = (width, height) != (frames.width, frames.height)
        result = cls(
            source=frames.directory,
            output=job.output,
            episode=job.episode,
            camera=job.camera,
            status=status,
            frames=job.frame_count,
            source_frames=len(frames.numbers),
            held_frames=job.held_frames,
            fps=job.fps,
            width=width,
            height=height,
            padded_from=f"{frames.width}x{frames.height}" if padded else None,
            source_format=frames.source_format,
            frames_digest=frames_digest,
            encoder=job.encoder.encoder,
            depth=DepthResult.of_settings(job.encoder),
        )
        if job.held_frames:
            result.notes.append(f"held {len(job.held_frames)} missing frame(s) by repeating the previous one")
        if result.padded_from:
            result.notes.append(f"padded {result.padded_from} to {result.width}x{result.height}, not rescaled")
        note = depth_note(job.encoder)
        if note is not None:
            result.notes.append(note)
        return result

    @classmethod
    def of_stream(
        cls,
        output: Path,
        *,
        episode: str,
        camera: str | None,
        frames: int,
        fps: Fraction,
        settings: EncoderSettings,
        size: tuple[int, int],
        fallback: str | None,
    ) -> JobResult:
        """What a stream's close() reports before its video is finished: done, unless finishing fails."""
        return cls(
            source=output.parent,
            output=output,
            episode=episode,
            camera=camera,
            status=JobStatus.done,
            frames=frames,
            source_frames=frames,
            fps=fps,
            width=size[0],
            height=size[1],
            encoder=settings.encoder,
            fallback=fallback,
            depth=DepthResult.of_settings(settings),
        )

    @property
    def label(self) -> str:
        return episode_label(self.camera, self.episode)

    @property
    def ok(self) -> bool:
        return self.status is not JobStatus.failed

    def with_ffmpeg(self, binary: FFmpegBinary) -> JobResult:
        """Name the ffmpeg that ran (or, for a job that needed none, would have run) this job."""
        self.ffmpeg_path, self.ffmpeg_version = binary.path, binary.version
        return self


def depth_note(settings: EncoderSettings) -> str | None:
    """What became of depth frames, in one line for the result."""
    if settings.depth is DepthMode.lossless:
        return ("16-bit depth kept exactly: FFV1 gray16le in Matroska, every decoded frame hashed against its "
                "source frame; timestamps to Matroska's millisecond")  # fmt: skip
    if settings.quantization is not None:
        q = settings.quantization
        where = "as the dataset's info.json records" if q.recorded else "LeRobot's defaults"
        scale = "log" if q.use_log else "linear"
        return (
            f"16-bit depth quantized as LeRobot does ({scale} 12-bit codes, {q.depth_min:g}-{q.depth_max:g} m, "
            f"shift {q.shift:g} m: {where}), codes kept exactly (HEVC lossless) and hashed: not bit-exact depth, "
            f"a zero (no reading) reads back as {q.depth_min:g} m"
        )
    if settings.depth is DepthMode.lossy:
        return "16-bit depth encoded as 8-bit colour video (--depth lossy): the depth values are not kept"
    return None


class RunSummary(BaseModel):
    jobs: int
    done: int
    skipped: int
    failed: int
    planned: int = 0
    fallbacks: int = 0
    frames: int
    bytes: int
    wall_seconds: float
    fps: float


class RunReport(BaseModel):
    """What ``encodectl encode --json`` prints."""

    encodectl: str
    ffmpeg: FFmpegBinary
    results: list[JobResult]
    summary: RunSummary
