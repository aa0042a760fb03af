"""LeRobot 0.6's encoder configs (RGBEncoderConfig / DepthEncoderConfig, read by attribute: no LeRobot import)
and the encoder plan a streaming camera takes from them: LeRobot's vcodec and codec options, a hardware
vcodec only when encodectl's test encode says it works, else the CPU encoder of its codec, said once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..errors import UsageError
from ..ffmpeg.encoder_choice import EncoderPlan
from ..ffmpeg.encoders import ENCODERS
from ..ffmpeg.gpu_probe import probe_hardware
from ..models import DepthMode, DepthQuantization, EncoderSettings, FFmpegBinary

log = logging.getLogger("encodectl.lerobot")

# vcodec (as LeRobot's VideoEncoderConfig names it, for PyAV) -> the ffmpeg encoder and the codec it makes.
CPU_VCODECS = {
    "libsvtav1": ("libsvtav1", "av1"),
    "libaom-av1": ("libaom-av1", "av1"),
    "h264": ("libx264", "h264"),
    "hevc": ("libx265", "hevc"),
}
HARDWARE_VCODECS = {
    "h264_nvenc": "h264",
    "hevc_nvenc": "hevc",
    "h264_vaapi": "h264",
    "h264_qsv": "h264",
    "h264_videotoolbox": "h264",
    "hevc_videotoolbox": "hevc",
}
# Depth codes all-intra whatever the config's g, as `encode` writes them (encoders.py, LEROBOT_DEPTH_ARGUMENTS:
# x265's lossless 12-bit monochrome HEVC does not decode to its codes in predicted frames; keyframes it does).
DEPTH_GOP = 1
DEPTH_KEEP_EXACT = "log-level=error"

_said: set[str] = set()
_said_lock = threading.Lock()


def say_once(message: str) -> None:
    """A warning the recorder sees once per process, however many datasets and cameras repeat it."""
    with _said_lock:
        if message in _said:
            return
        _said.add(message)
    log.warning(message)


class LeRobotEncoderConfig(BaseModel):
    """What encodectl reads off LeRobot 0.6's RGBEncoderConfig / DepthEncoderConfig (by attribute, so no
    LeRobot import is needed); the defaults are LeRobot 0.6.1's rgb_encoder_defaults()."""

    model_config = ConfigDict(extra="forbid")

    vcodec: str = "libsvtav1"
    pix_fmt: str = "yuv420p"
    g: int | None = 2
    crf: int | float | None = 30
    preset: int | str | None = 12
    fast_decode: int = 0
    extra_options: dict[str, Any] = {}
    depth: DepthQuantization | None = None  # a DepthEncoderConfig's quantizer

    @classmethod
    def of(cls, config: object | None, depth: bool) -> LeRobotEncoderConfig:
        """From LeRobot's config object; None: LeRobot's defaults for colour or depth cameras."""
        if config is None:
            return depth_defaults() if depth else cls()
        values = {name: getattr(config, name) for name in cls.model_fields if name != "depth" and hasattr(config, name)}
        if depth:
            quantizer = {name: getattr(config, name) for name in ("depth_min", "depth_max", "shift", "use_log")
                         if hasattr(config, name)}  # fmt: skip
            values["depth"] = DepthQuantization(**quantizer)
        return cls(**values)

    def codec_options(self, threads: int | None) -> dict[str, str]:
        """The codec options LeRobot 0.6.1's get_codec_options passes to PyAV (ffmpeg's own option names),
        less the GOP, which is the settings' own; extra options last, never over a structured one."""
        options: dict[str, Any] = {}

        def given(key: str, value: Any) -> None:
            if value is not None:
                options[key] = value

        vcodec = self.vcodec
        if vcodec == "libsvtav1":
            given("crf", self.crf)
            given("preset", self.preset)
            parts = [f"fast-decode={max(0, min(2, self.fast_decode))}"]
            if threads is not None:
                parts.append(f"lp={threads}")
            given("svtav1-params", ":".join(parts))
        elif vcodec in ("h264", "hevc", "libaom-av1"):
            given("crf", self.crf)
            given("preset", self.preset)
            if vcodec != "libaom-av1" and self.fast_decode:
                given("tune", "fastdecode")
            given("threads", threads)
            if vcodec == "libaom-av1" and threads is not None:
                given("row-mt", 1)
        elif vcodec.endswith("_videotoolbox"):
            if self.crf is not None:
                given("q:v", max(1, min(100, 100 - self.crf * 2)))
        elif vcodec.endswith("_nvenc"):
            given("rc", 0)
            given("qp", self.crf)
            given("preset", self.preset)
        elif vcodec == "h264_vaapi":
            given("qp", self.crf)
        elif vcodec == "h264_qsv":
            given("global_quality", self.crf)
            given("preset", self.preset)
        for key, value in self.extra_options.items():
            if key not in options and key != "g":
                given(key, value)
        return {key: str(value) for key, value in options.items()}


