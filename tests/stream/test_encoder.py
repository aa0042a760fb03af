"""encodectl/stream/encoder.py: StreamEncoder, one camera's frames encoded as they are recorded.

The stream's behaviour end to end (GPU fallbacks, spills, crashes and recovery, threads): tests/test_stream.py,
tests/test_stream_lifecycle.py, tests/stream/test_frame_buffer.py; depth streams: tests/test_stream.py."""

from __future__ import annotations

import os
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from encodectl.errors import StreamStateError, UsageError
from encodectl.models import FFmpegBinary, JobStatus
from encodectl.stream.encoder import StreamEncoder
from encodectl.stream.state import StreamState
from tests.conftest import decode, files_in


def frames(count: int) -> list[np.ndarray]:
    return [np.full((48, 64, 3), 30 * index, dtype=np.uint8) for index in range(count)]


def stream(tmp_path: Path, ffmpeg_binary: FFmpegBinary, said: list[str] | None = None, **more: object) -> StreamEncoder:
    return StreamEncoder(tmp_path / "ep.mp4", 64, 48, fps="15", device="cpu", gop=2, ffmpeg_binary=ffmpeg_binary,
                         on_warning=(said if said is not None else []).append, **more)  # type: ignore[arg-type]  # fmt: skip


def test_close_makes_the_verified_video_and_nothing_else(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    encoder = stream(tmp_path, ffmpeg_binary, camera="top", episode="e1")
    for frame in frames(5):
        encoder.add_frame(frame)
    result = encoder.close()
    assert (result.status, result.frames, result.camera, result.episode, result.encoder) == (
        JobStatus.done, 5, "top", "e1", "libx264")  # fmt: skip
    assert (result.fps, result.width, result.height) == (Fraction(15), 64, 48)
    assert result.size_bytes == (tmp_path / "ep.mp4").stat().st_size and result.latency_s is not None
    assert (encoder.state, encoder.stats.frames_added, encoder.stats.frames_written) == (StreamState.closed, 5, 5)
    video = decode(tmp_path / "ep.mp4")
    assert (video.frames, video.keyframes) == (5, [0, 2, 4])
    assert video.timestamps == [Fraction(index, 15) for index in range(5)]
    assert files_in(tmp_path) == ["ep.mp4"]
    with pytest.raises(StreamStateError, match=r"^add_frame after close\(\) or abort\(\)$"):
        encoder.add_frame(frames(1)[0])
    with pytest.raises(UsageError, match="add_image needs a StreamEncoder made with images=True"):
        encoder.add_image(b"")


def test_a_stream_without_frames_fails_on_close(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    result = stream(tmp_path, ffmpeg_binary).close()
    assert (result.status, result.reason) == (JobStatus.failed, "no frames were added to this stream")
    # Nothing for `recover` to salvage: nothing left behind, and no note that says otherwise.
    assert files_in(tmp_path) == [] and result.notes == []


def test_an_exception_in_the_with_block_detaches_for_recover(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    said: list[str] = []
    with pytest.raises(RuntimeError), stream(tmp_path, ffmpeg_binary, said) as encoder:
        for frame in frames(3):
            encoder.add_frame(frame)
        raise RuntimeError("the recorder failed")
    assert encoder.state is StreamState.detached
    (kept,) = files_in(tmp_path)
    assert kept.startswith(".ep.mp4.detached-") and kept.endswith(".stream.mp4")
    assert decode(tmp_path / kept).frames == 3  # fragmented: readable as it is
    assert said == [f"ep.mp4 was not closed: its 3 frame(s) are kept in {tmp_path / kept}; `encodectl recover` "
                    "finishes it"]  # fmt: skip
    assert encoder.detach() is None  # no longer open: nothing more to write out


def test_abort_removes_everything_the_stream_wrote(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    encoder = stream(tmp_path, ffmpeg_binary)
    for frame in frames(3):
        encoder.add_frame(frame)
    encoder.abort()
    encoder.abort()  # once is enough; again does nothing
    assert encoder.state is StreamState.aborted and files_in(tmp_path) == []
    with pytest.raises(StreamStateError):
        encoder.add_frame(frames(1)[0])
    with pytest.raises(StreamStateError, match=r"^close\(\) after abort\(\)$"):
        encoder.close()


def steps_below(thread: threading.Thread, expected: int) -> int:
    """How many steps below the process `thread` runs, once it shows `expected` or a deadline passes (it
    lowers itself as its first step; only a broken promise reaches the deadline)."""
    deadline = time.monotonic() + 60
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert thread.native_id is not None
    while (steps := os.getpriority(os.PRIO_PROCESS, thread.native_id) - base) != expected:
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    return steps


def test_the_streams_own_threads_run_as_low_as_its_ffmpeg(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    low = stream(tmp_path, ffmpeg_binary, priority="low")
    try:
        spiller = low._buffer._spiller
        assert spiller is not None
        assert (steps_below(low._writer._thread, 10), steps_below(spiller, 10)) == (10, 10)
    finally:
        low.abort()


def test_a_stream_at_normal_priority_leaves_its_threads_as_they_are(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    normal = stream(tmp_path, ffmpeg_binary, priority="normal")
    normal.add_frame(frames(1)[0])
    deadline = time.monotonic() + 60
    while normal.stats.frames_written < 1 and time.monotonic() < deadline:  # the writer is past its first step
        time.sleep(0.01)
    assert steps_below(normal._writer._thread, 0) == 0
    assert normal.close().status is JobStatus.done
