"""Run one encode job end to end: stage, encode to a temporary name, verify, then rename.

A file appears at the final path only after it has been read back and matched
frame count, frame rate, size and pixel format; every other outcome removes the
temporary file, whatever stopped the job.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import EncodectlError, EncodeError, InputError, Interrupted, VerificationError
from ..ffmpeg.command import build_encode_command, image2_input
from ..ffmpeg.encoder_choice import EncoderPlan
from ..ffmpeg.encoders import depth_settings
from ..ffmpeg.log import encoder_failure, is_decoder_failure, meaningful_error
from ..ffmpeg.process import CancelToken, run_ffmpeg, signals_deferred
from ..frames.layout import EpisodeSource
from ..frames.sequence import (
    check_frames_unchanged,
    check_gaps,
    first_frame_is_depth,
    scan_frames,
    sequence_digest,
)
from ..models import (
    DepthMode,
    DepthResult,
    EncodeJob,
    EncodeOptions,
    EncoderSettings,
    FailureKind,
    FFmpegBinary,
    FileIdentity,
    FrameSequence,
    GapPolicy,
    JobResult,
    JobStatus,
)
from ..syscalls import rename_noreplace
from .progress import JobListener
from .sessions import SessionLimiter, is_session_limit
from .verify import source_frame, undecodable_frames, verify_output

TEMP_SUFFIX = ".partial"
STAGING_SUFFIX = ".frames"
# What an interrupted encode may leave beside a video. Not a stream's files: they may hold the
# only copy of a recording, and only `recover` (or watch, whose frames are on disk) removes them.
LEFTOVER_SUFFIXES = (TEMP_SUFFIX, STAGING_SUFFIX)
APPEARED_MEANWHILE = "appeared meanwhile: another run made this video first; it is kept, this one removed"


# Options that shape colour video; depth frames take them only with --depth lossy.
COLOUR_OPTIONS = ("codec", "encoder", "quality", "preset", "bitrate", "device", "profile")


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
    return JobResult(
        source=source.directory,
        output=source.output,
        episode=source.episode,
        camera=source.camera,
        status=status,
        **fields,
    )


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


# A file name holds at most 255 bytes on Linux's file systems. A hidden name adds, around the video's
# name, a dot, then ".<tag>" (at most 15 bytes: "<pid>-<6 hex>" or "detached-<6 hex>"), then a suffix
# (at most 11: ".stream.mp4"). A longer video name is shortened in the hidden ones, so that they fit
# whenever the video's own name does.
NAME_MAX = 255
_HIDDEN_EXTRA = len(".") + len(".detached-000000") + len(".stream.mp4")
_HIDDEN_ROOM = NAME_MAX - _HIDDEN_EXTRA
_DIGEST = 8


def hidden_prefix(output: Path) -> str:
    """ ".NAME.", which begins every hidden file beside `output`; a NAME too long for the hidden names to
    fit becomes its start, "~", 8 hex digits of a hash of the whole name, and its suffix (".mp4"), the
    same on every call so the stale-file sweep and `recover` recognise it."""
    name = os.fsencode(output.name)
    if len(name) <= _HIDDEN_ROOM:
        return f".{output.name}."
    suffix = os.fsencode(output.suffix)
    digest = hashlib.sha256(name).hexdigest()[:_DIGEST]
    cut = _HIDDEN_ROOM - len(suffix) - 1 - _DIGEST
    while cut > 0 and name[cut] & 0xC0 == 0x80:  # never half a UTF-8 character
        cut -= 1
    return f".{os.fsdecode(name[:cut])}~{digest}{output.suffix}."


def temp_stem(output: Path) -> Path:
    """A hidden name beside the output, unique per attempt, that says what it belongs to and which
    process wrote it (".NAME.mp4.<pid>-<id>"); suffixes tell its files apart."""
    return output.with_name(f"{hidden_prefix(output)}{os.getpid()}-{secrets.token_hex(3)}")


def temp_paths(output: Path) -> tuple[Path, Path]:
    stem = temp_stem(output).name
    return output.with_name(stem + TEMP_SUFFIX), output.with_name(stem + STAGING_SUFFIX)


def hidden_files(output: Path) -> list[Path]:
    """Every hidden file beside `output` (listed, not globbed: a name may hold '[' or '*')."""
    prefix = hidden_prefix(output)
    try:
        with os.scandir(output.parent) as entries:
            return [Path(entry.path) for entry in entries if entry.name.startswith(prefix)]
    except FileNotFoundError:
        return []


def remove_stale_temp_files(output: Path) -> list[Path]:
    """Remove what runs that died (SIGKILL, power loss) left beside `output`; return what was removed.

    Temporary names carry the writer's process id, so files of a live run are left alone.
    """
    removed = []
    prefix = hidden_prefix(output)
    for path in hidden_files(output):
        if not path.name.endswith(LEFTOVER_SUFFIXES):
            continue
        pid = path.name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            _kill_orphans_writing(path)
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _kill_orphans_writing(path: Path) -> None:
    """An ffmpeg left running by a killed encodectl (it has a session of its own): stop it too."""
    proc = Path("/proc")
    if not proc.is_dir():
        return
    needle = str(path).encode()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie answers signals, yet it is dead: it waits only for its parent (or init) to reap it
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


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
        frames_digest=sequence_digest(frames),
        encoder=job.encoder.encoder,
        depth=_depth_result(job),
    )


def _depth_result(job: EncodeJob) -> DepthResult | None:
    settings = job.encoder
    if settings.depth is None:
        return None
    return DepthResult(
        mode=settings.depth,
        lossless=settings.depth is DepthMode.lossless,
        container=settings.container,
        quantization=settings.quantization,
    )


def depth_note(job: EncodeJob) -> str | None:
    """What became of depth frames, in one line for the result."""
    settings = job.encoder
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
    result = base_result(job, JobStatus.done).with_ffmpeg(ffmpeg_binary)
    temp_output, staging_dir = temp_paths(job.output)
    # Depth kept exactly: the encode hashes every frame it reads, so that the check after it decodes the video
    # only, instead of reading and decoding every source frame again (about half the time of the whole job).
    source_hashes = staging_dir / "source.framemd5" if job.encoder.keeps_depth else None
    argv = build_encode_command(
        job, ffmpeg_binary, temp_output, staging_dir if job.held_frames else None, source_hashes=source_hashes
    )
    result.command = argv
    if job.held_frames:
        result.notes.append(f"held {len(job.held_frames)} missing frame(s) by repeating the previous one")
    if result.padded_from:
        result.notes.append(f"padded {result.padded_from} to {result.width}x{result.height}, not rescaled")
    note = depth_note(job)
    if note is not None:
        result.notes.append(note)
    if dry_run:
        result.status = JobStatus.planned
        return result

    started = time.perf_counter()
    try:
        with _cleaned_up(temp_output, staging_dir):
            job.output.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temp_files(job.output)
            if job.held_frames:
                _stage_held_frames(job, staging_dir)
            if source_hashes is not None:
                staging_dir.mkdir(exist_ok=True)
            if listener is not None:
                listener.started(job.encoder.encoder, job.frame_count)
            on_progress = listener.progress if listener is not None else None
            returncode, log_tail = run_ffmpeg(argv, token=token, on_progress=on_progress, nice=nice)
            if returncode != 0:
                _raise_ffmpeg_failure(job, ffmpeg_binary, returncode, log_tail, staging_dir)
            check_frames_unchanged(job.frames)  # what ffmpeg read is what was checked (else say so, not "verify")
            if listener is not None:
                listener.verifying()
            _, hashed = verify_output(ffmpeg_binary, job, temp_output, staging_dir, source_hashes)
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


def _stage_held_frames(job: EncodeJob, staging_dir: Path) -> None:
    """Links numbered 0..N-1 in which each missing frame points at the frame before it."""
    frames = job.frames
    staging_dir.mkdir()
    present = set(frames.numbers)
    held = frames.first
    for index, number in enumerate(range(frames.first, frames.last + 1)):
        if number in present:
            held = number
        source, link = frames.path(held).absolute(), staging_dir / f"{index:06d}{frames.extension}"
        try:
            link.symlink_to(source)
        except OSError:
            os.link(source, link)  # file systems without symlinks (some network mounts)
            _relinked(frames, held)


def _relinked(frames: FrameSequence, number: int) -> None:
    """A hard link changes its file's ctime: take the new one, if nothing else about the frame changed."""
    before, now = frames.identities.get(number), FileIdentity.of_path(frames.path(number))
    if before is not None and now is not None and before[:4] == now[:4]:
        frames.identities[number] = now


def commit_file(temp_output: Path, output: Path, replace: bool = True) -> None:
    """Make the verified file durable, then give it its final name in one atomic step. Without `replace`,
    a file that took the name meanwhile (another run's video) stays, and FileExistsError says so."""
    with temp_output.open("rb") as handle:
        os.fsync(handle.fileno())
    if replace:
        temp_output.replace(output)
    else:
        rename_noreplace(temp_output, output)
    directory = os.open(output.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


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
