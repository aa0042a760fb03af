"""encodectl/report/probe.py: which ffmpeg and why (`version`), and the probe-gpu table.

`probe-gpu` and `version` as a user runs them: tests/test_gpu.py, tests/test_ffmpeg_discovery.py."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from encodectl.ffmpeg.encoder_choice import CodecChoice, HardwareReport
from encodectl.ffmpeg.gpu_probe import EncoderProbe
from encodectl.models import Codec, FFmpegBinary
from encodectl.report.probe import ffmpeg_choice, print_probe, supported_ffmpeg

pytestmark = pytest.mark.same_on_every_ffmpeg("text from given reports: no ffmpeg runs")

CHOSEN = FFmpegBinary(path=Path("/venv/ffmpeg"), version="9.0", source="imageio-ffmpeg", reason="the bundled build")
OLD = FFmpegBinary(path=Path("/usr/bin/ffmpeg"), version="4.1", source="PATH")
NEWER = FFmpegBinary(path=Path("/usr/bin/ffmpeg"), version="7.1", source="PATH")


def test_the_choice_and_the_others_installed() -> None:
    assert ffmpeg_choice(CHOSEN, [NEWER]) == [
        "ffmpeg 9.0 at /venv/ffmpeg (found via imageio-ffmpeg)",
        "  chosen: the bundled build",
        "  PATH also has ffmpeg 7.1 at /usr/bin/ffmpeg; --ffmpeg /usr/bin/ffmpeg uses it",
    ]
    assert (
        ffmpeg_choice(CHOSEN, [OLD])[-1]
        == "  PATH also has ffmpeg 4.1 at /usr/bin/ffmpeg, older than encodectl supports"
    )
    assert supported_ffmpeg() == "encodectl supports ffmpeg 4.2 and newer, and git builds"


def report() -> HardwareReport:
    probes = [
        EncoderProbe(encoder="h264_nvenc", vendor="nvidia", codec=Codec.h264, listed=True, works=False, seconds=0.5,
                     reason="no CUDA device"),
        EncoderProbe(encoder="h264_qsv", vendor="intel", codec=Codec.h264, listed=False, works=False),
    ]  # fmt: skip
    return HardwareReport(ffmpeg=CHOSEN, driver="d", probed_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC), encoders=probes,
                          cached=True, other_ffmpeg=[],
                          auto_choice={"h264": CodecChoice(encoder="libx264", reason="no working hardware encoder"),
                                       "av1": CodecChoice(encoder=None, reason="needs ffmpeg 5.1")})  # fmt: skip


def test_probe_lines_for_a_pipe() -> None:
    out = io.StringIO()
    print_probe(Console(file=out, width=200, color_system=None), report(), table=False)
    lines = out.getvalue().splitlines()
    assert lines[0].split("\t") == ["h264_nvenc", "nvidia", "h264", "listed", "fails", "0.50s", "no CUDA device"]
    assert lines[1].split("\t")[3:6] == ["unlisted", "fails", "-"]
    assert "cached 2026-01-02 03:04 UTC (--refresh to probe again)" in lines
    assert "encode --codec h264 would use libx264: no working hardware encoder" in lines
    assert "encode --codec av1 would refuse: needs ffmpeg 5.1" in lines


def test_probe_table_for_a_terminal() -> None:
    console = Console(width=100, color_system=None, record=True)
    print_probe(console, report(), table=True)
    text = console.export_text()
    assert text.startswith("hardware encoders in ffmpeg 9.0")
    row = next(line for line in text.splitlines() if "h264_nvenc" in line)
    assert row.split()[:5] == ["h264_nvenc", "nvidia", "h264", "yes", "no"] and "no CUDA device" in row
