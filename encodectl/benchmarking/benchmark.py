"""``encodectl bench``: the guide's four modes, measured on this machine.

Each mode runs a recording session like a real one: a simulated recorder writes
every camera's frames in real time, then applies the mode. Sync modes encode
before the next episode may start (the recorder is blocked); async modes hand
the episode to the pool and go on recording. GPU modes run only where a hardware
encoder passed its test encode, unless fallback to the CPU is allowed, and then
every number is labelled as such. What is measured is measures.py's; the
simulated recorder, recorder.py's; running each mode, here.
"""

from __future__ import annotations

import math
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EncodectlError, EncodeError, UsageError
from ..ffmpeg.child import run_child
from ..ffmpeg.encoder_choice import EncoderPlan, plan_encoder
from ..ffmpeg.frames_command import build_decode_images_command
from ..ffmpeg.log import meaningful_error
from ..frames.headers import image_header_of_bytes
from ..frames.layout import source_below
from ..frames.sequence import scan_frames
from ..frames.synthetic import FrameLoop
from ..models import Device, EncodeOptions, FFmpegBinary, JobResult, JobStatus, Mode
from ..run.engine import encode_sources
from ..run.pool import EncoderPool, cpu_count
from .measures import BenchMode, BenchOptions, BenchReport, EpisodeMeasure, ModeResult, summarize
from .quality import QualityScore, measure_quality
from .recorder import camera_names, frame_loops, in_real_time, record_episode

if TYPE_CHECKING:  # numpy and the stream encoder load only when a stream mode runs
    import numpy as np


def run_bench(
    options: BenchOptions,
    ffmpeg_binary: FFmpegBinary,
    encode_options: EncodeOptions,
    say: Callable[[str], None] = lambda _: None,
) -> BenchReport:
    if options.frames is not None and not options.frames.is_dir():
        raise UsageError(f"--frames {options.frames} is not a folder")
    results = []
    scratch = options.keep or Path(tempfile.mkdtemp(prefix="encodectl-bench-"))
    try:
        loops = frame_loops(options, ffmpeg_binary, scratch / "loops")
        for mode in options.modes:
            try:
                results.append(
                    _run_mode(mode, options, ffmpeg_binary, encode_options, loops, scratch / mode.value, say)
                )
            except EncodectlError as error:  # one mode failing must not cost the others their numbers
                say(f"{mode.value}: failed: {error.message}")
                results.append(ModeResult(mode=mode, available=True, failed=1, reason=f"failed: {error.message}"))
            if options.keep is None:
                shutil.rmtree(scratch / mode.value, ignore_errors=True)
    finally:
        if options.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return BenchReport(
        date=datetime.now(UTC),
        machine=f"{platform.system()} {platform.machine()}, {cpu_count()} cores",
        cores=cpu_count(),
        ffmpeg=f"{ffmpeg_binary.version} ({ffmpeg_binary.source})",
        options=options,
        results=results,
    )


@dataclass
class _Session:
    """One mode's recording session: what it records, where, and with what; the results of its jobs."""

    options: BenchOptions
    ffmpeg_binary: FFmpegBinary
    mode_options: EncodeOptions
    plan: EncoderPlan
    loops: list[FrameLoop]
    root: Path
    cameras: list[str]
    frames: int  # a camera's frames in an episode
    jobs: list[JobResult] = field(default_factory=list)


def _plan(mode: BenchMode, options: BenchOptions, encode_options: EncodeOptions, ffmpeg_binary: FFmpegBinary
          ) -> tuple[EncodeOptions, EncoderPlan | None, str | None]:  # fmt: skip
    """The options and encoder plan for a mode, or why the mode cannot run here."""
    mode_options = encode_options.model_copy(
        update={"device": mode.device, "mode": Mode.sync if mode.value.startswith("sync") else Mode.async_,
                "overwrite": True,
                "strict": mode.device is Device.gpu and not options.allow_fallback, "fps": options.fps}
    )  # fmt: skip
    try:
        return mode_options, plan_encoder(mode_options, ffmpeg_binary), None
    except EncodectlError as error:
        return mode_options, None, error.message


