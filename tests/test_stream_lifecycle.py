"""A StreamEncoder's state with the real ffmpeg: abort() at the awkward moments (a CPU restart under way,
close() waiting for the encoder), and the calls its state refuses or makes no-ops."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from encodectl import JobResult, JobStatus, StreamEncoder, UsageError
from encodectl.errors import StreamStateError
from encodectl.ffmpeg.binary import find_ffmpeg
from encodectl.stream.encoder_process import EncoderProcess
from encodectl.stream.state import StreamState

from .conftest import files_in


def gray(value: int) -> np.ndarray:
    return np.full((48, 64, 3), value, dtype=np.uint8)


def gone(process: EncoderProcess) -> bool:
    """Exited and reaped: neither running nor a zombie."""
    return not Path(f"/proc/{process.pid}").exists()


def wait_for(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_abort_during_a_cpu_restart_leaves_an_aborted_stream_and_nothing_behind(tmp_path, fake_gpu, monkeypatch):
    monkeypatch.setenv("FAKE_NVENC_MODE", "fail-at-run")
    restarting, aborting = threading.Event(), threading.Event()
    started: list[EncoderProcess] = []
    start = StreamEncoder._start

    def slow_restart(self: StreamEncoder, settings: object) -> EncoderProcess:
        if settings is self.plan.fallback:  # the writer's restart on the CPU: abort() is called meanwhile
            restarting.set()
            assert aborting.wait(20)
        started.append(start(self, settings))
        return started[-1]

    monkeypatch.setattr(StreamEncoder, "_start", slow_restart)
    output = tmp_path / "cam" / "x.mp4"
    encoder = StreamEncoder(output, 64, 48, device="auto", ffmpeg_binary=find_ffmpeg(fake_gpu.path))
    deadline = time.monotonic() + 60
    while not restarting.is_set():  # frames until the failed "GPU" encoder is noticed
        assert time.monotonic() < deadline
        encoder.add_frame(gray(10))
        time.sleep(0.01)
    aborting.set()  # the restart goes on from here, and abort() waits for it (the stream's lock)
    encoder.abort()
    assert encoder.state is StreamState.aborted
    assert [process.settings.encoder for process in started] == ["h264_nvenc", "libx264"]
    assert started[1].wait(timeout=10) == -signal.SIGKILL  # the restarted one, not only the failed one
    assert all(gone(process) for process in started)
    assert not encoder._writer.is_alive()
    assert not output.exists() and files_in(output.parent) == []  # no stream file, spill or kept file
    with pytest.raises(StreamStateError, match=r"^close\(\) after abort\(\)$"):
        encoder.close()
    with pytest.raises(UsageError, match=r"^add_frame after close\(\) or abort\(\)$"):
        encoder.add_frame(gray(0))
    assert encoder.detach() is None
    assert encoder.state is StreamState.aborted


def test_after_a_cpu_restart_recover_is_told_to_encode_spilled_frames_on_the_cpu(tmp_path, fake_gpu, monkeypatch):
    from encodectl.stream.recovery import SPILL_DESCRIPTION, SpillDescription

    monkeypatch.setenv("FAKE_NVENC_MODE", "fail-at-run")
    encoder = StreamEncoder(tmp_path / "x.mp4", 64, 48, device="auto", ffmpeg_binary=find_ffmpeg(fake_gpu.path))
    description = encoder._spill_dir / SPILL_DESCRIPTION
    assert SpillDescription.model_validate_json(description.read_text()).settings.encoder == "h264_nvenc"
    for index in range(10):
        encoder.add_frame(gray(index * 20))
    wait_for(lambda: encoder._writer.settings.encoder == "libx264", "the CPU restart")
    # Frames spilled from now on are encoded by `recover` as the stream file was: on the CPU.
    assert SpillDescription.model_validate_json(description.read_text()).settings.encoder == "libx264"
    assert encoder.close().status is JobStatus.done


def test_a_cpu_encoder_that_cannot_start_fails_the_stream_with_one_line(tmp_path, fake_gpu, monkeypatch):
    monkeypatch.setenv("FAKE_NVENC_MODE", "fail-at-run")
    start = StreamEncoder._start

    def no_cpu_encoder(self: StreamEncoder, settings: object) -> EncoderProcess:
        if settings is self.plan.fallback:
            raise OSError(24, "Too many open files")
        return start(self, settings)

    monkeypatch.setattr(StreamEncoder, "_start", no_cpu_encoder)
    output = tmp_path / "cam" / "x.mp4"
    encoder = StreamEncoder(output, 64, 48, device="auto", ffmpeg_binary=find_ffmpeg(fake_gpu.path))
    for index in range(5):
        encoder.add_frame(gray(index * 40))
    result = encoder.close()
    assert result.status is JobStatus.failed
    assert result.reason is not None and "\n" not in result.reason
    assert result.reason.endswith("; the CPU encoder could not start (Too many open files)"), result.reason
    assert result.encoder == "h264_nvenc"  # the encoder that ran, not the one that never started
    assert not output.exists()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_abort_while_close_waits_for_the_encoder_removes_everything(tmp_path):
    encoder = StreamEncoder(tmp_path / "x.mp4", 64, 48, device="cpu", gop=2)
    for index in range(30):
        encoder.add_frame(gray(index * 8))
    wait_for(lambda: encoder.stats.frames_written == 30 and encoder.fragmented.stat().st_size > 0, "frames written")
    process = encoder._process
    os.kill(process.pid, signal.SIGSTOP)  # close() now waits for an encoder that does not finish
    results: list[JobResult] = []
    closer = threading.Thread(target=lambda: results.append(encoder.close()), daemon=True)
    closer.start()
    wait_for(lambda: encoder.state is StreamState.closing, "close() under way")
    encoder.abort()
    closer.join(timeout=30)
    assert not closer.is_alive()
    assert (results[0].status, results[0].reason) == (JobStatus.failed, "aborted")
    assert encoder.state is StreamState.aborted  # close() ending after it does not undo the abort
    assert gone(process)
    assert files_in(tmp_path) == []  # nor is what the killed encoder wrote handed over to recover


def test_abort_once_close_commits_the_video_changes_nothing(tmp_path, monkeypatch):
    # Too late: the video is verified and renamed into place. An abort() arriving then used to leave the
    # video on disk while the state said aborted; now it does nothing and close() reports what is there.
    import encodectl.stream.encoder as stream_encoder

    finish = stream_encoder.finish_video
    encoder = StreamEncoder(tmp_path / "x.mp4", 64, 48, device="cpu")

    def finish_then_abort(*args: object, **kwargs: object) -> None:
        finish(*args, **kwargs)
        aborter = threading.Thread(target=encoder.abort)
        aborter.start()
        aborter.join(timeout=10)
        assert not aborter.is_alive()

    monkeypatch.setattr(stream_encoder, "finish_video", finish_then_abort)
    for index in range(5):
        encoder.add_frame(gray(index * 40))
    result = encoder.close()
    assert (result.status, result.frames) == (JobStatus.done, 5)
    assert encoder.state is StreamState.closed
    assert files_in(tmp_path) == ["x.mp4"]


def test_abort_once_detach_handed_the_file_over_changes_nothing(tmp_path, monkeypatch):
    encoder = StreamEncoder(tmp_path / "x.mp4", 64, 48, device="cpu")
    release = encoder._release_fragment

    def abort_then_release() -> None:  # detach() calls this right after handing the file over
        aborter = threading.Thread(target=encoder.abort)
        aborter.start()
        aborter.join(timeout=10)
        assert not aborter.is_alive()
        release()

    monkeypatch.setattr(encoder, "_release_fragment", abort_then_release)
    for index in range(5):
        encoder.add_frame(gray(index * 40))
    kept = encoder.detach()
    assert kept is not None and kept.exists()
    assert encoder.state is StreamState.detached


def test_after_close_abort_and_detach_change_nothing(tmp_path):
    encoder = StreamEncoder(tmp_path / "x.mp4", 64, 48, device="cpu")
    for index in range(5):
        encoder.add_frame(gray(index * 40))
    assert encoder.close().status is JobStatus.done
    assert encoder.state is StreamState.closed
    video = (tmp_path / "x.mp4").read_bytes()
    # closed -> detached is no move of the state table (tests/stream/test_state.py); the call is a no-op, as the
    # with block and the exit handler make it after close()
    assert encoder.detach() is None
    encoder.abort()
    assert encoder.state is StreamState.closed
    assert files_in(tmp_path) == ["x.mp4"] and (tmp_path / "x.mp4").read_bytes() == video
    with pytest.raises(StreamStateError, match=r"^close\(\) called twice$"):
        encoder.close()


def test_an_exception_after_close_in_the_with_block_leaves_the_video(tmp_path):
    encoder = StreamEncoder(tmp_path / "x.mp4", 64, 48, device="cpu")
    with pytest.raises(RuntimeError, match="after the episode"), encoder:
        for index in range(5):
            encoder.add_frame(gray(index * 40))
        assert encoder.close().status is JobStatus.done
        raise RuntimeError("after the episode")
    assert encoder.state is StreamState.closed
    assert files_in(tmp_path) == ["x.mp4"]


def test_a_detached_stream_cannot_be_closed(tmp_path):
    encoder = StreamEncoder(tmp_path / "x.mp4", 64, 48, device="cpu", gop=5)
    for index in range(10):
        encoder.add_frame(gray(index * 20))
    kept = encoder.detach()
    assert kept is not None and encoder.state is StreamState.detached
    with pytest.raises(StreamStateError, match=r"^close\(\) after detach\(\)$"):
        encoder.close()
    encoder.abort()  # a no-op: the kept file is recover's now
    assert encoder.state is StreamState.detached
    assert files_in(tmp_path) == [kept.name]
