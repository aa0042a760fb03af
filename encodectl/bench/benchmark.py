"""``encodectl bench``: the guide's four modes, measured on this machine.

Each mode runs a recording session like a real one: a simulated recorder writes
every camera's frames in real time, then applies the mode. Sync modes encode
before the next episode may start (the recorder is blocked); async modes hand
the episode to the pool and go on recording. GPU modes run only where a hardware
encoder passed its test encode, unless fallback to the CPU is allowed, and then
every number is labelled as such.
"""

from __future__ import annotations

import math
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..errors import EncodectlError, EncodeError, UsageError
from ..ffmpeg.child import run_child
from ..ffmpeg.encoder_choice import EncoderPlan, plan_encoder
from ..ffmpeg.frames_command import build_decode_images_command
from ..ffmpeg.log import meaningful_error
from ..frames.headers import image_header_of_bytes
from ..frames.layout import source_below
from ..frames.sequence import scan_frames
from ..frames.synthetic import CAMERA_KEYS, FrameLoop
from ..models import Device, EncodeOptions, FFmpegBinary, FrameRate, JobResult, JobStatus, Mode
from ..run.engine import encode_sources
from ..run.pool import EncoderPool, cpu_count
from .quality import QualityScore, measure_quality

if TYPE_CHECKING:  # numpy and the stream encoder load only when a stream mode runs
    import numpy as np

    from ..stream.encoder import StreamEncoder


class BenchMode(StrEnum):
    sync_cpu = "sync-cpu"
    async_cpu = "async-cpu"
    sync_gpu = "sync-gpu"
    async_gpu = "async-gpu"
    stream_cpu = "stream-cpu"  # beyond the guide: StreamEncoder, frames never touch the disk
    stream_gpu = "stream-gpu"

    @property
    def is_async(self) -> bool:
        return self.value.startswith("async")

    @property
    def is_stream(self) -> bool:
        return self.value.startswith("stream")

    @property
    def device(self) -> Device:
        return Device.gpu if self.value.endswith("gpu") else Device.cpu


# The guide's performance table (90-second episode, 2 cameras), quoted as claims to compare against.
GUIDE_CLAIMS = {
    BenchMode.sync_cpu: ("~45-60s", "Blocks recording", "~135-150s"),
    BenchMode.async_cpu: ("~45-60s", "Non-blocking", "~90s + background"),
    BenchMode.sync_gpu: ("~15-25s", "Blocks recording", "~105-115s"),
    BenchMode.async_gpu: ("~15-25s", "Non-blocking", "~90s + background"),
}
GUIDE_CLAIMS[BenchMode.stream_cpu] = GUIDE_CLAIMS[BenchMode.stream_gpu] = ("(not in the guide)", "", "")
GUIDE_EPISODE_SECONDS = 90
GUIDE_MODES = [BenchMode.sync_cpu, BenchMode.async_cpu, BenchMode.sync_gpu, BenchMode.async_gpu]


class BenchOptions(BaseModel):
    modes: list[BenchMode] = GUIDE_MODES
    episodes: int = 2
    seconds: float = 10.0
    cameras: int = 2
    size: tuple[int, int] = (1280, 720)
    fps: FrameRate = Fraction(30)
    frames: Path | None = None  # the user's own frames, copied as the recording
    allow_fallback: bool = False
    keep: Path | None = None  # keep the recordings and videos here instead of a temporary folder


class EpisodeMeasure(BaseModel):
    episode: int
    blocked_s: float  # how long the recorder could not record because of encoding
    encode_s: float  # from the episode's hand-off to its last camera's video verified
    missed_deadlines: int


