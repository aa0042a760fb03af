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
import os
import shutil
import threading
import time
import weakref
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EncodectlError, EncodeError, StreamStateError, UsageError
from ..ffmpeg.binary import find_ffmpeg
from ..ffmpeg.command import build_stream_command
from ..ffmpeg.encoder_choice import EncoderPlan
from ..ffmpeg.process import signals_deferred
from ..models import DepthMode, EncoderSettings, FFmpegBinary, JobResult, JobStatus, even_size
from .encoder_process import EncoderProcess
from .finish import finish_video, keep_for_recovery
from .frame_buffer import BufferPolicy, FrameBuffer
from .frame_input import array_bytes, check_image
from .recovery import (
    SPILL_DESCRIPTION,
    SpillDescription,
    hold_stream_file,
)
from .replay import Replay
from .state import StreamLifecycle, StreamState
from .stream_plan import buffer_capacity, frame_size, stream_options, stream_paths, stream_plan
from .stream_report import StreamStats, buffer_notes
from .writer import StreamWriter


class StreamEncoder:
    """Encode one camera's frames as they are recorded.

    >>> encoder = StreamEncoder("videos/top/episode_000000.mp4", width=640, height=480, fps=30)
    >>> for frame in camera:                # HxWx3 uint8 RGB (numpy)
    ...     encoder.add_frame(frame)        # returns at once
    >>> result = encoder.close()            # verified video, JobResult

    Its parts: the FrameBuffer (frame_buffer.py), the writer thread (writer.py) feeding one
    EncoderProcess at a time (encoder_process.py) with a Replay for a GPU encoder (replay.py), the state
    (state.py: open -> closing -> closed / detached, or aborted), and the file's last step (finish.py).
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
        depth: bool | str = False,
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
        self.options, self.depth = stream_options(fps, device, depth, options)
        self.ffmpeg = ffmpeg_binary or find_ffmpeg(self.options.ffmpeg)
        self.plan = stream_plan(self.output, self.options, self.ffmpeg, plan, self.depth)
        self.policy = BufferPolicy(policy)
        self.camera, self.episode = camera, episode or self.output.stem
        self._warn = on_warning or (lambda _: None)
        frame_bytes = frame_size(width, height, self.depth)
        self.capacity = buffer_capacity(buffer_frames, buffer_mib, frame_bytes)
        self.fragmented, self._spill_dir = stream_paths(self.output, self.plan.primary)
        self._buffer = FrameBuffer(
            self.capacity * frame_bytes, self._spill_dir, self.policy, lambda message: self._warn(message),
            on_first_spill=self._say_spilling, nice=self.options.nice,
        )  # fmt: skip
        # One lock for the state and for what the writer and abort() both reach for (writer.py): the
        # process, the error, the replay; and for the stream file's lock, which both may release.
        self._lock = threading.Lock()
        self._state = StreamLifecycle()
        # Set (under the lock) once close() starts committing the video or detach() hands the stream file
        # over: abort() is too late from then on, so what they return and what is on disk agree.
        self._settled = False
        self._fragment_lock: int | None = None  # see recovery.py: held by us and by our ffmpeg
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self._writer = self._new_writer()
        self._started = time.perf_counter()
        self._writer.start()
        _open_streams.add(self)

    @property
    def state(self) -> StreamState:
        """open, closing, closed, detached or aborted."""
        return self._state.state

    @property
    def stats(self) -> StreamStats:
        """Frames added, written, spilled (and the bytes on disk), waits: a snapshot."""
        return StreamStats(**self._buffer.stats.model_dump(), frames_written=self._writer.frames_written)

    @property
    def _process(self) -> EncoderProcess:
        """The encoder of the moment (a test reaches for its pid)."""
        return self._writer.process

    # -- the recorder's side -------------------------------------------------------------

    def add_frame(self, frame: np.ndarray[Any, Any]) -> None:
        """Queue one HxWx3 uint8 RGB frame (a depth stream: HxW uint16); returns at once (with policy block,
        it may wait for room)."""
        self._check_open("add_frame")
        self._enqueue(array_bytes(frame, self.width, self.height, bool(self.depth), self._frames_added))

    def add_image(self, data: bytes) -> None:
        """Queue one whole PNG/JPEG file's bytes (a stream made with images=True), checked to be a
        complete image of the stream's size."""
        if not self.images:
            raise UsageError("add_image needs a StreamEncoder made with images=True")
        self._check_open("add_image")
        check_image(data, self.width, self.height, self._frames_added)
        self._enqueue(data)

    def _frames_added(self) -> int:
        return self.stats.frames_added

    def _check_open(self, call: str) -> None:
        # Without the lock: add_frame must never wait behind a CPU restart's ffmpeg start; a stale
        # answer only puts off the refusal by one frame.
        if not self._state.is_open:
            raise StreamStateError(f"{call} after close() or abort()")
        if self._writer.error is not None:
            raise EncodeError(self._writer.error)
        if not self._writer.is_alive():
            raise EncodeError("the stream's writer has stopped")

    def _enqueue(self, data: bytes) -> None:
        self._buffer.put(data)

    def close(self) -> JobResult:
        """Finish the video, verify it and give it its final name; the result says how it went."""
        with self._lock:
            self._state.move(StreamState.closing, "close()")
        _open_streams.discard(self)
        last_frame = time.perf_counter()
        backlog = self._buffer.backlog
        self._write_out()
        stats = self.stats
        result = self._result(stats.frames_added)
        try:
            self._finish(result)
        except (EncodectlError, OSError) as error:
            result.status = JobStatus.failed
            result.reason = error.message if isinstance(error, EncodectlError) else f"{error.strerror or error}"
            kept = self._hand_over("failed", keep=stats.frames_added > 0)
            if kept is not None:
                result.notes.append(f"what was encoded is kept in {kept}; `encodectl recover` salvages it")
        finally:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
            self._release_fragment()  # only now: recover must not take the file while close() reads it
            self._end(StreamState.closed, "close()")
        now = time.perf_counter()
        result.latency_s = now - last_frame
        result.seconds = now - self._started  # the whole stream: frames arrive in real time
        result.notes.extend(buffer_notes(stats, backlog, result.latency_s))
        return result

    def _result(self, frames: int) -> JobResult:
        """What close() reports, before the video is finished: done, unless finishing fails."""
        settings = self._writer.settings
        return JobResult.of_stream(
            self.output, episode=self.episode, camera=self.camera, frames=frames, fps=self.options.fps,
            settings=settings, size=self._video_size(settings), fallback=self._writer.fallback,
        ).with_ffmpeg(self.ffmpeg)  # fmt: skip

    def _finish(self, result: JobResult) -> None:
        """The stream file into the verified video under its final name; raises what went wrong."""
        settings, added = self._writer.settings, result.frames
        if added == 0:
            raise EncodeError("no frames were added to this stream")
        if self._writer.error is not None:
            raise EncodeError(self._writer.error)
        with self._lock:
            if self._state.state is StreamState.aborted:
                raise EncodeError("aborted")
            self._settled = True
        # A Ctrl-C between the rename and the unlink left the stream file beside its finished video.
        with signals_deferred():
            finish_video(
                self.ffmpeg, self.fragmented, self.output, added=added, written=self._writer.frames_written,
                fps=self.options.fps, size=self._video_size(settings), settings=settings, hashes=self._writer.hashes,
            )  # fmt: skip
            self.fragmented.unlink(missing_ok=True)
        if result.depth is not None and settings.depth is DepthMode.lossless:
            result.depth.hashed_frames = len(self._writer.hashes)
            result.notes.append("16-bit depth kept exactly: every decoded frame hashed equal to the frame given")
        result.size_bytes = self.output.stat().st_size

    def _video_size(self, settings: EncoderSettings) -> tuple[int, int]:
        return (self.width, self.height) if settings.keeps_depth else even_size(self.width, self.height)

    def detach(self) -> Path | None:
        """End the stream without finishing the video: every frame added so far (spilled ones too) is
        written out, and the fragmented MP4 is left for `encodectl recover`, which returns its path.

        For an episode that ended badly: a `with` block does this when an exception leaves it, and
        so does the interpreter's exit for a stream that was never closed. A recorder's crash must
        not cost the frames it had already recorded; whether they make a complete episode is the
        recorder's call, so the video is not finished under its final name.

        A stream no longer open (closed, being closed, detached, aborted) has nothing to write out:
        None, and its state stays as it is (the with block and the exit handler call this after close())."""
        with self._lock:
            if not self._state.is_open:
                return None
            self._state.move(StreamState.closing, "detach()")
        _open_streams.discard(self)
        self._write_out()
        shutil.rmtree(self._spill_dir, ignore_errors=True)
        kept = self._hand_over("detached")
        self._release_fragment()
        self._end(StreamState.detached, "detach()")
        if kept is not None:
            self._warn(
                f"{self.output.name} was not closed: its {self._writer.frames_written} frame(s) are kept in {kept}; "
                "`encodectl recover` finishes it"
            )
        return kept

    def abort(self) -> None:
        """Stop at once and remove everything this stream wrote. Nothing to do once it is closed,
        detached or aborted. From another thread while close() or detach() runs, it has the last word
        until close() begins to commit the verified video or detach() hands the stream file to `recover`;
        from then on it does nothing (the video, or the kept file, is what they return)."""
        with self._lock:  # a CPU restart under way finishes first, and its ffmpeg is the one killed
            if self._state.ended or self._settled:
                return
            self._state.move(StreamState.aborted, "abort()")
            process = self._writer.abort_locked()
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
        elif self._state.is_open:
            self.close()

    # -- the parts' wiring ---------------------------------------------------------------

    def _new_writer(self) -> StreamWriter:
        """The writer, its first encoder started (OSError if it cannot be)."""
        primary, fallback = self.plan.primary, self.plan.fallback
        # Frames kept until the encoder has proved itself, so a failed start can be redone on the CPU.
        replay = None
        if primary.hardware and fallback is not None:
            replay = Replay(fallback, primary.gop, self.capacity, self.fragmented)
        return StreamWriter(
            self._buffer, self._lock, self._start(primary), lambda settings: self._start(settings), replay,
            stream_file=self.fragmented, fallback_note=self.plan.fallback_note,
            warn=lambda message: self._warn(message), nice=self.options.nice,
        )  # fmt: skip

    def _write_out(self) -> None:
        """Every frame taken so far to the encoder (spilled ones too), and the encoder ended."""
        self._buffer.finish()
        self._writer.join()
        self._buffer.stop()

    def _hand_over(self, why: str, keep: bool = True) -> Path | None:
        """The ended encoder's file, named for `recover`; not after an abort(), which removes it, nor when
        it holds no frame (`keep` False: nothing for recover to salvage, so nothing is left behind)."""
        with self._lock:  # an abort() from another thread is seen here, or finds the file handed over
            if self._state.state is StreamState.aborted:
                return None
            self._settled = True
            if not keep:
                self.fragmented.unlink(missing_ok=True)
                return None
            return keep_for_recovery(self.fragmented, self.output, why)

    def _end(self, target: StreamState, call: str) -> None:
        with self._lock:
            if self._state.state is StreamState.closing:  # else an abort() came meanwhile, and stands
                self._state.move(target, call)

    def _start(self, settings: EncoderSettings) -> EncoderProcess:
        """ffmpeg for `settings`, holding the stream file. Called before the writer runs, or by the writer
        with the lock held (a CPU restart)."""
        self._describe_stream(settings)  # at every start: a CPU restart changes how spilled frames are encoded
        argv = build_stream_command(
            self.ffmpeg, settings, self.width, self.height, self.options.fps, self.fragmented, images=self.images,
            raw_format=self._raw_format,
        )  # fmt: skip
        self._drop_fragment_lock()
        self._fragment_lock = hold_stream_file(self.fragmented)
        try:
            return EncoderProcess(
                argv, settings, stream_file_lock=self._fragment_lock, nice=self.options.nice,
                die_with_parent=self._die_with_parent, frame_pixels=self.width * self.height,
            )  # fmt: skip
        except OSError:
            self._drop_fragment_lock()
            self.fragmented.unlink(missing_ok=True)
            raise

    def _release_fragment(self) -> None:
        with self._lock:  # the writer and abort() may both get here: close the descriptor once
            self._drop_fragment_lock()

    def _drop_fragment_lock(self) -> None:
        descriptor, self._fragment_lock = self._fragment_lock, None
        if descriptor is not None:
            os.close(descriptor)

    @property
    def _raw_format(self) -> str:
        return "gray16le" if self.depth else "rgb24"

    def _describe_stream(self, settings: EncoderSettings) -> None:
        """What `recover` needs to finish this stream should the recorder die (its frame rate; how to encode
        spilled frames), in the stream's spill folder, from its encoder's start."""
        description = SpillDescription(
            width=self.width, height=self.height, fps=self.options.fps, images=self.images, settings=settings,
            raw_format=self._raw_format,
        )  # fmt: skip
        self._spill_dir.mkdir(exist_ok=True)
        (self._spill_dir / SPILL_DESCRIPTION).write_text(description.model_dump_json())

    def _say_spilling(self, spill_dir: Path) -> None:
        self._warn(f"encoder cannot keep up: spilling frames to {spill_dir} (the recorder does not wait)")


_open_streams: weakref.WeakSet[StreamEncoder] = weakref.WeakSet()


@atexit.register
def _detach_open_streams() -> None:
    """A recorder that exits (an uncaught exception, say) without close(): write out what it recorded."""
    for stream in list(_open_streams):
        stream.detach()
