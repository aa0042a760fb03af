"""encodectl/stream/lerobot_settings.py: LeRobot 0.6's encoder configs, read by attribute, and the plan a
streaming camera takes from them.

With LeRobot's own config classes, hardware vcodecs on a fake GPU, videos read back:
tests/test_lerobot_streaming.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from encodectl.errors import UsageError
from encodectl.models import DepthMode, DepthQuantization, FFmpegBinary
from encodectl.stream.lerobot_settings import LeRobotEncoderConfig, depth_defaults, plan_for, say_once

pytestmark = pytest.mark.same_on_every_ffmpeg("settings computed from configs: no hardware probed, no encode runs")


def test_a_config_is_read_by_attribute_and_none_means_lerobots_defaults() -> None:
    assert LeRobotEncoderConfig.of(None, depth=False) == LeRobotEncoderConfig()
    assert LeRobotEncoderConfig.of(None, depth=True) == depth_defaults()
    config = SimpleNamespace(vcodec="h264", crf=18, preset="fast", g=None, unknown="ignored", depth_min=0.5)
    read = LeRobotEncoderConfig.of(config, depth=False)
    assert (read.vcodec, read.crf, read.preset, read.g, read.depth) == ("h264", 18, "fast", None, None)
    depth = LeRobotEncoderConfig.of(SimpleNamespace(vcodec="hevc", depth_min=0.5, use_log=False), depth=True)
    assert depth.depth == DepthQuantization(depth_min=0.5, use_log=False)


@pytest.mark.parametrize(
    ("values", "threads", "options"),
    [({}, None, {"crf": "30", "preset": "12", "svtav1-params": "fast-decode=0"}),
     ({"fast_decode": 5}, 4, {"crf": "30", "preset": "12", "svtav1-params": "fast-decode=2:lp=4"}),
     ({"vcodec": "hevc", "fast_decode": 1, "preset": None}, 2, {"crf": "30", "tune": "fastdecode", "threads": "2"}),
     ({"vcodec": "libaom-av1", "fast_decode": 1}, 2, {"crf": "30", "preset": "12", "threads": "2", "row-mt": "1"}),
     ({"vcodec": "hevc_videotoolbox", "crf": 20}, None, {"q:v": "60"}),
     ({"vcodec": "h264_videotoolbox", "crf": 80}, None, {"q:v": "1"}),
     ({"vcodec": "h264_nvenc", "crf": 28, "preset": "p4"}, None, {"rc": "0", "qp": "28", "preset": "p4"}),
     ({"vcodec": "h264_vaapi"}, None, {"qp": "30"}),
     ({"vcodec": "h264_qsv", "preset": None, "extra_options": {"g": "9", "look_ahead": 1}}, None,
      {"global_quality": "30", "look_ahead": "1"})],
)  # fmt: skip
def test_codec_options_as_lerobot_passes_them_to_pyav(
    values: dict[str, object], threads: int | None, options: dict[str, str]
) -> None:
    assert LeRobotEncoderConfig(**values).codec_options(threads) == options  # type: ignore[arg-type]


def test_cpu_and_depth_plans(ffmpeg_binary: FFmpegBinary) -> None:
    default = plan_for(LeRobotEncoderConfig(), 2, ffmpeg_binary)
    assert (default.primary.encoder, default.primary.codec, default.primary.gop, default.fallback) == (
        "libsvtav1", "av1", 2, None)  # fmt: skip
    assert default.primary.arguments == {"crf": "30", "preset": "12", "svtav1-params": "fast-decode=0:lp=2"}
    assert plan_for(LeRobotEncoderConfig(vcodec="auto"), None, ffmpeg_binary).primary.encoder == "libsvtav1"
    hevc = plan_for(LeRobotEncoderConfig(vcodec="hevc", g=None, preset="fast"), None, ffmpeg_binary).primary
    assert (hevc.encoder, hevc.gop, hevc.arguments["x265-params"]) == ("libx265", 2, "log-level=error")
    depth = plan_for(depth_defaults(), None, ffmpeg_binary).primary
    assert (depth.encoder, depth.pix_fmt, depth.gop, depth.depth) == ("libx265", "gray12le", 1, DepthMode.lerobot)
    assert depth.arguments == {"crf": "30", "x265-params": "lossless=1:log-level=error"}
    with pytest.raises(UsageError, match="HEVC of 12-bit codes; not libsvtav1"):
        plan_for(LeRobotEncoderConfig(depth=DepthQuantization()), None, ffmpeg_binary)
    with pytest.raises(UsageError, match=r"^LeRobot vcodec 'mpeg4' is not one encodectl streams with$"):
        plan_for(LeRobotEncoderConfig(vcodec="mpeg4"), None, ffmpeg_binary)


def test_a_warning_is_said_once_per_process(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="encodectl.lerobot"):
        say_once("tests/stream/test_lerobot_settings: once")
        say_once("tests/stream/test_lerobot_settings: once")
    assert [record.message for record in caplog.records] == ["tests/stream/test_lerobot_settings: once"]