class ModeResult(BaseModel):
    mode: BenchMode
    available: bool
    reason: str | None = None  # why unavailable, or why the CPU was used instead
    encoder: str | None = None
    fallback: bool = False
    episodes: list[EpisodeMeasure] = []
    blocked_total_s: float = 0.0
    encode_per_episode_s: float = 0.0
    until_verified_s: float = 0.0  # after the last frame of the session, until every video was verified
    episode_seconds: float = 0.0
    frames_encoded: int = 0
    encode_fps: float = 0.0
    speed_x: float = 0.0  # recorded seconds (all cameras) encoded per second of encoding
    bytes: int = 0
    bitrate_kbps: float = 0.0
    quality: QualityScore | None = None  # of the first camera's first episode
    missed_deadlines: int = 0
    frames_due: int = 0
    failed: int = 0
    add_frame_p99_ms: float | None = None  # stream modes: the recorder's per-frame call, 99th percentile
    add_frame_max_ms: float | None = None
    add_frame_calls: int = 0
    spilled_bytes: int = 0  # stream modes: frames written to disk while the encoder was behind

    @property
    def total_episode_s(self) -> float:
        """The guide's "Total episode time": recording plus the time encoding kept the recorder waiting."""
        return self.episode_seconds + self.blocked_per_episode_s

    @property
    def blocked_per_episode_s(self) -> float:
        """0 for a mode that failed before its first episode was measured."""
        return self.blocked_total_s / len(self.episodes) if self.episodes else 0.0


class BenchReport(BaseModel):
    date: datetime
    machine: str
    cores: int
    ffmpeg: str
    options: BenchOptions
    results: list[ModeResult]


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
        loops = _frame_loops(options, ffmpeg_binary, scratch / "loops")
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


def _frame_loops(options: BenchOptions, ffmpeg_binary: FFmpegBinary, folder: Path) -> list[FrameLoop]:
    """What each camera writes: synthetic camera-like frames, or the user's own frames."""
    if options.frames is not None:
        sequence = scan_frames(options.frames)
        loop = FrameLoop.from_files([sequence.path(n) for n in sequence.numbers])
        return [loop] * options.cameras
    return [FrameLoop.synthetic(ffmpeg_binary, folder / str(n), options.size, seed=n) for n in range(options.cameras)]


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
    cameras = _camera_names(options.cameras)
    jobs: list[JobResult] = []
    handed_at: dict[int, float] = {}
    done_at: dict[int, list[float]] = {}
    if mode.is_stream:
        _run_stream(result, options, ffmpeg_binary, mode_options, plan, loops, root, cameras, frames, jobs)
        _summarize(result, jobs, frames, len(cameras), options)
        if jobs and jobs[0].status is JobStatus.done and options.frames is None:
            reference = scan_frames(root.parent / "loops" / "0")
            result.quality = measure_quality(ffmpeg_binary, str(jobs[0].output), reference, options.fps)
        return result
    pool = EncoderPool(ffmpeg_binary=ffmpeg_binary, plan=plan, encode_options=mode_options) if mode.is_async else None
    try:
        for episode in range(options.episodes):
            missed = _record_episode(root, episode, cameras, loops, frames, options.fps)
            sources = [
                source_below(root, root / "images" / camera / f"episode_{episode:06d}", None) for camera in cameras
            ]
            handed = handed_at[episode] = time.perf_counter()
            if pool is None:
                episode_results = encode_sources(sources, mode_options, ffmpeg_binary, plan=plan)
                jobs.extend(episode_results)
                blocked = encode = time.perf_counter() - handed
            else:
                futures = [pool.submit_source(source) for source in sources]
                blocked = time.perf_counter() - handed
                done_at[episode] = []
                for future in futures:
                    future.add_done_callback(_stamp(done_at[episode], jobs))
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
    _summarize(result, jobs, frames, len(cameras), options)
    first = next((job for job in jobs if job.status is JobStatus.done and job.camera == cameras[0]
                  and job.episode == "episode_000000"), None)  # fmt: skip
    if first is not None:
        result.quality = measure_quality(ffmpeg_binary, str(first.output), scan_frames(first.source), options.fps)
    return result