def depth_defaults() -> LeRobotEncoderConfig:
    """LeRobot 0.6.1's depth_encoder_defaults(): HEVC lossless of 12-bit codes."""
    return LeRobotEncoderConfig(
        vcodec="hevc", pix_fmt="gray12le", preset=None, extra_options={"x265-params": "lossless=1"},
        depth=DepthQuantization(),
    )  # fmt: skip


def plan_for(config: LeRobotEncoderConfig, threads: int | None, binary: FFmpegBinary) -> EncoderPlan:
    """The encoder a camera streams with: LeRobot's vcodec and options; a hardware vcodec only when it
    passes encodectl's test encode (else the CPU encoder of its codec, said once)."""
    vcodec, gop = config.vcodec, config.g or 2
    options = config.codec_options(threads)
    if config.depth is not None:
        if vcodec != "hevc":
            raise UsageError(f"depth cameras stream as LeRobot 0.6 writes them, HEVC of 12-bit codes; not {vcodec}")
        params = options.get("x265-params")
        options["x265-params"] = f"{params}:{DEPTH_KEEP_EXACT}" if params else DEPTH_KEEP_EXACT
        settings = EncoderSettings(
            encoder="libx265", codec="hevc", pix_fmt=config.pix_fmt, input_pix_fmt=config.pix_fmt, gop=DEPTH_GOP,
            arguments=options, depth=DepthMode.lerobot, quantization=config.depth,
        )  # fmt: skip
        return EncoderPlan(primary=settings, reason="LeRobot's depth encoder: HEVC of its 12-bit codes")
    if vcodec == "auto":  # LeRobot resolves it when the config is made; a config made without it lands here
        vcodec = "libsvtav1"
    if vcodec in CPU_VCODECS:
        encoder, codec = CPU_VCODECS[vcodec]
        settings = _cpu_settings(encoder, codec, config.pix_fmt, gop, options)
        return EncoderPlan(primary=settings, reason=f"LeRobot's vcodec {config.vcodec}")
    if vcodec not in HARDWARE_VCODECS:
        raise UsageError(f"LeRobot vcodec {vcodec!r} is not one encodectl streams with")
    codec = HARDWARE_VCODECS[vcodec]
    cpu_encoder = CPU_VCODECS[codec][0]
    cpu_options = LeRobotEncoderConfig(vcodec=codec, pix_fmt=config.pix_fmt, g=config.g, crf=config.crf)
    cpu = _cpu_settings(cpu_encoder, codec, config.pix_fmt, gop, cpu_options.codec_options(threads))
    probe = probe_hardware(binary).find(vcodec)
    if probe is None or not probe.works:
        why = probe.reason if probe is not None else "not in encodectl's encoder table"
        say_once(f"{vcodec} does not work here ({why}); encoding {codec} on the CPU with {cpu_encoder}")
        return EncoderPlan(primary=cpu, reason=f"{vcodec} failed its test encode")
    spec = ENCODERS[vcodec]
    global_args = [spec.device_option, "/dev/dri/renderD128"] if spec.vendor == "vaapi" and spec.device_option else []
    hardware = EncoderSettings(
        encoder=vcodec, codec=codec, hardware=True, pix_fmt=config.pix_fmt, input_pix_fmt=spec.input_pix_fmt,
        upload_filter=spec.upload_filter, global_args=global_args, gop=gop, arguments=options,
    )  # fmt: skip
    return EncoderPlan(primary=hardware, fallback=cpu, reason=f"{vcodec} passed its test encode")


def _cpu_settings(encoder: str, codec: str, pix_fmt: str, gop: int, options: dict[str, str]) -> EncoderSettings:
    if encoder == "libx265":  # x265's info lines must not pass for its error (encoders.py)
        params = options.get("x265-params")
        options = {**options, "x265-params": f"{params}:log-level=error" if params else "log-level=error"}
    return EncoderSettings(encoder=encoder, codec=codec, pix_fmt=pix_fmt, gop=gop, arguments=options)
