"""The encoder table: every encoder encodectl knows, and one quality/preset scale across them.

``--quality`` is CRF-like (0-51, lower is better) and ``--preset`` is
fast/medium/slow; this module is the single place that turns them into each
encoder's own controls, so "quality 23" asks for roughly the same picture on
every encoder. Native preset names (``veryfast``, ``p5``, ``8`` …) pass through.
"""

from __future__ import annotations

from fractions import Fraction

from pydantic import BaseModel

from ..errors import UsageError
from ..models import Codec, DepthMode, DepthQuantization, EncodeOptions, EncoderSettings, Profile

GENERIC_PRESETS = ("fast", "medium", "slow")
PRESET_ALIASES = {"hq": "slow"}  # LeRobot's gpu_encoder_config also says "hq"


class EncoderSpec(BaseModel):
    """One row of the table."""

    name: str
    codec: Codec
    vendor: str  # "cpu", "nvidia", "intel", "amd", "vaapi", "apple"
    hardware: bool
    quality_option: tuple[str, ...]  # ffmpeg options that receive the native quality value
    quality_max: int  # the native scale's worst value (51 for CRF/CQ/QP on h264)
    fixed: dict[str, str] = {}  # options every constant-quality encode with this encoder needs
    bitrate_fixed: dict[str, str] = {}  # what replaces `fixed` when a target bitrate is asked for
    presets: dict[str, str] = {}  # generic -> native; empty when the encoder has no preset control
    preset_option: str = "preset"
    native_presets: tuple[str, ...] = ()
    quality_inverted: bool = False  # videotoolbox: higher is better
    input_pix_fmt: str = "yuv420p"  # what the encoder is fed in system memory
    device_option: str | None = None  # global option naming the render device (VAAPI, QSV)
    upload_filter: str | None = None  # filter that moves frames to the GPU (VAAPI)
    # The first ffmpeg release whose wrapper of this encoder takes the options above; None: all supported ones.
    min_ffmpeg: tuple[int, int] | None = None


