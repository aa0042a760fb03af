"""encodectl/ffmpeg/encoders.py: each encoder's native options for the user's quality, preset and profile.

The commands these options make, encoder by encoder: tests/test_command.py; encodes with them: tests/test_encode.py,
tests/test_gpu.py (hardware, through a stand-in ffmpeg)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from encodectl.errors import UsageError
from encodectl.ffmpeg.encoders import (
    default_gop,
    encoder_settings,
    get_spec,
    hardware_candidates,
    native_preset,
    native_quality,
)
from encodectl.models import Codec, EncodeOptions, Profile

pytestmark = pytest.mark.same_on_every_ffmpeg("encodectl's table of encoders: no ffmpeg runs")


def test_quality_maps_onto_each_encoders_scale() -> None:
    assert native_quality(get_spec("libx264"), 23) == 23
    assert native_quality(get_spec("libsvtav1"), 51) == get_spec("libsvtav1").quality_max
    inverted = next(spec for spec in map(get_spec, ["hevc_videotoolbox", "h264_videotoolbox"]) if spec.quality_inverted)
    assert native_quality(inverted, 0) == 100
    assert native_quality(inverted, 51) == 1


def test_presets_generic_native_or_refused() -> None:
    x264 = get_spec("libx264")
    assert native_preset(x264, "fast") == "fast"
    assert native_preset(x264, "veryslow") == "veryslow"
    with pytest.raises(UsageError, match="preset 'warp' does not fit libx264"):
        native_preset(x264, "warp")
    with pytest.raises(UsageError, match="unknown encoder 'x266'"):
        get_spec("x266")


def test_hardware_candidates_in_the_auto_order() -> None:
    names = [spec.name for spec in hardware_candidates(Codec.h264)]
    assert names[0] == "h264_nvenc"
    assert names.index("h264_qsv") < names.index("h264_vaapi")
    assert all(spec.hardware and spec.codec is Codec.h264 for spec in hardware_candidates(Codec.h264))


def test_settings_follow_the_options() -> None:
    options = EncodeOptions(fps=Fraction(15), quality=30)
    settings = encoder_settings(get_spec("libx264"), options)
    assert (settings.encoder, settings.codec, settings.gop) == ("libx264", "h264", 15)
    assert settings.arguments["crf"] == "30"

    bitrate = encoder_settings(get_spec("libx264"), EncodeOptions(bitrate="2M"))
    assert bitrate.arguments["b:v"] == "2M" and "crf" not in bitrate.arguments

    lerobot = encoder_settings(get_spec("libsvtav1"), EncodeOptions(profile=Profile.lerobot, codec=Codec.av1))
    assert lerobot.gop == 2 and lerobot.arguments["crf"] == "30" and lerobot.arguments["preset"] == "12"

    vaapi = encoder_settings(get_spec("h264_vaapi"), EncodeOptions(gpu_id=1))
    assert vaapi.global_args[-1] == "/dev/dri/renderD129"


def test_one_keyframe_a_second() -> None:
    assert default_gop(Fraction(30000, 1001)) == 30
    assert default_gop(Fraction(1, 2)) == 1
