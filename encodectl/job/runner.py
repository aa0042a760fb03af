"""Run one encode job end to end: stage, encode to a temporary name, verify, then rename; and a failed
hardware encode redone on the CPU.

A file appears at the final path only after it has been read back and matched
frame count, frame rate, size and pixel format; every other outcome removes the
temporary file, whatever stopped the job. Planning the job is planning.py's; the
temporary names, the sweep and the durable rename are encodectl.outputs'.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EncodectlError, EncodeError, InputError, Interrupted, VerificationError
from ..ffmpeg.command import build_encode_command, image2_input
from ..ffmpeg.encoder_choice import EncoderPlan
from ..ffmpeg.log import encoder_failure, is_decoder_failure, meaningful_error
from ..ffmpeg.process import CancelToken, run_ffmpeg, signals_deferred
from ..frames.layout import EpisodeSource
from ..frames.sequence import check_frames_unchanged, sequence_digest
from ..models import (
    EncodeJob,
    EncodeOptions,
    EncoderSettings,
    FailureKind,
    FFmpegBinary,
    JobResult,
    JobStatus,
)
from ..outputs.names import temp_paths
from ..outputs.publish import commit_file
from ..outputs.sweep import remove_stale_temp_files
from .planning import prepare_job
from .progress import JobListener
from .sessions import SessionLimiter, is_session_limit
from .staging import stage_held_frames
from .verify import source_frame, undecodable_frames, verify_output

APPEARED_MEANWHILE = "appeared meanwhile: another run made this video first; it is kept, this one removed"

# Options that shape colour video; depth frames take them only with --depth lossy.
COLOUR_OPTIONS = ("codec", "encoder", "quality", "preset", "bitrate", "device", "profile")


def encode_one(
    source: EpisodeSource,
    options: EncodeOptions,
    plan: EncoderPlan,
    ffmpeg_binary: FFmpegBinary,
    *,
    limiter: SessionLimiter,
    token: CancelToken,
    listener: JobListener | None = None,
    threads: int | None = None,
) -> JobResult:
    """One episode, start to finish, the same way in sync mode and in a pool worker."""
    prepared = prepare_job(source, options, plan.primary)
    if isinstance(prepared, JobResult):
        return prepared.with_ffmpeg(ffmpeg_binary)
    prepared.threads = prepared.threads or threads  # plan_job took --threads; else the pool's share
    colour = not prepared.encoder.keeps_depth  # depth kept exactly has an encoder of its own, on the CPU
    result = run_with_fallback(
        prepared,
        ffmpeg_binary,
        fallback=plan.fallback if colour else None,
        fallback_note=plan.fallback_note if colour else None,
        limiter=limiter,
        listener=listener,
        dry_run=options.dry_run,
        token=token,
        nice=options.nice,
        overwrite=options.overwrite,
    )
    # A dataset's depth camera is encoded as its LeRobot reads it, whatever the options (which a dataset's own
    # settings fill in): the note is for options a user gave for plain depth frames.
    if (
        prepared.encoder.keeps_depth
        and source.expected_depth is None
        and options.model_fields_set & set(COLOUR_OPTIONS)
    ):
        given = ", ".join(f"--{name}" for name in COLOUR_OPTIONS if name in options.model_fields_set)
        result.notes.append(f"{given} apply to colour frames, not to depth frames (--depth lossy for that)")
    return result


def run_job(
    job: EncodeJob,
    ffmpeg_binary: FFmpegBinary,
    *,
    dry_run: bool = False,
    token: CancelToken | None = None,
    listener: JobListener | None = None,
    nice: int = 0,
    overwrite: bool = False,
) -> JobResult:
    """Encode one job; failures come back as a failed JobResult, Ctrl-C/cancel as Interrupted.

    Without `overwrite`, a video that appeared at the output while this one was made is kept."""
    result = JobResult.of_job(job, JobStatus.done, sequence_digest(job.frames)).with_ffmpeg(ffmpeg_binary)
    temp_output, staging_dir = temp_paths(job.output)
    # Depth kept exactly: the encode hashes every frame it reads, so that the check after it decodes the video
    # only, instead of reading and decoding every source frame again (about half the time of the whole job).
    source_hashes = staging_dir / "source.framehash" if job.encoder.keeps_depth else None
    argv = build_encode_command(
        job, ffmpeg_binary, temp_output, staging_dir if job.held_frames else None, source_hashes=source_hashes
    )
    result.command = argv
    if dry_run:
        result.status = JobStatus.planned
        return result
    attempt = _Attempt(job, ffmpeg_binary, argv, temp_output, staging_dir, source_hashes)
    started = time.perf_counter()
    try:
        with _cleaned_up(temp_output, staging_dir):
            attempt.run(result, token=token, listener=listener, nice=nice, overwrite=overwrite)
    except Interrupted:
        raise
    except EncodectlError as error:
        result.status = JobStatus.failed
        result.failure = _failure_kind(error)
        result.reason = error.message
    except OSError as error:
        result.status = JobStatus.failed
        result.failure = FailureKind.encoding
        result.reason = f"{error.strerror or error}: {error.filename or job.output}"
    result.seconds = time.perf_counter() - started
    return result


@dataclass
class _Attempt:
    """One run of a job's ffmpeg, from the temporary name to the final one."""

    job: EncodeJob
    ffmpeg_binary: FFmpegBinary
    argv: list[str]
    temp_output: Path
    staging_dir: Path
    source_hashes: Path | None

    def run(
        self, result: JobResult, *, token: CancelToken | None, listener: JobListener | None, nice: int, overwrite: bool
    ) -> None:
        """Stage, encode, verify and publish; raises what went wrong (the caller cleans up)."""
        job, temp_output, staging_dir = self.job, self.temp_output, self.staging_dir
        job.output.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(job.output)
        if job.held_frames:
            stage_held_frames(job, staging_dir)
        if self.source_hashes is not None:
            staging_dir.mkdir(exist_ok=True)
        if listener is not None:
            listener.started(job.encoder.encoder, job.frame_count)
        on_progress = listener.progress if listener is not None else None
        returncode, log_tail = run_ffmpeg(self.argv, token=token, on_progress=on_progress, nice=nice)
        if returncode != 0:
            _raise_ffmpeg_failure(job, self.ffmpeg_binary, returncode, log_tail, staging_dir)
        check_frames_unchanged(job.frames)  # what ffmpeg read is what was checked (else say so, not "verify")
        if listener is not None:
            listener.verifying()
        _, hashed = verify_output(self.ffmpeg_binary, job, temp_output, staging_dir, self.source_hashes)
        check_frames_unchanged(job.frames)  # and still is, after the read-back: the last look before the rename
        if result.depth is not None:
            result.depth.hashed_frames = hashed
        if token is not None and token.cancelled:
            raise Interrupted()  # cancelled while verifying: do not publish
        try:
            commit_file(temp_output, job.output, replace=overwrite)
        except FileExistsError:  # another run finished first: its verified video stays, ours goes
            result.status = JobStatus.skipped
            result.reason = APPEARED_MEANWHILE
        result.size_bytes = job.output.stat().st_size