def _run_mode(
    mode: BenchMode,
    options: BenchOptions,
    ffmpeg_binary: FFmpegBinary,
    encode_options: EncodeOptions,
    loops: list[FrameLoop],
    root: Path,
    say: Callable[[str], None],
) -> ModeResult:
    mode_options, plan, unavailable = _plan(mode, options, encode_options, ffmpeg_binary)
    if plan is None:
        say(f"{mode.value}: unavailable here")
        return ModeResult(mode=mode, available=False, reason=unavailable)
    say(
        f"{mode.value}: recording {options.episodes} episode(s) of {options.seconds:g} s x {options.cameras} "
        f"camera(s) at {options.size[0]}x{options.size[1]}, {options.fps} fps; encoding with {plan.primary.encoder}"
    )
    result = ModeResult(mode=mode, available=True, encoder=plan.primary.encoder, episode_seconds=options.seconds)
    if plan.fallback_note:
        result.fallback, result.reason = True, f"CPU fallback: {plan.fallback_note} ({plan.detail})"
    frames = round(options.seconds * options.fps)
    session = _Session(options, ffmpeg_binary, mode_options, plan, loops, root, camera_names(options.cameras), frames)
    if mode.is_stream:
        _run_stream(result, session)
    else:
        _run_files(result, session, pooled=mode.is_async)
    summarize(result, session.jobs, frames, len(session.cameras), options)
    result.quality = _quality(session, stream=mode.is_stream)
    return result


def _run_files(result: ModeResult, session: _Session, pooled: bool) -> None:
    """Record each episode's frame files, then encode them: inline (sync: the recorder waits), or handed to the
    pool (async: it records on, and each episode's encode time is known once its videos are verified)."""
    s = session
    handed_at: dict[int, float] = {}
    done_at: dict[int, list[float]] = {}
    pool = EncoderPool(ffmpeg_binary=s.ffmpeg_binary, plan=s.plan, encode_options=s.mode_options) if pooled else None
    try:
        for episode in range(s.options.episodes):
            missed = record_episode(s.root, episode, s.cameras, s.loops, s.frames, s.options.fps)
            folders = [s.root / "images" / camera / f"episode_{episode:06d}" for camera in s.cameras]
            sources = [source_below(s.root, folder, None) for folder in folders]
            handed = handed_at[episode] = time.perf_counter()
            if pool is None:
                s.jobs.extend(encode_sources(sources, s.mode_options, s.ffmpeg_binary, plan=s.plan))
                blocked = encode = time.perf_counter() - handed
            else:
                futures = [pool.submit_source(source) for source in sources]
                blocked = time.perf_counter() - handed
                done_at[episode] = []
                for future in futures:
                    future.add_done_callback(_stamp(done_at[episode], s.jobs))
                encode = 0.0  # known once its videos are verified
            result.episodes.append(EpisodeMeasure(episode=episode, blocked_s=blocked, encode_s=encode,
                                                  missed_deadlines=missed))  # fmt: skip
        recording_ended = time.perf_counter()
        if pool is not None:
            pool.close(wait=True)
            pool = None
            for measure in result.episodes:
                measure.encode_s = max(done_at[measure.episode]) - handed_at[measure.episode]
        all_verified = max([recording_ended, *(t for stamps in done_at.values() for t in stamps)])
        result.until_verified_s = all_verified - recording_ended
    finally:
        if pool is not None:
            pool.close(wait=False)


def _quality(session: _Session, stream: bool) -> QualityScore | None:
    """The picture quality of the first camera's first episode, against the frames it was made from."""
    s = session
    if stream:
        if not s.jobs or s.jobs[0].status is not JobStatus.done or s.options.frames is not None:
            return None
        reference = scan_frames(s.root.parent / "loops" / "0")
        return measure_quality(s.ffmpeg_binary, str(s.jobs[0].output), reference, s.options.fps)
    first = next((job for job in s.jobs if job.status is JobStatus.done and job.camera == s.cameras[0]
                  and job.episode == "episode_000000"), None)  # fmt: skip
    if first is None:
        return None
    return measure_quality(s.ffmpeg_binary, str(first.output), scan_frames(first.source), s.options.fps)


