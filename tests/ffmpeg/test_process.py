"""encodectl/ffmpeg/process.py: one ffmpeg child, its progress, its log's tail, and a kill that leaves nothing.

Ctrl-C and SIGTERM during a run, children left behind: tests/test_interrupt.py; the live progress a run shows:
tests/test_output.py."""

from __future__ import annotations

import signal
import subprocess
import threading

import pytest

from encodectl.errors import Interrupted
from encodectl.ffmpeg.child import LOG_TAIL_LINES
from encodectl.ffmpeg.process import (
    CancelToken,
    Progress,
    _progress_from,
    capture,
    run_ffmpeg,
    signals_deferred,
)
from encodectl.models import FFmpegBinary

SOURCE = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10"]


def test_progress_reaches_the_end_with_the_frame_count(ffmpeg_binary: FFmpegBinary) -> None:
    reports: list[Progress] = []
    argv = [str(ffmpeg_binary.path), "-nostdin", "-progress", "pipe:1", "-nostats", *SOURCE]
    code, _log = run_ffmpeg([*argv, "-frames:v", "7", "-f", "null", "-"], on_progress=reports.append)
    assert code == 0
    assert reports[-1].done and reports[-1].frame == 7
    assert all(not report.done for report in reports[:-1])


def test_the_log_tail_keeps_the_last_lines(ffmpeg_binary: FFmpegBinary) -> None:
    code, log = run_ffmpeg([str(ffmpeg_binary.path), "-nostdin", "-i", "/nonexistent/frames.png"])
    assert code != 0
    assert 0 < len(log) <= LOG_TAIL_LINES
    assert any("No such file or directory" in line for line in log)


def test_a_cancelled_token_kills_the_running_child(ffmpeg_binary: FFmpegBinary) -> None:
    token = CancelToken()
    started = threading.Event()

    def on_progress(progress: Progress) -> None:
        started.set()
        token.cancel()

    endless = [str(ffmpeg_binary.path), "-nostdin", "-progress", "pipe:1", "-re", *SOURCE, "-f", "null", "-"]
    with pytest.raises(Interrupted):
        run_ffmpeg(endless, token=token, on_progress=on_progress)
    assert started.is_set()
    with pytest.raises(Interrupted):  # once cancelled, nothing more starts
        run_ffmpeg([str(ffmpeg_binary.path), "-version"], token=token)


@pytest.mark.same_on_every_ffmpeg("parsing of progress fields and signal handling: no ffmpeg runs")
def test_progress_fields_parsed_and_missing_ones_tolerated() -> None:
    progress = _progress_from(
        {"frame": "12", "fps": "30.5", "speed": "1.5x", "out_time_us": "400000", "progress": "end"}
    )
    assert progress == Progress(frame=12, fps=30.5, speed=1.5, out_time_s=0.4, done=True)
    assert _progress_from({"speed": "N/A", "progress": "continue"}) == Progress()


@pytest.mark.same_on_every_ffmpeg("parsing of progress fields and signal handling: no ffmpeg runs")
def test_a_signal_during_the_deferred_block_is_delivered_after_it() -> None:
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda number, frame: received.append(number))
    try:
        with signals_deferred():
            signal.raise_signal(signal.SIGTERM)
            assert received == []
        assert received == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_capture_returns_text_even_of_bytes_that_are_not_utf8(ffmpeg_binary: FFmpegBinary) -> None:
    completed = capture([str(ffmpeg_binary.path), "-hide_banner", "-i", "/nonexistent/\udcff.png"])
    assert isinstance(completed, subprocess.CompletedProcess) and completed.returncode != 0
    assert "\ufffd" in completed.stderr