def _failure_kind(error: EncodectlError) -> FailureKind:
    if isinstance(error, InputError):
        return FailureKind.input
    if isinstance(error, VerificationError):
        return FailureKind.verify
    return FailureKind.encoding


def _raise_ffmpeg_failure(
    job: EncodeJob, ffmpeg_binary: FFmpegBinary, returncode: int, log_tail: list[str], staging_dir: Path
) -> None:
    """Turn a failed ffmpeg run into the error that names its cause (and the bad frame, if one was)."""
    cause = meaningful_error(log_tail)
    if is_decoder_failure(log_tail, job.frames.decoder):
        pattern, start = image2_input(job, staging_dir if job.held_frames else None)
        bad = undecodable_frames(ffmpeg_binary, job, pattern, start)
        if bad:
            files = list(dict.fromkeys(source_frame(job, n - job.frames.first).name for n in bad))
            more = f" (and {len(files) - 1} more)" if len(files) > 1 else ""
            raise InputError(f"{job.frames.directory / files[0]} cannot be decoded: {cause}{more}")
    raise EncodeError(encoder_failure(job.encoder.encoder, returncode, log_tail))


@contextlib.contextmanager
def _cleaned_up(temp_output: Path, staging_dir: Path) -> Iterator[None]:
    try:
        yield
    finally:
        with signals_deferred():  # a second Ctrl-C must not cut the clean-up short
            temp_output.unlink(missing_ok=True)
            shutil.rmtree(staging_dir, ignore_errors=True)


def run_with_fallback(
    job: EncodeJob,
    ffmpeg_binary: FFmpegBinary,
    *,
    fallback: EncoderSettings | None,
    limiter: SessionLimiter,
    fallback_note: str | None = None,
    listener: JobListener | None = None,
    **run_options: Any,
) -> JobResult:
    """Run a job on its encoder; a failed hardware encode is redone on the CPU encoder (unless strict).

    A session-limit failure first lowers the per-encoder cap and retries once on the
    hardware, so a card with few sessions keeps working at the concurrency it allows.
    `run_options` are run_job's (overwrite, dry_run, token, nice).
    """
    if not job.encoder.hardware:
        result = run_job(job, ffmpeg_binary, listener=listener, **run_options)
        result.fallback = fallback_note
        return result
    notes: list[str] = []
    result = _run_on_hardware(job, ffmpeg_binary, limiter, notes, listener=listener, **run_options)
    if result.status is JobStatus.failed and is_session_limit(result.reason):
        result = _run_on_hardware(job, ffmpeg_binary, limiter, notes, listener=listener, **run_options)
    if result.status is JobStatus.failed and result.failure is not FailureKind.input and fallback is not None:
        reason = result.reason
        if listener is not None:
            listener.falling_back(fallback.encoder)
        cpu_job = job.model_copy(update={"encoder": fallback})
        result = run_job(cpu_job, ffmpeg_binary, listener=listener, **run_options)
        result.fallback = reason
    result.notes[:0] = notes
    return result


def _run_on_hardware(
    job: EncodeJob, ffmpeg_binary: FFmpegBinary, limiter: SessionLimiter, notes: list[str], **run_options: Any
) -> JobResult:
    name = job.encoder.encoder
    with limiter.session(name):
        result = run_job(job, ffmpeg_binary, **run_options)
        if result.status is JobStatus.failed and is_session_limit(result.reason):
            cap = limiter.lower(name, limiter.running(name))
            notes.append(f"{name} hit its session limit; now at most {cap} at once")
    return result