def _run_stream(result: ModeResult, session: _Session) -> None:
    """Stream each camera's frames straight into a StreamEncoder; the recorder waits only for close()."""
    decoded: dict[int, list[np.ndarray[Any, Any]]] = {}
    for loop in session.loops:  # with --frames every camera replays the same loop: decode it once
        if id(loop) not in decoded:
            decoded[id(loop)] = decode_loop(session.ffmpeg_binary, loop)
    arrays = [decoded[id(loop)] for loop in session.loops]
    call_seconds: list[float] = []
    for episode in range(session.options.episodes):
        _stream_episode(result, session, episode, arrays, call_seconds)
    if call_seconds:
        call_seconds.sort()
        result.add_frame_calls = len(call_seconds)
        result.add_frame_p99_ms = call_seconds[math.ceil(len(call_seconds) * 0.99) - 1] * 1000  # nearest rank
        result.add_frame_max_ms = call_seconds[-1] * 1000


def _stream_episode(
    result: ModeResult,
    session: _Session,
    episode: int,
    arrays: list[list[np.ndarray[Any, Any]]],
    call_seconds: list[float],
) -> None:
    """One episode streamed in real time, each add_frame call timed; then every camera's video closed."""
    from ..stream.encoder import StreamEncoder

    s = session
    height, width = arrays[0][0].shape[:2]
    encoders = [
        StreamEncoder(
            s.root / "videos" / camera / f"episode_{episode:06d}.mp4",
            width,
            height,
            s.options.fps,
            camera=camera,
            episode=f"episode_{episode:06d}",
            ffmpeg_binary=s.ffmpeg_binary,
            plan=s.plan,
            **s.mode_options.model_dump(include={"quality", "preset", "codec", "gop"}),
        )
        for camera in s.cameras
    ]

    def add(index: int) -> None:
        for encoder, frames_of_camera in zip(encoders, arrays, strict=True):
            called = time.perf_counter()
            encoder.add_frame(frames_of_camera[index % len(frames_of_camera)])
            call_seconds.append(time.perf_counter() - called)

    try:
        missed = in_real_time(s.frames, s.options.fps, add)
    except BaseException:  # Ctrl-C included: their ffmpegs have sessions of their own, so stop them here
        for encoder in encoders:
            encoder.abort()
        raise
    closing = time.perf_counter()
    result.spilled_bytes += sum(encoder.stats.spilled_bytes for encoder in encoders)
    s.jobs.extend(encoder.close() for encoder in encoders)
    waited = time.perf_counter() - closing
    blocked = waited + sum(encoder.stats.blocked_seconds for encoder in encoders)
    # The encoder works during the recording: its time is the episode's plus what close() waited.
    result.episodes.append(EpisodeMeasure(episode=episode, blocked_s=blocked, encode_s=s.options.seconds + waited,
                                          missed_deadlines=missed))  # fmt: skip
    result.until_verified_s = waited


def decode_loop(ffmpeg_binary: FFmpegBinary, loop: FrameLoop) -> list[np.ndarray[Any, Any]]:
    """The loop's encoded frames as RGB arrays, decoded once by ffmpeg (no image library needed)."""
    import numpy as np

    header = image_header_of_bytes(loop.frames[0])
    width, height = header.width, header.height
    completed = run_child(build_decode_images_command(ffmpeg_binary), input=b"".join(loop.frames))
    if completed.returncode != 0:  # an EncodectlError: this mode fails, the others keep their numbers
        log = completed.stderr.decode(errors="replace").splitlines()
        raise EncodeError(f"cannot decode the frame loop: {meaningful_error(log)}")
    size = width * height * 3
    data = completed.stdout
    return [
        np.frombuffer(data[i : i + size], dtype=np.uint8).reshape(height, width, 3) for i in range(0, len(data), size)
    ]


def _stamp(stamps: list[float], jobs: list[JobResult]) -> Callable[[Future[JobResult]], None]:
    def done(future: Future[JobResult]) -> None:  # list.append is atomic: no lock for the workers' callbacks
        stamps.append(time.perf_counter())
        if not future.cancelled() and future.exception() is None:
            jobs.append(future.result())

    return done
