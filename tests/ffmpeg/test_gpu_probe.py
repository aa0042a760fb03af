"""encodectl/ffmpeg/gpu_probe.py: which hardware encoders are compiled in and really work, cached per binary
and driver.

The probe against a stand-in GPU ffmpeg and `probe-gpu`'s output: tests/test_gpu.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from encodectl.ffmpeg.encoders import get_spec
from encodectl.ffmpeg.gpu_probe import (
    EncoderProbe,
    ProbeReport,
    listed_encoders,
    probe_hardware,
    render_device,
)
from encodectl.ffmpeg.gpu_probe import (
    test_encoder as encode_a_test,
)
from encodectl.models import Codec, FFmpegBinary


def test_listed_encoders_reads_the_binarys_list(ffmpeg_binary: FFmpegBinary) -> None:
    listed = listed_encoders(ffmpeg_binary)
    assert "libx264" in listed
    assert "png" in listed  # an image encoder is a video encoder too
    assert not any(name.startswith(("aac", "pcm_")) for name in listed)  # audio ones are not


def test_a_test_encode_proves_an_encoder_works_or_says_why(ffmpeg_binary: FFmpegBinary) -> None:
    works = encode_a_test(ffmpeg_binary, get_spec("libx264"))
    assert works.works and works.reason == "" and works.seconds is not None
    refused = encode_a_test(ffmpeg_binary, get_spec("libx264").model_copy(update={"name": "no_such_encoder"}))
    assert not refused.works and "no_such_encoder" in refused.reason


def test_the_probe_is_cached_for_the_next_run(
    ffmpeg_binary: FFmpegBinary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENCODECTL_CACHE_DIR", str(tmp_path))
    first = probe_hardware(ffmpeg_binary)
    assert not first.cached and list(tmp_path.glob("probe-*.json"))
    second = probe_hardware(ffmpeg_binary)
    assert second.cached and second.encoders == first.encoders
    assert not probe_hardware(ffmpeg_binary, refresh=True).cached


@pytest.mark.same_on_every_ffmpeg("a report given as data: no ffmpeg runs")
def test_report_questions(ffmpeg_binary: FFmpegBinary) -> None:
    probes = [
        EncoderProbe(encoder="h264_nvenc", vendor="nvidia", codec=Codec.h264, listed=True, works=False),
        EncoderProbe(encoder="h264_qsv", vendor="intel", codec=Codec.h264, listed=True, works=True),
        EncoderProbe(encoder="hevc_qsv", vendor="intel", codec=Codec.hevc, listed=True, works=True),
    ]
    report = ProbeReport(ffmpeg=ffmpeg_binary, driver="d", probed_at=datetime.now(UTC), encoders=probes)
    assert report.working(Codec.h264) == ["h264_qsv"]
    assert report.find("hevc_qsv") is probes[2] and report.find("av1_qsv") is None
    assert render_device(["-vaapi_device", "/dev/dri/renderD129"]) == "/dev/dri/renderD129"
    assert render_device(["-hwaccel", "cuda"]) is None
