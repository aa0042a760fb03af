"""The engine behind ``encodectl encode`` and ``encodectl.encode()``: sync or async.

It knows nothing of the terminal: progress goes into a RunTracker that callers
may render, and every camera-episode comes back as a JobResult.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .encoder_choice import EncoderPlan, plan_encoder
from .errors import Interrupted
from .ffmpeg_binary import find_ffmpeg
from .ffmpeg_process import CancelToken
from .layout import EpisodeSource, discover
from .models import EncodeOptions, FailureKind, FFmpegBinary, JobResult, JobStatus, Mode, Priority, options_from
from .pool import EncoderPool
from .progress import RunTracker
from .runner import encode_one
from .sessions import SessionLimiter


def encode_sources(
    sources: list[EpisodeSource],
    options: EncodeOptions,
    ffmpeg_binary: FFmpegBinary,
    *,
    tracker: RunTracker | None = None,
    plan: EncoderPlan | None = None,
) -> list[JobResult]:
    """Encode episodes (in the order given); one bad episode never stops the others."""
    tracker = tracker or RunTracker()
    plan = plan or plan_encoder(options, ffmpeg_binary)
    if options.mode is Mode.sync:
        return _encode_inline(sources, options, ffmpeg_binary, tracker, plan)
    try:
        # The pool's exit cancels on any exception (its ffmpegs and temporary files with it) and waits otherwise.
        with EncoderPool(tracker=tracker, ffmpeg_binary=ffmpeg_binary, plan=plan, encode_options=options) as pool:
            futures = [pool.submit_source(source) for source in sources]  # blocks while the queue is full
            return pool.results(futures)
    except KeyboardInterrupt as interrupt:
        raise Interrupted() from interrupt


def _encode_inline(
    sources: list[EpisodeSource],
    options: EncodeOptions,
    ffmpeg_binary: FFmpegBinary,
    tracker: RunTracker,
    plan: EncoderPlan,
) -> list[JobResult]:
    token = CancelToken()
    limiter = SessionLimiter(options.gpu_sessions)
    job_ids = [tracker.add(source.episode, source.camera) for source in sources]
    results: list[JobResult] = []
    try:
        for source, job_id in zip(sources, job_ids, strict=True):
            result = encode_one(
                source, options, plan, ffmpeg_binary, limiter=limiter, token=token, listener=tracker.listener(job_id)
            )
            tracker.finish(job_id, result)
            results.append(result)
    except KeyboardInterrupt as interrupt:
        token.cancel()
        raise Interrupted() from interrupt
    return results


def encode(path: str | os.PathLike[str] | list[str | os.PathLike[str]], **options: Any) -> list[JobResult]:
    """Encode an episode folder or dataset tree; the Python face of ``encodectl encode``.

    Keyword options are those of EncodeOptions (fps, quality, preset, on_gap, output,
    overwrite, device, mode, workers, …). Like the command, it encodes at normal priority
    unless told `priority="low"`: someone is waiting for the videos.
    """
    paths = [Path(p) for p in (path if isinstance(path, list) else [path])]
    settings = options_from({"priority": Priority.normal, **options})
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