_X26X_PRESETS = {"fast": "fast", "medium": "medium", "slow": "slow"}
_X26X_NATIVE = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)
_NVENC_PRESETS = {"fast": "p2", "medium": "p4", "slow": "p6"}
_NVENC_NATIVE = ("p1", "p2", "p3", "p4", "p5", "p6", "p7")
_QSV_PRESETS = {"fast": "fast", "medium": "medium", "slow": "slow"}
_QSV_NATIVE = ("veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
_AMF_PRESETS = {"fast": "speed", "medium": "balanced", "slow": "quality"}
_AMF_NATIVE = ("speed", "balanced", "quality")
_SVT_PRESETS = {"fast": "8", "medium": "6", "slow": "4"}
_SVT_NATIVE = tuple(str(n) for n in range(14))


def _nvenc(codec: Codec, quality_max: int) -> EncoderSpec:
    return EncoderSpec(
        name=f"{codec.value}_nvenc",
        codec=codec,
        vendor="nvidia",
        hardware=True,
        quality_option=("cq",),
        quality_max=quality_max,
        fixed={"rc": "vbr", "b:v": "0"},
        bitrate_fixed={"rc": "vbr"},
        presets=_NVENC_PRESETS,
        native_presets=_NVENC_NATIVE,
    )


def _qsv(codec: Codec, quality_max: int) -> EncoderSpec:
    return EncoderSpec(
        name=f"{codec.value}_qsv",
        codec=codec,
        vendor="intel",
        hardware=True,
        quality_option=("global_quality",),
        quality_max=quality_max,
        presets=_QSV_PRESETS,
        native_presets=_QSV_NATIVE,
        input_pix_fmt="nv12",
        device_option="-qsv_device",
    )


def _amf(codec: Codec, quality_max: int) -> EncoderSpec:
    return EncoderSpec(
        name=f"{codec.value}_amf",
        codec=codec,
        vendor="amd",
        hardware=True,
        quality_option=("qp_i", "qp_p"),
        quality_max=quality_max,
        fixed={"rc": "cqp"},
        bitrate_fixed={"rc": "vbr_peak"},
        presets=_AMF_PRESETS,
        preset_option="quality",
        native_presets=_AMF_NATIVE,
        input_pix_fmt="nv12",
    )


def _cpu(
    name: str,
    codec: Codec,
    quality_max: int,
    presets: dict[str, str],
    native_presets: tuple[str, ...],
    x265_params: str | None = None,
    min_ffmpeg: tuple[int, int] | None = None,
) -> EncoderSpec:
    fixed = {"x265-params": x265_params} if x265_params else {}
    return EncoderSpec(
        name=name, codec=codec, vendor="cpu", hardware=False, quality_option=("crf",), quality_max=quality_max,
        fixed=fixed, bitrate_fixed=dict(fixed), presets=presets, native_presets=native_presets, min_ffmpeg=min_ffmpeg,
    )  # fmt: skip


def _vaapi(codec: Codec, quality_max: int, quality_option: str = "qp") -> EncoderSpec:
    return EncoderSpec(
        name=f"{codec.value}_vaapi",
        codec=codec,
        vendor="vaapi",
        hardware=True,
        quality_option=(quality_option,),
        quality_max=quality_max,
        fixed={"rc_mode": "CQP"},
        bitrate_fixed={"rc_mode": "VBR"},
        input_pix_fmt="nv12",
        device_option="-vaapi_device",
        upload_filter="hwupload",
    )


def _videotoolbox(codec: Codec) -> EncoderSpec:
    return EncoderSpec(
        name=f"{codec.value}_videotoolbox",
        codec=codec,
        vendor="apple",
        hardware=True,
        quality_option=("q:v",),
        quality_max=100,
        quality_inverted=True,
    )


ENCODERS: dict[str, EncoderSpec] = {
    spec.name: spec
    for spec in [
        _cpu("libx264", Codec.h264, 51, _X26X_PRESETS, _X26X_NATIVE),
        # x265's info lines must not pass for its error
        _cpu("libx265", Codec.hevc, 51, _X26X_PRESETS, _X26X_NATIVE, x265_params="log-level=error"),
        # Before 5.1 the wrapper had no -crf: ffmpeg takes the option (libx264 knows it), says it went
        # unused (a warning, hidden by -loglevel error) and SVT-AV1 encodes at its default qp 50.
        _cpu("libsvtav1", Codec.av1, 63, _SVT_PRESETS, _SVT_NATIVE, min_ffmpeg=(5, 1)),
        _nvenc(Codec.h264, 51),
        _nvenc(Codec.hevc, 51),
        _nvenc(Codec.av1, 63),
        _qsv(Codec.h264, 51),
        _qsv(Codec.hevc, 51),
        _qsv(Codec.av1, 255),
        _amf(Codec.h264, 51),
        _amf(Codec.hevc, 51),
        _amf(Codec.av1, 255),
        _vaapi(Codec.h264, 51),
        _vaapi(Codec.hevc, 51),
        # av1_vaapi has no -qp (ffmpeg would ignore it and encode at its default quality); the generic
        # -global_quality is what every VAAPI encoder's constant-quality mode reads.
        _vaapi(Codec.av1, 255, quality_option="global_quality"),
        _videotoolbox(Codec.h264),
        _videotoolbox(Codec.hevc),
    ]
}

CPU_ENCODER = {Codec.h264: "libx264", Codec.hevc: "libx265", Codec.av1: "libsvtav1"}
# Auto order: the first hardware encoder that really works wins, else the CPU one.
HARDWARE_ORDER = ("nvenc", "qsv", "amf", "vaapi", "videotoolbox")


def hardware_candidates(codec: Codec) -> list[EncoderSpec]:
    return [ENCODERS[f"{codec.value}_{kind}"] for kind in HARDWARE_ORDER if f"{codec.value}_{kind}" in ENCODERS]


def get_spec(name: str) -> EncoderSpec:
    spec = ENCODERS.get(name)
    if spec is None:
        raise UsageError(f"unknown encoder {name!r}; known: {', '.join(ENCODERS)}")
    return spec


def native_quality(spec: EncoderSpec, quality: int) -> int:
    """Map the 0-51 CRF-like scale onto the encoder's own scale."""
    if spec.quality_inverted:
        return max(1, round(100 - quality * 99 / 51))
    return round(quality * spec.quality_max / 51)


def native_preset(spec: EncoderSpec, preset: str) -> str | None:
    if not spec.presets:
        return None
    preset = PRESET_ALIASES.get(preset, preset)
    if preset in spec.presets:
        return spec.presets[preset]
    if preset in spec.native_presets:
        return preset
    allowed = ", ".join(dict.fromkeys([*GENERIC_PRESETS, *spec.native_presets]))
    raise UsageError(f"preset {preset!r} does not fit {spec.name}; use one of: {allowed}")


LEROBOT_GOP = 2  # a keyframe every 2 frames: training reads frames at random, each seek decodes from a keyframe


def lerobot_arguments(spec: EncoderSpec) -> dict[str, str]:
    """What LeRobot's encode_video_frames (0.4) passes, verbatim on the encoder's native scale:
    crf 30 and, for SVT-AV1, preset 12 (its fastest); libx264/libx265 keep their default preset."""
    arguments = {**spec.fixed, "crf": "30"}
    if spec.name == "libsvtav1":
        arguments["preset"] = "12"
    return arguments


def default_gop(fps: Fraction) -> int:
    """One keyframe a second."""
    return max(1, round(fps))


def render_device_path(gpu_id: int) -> str:
    return f"/dev/dri/renderD{128 + gpu_id}"


def encoder_settings(spec: EncoderSpec, options: EncodeOptions) -> EncoderSettings:
    """The native ffmpeg options for one encoder under the user's options."""
    if options.bitrate:  # a target bitrate replaces constant quality
        arguments = {**spec.bitrate_fixed, "b:v": options.bitrate}
    else:
        arguments = dict(spec.fixed)
        for option in spec.quality_option:
            arguments[option] = str(native_quality(spec, options.quality))
    preset = native_preset(spec, options.preset)
    if preset is not None:
        arguments[spec.preset_option] = preset
    gop = options.gop or default_gop(options.fps)
    if options.profile is Profile.lerobot:
        arguments, gop = lerobot_arguments(spec), options.gop or LEROBOT_GOP
    global_args: list[str] = []
    if spec.vendor == "nvidia" and options.gpu_id:
        arguments["gpu"] = str(options.gpu_id)
    if spec.device_option and (spec.vendor == "vaapi" or options.gpu_id):
        global_args = [spec.device_option, render_device_path(options.gpu_id or 0)]
    return EncoderSettings(
        encoder=spec.name,
        codec=spec.codec,
        hardware=spec.hardware,
        pix_fmt=options.pix_fmt,
        input_pix_fmt=spec.input_pix_fmt,
        upload_filter=spec.upload_filter,
        global_args=global_args,
        gop=gop,
        arguments=arguments,
    )


# Depth frames kept exactly: FFV1 version 3 (its standard, RFC 9043), 4 slices (coded, and decoded, in
# parallel) each with its own CRC (a corrupt file fails on decoding instead of yielding wrong values), no
# large contexts (smaller on noisy depth, measured: benchmarks/depth.py) and every frame a keyframe by default
# (a reader seeking to any frame decodes that frame alone). In Matroska: FFV1 in MP4 is not a standard
# mapping, and ffmpeg 5.1 refuses to write it.
FFV1_DEPTH_ARGUMENTS = {"level": "3", "slices": "4", "slicecrc": "1", "context": "0"}
# LeRobot 0.6's DepthEncoderConfig: HEVC of its 12-bit codes, x265 lossless (crf 30 as it passes it). Every frame
# a keyframe: x265's "lossless" 12-bit monochrome HEVC does not decode to its codes in predicted frames (measured
# with bare ffmpeg, gray12le noise, 10 frames: P- and B-frames differ at g 2 on x265 3.5 (Debian 12) and 4.x (the
# bundled build), with or without B-frames, weighted prediction or TMVP; intra-only reads back exactly on both;
# LeRobot 0.6.1's own depth videos (g 2) carry such wrong frames). Every code must read back exactly.
LEROBOT_DEPTH_ARGUMENTS = {"crf": "30", "x265-params": "lossless=1:log-level=error"}
LEROBOT_DEPTH_GOP = 1


def depth_settings(
    mode: DepthMode, colour: EncoderSettings, options: EncodeOptions, quantization: DepthQuantization | None
) -> EncoderSettings:
    """The encoder for depth frames under `mode`; `colour` is what colour frames of this run get."""
    if mode is DepthMode.lossless:
        return EncoderSettings(
            encoder="ffv1", codec="ffv1", pix_fmt="gray16le", input_pix_fmt="gray16le", gop=options.gop or 1,
            arguments=FFV1_DEPTH_ARGUMENTS, container="matroska", depth=mode,
        )  # fmt: skip
    if mode is DepthMode.lerobot:
        return EncoderSettings(
            encoder="libx265", codec="hevc", pix_fmt="gray12le", input_pix_fmt="gray12le",
            gop=LEROBOT_DEPTH_GOP, arguments=LEROBOT_DEPTH_ARGUMENTS, depth=mode,
            quantization=quantization or DepthQuantization(),
        )  # fmt: skip
    return colour.model_copy(update={"depth": mode})