def _run_stream(
    result: ModeResult,
    options: BenchOptions,
    ffmpeg_binary: FFmpegBinary,
    mode_options: EncodeOptions,
    plan: EncoderPlan,
    loops: list[FrameLoop],
    root: Path,
    cameras: list[str],
    frames: int,
    jobs: list[JobResult],
) -> None:
    """Stream each camera's frames straight into a StreamEncoder; the recorder waits only for close()."""
    from ..stream.encoder import StreamEncoder

    decoded: dict[int, list[np.ndarray[Any, Any]]] = {}
    for loop in loops:  # with --frames every camera replays the same loop: decode it once
        if id(loop) not in decoded:
            decoded[id(loop)] = decode_loop(ffmpeg_binary, loop)
    arrays = [decoded[id(loop)] for loop in loops]
    height, width = arrays[0][0].shape[:2]
    call_seconds: list[float] = []
    for episode in range(options.episodes):
        encoders = [
            StreamEncoder(
                root / "videos" / camera / f"episode_{episode:06d}.mp4",
                width,
                height,
                options.fps,
                camera=camera,
                episode=f"episode_{episode:06d}",
                ffmpeg_binary=ffmpeg_binary,
                plan=plan,
                **mode_options.model_dump(include={"quality", "preset", "codec", "gop"}),
            )
            for camera in cameras
        ]

        def add(index: int, encoders: list[StreamEncoder] = encoders) -> None:
            for encoder, frames_of_camera in zip(encoders, arrays, strict=True):
                called = time.perf_counter()
                encoder.add_frame(frames_of_camera[index % len(frames_of_camera)])
                call_seconds.append(time.perf_counter() - called)

        try:
            missed = in_real_time(frames, options.fps, add)
        except BaseException:  # Ctrl-C included: their ffmpegs have sessions of their own, so stop them here
            for encoder in encoders:
                encoder.abort()
            raise
        closing = time.perf_counter()
        result.spilled_bytes += sum(encoder.stats.spilled_bytes for encoder in encoders)
        jobs.extend(encoder.close() for encoder in encoders)
        waited = time.perf_counter() - closing
        blocked = waited + sum(encoder.stats.blocked_seconds for encoder in encoders)
        # The encoder works during the recording: its time is the episode's plus what close() waited.
        result.episodes.append(EpisodeMeasure(episode=episode, blocked_s=blocked, encode_s=options.seconds + waited,
                                              missed_deadlines=missed))  # fmt: skip
        result.until_verified_s = waited
    if call_seconds:
        call_seconds.sort()
        result.add_frame_calls = len(call_seconds)
        result.add_frame_p99_ms = call_seconds[math.ceil(len(call_seconds) * 0.99) - 1] * 1000  # nearest rank
        result.add_frame_max_ms = call_seconds[-1] * 1000


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


def _camera_names(count: int) -> list[str]:
    return [CAMERA_KEYS[n] if n < len(CAMERA_KEYS) else f"observation.images.cam{n}" for n in range(count)]


def _record_episode(
    root: Path, episode: int, cameras: list[str], loops: list[FrameLoop], frames: int, fps: Fraction
) -> int:
    """Write one episode's frames in real time; return how many frame deadlines were missed."""

    def write(index: int) -> None:
        for loop, camera in zip(loops, cameras, strict=True):
            loop.write(root / "images" / camera / f"episode_{episode:06d}" / f"frame_{index:06d}.png", index)

    return in_real_time(frames, fps, write)


def in_real_time(frames: int, fps: Fraction, produce: Callable[[int], None]) -> int:
    """Call produce(i) for each frame at its due time i/fps, like a camera; return the deadlines missed.

    The episode lasts its full length whatever the last frame took."""
    started = time.monotonic()
    missed = 0
    period = float(1 / fps)
    for index in range(frames):
        delay = started + index * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif -delay > period:
            missed += 1
        produce(index)
    remaining = started + frames * period - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
    return missed


def _summarize(result: ModeResult, jobs: list[JobResult], frames: int, cameras: int, options: BenchOptions) -> None:
    done = [job for job in jobs if job.status is JobStatus.done]
    result.failed = len(jobs) - len(done)
    result.blocked_total_s = sum(m.blocked_s for m in result.episodes)
    result.encode_per_episode_s = statistics.mean(m.encode_s for m in result.episodes) if result.episodes else 0.0
    result.frames_encoded = sum(job.frames for job in done)
    busy = sum(job.seconds for job in done)
    result.encode_fps = result.frames_encoded / busy if busy else 0.0
    result.speed_x = (options.seconds * cameras) / result.encode_per_episode_s if result.encode_per_episode_s else 0.0
    result.bytes = sum(job.size_bytes for job in done)
    stream_seconds = len(done) * options.seconds
    result.bitrate_kbps = result.bytes * 8 / 1000 / stream_seconds if stream_seconds else 0.0
    result.missed_deadlines = sum(m.missed_deadlines for m in result.episodes)
    result.frames_due = frames * len(result.episodes)
    if any(job.fallback for job in done):
        result.fallback = True
        reason = next(job.fallback for job in done if job.fallback)
        result.reason = result.reason or f"CPU fallback: {reason}"
