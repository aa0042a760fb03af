"""Encode while the frames arrive: StreamEncoder, one per camera.

``add_frame`` copies the frame into a FrameBuffer and returns; a writer thread
feeds ffmpeg's stdin with raw RGB. ffmpeg writes a fragmented MP4 (a fragment a
keyframe), which stays readable when cut off, so a crash or power loss leaves
every finished fragment recoverable (``encodectl recover``). ``close`` turns it
into the final MP4 (faststart) and verifies it, about a second after the last
frame. No frame is ever dropped: when the encoder falls behind, frames beyond the
memory budget go to disk on a thread of their own (the default), and the recorder
never waits; or, with ``policy="block"``, add_frame waits for room.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import os
import secrets
import shutil
import subprocess
import threading
import time
import weakref
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EncodectlError, EncodeError, InputError, UsageError, VerificationError
from ..ffmpeg.binary import find_ffmpeg
from ..ffmpeg.command import build_stream_command
from ..ffmpeg.encoder_choice import EncoderPlan, plan_encoder
from ..ffmpeg.encoders import depth_settings
from ..ffmpeg.log import encoder_failure
from ..ffmpeg.process import LogTail, lower_priority, signals_deferred
from ..frames.headers import image_header_of_bytes
from ..frames.layout import DEPTH_SUFFIX, VIDEO_SUFFIX
from ..job.runner import hidden_prefix, temp_stem
from ..job.verify import check_expected, decoded_frame_hashes
from ..models import (
    DepthMode,
    DepthResult,
    EncoderSettings,
    FFmpegBinary,
    JobResult,
    JobStatus,
    VideoInfo,
    even_size,
    options_from,
)
from ..syscalls import preexec_for_ffmpeg
from .frame_buffer import BufferPolicy, BufferStats, FrameBuffer
from .recovery import (
    MATROSKA_STREAM_SUFFIX,
    SPILL_DESCRIPTION,
    SPILL_SUFFIX,
    STREAM_SUFFIX,
    SpillDescription,
    hold_stream_file,
    remux_verified,
)

STREAM_END_TIMEOUT_S = 600.0


class StreamStats(BufferStats):
    frames_written: int = 0  # frames ffmpeg has taken


class StreamEncoder:
    """Encode one camera's frames as they are recorded.

    >>> encoder = StreamEncoder("videos/top/episode_000000.mp4", width=640, height=480, fps=30)
    >>> for frame in camera:                # HxWx3 uint8 RGB (numpy)
    ...     encoder.add_frame(frame)        # returns at once
    >>> result = encoder.close()            # verified video, JobResult
    """

    def __init__(
        self,
        output: str | os.PathLike[str],
        width: int,
        height: int,
        fps: float | str | Fraction = 30,
        *,
        buffer_frames: int | None = None,
        buffer_mib: float = 256.0,
        policy: BufferPolicy | str = BufferPolicy.spill,
        device: str | None = None,
        camera: str | None = None,
        episode: str | None = None,
        ffmpeg_binary: FFmpegBinary | None = None,
        plan: EncoderPlan | None = None,
        on_warning: Callable[[str], None] | None = None,
        images: bool = False,
        depth: bool = False,
        die_with_parent: bool = False,
        **options: Any,
    ) -> None:
        """`depth`: the frames are a depth camera's, HxW uint16 (millimetres, say); by default every value is
        kept (FFV1 in Matroska: name the output .mkv) and each decoded frame is hashed against the frame
        given; `depth="lerobot"` or `"lossy"` as for `encode --depth`. `die_with_parent` (for watch --stream,
        whose frames are on disk anyway) has the encoder killed when the thread that made this StreamEncoder
        dies, instead of writing out what it was given."""
        self.output = Path(output).absolute()
        self._die_with_parent = die_with_parent
        self.images = images  # frames come as PNG/JPEG file bytes (add_image) instead of arrays
        self.width, self.height = width, height
        given = {"device": device} if device is not None else {}  # unless asked, as encode: auto (or a profile's)
        if isinstance(depth, str):
            given["depth"], depth = depth, True
        self.options = options_from({**given, "fps": fps, **options})
        self.ffmpeg = ffmpeg_binary or find_ffmpeg(self.options.ffmpeg)
        self.plan = plan or plan_encoder(self.options, self.ffmpeg)
        self.depth = depth
        if depth:  # the depth route (no hardware encoder, so no fallback)
            settings = depth_settings(self.options.depth, self.plan.primary, self.options, None)
            self.plan = EncoderPlan(primary=settings, reason=f"depth frames: {settings.encoder}")
            check_depth_output(self.output, settings)
        self.policy = BufferPolicy(policy)
        self.camera, self.episode = camera, episode or self.output.stem
        self._warn = on_warning or (lambda _: None)
        frame_bytes = width * height * (2 if depth else 3)
        self.capacity = buffer_frames or max(2, int(buffer_mib * 2**20 // frame_bytes))
        stem = temp_stem(self.output).name
        matroska = self.plan.primary.container == "matroska"
        self.fragmented = self.output.with_name(stem + (MATROSKA_STREAM_SUFFIX if matroska else STREAM_SUFFIX))
        self._spill_dir = self.output.with_name(stem + SPILL_SUFFIX)
        self._buffer = FrameBuffer(
            self.capacity * frame_bytes, self._spill_dir, self.policy, lambda message: self._warn(message),
            on_first_spill=self._describe_spill,
        )  # fmt: skip
        self._frames_written = 0
        self._lock = threading.Lock()
        self._error: str | None = None
        self._closed = False
        self._aborted = False
        self._fallback: str | None = self.plan.fallback_note
        # Frames kept until the encoder has proved itself, so a failed start can be redone on the CPU.
        self._replay: list[bytes] | None = [] if self.plan.primary.hardware and self.plan.fallback else None
        self._settings = self.plan.primary
        self._fragment_lock: int | None = None  # see recovery.py: held by us and by our ffmpeg
        self._hashes: list[str] = []  # depth kept exactly: every frame's md5, as given, to check the video against
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self._describe_stream()
        # abort() and the writer's CPU restart both reach for the ffmpeg: one kills, the other replaces it.
        self._process_lock = threading.Lock()
        self._process, self._log = self._start(self._settings)
        self._started = time.perf_counter()
        # A daemon, so a recorder that forgets close() can still exit; _detach_open_streams
        # makes sure the frames it already took are written out first.
        self._writer = threading.Thread(target=self._write_loop, name="encodectl-stream-writer", daemon=True)
        self._writer.start()
        _open_streams.add(self)

    @property
    def stats(self) -> StreamStats:
        """Frames added, written, spilled (and the bytes on disk), waits: a snapshot."""
        return StreamStats(**self._buffer.stats.model_dump(), frames_written=self._frames_written)

    # -- the recorder's side -------------------------------------------------------------

    def add_frame(self, frame: np.ndarray[Any, Any]) -> None:
        """Queue one HxWx3 uint8 RGB frame (a depth stream: HxW uint16); returns at once (with policy block,
        it may wait for room)."""
        self._check_open("add_frame")
        if not isinstance(frame, np.ndarray):
            raise InputError(f"add_frame takes a numpy array (HxWx3 uint8 RGB), not {type(frame).__name__}")
        if self.depth:
            shapes = ((self.height, self.width), (self.height, self.width, 1))
            if frame.shape not in shapes or frame.dtype.kind != "u" or frame.dtype.itemsize != 2:  # either byte order
                raise InputError(
                    f"frame {self.stats.frames_added} is {'x'.join(map(str, frame.shape))} {frame.dtype}; this depth "
                    f"stream takes {self.height}x{self.width} uint16"
                )
            # Little-endian, as ffmpeg is told: a big-endian array would otherwise be read as other values.
            self._enqueue(np.ascontiguousarray(frame.reshape(self.height, self.width), dtype="<u2").tobytes())
            return
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise InputError(
                f"frame {self.stats.frames_added} is {'x'.join(map(str, frame.shape))} {frame.dtype}; this stream "
                f"takes {self.height}x{self.width}x3 uint8 (RGB)"
            )
        self._enqueue(frame.tobytes())  # a copy: the caller may reuse its buffer at once

    def add_image(self, data: bytes) -> None:
        """Queue one whole PNG/JPEG file's bytes (a stream made with images=True), checked to be a
        complete image of the stream's size."""
        if not self.images:
            raise UsageError("add_image needs a StreamEncoder made with images=True")
        self._check_open("add_image")
        header = image_header_of_bytes(data)
        if (header.width, header.height) != (self.width, self.height):
            raise InputError(
                f"frame {self.stats.frames_added} is {header.width}x{header.height}; this stream takes "
                f"{self.width}x{self.height}"
            )
        self._enqueue(data)

    def _check_open(self, call: str) -> None:
        if self._closed:
            raise UsageError(f"{call} after close() or abort()")
        if self._error is not None:
            raise EncodeError(self._error)
        if not self._writer.is_alive():
            raise EncodeError("the stream's writer has stopped")

    def _enqueue(self, data: bytes) -> None:
        self._buffer.put(data)

    def close(self) -> JobResult:
        """Finish the video, verify it and give it its final name; the result says how it went."""
        if self._closed:
            raise UsageError("close() called twice")
        self._closed = True
        _open_streams.discard(self)
        last_frame = time.perf_counter()
        backlog = self._buffer.backlog
        self._buffer.finish()
        self._writer.join()
        self._buffer.stop()
        stats = self.stats
        result = JobResult(
            source=self.output.parent, output=self.output, episode=self.episode, camera=self.camera,
            status=JobStatus.done, frames=stats.frames_added, source_frames=stats.frames_added,
            fps=self.options.fps, encoder=self._settings.encoder, fallback=self._fallback,
        ).with_ffmpeg(self.ffmpeg)  # fmt: skip
        result.width, result.height = (
            (self.width, self.height) if self._settings.keeps_depth else even_size(self.width, self.height)
        )
        if self._settings.depth is not None:
            result.depth = DepthResult(
                mode=self._settings.depth, lossless=self._settings.depth is DepthMode.lossless,
                container=self._settings.container, quantization=self._settings.quantization,
            )  # fmt: skip
        try:
            if stats.frames_added == 0:
                raise EncodeError("no frames were added to this stream")
            if self._error is not None:
                raise EncodeError(self._error)
            # A Ctrl-C between the rename and the unlink left the stream file beside its finished video.
            with signals_deferred():
                self._finish()
                self.fragmented.unlink(missing_ok=True)
            if result.depth is not None and self._settings.depth is DepthMode.lossless:
                result.depth.hashed_frames = len(self._hashes)
                result.notes.append("16-bit depth kept exactly: every decoded frame hashed equal to the frame given")
            result.size_bytes = self.output.stat().st_size
        except (EncodectlError, OSError) as error:
            result.status = JobStatus.failed
            result.reason = error.message if isinstance(error, EncodectlError) else f"{error.strerror or error}"
            self._hand_over_for_recovery(result)
        finally:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
            self._release_fragment()  # only now: recover must not take the file while close() reads it
        now = time.perf_counter()
        result.latency_s = now - last_frame
        result.seconds = now - self._started  # the whole stream: frames arrive in real time
        if stats.spilled:
            written, peak = stats.spilled_bytes / 2**20, stats.disk_bytes_peak / 2**20
            result.notes.append(
                f"{stats.spilled} frame(s) spilled to disk while the encoder caught up "
                f"({written:.0f} MB written, at most {peak:.0f} MB at once)"
            )
        if backlog > 1:
            result.notes.append(
                f"{backlog} frame(s) still to encode after the last one: verified {result.latency_s:.2f} s later"
            )
        if stats.blocked_calls:
            result.notes.append(f"add_frame waited {stats.blocked_calls} time(s), {stats.blocked_seconds:.2f} s in all")
        return result

    def _hand_over_for_recovery(self, result: JobResult) -> None:
        kept = self._keep_for_recovery("failed")
        if kept is not None:
            result.notes.append(f"what was encoded is kept in {kept}; `encodectl recover` salvages it")

    def _keep_for_recovery(self, why: str) -> Path | None:
        """Called once the encoder has ended: its file gets a name of its own for `recover`, which
        takes it at once (nobody holds it any more); None when nothing was written."""
        if not self.fragmented.exists() or self.fragmented.stat().st_size == 0:
            self.fragmented.unlink(missing_ok=True)
            return None
        suffix = MATROSKA_STREAM_SUFFIX if self.fragmented.name.endswith(MATROSKA_STREAM_SUFFIX) else STREAM_SUFFIX
        kept = self.output.with_name(f"{hidden_prefix(self.output)}{why}-{secrets.token_hex(3)}{suffix}")
        self.fragmented.replace(kept)
        return kept

    def detach(self) -> Path | None:
        """End the stream without finishing the video: every frame added so far (spilled ones too) is
        written out, and the fragmented MP4 is left for `encodectl recover`, which returns its path.

        For an episode that ended badly: a `with` block does this when an exception leaves it, and
        so does the interpreter's exit for a stream that was never closed. A recorder's crash must
        not cost the frames it had already recorded; whether they make a complete episode is the
        recorder's call, so the video is not finished under its final name."""
        if self._closed:
            return None
        self._closed = True
        _open_streams.discard(self)
        self._buffer.finish()  # the writer hands ffmpeg every frame, spilled ones too, then ends it
        self._writer.join()
        self._buffer.stop()
        shutil.rmtree(self._spill_dir, ignore_errors=True)
        kept = self._keep_for_recovery("detached")
        self._release_fragment()
        if kept is not None:
            self._warn(
                f"{self.output.name} was not closed: its {self._frames_written} frame(s) are kept in {kept}; "
                "`encodectl recover` finishes it"
            )
        return kept

    def abort(self) -> None:
        """Stop at once and remove everything this stream wrote."""
        with self._process_lock:  # a CPU restart under way finishes first, and its ffmpeg is the one killed
            self._closed = self._aborted = True
            self._error = "aborted"  # the writer stops feeding frames (and does not try a fallback)
            process = self._process
            process.kill()
        _open_streams.discard(self)
        process.wait()
        self._buffer.stop(discard=True)
        self._writer.join(timeout=10)
        self._release_fragment()
        self.fragmented.unlink(missing_ok=True)
        shutil.rmtree(self._spill_dir, ignore_errors=True)

    def __enter__(self) -> StreamEncoder:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        if exc_type is not None:
            self.detach()
        elif not self._closed:
            self.close()

    # -- the writer's side ---------------------------------------------------------------

    def _start(self, settings: EncoderSettings) -> tuple[subprocess.Popen[bytes], LogTail]:
        """ffmpeg for `settings`, and the reader that keeps its stderr drained while it runs."""
        argv = build_stream_command(
            self.ffmpeg, settings, self.width, self.height, self.options.fps, self.fragmented, images=self.images,
            raw_format=self._raw_format,
        )  # fmt: skip
        self._release_fragment()
        self._fragment_lock = hold_stream_file(self.fragmented)
        # A session of its own: a scheduling group apart from the recorder's, so ffmpeg's threads
        # cannot hold both cores for a tick while add_frame waits, and a Ctrl-C meant for the
        # recorder does not end the encoder behind its back (close() or abort() does that). Nor does
        # the recorder's death, unless asked: ffmpeg then reads to the end of its input and writes out
        # every frame it was given. A CPU restart is started by the writer thread, which waits for it.
        prepare = preexec_for_ffmpeg(die_with_parent=self._die_with_parent)
        try:
            process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                pass_fds=(self._fragment_lock,), preexec_fn=prepare,
            )  # fmt: skip
        except OSError:
            self._release_fragment()
            self.fragmented.unlink(missing_ok=True)
            raise
        lower_priority(process.pid, self.options.nice)  # the recorder calling add_frame comes first
        if process.stdin is not None and hasattr(fcntl, "F_SETPIPE_SZ"):
            # A pipe that holds a whole frame: one write per frame instead of fifteen 64 KiB ones,
            # so the writer thread holds the GIL (and delays add_frame) less often.
            with contextlib.suppress(OSError):
                fcntl.fcntl(
                    process.stdin.fileno(), fcntl.F_SETPIPE_SZ, min(1 << 20, max(1 << 16, 3 * self.width * self.height))
                )
        return process, LogTail(process.stderr)

    def _write_loop(self) -> None:
        """Feed ffmpeg every frame in order until the buffer is finished; whatever goes wrong, the stream
        ends and says why."""
        try:
            while (taken := self._buffer.get()) is not None:
                if self._error is None:
                    self._feed(taken.data)
                taken.done()
        except Exception as error:  # noqa: BLE001 - the recorder must hear of it, not lose a thread
            self._error = self._error or f"stream writer failed: {type(error).__name__}: {error}"
            self._buffer.stop()  # a waiting add_frame returns, and raises the error
        finally:
            self._end_process()

    def _feed(self, data: bytes) -> None:
        if self._settings.depth is DepthMode.lossless:
            self._hashes.append(
                hashlib.md5(data, usedforsecurity=False).hexdigest()
            )  # here, not on the recorder's time
        if self._replay is not None:
            self._replay.append(data)  # before the write: the frame that meets a dead encoder is kept too
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(data)
        except (BrokenPipeError, OSError):
            self._on_encoder_death()
            return
        self._frames_written += 1
        if self._replay is not None and (
            (self._frames_written >= 2 * self._settings.gop and self._has_fragment())
            or len(self._replay) >= self.capacity  # the replay counts against the buffer's memory too
        ):
            self._replay = None  # the encoder works (or memory says enough): no restart from here on

    def _on_encoder_death(self) -> None:
        reason = self._exit_reason(self._process.wait())
        if not self._restart_on_cpu(reason):
            self._error = reason

    def _restart_on_cpu(self, reason: str) -> bool:
        """A hardware encoder that failed before proving itself: redo every frame so far on the CPU."""
        with self._process_lock:
            if self._aborted or self._replay is None or self.plan.fallback is None:
                return False
            self._fallback, self._settings, replay, self._replay = reason, self.plan.fallback, self._replay, None
            self.fragmented.unlink(missing_ok=True)
            self._process, self._log = self._start(self._settings)
        self._warn(f"{reason}; continuing on the CPU with {self._settings.encoder}")
        self._frames_written = 0
        for data in replay:
            self._feed(data)
        return True

    def _exit_reason(self, returncode: int) -> str:
        return encoder_failure(self._settings.encoder, returncode, self._log.lines())

    def _end_process(self) -> None:
        while True:
            if self._process.stdin is not None:
                with contextlib.suppress(OSError):  # ffmpeg already gone: its exit code says why
                    self._process.stdin.close()
            try:
                returncode = self._process.wait(timeout=STREAM_END_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                returncode = self._process.wait()
                self._error = self._error or f"ffmpeg did not finish within {STREAM_END_TIMEOUT_S:.0f} s"
            if returncode == 0 or self._aborted:
                return
            reason = self._exit_reason(returncode)
            # A short stream can fit in the pipe before a failing encoder is noticed: fall back here too.
            if self._error is None and self._restart_on_cpu(reason):
                continue
            self._error = self._error or reason
            return

    def _release_fragment(self) -> None:
        with self._lock:  # the writer and abort() may both get here: close the descriptor once
            descriptor, self._fragment_lock = self._fragment_lock, None
        if descriptor is not None:
            os.close(descriptor)

    def _has_fragment(self) -> bool:
        try:
            return self.fragmented.stat().st_size > 4096
        except FileNotFoundError:
            return False

    @property
    def _raw_format(self) -> str:
        return "gray16le" if self.depth else "rgb24"

    def _describe_stream(self) -> None:
        """What `recover` needs to finish this stream should the recorder die (its frame rate; how to encode
        spilled frames), in the stream's spill folder, from the start."""
        description = SpillDescription(
            width=self.width, height=self.height, fps=self.options.fps, images=self.images, settings=self._settings,
            raw_format=self._raw_format,
        )  # fmt: skip
        self._spill_dir.mkdir(exist_ok=True)
        (self._spill_dir / SPILL_DESCRIPTION).write_text(description.model_dump_json())

    def _describe_spill(self, spill_dir: Path) -> None:
        self._describe_stream()  # the encoder may have changed since (a CPU fallback)
        self._warn(f"encoder cannot keep up: spilling frames to {spill_dir} (the recorder does not wait)")

    def _finish(self) -> None:
        """Stream file -> final video with the index up front, verified, then renamed into place."""
        added = self._buffer.stats.frames_added
        if self._frames_written != added:
            raise EncodeError(f"only {self._frames_written} of {added} frames reached ffmpeg")
        size = (self.width, self.height) if self._settings.keeps_depth else even_size(self.width, self.height)

        def check(info: VideoInfo) -> None:
            check_expected(info, added, self.options.fps, *size, self._settings, self.output)
            if self._settings.depth is DepthMode.lossless:
                self._check_hashes()

        remux_verified(self.ffmpeg, self.fragmented, self.output, check, replace=True, fps=self.options.fps)

    def _check_hashes(self) -> None:
        """Every decoded frame of the stream file, hashed, equals the frame given: depth kept exactly."""
        decoded = decoded_frame_hashes(self.ffmpeg, self.fragmented, self._settings.pix_fmt)
        for index, (given, got) in enumerate(zip(self._hashes, decoded, strict=False)):
            if given != got:
                raise VerificationError(f"{self.output.name}: frame {index} does not decode to the values given")
        if len(decoded) != len(self._hashes):
            raise VerificationError(f"{self.output.name}: {len(decoded)} frames decode, {len(self._hashes)} were given")


def check_depth_output(output: Path, settings: EncoderSettings) -> None:
    """A depth stream's video is named for its container, as encode names it (.mkv for depth kept exactly)."""
    wanted = DEPTH_SUFFIX if settings.container == "matroska" else VIDEO_SUFFIX
    if output.suffix.lower() != wanted:
        how = "depth kept exactly is FFV1 in Matroska" if wanted == DEPTH_SUFFIX else "this depth route writes MP4"
        raise UsageError(f"{output.name}: {how}; name the video {output.stem}{wanted}")


_open_streams: weakref.WeakSet[StreamEncoder] = weakref.WeakSet()


@atexit.register
def _detach_open_streams() -> None:
    """A recorder that exits (an uncaught exception, say) without close(): write out what it recorded."""
    for stream in list(_open_streams):
        stream.detach()
