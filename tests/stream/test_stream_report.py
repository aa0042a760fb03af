"""encodectl/stream/stream_report.py: what close() says of a stream's buffer.

The notes on real streams that spilled or fell behind: tests/stream/test_frame_buffer.py, tests/test_stream.py."""

from __future__ import annotations

import pytest

from encodectl.stream.stream_report import StreamStats, buffer_notes

pytestmark = pytest.mark.same_on_every_ffmpeg("notes from given counters: no ffmpeg runs")


def test_a_stream_that_kept_up_says_nothing() -> None:
    assert buffer_notes(StreamStats(frames_written=30), backlog=1, latency_s=0.01) == []


def test_spills_backlog_and_waits_each_have_their_note() -> None:
    stats = StreamStats(spilled=12, spilled_bytes=3 * 2**20, disk_bytes_peak=2**20, blocked_calls=2,
                        blocked_seconds=0.5, frames_written=40)  # fmt: skip
    assert buffer_notes(stats, backlog=5, latency_s=0.25) == [
        "12 frame(s) spilled to disk while the encoder caught up (3 MB written, at most 1 MB at once)",
        "5 frame(s) still to encode after the last one: verified 0.25 s later",
        "add_frame waited 2 time(s), 0.50 s in all",
    ]
