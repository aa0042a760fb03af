"""encodectl/ffmpeg/log.py: the one line of ffmpeg's log that says what went wrong.

The logs of real failures on several ffmpeg versions: tests/test_ffmpeg_log.py."""

from __future__ import annotations

import pytest

from encodectl.ffmpeg.log import encoder_failure, is_decoder_failure, meaningful_error, strip_context

pytestmark = pytest.mark.same_on_every_ffmpeg("log lines given as text: no ffmpeg runs")


def test_strip_context_names_the_innermost_component() -> None:
    assert strip_context("[h264_nvenc @ 0x5564ab] Cannot load libcuda.so.1") == (
        "h264_nvenc",
        "Cannot load libcuda.so.1",
    )
    line = "[vost#0:0/h264_nvenc @ 0x1] [enc:h264_nvenc @ 0x2] No capable devices found"
    assert strip_context(line) == ("h264_nvenc", "No capable devices found")
    assert strip_context("  plain words  ") == (None, "plain words")


def test_meaningful_error_skips_generic_lines_and_library_chatter() -> None:
    log = [
        "Svt[info]: -------------------------------------------",
        "x265 [warning]: some setting",
        "[png @ 0xab] chunk too big",
        "Error while opening encoder for output stream #0:0",
        "Conversion failed!",
    ]
    assert meaningful_error(log) == "png: chunk too big"
    assert meaningful_error(["Svt[error]: Instance 1: Source Height must be at least 64"]) == (
        "SVT-AV1: Source Height must be at least 64"
    )
    assert meaningful_error(["Conversion failed!"]) == "Conversion failed!"  # nothing better: the last line
    assert meaningful_error(["", "x264 [info]: using cpu"]) == "no error message from ffmpeg"


def test_decoder_failure_in_words_or_by_the_decoders_name() -> None:
    assert is_decoder_failure(["Error submitting packet to decoder: Invalid data"])
    assert is_decoder_failure(["[png @ 0x1] chunk too big"], decoder="png")
    assert not is_decoder_failure(["[png @ 0x1] chunk too big"], decoder="mjpeg")
    assert not is_decoder_failure(["[libx264 @ 0x1] broken"])


def test_encoder_failure_names_the_encoder_once() -> None:
    log = ["[h264_nvenc @ 0x1] OpenEncodeSessionEx failed: out of memory (10)"]
    assert encoder_failure("h264_nvenc", 187, log) == (
        "h264_nvenc failed (exit 187): OpenEncodeSessionEx failed: out of memory (10)"
    )
