"""encodectl/cli/options.py: the options `encode` and `watch` share, declared once, and their parsing.

Every option from the command line, bad values refused in one line: tests/test_bad_input.py,
tests/test_cli_behaviour.py."""

from __future__ import annotations

import pytest

from encodectl.benchmarking.measures import GUIDE_MODES
from encodectl.cli.options import bench_modes, build_options, frame_size
from encodectl.errors import UsageError
from encodectl.models import Codec, Device

pytestmark = pytest.mark.same_on_every_ffmpeg("options parsed: no ffmpeg runs")


def test_the_command_line_overrides_the_encoder_config() -> None:
    config = '{"encoder_type": "cpu", "codec": "hevc", "quality": 30}'
    options = build_options(config, {"quality": 20, "preset": None})
    assert (options.device, options.codec, options.quality, options.preset) == (Device.cpu, Codec.hevc, 20, "fast")
    assert build_options(None, {"fps": "29.97"}).fps.denominator == 1001


def test_bench_modes() -> None:
    assert bench_modes("all") == list(GUIDE_MODES)
    assert [mode.value for mode in bench_modes(" stream-cpu ")] == ["stream-cpu"]
    with pytest.raises(UsageError, match="unknown mode 'fast'"):
        bench_modes("fast")


def test_frame_size() -> None:
    assert frame_size("1280x720") == (1280, 720)
    assert frame_size("64X48") == (64, 48)
    with pytest.raises(UsageError, match="is not WIDTHxHEIGHT"):
        frame_size("1280*720")
    with pytest.raises(UsageError, match="too small"):
        frame_size("8x8")
