"""encodectl/job/sessions.py: concurrent encodes capped per hardware encoder, the cap lowered when the driver
says "no more".

A run against a stand-in NVENC that allows only so many sessions: tests/test_gpu.py."""

from __future__ import annotations

import threading

import pytest

from encodectl.job.sessions import SessionLimiter, is_session_limit

pytestmark = pytest.mark.same_on_every_ffmpeg("a counter shared by threads: no ffmpeg runs")


def test_session_limit_messages() -> None:
    assert is_session_limit("h264_nvenc: OpenEncodeSessionEx failed: out of memory (10)")
    assert is_session_limit("No capable devices found")
    assert not is_session_limit("h264_nvenc: Cannot load libcuda.so.1")
    assert not is_session_limit(None)


def test_the_cap_is_per_encoder_and_only_lowered() -> None:
    limiter = SessionLimiter(3)
    assert limiter.cap("h264_nvenc") == 3
    assert limiter.lower("h264_nvenc", running_when_failed=3) == 2
    assert limiter.lower("h264_nvenc", running_when_failed=5) == 2  # never raised again
    assert limiter.lower("h264_nvenc", running_when_failed=1) == 1  # never below one
    assert limiter.cap("hevc_nvenc") == 3
    assert SessionLimiter(0).cap("x") == 1


def test_a_session_over_the_cap_waits_for_one_to_end() -> None:
    limiter = SessionLimiter(1)
    order: list[str] = []
    second_started = threading.Event()

    def second() -> None:
        second_started.set()
        with limiter.session("enc"):
            order.append("second in")

    with limiter.session("enc"):
        order.append("first in")
        assert limiter.running("enc") == 1
        thread = threading.Thread(target=second)
        thread.start()
        assert second_started.wait(10)
        order.append("first out")
    thread.join(10)
    assert order == ["first in", "first out", "second in"]
    assert limiter.running("enc") == 0
