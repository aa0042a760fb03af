"""Run one encode job end to end: stage, encode to a temporary name, verify, then rename.

A file appears at the final path only after it has been read back and matched
frame count, frame rate, size and pixel format; every other outcome removes the
temporary file, whatever stopped the job.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .command import build_encode_command
from .errors import EncodectlError, EncodeError, Interrupted, VerificationError
from .ffmpeg_process import CancelToken, Progress, run_ffmpeg
from .models import EncodeJob, FailureKind, FFmpegBinary, JobResult, JobStatus
from .verify import check_video, last_meaningful_line, read_video

TEMP_SUFFIX = ".partial"
STAGING_SUFFIX = ".frames"


def temp_paths(output: Path) -> tuple[Path, Path]:
    """Hidden names beside the output, unique per attempt, that say what they belong to."""
    token = f"{os.getpid()}-{secrets.token_hex(3)}"
    stem = f".{output.name}.{token}"
    return output.with_name(stem + TEMP_SUFFIX), output.with_name(stem + STAGING_SUFFIX)


def leftover_temp_files(output: Path) -> list[Path]:
    """Temporary files an interrupted run left for this output."""
    pattern = f".{output.name}.*"
    return [p for p in output.parent.glob(pattern) if p.name.endswith((TEMP_SUFFIX, STAGING_SUFFIX))]


def base_result(job: EncodeJob, status: JobStatus) -> JobResult:
    frames = job.frames
    width, height = job.output_size
    padded = (width, height) != (frames.width, frames.height)
    return JobResult(
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
        encoder=job.encoder.encoder,
    )


def run_job(
    job: EncodeJob,
    ffmpeg_binary: FFmpegBinary,
    *,
    overwrite: bool = False,
    dry_run: bool = False,
    token: CancelToken | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_verifying: Callable[[], None] | None = None,
    nice: int = 0,
) -> JobResult:
    """Encode one job; failures come back as a failed JobResult, Ctrl-C/cancel as Interrupted."""
    result = base_result(job, JobStatus.done)
    if job.output.exists() and not overwrite and not dry_run:
        result.status = JobStatus.skipped
        result.reason = "output exists (use --overwrite to redo it)"
        result.size_bytes = job.output.stat().st_size
        return result
    temp_output, staging_dir = temp_paths(job.output)
    argv = build_encode_command(job, ffmpeg_binary, temp_output, staging_dir if job.held_frames else None)
    result.command = argv
    if job.held_frames:
        result.notes.append(f"held {len(job.held_frames)} missing frame(s) by repeating the previous one")
    if result.padded_from:
        result.notes.append(f"padded {result.padded_from} to {result.width}x{result.height} (no rescaling)")
    if dry_run:
        result.status = JobStatus.planned
        return result

    started = time.perf_counter()
    try:
        with _cleaned_up(temp_output, staging_dir):
            job.output.parent.mkdir(parents=True, exist_ok=True)
            if job.held_frames:
                _stage_held_frames(job, staging_dir)
            returncode, log_tail = run_ffmpeg(argv, token=token, on_progress=on_progress, nice=nice)
            if returncode != 0:
                raise EncodeError(
                    f"ffmpeg failed (exit {returncode}): {last_meaningful_line(chr(10).join(log_tail))}"
                )
            if on_verifying is not None:
                on_verifying()
            info = read_video(ffmpeg_binary, temp_output, job.verify)
            check_video(info, job, job.output)
            _commit(temp_output, job.output)
            result.size_bytes = job.output.stat().st_size
    except Interrupted:
        raise
    except EncodectlError as error:
        result.status = JobStatus.failed
        result.failure = FailureKind.verify if isinstance(error, VerificationError) else FailureKind.encoding
        result.reason = error.message
    except OSError as error:
        result.status = JobStatus.failed
        result.failure = FailureKind.encoding
        result.reason = f"{error.strerror or error}: {error.filename or job.output}"
    result.seconds = time.perf_counter() - started
    return result


@contextlib.contextmanager
def _cleaned_up(temp_output: Path, staging_dir: Path) -> Iterator[None]:
    try:
        yield
    finally:
        temp_output.unlink(missing_ok=True)
        shutil.rmtree(staging_dir, ignore_errors=True)


def _stage_held_frames(job: EncodeJob, staging_dir: Path) -> None:
    """Links numbered 0..N-1 in which each missing frame points at the frame before it."""
    frames = job.frames
    staging_dir.mkdir()
    present = set(frames.numbers)
    source = frames.path(frames.first).absolute()
    for index, number in enumerate(range(frames.first, frames.last + 1)):
        if number in present:
            source = frames.path(number).absolute()
        link = staging_dir / f"{index:06d}{frames.extension}"
        try:
            link.symlink_to(source)
        except OSError:
            os.link(source, link)  # file systems without symlinks (some network mounts)


def _commit(temp_output: Path, output: Path) -> None:
    """Make the verified file durable, then give it its final name in one atomic step."""
    with temp_output.open("rb") as handle:
        os.fsync(handle.fileno())
    temp_output.replace(output)
    directory = os.open(output.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
