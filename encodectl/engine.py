"""The engine behind ``encodectl encode`` and ``encodectl.encode()``.

It knows nothing of the terminal: callers pass callbacks to hear about progress
and results, and get back one JobResult per camera-episode.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .encoder_choice import EncoderPlan, plan_encoder
from .errors import EncodectlError, Interrupted
from .ffmpeg_binary import find_ffmpeg
from .ffmpeg_process import CancelToken, Progress
from .frames import check_gaps, scan_frames
from .layout import EpisodeSource, discover
from .models import (
    EncodeJob,
    EncodeOptions,
    EncoderSettings,
    FailureKind,
    FFmpegBinary,
    GapPolicy,
    JobResult,
    JobStatus,
)
from .runner import run_with_fallback
from .sessions import SessionLimiter

ResultCallback = Callable[[JobResult], None]
ProgressCallback = Callable[[EncodeJob, Progress], None]


def plan_job(source: EpisodeSource, options: EncodeOptions, settings: EncoderSettings) -> EncodeJob:
    """Validate one episode's frames and describe its encode; raises InputError for bad frames."""
    frames = scan_frames(source.directory)
    check_gaps(frames, hold=options.on_gap is GapPolicy.hold)
    return EncodeJob(
        frames=frames,
        output=source.output,
        episode=source.episode,
        camera=source.camera,
        fps=options.fps,
        encoder=settings,
        on_gap=options.on_gap,
        verify=options.verify,
    )


def rejected(source: EpisodeSource, error: EncodectlError) -> JobResult:
    return JobResult(
        source=source.directory,
        output=source.output,
        episode=source.episode,
        camera=source.camera,
        status=JobStatus.failed,
        failure=FailureKind.input,
        reason=error.message,
    )


def encode_sources(
    sources: list[EpisodeSource],
    options: EncodeOptions,
    ffmpeg_binary: FFmpegBinary,
    *,
    on_result: ResultCallback | None = None,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
    plan: EncoderPlan | None = None,
) -> list[JobResult]:
    """Encode episodes one after the other; one bad episode never stops the others."""
    token = token or CancelToken()
    plan = plan or plan_encoder(options, ffmpeg_binary)
    limiter = SessionLimiter(options.gpu_sessions)
    results: list[JobResult] = []
    try:
        for source in sources:
            try:
                job = plan_job(source, options, plan.primary)
            except EncodectlError as error:
                result = rejected(source, error)
            else:
                progress_hook = (lambda p, j=job: on_progress(j, p)) if on_progress else None
                result = run_with_fallback(
                    job,
                    ffmpeg_binary,
                    fallback=plan.fallback,
                    fallback_note=plan.fallback_note,
                    limiter=limiter,
                    overwrite=options.overwrite,
                    dry_run=options.dry_run,
                    token=token,
                    on_progress=progress_hook,
                )
            results.append(result)
            if on_result is not None:
                on_result(result)
    except KeyboardInterrupt as interrupt:
        token.cancel()
        raise Interrupted() from interrupt
    return results


def encode(path: str | os.PathLike[str] | list[str | os.PathLike[str]], **options: Any) -> list[JobResult]:
    """Encode an episode folder or dataset tree; the Python face of ``encodectl encode``.

    Keyword options are those of EncodeOptions (fps, quality, preset, on_gap, output, overwrite, …).
    """
    paths = [Path(p) for p in (path if isinstance(path, list) else [path])]
    settings = EncodeOptions(**options)
    ffmpeg_binary = find_ffmpeg(settings.ffmpeg)
    return encode_sources(discover(paths, settings.output), settings, ffmpeg_binary)


def exit_code(results: list[JobResult]) -> int:
    """0 all done; 2 when nothing could be encoded because the input was rejected; 1 any other failure."""
    failed = [r for r in results if r.status is JobStatus.failed]
    if not failed:
        return 0
    if len(failed) == len(results) and all(r.failure is FailureKind.input for r in failed):
        return 2
    return 1
