"""One camera of a LeRobot episode streamed by encodectl: its StreamEncoder, started ahead or off the
recorder's thread, and the statistics LeRobot takes from finish_episode, gathered on a thread of its own."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EncodectlError, EncodeError, InputError
from ..ffmpeg.child import lower_current_thread
from ..ffmpeg.encoder_choice import EncoderPlan
from ..lerobot.stats import RunningStats, Stats, downscaled_hwc
from ..models import EncodeOptions, FFmpegBinary, JobStatus
from .encoder import StreamEncoder
from .lerobot_settings import log, say_once

# The camera's own threads (its statistics, the encoder's start) run as low as its stream's threads and
# ffmpeg do by default (the recorder first).
BACKGROUND_NICE = EncodeOptions().nice


class LeRobotCamera:
    """One camera's episode: its StreamEncoder and its statistics thread.

    The encoder is started before the episode when the frame size is known from the episode before
    (`size`), else off the recorder's thread on the first frame (frames meanwhile wait in a list). Not on
    the recorder's thread, and best before the episode: starting ffmpeg from a process as big as LeRobot's
    (torch: about 750 MB) still holds the interpreter's lock a moment (a vfork and an exec, ffmpeg/child.py;
    it was about 40 ms a camera when a preexec_fn made it a fork), and every thread waits meanwhile."""

    def __init__(
        self, key: str, output: Path, fps: int, plan: EncoderPlan, binary: FFmpegBinary, depth: bool,
        size: tuple[int, int] | None = None, buffer_mib: float = 256.0, buffer_frames: int | None = None,
    ) -> None:  # fmt: skip
        self.key, self.output, self.fps, self.plan, self.binary, self.depth = key, output, fps, plan, binary, depth
        self.buffer_mib, self.buffer_frames = buffer_mib, buffer_frames
        self._lock = threading.Lock()
        self._encoder: StreamEncoder | None = None
        self._pending: list[np.ndarray[Any, Any]] = []
        self._opener: threading.Thread | None = None
        self._error: EncodectlError | None = None
        self.size: tuple[int, int] | None = None  # (width, height) of the frames fed
        self._started_for: tuple[int, int] | None = None  # the size the encoder was started for ahead
        if size is not None:
            self._encoder = self._new_encoder(*size)
            self._started_for = size
        self._stats = RunningStats()
        self._stats_queue: queue.SimpleQueue[np.ndarray[Any, Any] | None] = queue.SimpleQueue()
        self._stats_thread = threading.Thread(target=self._gather, name=f"encodectl-stats-{key}", daemon=True)
        self._stats_thread.start()
        self._discard_stats = False

    # -- the recorder's thread -------------------------------------------------------------

    def feed(self, image: np.ndarray[Any, Any]) -> None:
        if self._error is not None:
            raise self._error
        frame, for_stats = self._converted(image)
        self._stats_queue.put(downscaled_hwc(for_stats))
        if self.size is None:
            self.size = (frame.shape[1], frame.shape[0])
            if self._started_for is not None and self._started_for != self.size:
                self._drop_early_encoder()  # the episode before had another size: start one for this
        with self._lock:
            encoder = self._encoder
            if encoder is None:
                self._pending.append(np.array(frame, copy=True))  # the caller may reuse its buffer
                if self._opener is None:
                    height, width = frame.shape[:2]
                    self._opener = threading.Thread(
                        target=self._open, args=(width, height), name=f"encodectl-open-{self.key}", daemon=True
                    )
                    self._opener.start()
                return
        encoder.add_frame(frame)

    def _converted(self, image: Any) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """(frame for the encoder, HWC frame for the statistics) from what LeRobot feeds: HxWxC or
        CxHxW, uint8 or float in 0-1 for colour; a depth map in millimetres (integers) or metres (floats)."""
        frame = np.asarray(image)
        if frame.ndim == 3 and frame.shape[0] in (1, 3) and frame.shape[-1] not in (1, 3):
            frame = frame.transpose(1, 2, 0)  # CHW -> HWC, as LeRobot's encoder thread does
        if not self.depth:
            if frame.dtype != np.uint8:
                frame = (frame * 255).astype(np.uint8)  # as LeRobot does: its statistics are of these values
            return frame, frame
        stats_frame = frame if frame.ndim == 3 else frame[..., np.newaxis]
        depth = frame.reshape(frame.shape[0], frame.shape[1]) if frame.ndim == 3 and frame.shape[-1] == 1 else frame
        if depth.ndim != 2:
            raise InputError(f"{self.key}: a depth frame is HxW or HxWx1, not {'x'.join(map(str, frame.shape))}")
        if np.issubdtype(depth.dtype, np.floating):  # metres; the quantizer takes millimetres
            depth = np.clip(np.round(depth * 1000.0), 0, 65535).astype(np.uint16)
        elif depth.dtype != np.uint16:
            depth = np.clip(depth, 0, 65535).astype(np.uint16)
        return depth, stats_frame

    # -- threads of its own ----------------------------------------------------------------

    def _new_encoder(self, width: int, height: int) -> StreamEncoder:
        return StreamEncoder(
            self.output, width, height, self.fps, plan=self.plan, ffmpeg_binary=self.binary, camera=self.key,
            depth="lerobot" if self.depth else False, on_warning=say_once, buffer_frames=self.buffer_frames,
            buffer_mib=self.buffer_mib,
        )  # fmt: skip

    def _drop_early_encoder(self) -> None:
        encoder, self._encoder, self._started_for = self._encoder, None, None
        if encoder is not None:
            encoder.abort()

    @property
    def started_early(self) -> bool:
        """The encoder was running before the episode's first frame."""
        return self._started_for is not None

    def _open(self, width: int, height: int) -> None:
        lower_current_thread(BACKGROUND_NICE)
        try:
            encoder = self._new_encoder(width, height)
            while True:
                with self._lock:
                    batch, self._pending = self._pending, []
                    if not batch:
                        self._encoder = encoder
                        return
                for frame in batch:
                    encoder.add_frame(frame)
        except EncodectlError as error:
            self._error = error
        except OSError as error:
            self._error = EncodeError(f"{self.key}: cannot start ffmpeg: {error.strerror or error}")

    def _gather(self) -> None:
        lower_current_thread(BACKGROUND_NICE)
        while True:
            frame = self._stats_queue.get()
            if frame is None:
                return
            if not self._discard_stats:
                self._stats.add(frame)

    # -- the episode's end -----------------------------------------------------------------

    def finish(self) -> tuple[Path, Stats | None]:
        """The verified video and the camera's statistics; EncodeError when there is no video."""
        self._stats_queue.put(None)
        if self.size is None:
            self._drop_early_encoder()
            raise EncodeError(f"{self.key}: no frame was fed this episode")
        if self._opener is not None:
            self._opener.join()
        if self._error is not None:
            raise self._error
        assert self._encoder is not None
        result = self._encoder.close()
        for note in result.notes:
            log.info("%s: %s", self.key, note)
        if result.status is not JobStatus.done:
            kept = "".join(f"; {note}" for note in result.notes if "recover" in note)
            raise EncodeError(f"{self.key}: {result.reason}{kept}")
        self._stats_thread.join()
        return self.output, self._stats.result()

    def wait_written(self, timeout: float) -> None:
        """Until ffmpeg has taken every frame fed so far (a crash from then on loses none of them)."""
        if self._opener is not None:
            self._opener.join(timeout)
        deadline = time.monotonic() + timeout
        while self._encoder is not None and self._encoder.stats.frames_written < self._encoder.stats.frames_added:
            if time.monotonic() > deadline:
                raise EncodeError(f"{self.key}: frames still unwritten after {timeout:g} s")
            time.sleep(0.01)

    def cancel(self) -> None:
        self._discard_stats = True
        self._stats_queue.put(None)
        if self._opener is not None:
            self._opener.join()
        if self._encoder is not None:
            self._encoder.abort()
        self._stats_thread.join()
