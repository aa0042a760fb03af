"""The engine behind ``encodectl encode`` and ``encodectl.encode()``: sync or async, here or on Dask.

It knows nothing of the terminal: progress goes into a RunTracker that callers
may render, notes for the user go to a `say` callback, and every camera-episode
comes back as a JobResult.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Interrupted, UsageError
from ..ffmpeg.encoder_choice import EncoderPlan, plan_encoder
from ..ffmpeg.process import CancelToken
from ..frames.layout import EpisodeSource, discover
from ..job.progress import RunTracker
from ..job.runner import encode_one
from ..job.sessions import SessionLimiter
from ..lerobot.meta import dataset_containing, is_lerobot_dataset
from ..models import EncodeOptions, FailureKind, FFmpegBinary, JobResult, JobStatus, Mode
from .pool import EncoderPool

if TYPE_CHECKING:
    from ..job.source_runner import SourceRunner

Say = Callable[[str], None]


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


def encode_paths(
    paths: list[Path], options: EncodeOptions, run: SourceRunner, binary: FFmpegBinary, *, delete_frames: bool = False
) -> list[JobResult]:
    """Every path: LeRobot datasets finished in place (see lerobot_finish), the others as episode folders.

    `run` encodes a list of episodes with given options (the local pool, or Dask)."""
    if not paths:
        discover(paths)  # the one "no path given" message
    datasets = [path.absolute() for path in paths if is_lerobot_dataset(path)]
    others = [path for path in paths if not is_lerobot_dataset(path)]
    for path in others:
        inside = dataset_containing(path)
        if inside is not None and (options.output is None or options.output.absolute().is_relative_to(inside)):
            raise UsageError(
                f"{path} is inside the LeRobot dataset {inside}: give the dataset's root to add its videos where "
                "LeRobot reads them (or -o a folder outside it for loose videos)"
            )
    sources = discover(others, options.output) if others else []
    if datasets:  # imported here: folders of frames never need LeRobot's metadata, stats and commit code
        from ..lerobot.finish_dataset import finish_datasets
    results = finish_datasets(datasets, options, binary, run, delete_frames=delete_frames) if datasets else []
    results = (run(sources, options) if sources else []) + results
    # A dataset's episodes that needed no encode (already in it, cut off) were never near an ffmpeg: this one's.
    return [result if result.ffmpeg_path is not None else result.with_ffmpeg(binary) for result in results]


def exit_code(results: list[JobResult]) -> int:
    """0 all done; 2 when nothing could be encoded because the input was rejected; 1 any other failure."""
    failed = [r for r in results if r.status is JobStatus.failed]
    if not failed:
        return 0
    if len(failed) == len(results) and all(r.failure is FailureKind.input for r in failed):
        return 2
    return 1


def fallback_announcement(plan: EncoderPlan) -> str | None:
    """What to tell the user, once, when a GPU was asked for but the CPU will be used."""
    if not plan.fallback_note:
        return None
    return (
        f"{plan.fallback_note} ({plan.detail}); encoding on the CPU with {plan.primary.encoder} "
        "(--strict to fail instead)"
    )


def source_runner(
    binary: FFmpegBinary,
    *,
    executor: str = "local",
    gpu_resource: str | None = None,
    tracker: RunTracker | None = None,
    say: Say | None = None,
) -> SourceRunner:
    """How every command encodes a list of episodes: on this machine (inline or the pool, as the options
    say) or on Dask (`executor` "dask" or "dask:ADDRESS"); a CPU fallback decided up front is said once."""
    from .dask_executor import parse_executor

    kind, address = parse_executor(executor)
    tracker = tracker or RunTracker()
    tell = say or (lambda _: None)
    announced: set[str] = set()

    def run(sources: list[EpisodeSource], options: EncodeOptions) -> list[JobResult]:
        if kind == "dask":
            from .dask_executor import encode_on_dask

            return encode_on_dask(
                sources, options, binary, address=address, tracker=tracker, gpu_resource=gpu_resource, say=tell
            )
        plan = plan_encoder(options, binary)
        note = fallback_announcement(plan)
        if note is not None and note not in announced:
            announced.add(note)
            tell(note)
        return encode_sources(sources, options, binary, tracker=tracker, plan=plan)

    return run
