"""Plan one episode's encode: which container its video takes, whether it exists already (skipped), whether
its frames are what the dataset says (rejected if not), and the EncodeJob that describes the rest. Nothing
here starts ffmpeg; running the job is runner.py's.
"""

from __future__ import annotations

from typing import Any

from ..errors import EncodectlError, InputError, Interrupted
from ..ffmpeg.encoders import depth_settings
from ..frames.layout import EpisodeSource
from ..frames.sequence import check_gaps, first_frame_is_depth, scan_frames
from ..models import (
    DepthMode,
    EncodeJob,
    EncodeOptions,
    EncoderSettings,
    FailureKind,
    FrameSequence,
    GapPolicy,
    JobResult,
    JobStatus,
)


def depth_mode(source: EpisodeSource, options: EncodeOptions) -> DepthMode:
    """What becomes of this episode's frames if they are depth: a LeRobot dataset's depth camera is
    quantized as LeRobot does (the only form its loader reads), anything else as --depth says."""
    return DepthMode.lerobot if source.expected_depth else options.depth


def with_output_container(source: EpisodeSource, options: EncodeOptions) -> EpisodeSource:
    """`source` with its video's final name: depth frames kept exactly go into Matroska (.mkv).

    Known from the first frame's header alone, so that an existing video is found (and skipped)
    before the whole episode is read."""
    lossless = first_frame_is_depth(source.directory) and depth_mode(source, options) is DepthMode.lossless
    return source.with_container(matroska=lossless)


def _check_depth_expected(source: EpisodeSource, frames: FrameSequence, options: EncodeOptions) -> None:
    """A dataset's metadata and its frames must agree on whether a camera records depth."""
    what = f"{source.directory} ({frames.source_format})"
    if source.expected_depth and not frames.depth:
        raise InputError(f"{what}: the dataset's info.json marks {source.camera} as a depth map, but its frames "
                         "are not 16-bit single-channel depth frames; not encoded")  # fmt: skip
    if source.expected_depth is False and frames.depth and options.depth is not DepthMode.lossy:
        raise InputError(
            f"{what}: 16-bit depth frames, but the dataset's info.json does not mark {source.camera} as a depth "
            "map (is_depth_map), so LeRobot would read its video as colour and lose the depth; mark it (LeRobot "
            "0.6 does for single-channel cameras), or give --depth lossy to encode it as colour video anyway"
        )


def plan_job(source: EpisodeSource, options: EncodeOptions, settings: EncoderSettings) -> EncodeJob:
    """Validate one episode's frames and describe its encode; raises InputError for bad frames."""
    frames = scan_frames(source.directory)
    check_gaps(frames, hold=options.on_gap is GapPolicy.hold)
    _check_depth_expected(source, frames, options)
    if frames.depth:
        settings = depth_settings(depth_mode(source, options), settings, options, source.depth_quantization)
    source = source.with_container(matroska=settings.container == "matroska")
    job = EncodeJob(
        frames=frames,
        output=source.output,
        episode=source.episode,
        camera=source.camera,
        fps=options.fps,
        encoder=settings,
        on_gap=options.on_gap,
        verify=options.verify,
        threads=options.threads,
    )
    check_expected_frames(source, job)
    return job


def check_expected_frames(source: EpisodeSource, job: EncodeJob) -> None:
    """The frames must be what the dataset's metadata says the episode is, and need no padding."""
    if source.expected_frames is not None and job.frame_count != source.expected_frames:
        raise InputError(
            f"{source.directory} has {job.frame_count} frames but the dataset's metadata says the episode has "
            f"{source.expected_frames}; not encoded"
        )
    size = (job.frames.width, job.frames.height)
    if source.expected_size is not None and size != source.expected_size:
        raise InputError(
            f"{source.directory} has frames of {size[0]}x{size[1]} but the dataset's metadata says "
            f"{source.expected_size[0]}x{source.expected_size[1]}; not encoded"
        )
    if source.expected_size is not None and job.output_size != size:
        raise InputError(
            f"{source.directory}: frames of {size[0]}x{size[1]} would need padding to an even size for yuv420p, "
            "and the dataset would read them back at another size"
        )


def source_result(source: EpisodeSource, status: JobStatus, **fields: Any) -> JobResult:
    """A result for an episode that never reached ffmpeg."""
    return JobResult.of_source(source, status, **fields)


def rejected(source: EpisodeSource, error: EncodectlError) -> JobResult:
    """The result of an episode whose frames were refused before encoding."""
    return source_result(source, JobStatus.failed, failure=FailureKind.input, reason=error.message)


def skip_if_done(source: EpisodeSource, overwrite: bool) -> JobResult | None:
    """An existing video is kept (a rerun completes what is missing), before any frame is read.

    Only verified files are ever renamed into place, so an existing one needs no re-check.
    """
    if overwrite or not source.output.exists():
        return None
    return source_result(
        source,
        JobStatus.skipped,
        reason="output exists (use --overwrite to redo it)",
        size_bytes=source.output.stat().st_size,
    )


def prepare_job(source: EpisodeSource, options: EncodeOptions, settings: EncoderSettings) -> EncodeJob | JobResult:
    """A job ready to run, or the result that makes running it unnecessary (skipped) or impossible (rejected)."""
    try:
        source = with_output_container(source, options)
    except InputError as error:
        return rejected(source, error)
    skipped = skip_if_done(source, options.overwrite)
    if skipped is not None:
        return skipped
    try:
        return plan_job(source, options, settings)
    except Interrupted:
        raise
    except EncodectlError as error:
        return rejected(source, error)
