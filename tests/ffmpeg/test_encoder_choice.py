"""encodectl/ffmpeg/encoder_choice.py: which encoder a run starts on and falls back to, and --encoder-config.

The choice against a stand-in GPU ffmpeg, and the fallback while encoding: tests/test_gpu.py; a bad
--encoder-config at the command line: tests/test_bad_input.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from encodectl.errors import EncodeError, UsageError
from encodectl.ffmpeg.encoder_choice import parse_encoder_config, plan_encoder
from encodectl.ffmpeg.gpu_probe import EncoderProbe, ProbeReport
from encodectl.models import Codec, Device, EncodeOptions, FFmpegBinary, Profile

pytestmark = pytest.mark.same_on_every_ffmpeg("the choice is made from a given probe report: no encode runs")


def report_of(binary: FFmpegBinary, working: set[str]) -> ProbeReport:
    names = ["h264_nvenc", "h264_vaapi", "hevc_nvenc"]
    probes = [
        EncoderProbe(encoder=name, vendor=name.split("_")[1], codec=Codec(name.split("_")[0]), listed=True,
                     works=name in working, reason="" if name in working else "no device")
        for name in names
    ]  # fmt: skip
    return ProbeReport(ffmpeg=binary, driver="test", probed_at=datetime.now(UTC), encoders=probes)


def test_the_first_working_hardware_encoder_with_the_cpu_behind_it(ffmpeg_binary: FFmpegBinary) -> None:
    plan = plan_encoder(EncodeOptions(), ffmpeg_binary, probe=lambda b: report_of(b, {"h264_vaapi"}))
    assert plan.primary.encoder == "h264_vaapi"
    assert plan.fallback is not None and plan.fallback.encoder == "libx264"
    strict = plan_encoder(EncodeOptions(strict=True), ffmpeg_binary, probe=lambda b: report_of(b, {"h264_vaapi"}))
    assert strict.fallback is None


def test_no_working_hardware(ffmpeg_binary: FFmpegBinary) -> None:
    auto = plan_encoder(EncodeOptions(), ffmpeg_binary, probe=lambda b: report_of(b, set()))
    assert (auto.primary.encoder, auto.reason) == ("libx264", "no working hardware encoder")
    assert auto.detail is not None and "h264_nvenc: no device" in auto.detail and auto.fallback_note is None

    gpu = plan_encoder(EncodeOptions(device=Device.gpu), ffmpeg_binary, probe=lambda b: report_of(b, set()))
    assert gpu.primary.encoder == "libx264" and gpu.fallback_note == "no working GPU encoder for h264"
    with pytest.raises(EncodeError, match="no working GPU encoder for h264"):
        plan_encoder(EncodeOptions(device=Device.gpu, strict=True), ffmpeg_binary, probe=lambda b: report_of(b, set()))


def test_cpu_and_lerobot_never_probe(ffmpeg_binary: FFmpegBinary) -> None:
    def no_probe(binary: FFmpegBinary) -> ProbeReport:
        raise AssertionError("probed")

    assert plan_encoder(EncodeOptions(device=Device.cpu), ffmpeg_binary, probe=no_probe).primary.encoder == "libx264"
    lerobot = plan_encoder(EncodeOptions(profile=Profile.lerobot), ffmpeg_binary, probe=no_probe)
    assert lerobot.primary.encoder == "libsvtav1"


def test_a_forced_encoder_must_make_the_codec_asked(ffmpeg_binary: FFmpegBinary) -> None:
    with pytest.raises(UsageError, match="--encoder libx265 makes hevc, but --codec h264 was asked"):
        plan_encoder(EncodeOptions(encoder="libx265", codec=Codec.h264), ffmpeg_binary)


def test_parse_encoder_config(tmp_path: Path) -> None:
    config = parse_encoder_config('{"encoder_type": "nvenc", "codec": "hevc", "quality": 30}')
    assert config.as_options()["vendor"] == "nvidia" and config.as_options()["quality"] == 30
    saved = tmp_path / "config.json"
    saved.write_text('{"encoder_type": "cpu"}')
    assert parse_encoder_config(f"@{saved}").as_options()["device"] is Device.cpu
    with pytest.raises(UsageError, match="unknown key"):
        parse_encoder_config('{"encoder": "nvenc"}')
    with pytest.raises(UsageError, match="not valid JSON"):
        parse_encoder_config("{nope")
    with pytest.raises(UsageError, match="must be a JSON object"):
        parse_encoder_config("[1]")
