"""Choose the encoder for a run: forced, CPU, or the best hardware encoder that really works.

Also reads the guide's ``gpu_encoder_config`` JSON (``--encoder-config``) into
options, so the configuration users already have works as printed.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, model_validator

from ..errors import EncodeError, UsageError
from ..models import Codec, Device, EncodeOptions, EncoderSettings, FFmpegBinary, Profile, one_line
from .binary import other_ffmpegs
from .encoders import CPU_ENCODER, encoder_settings, get_spec, hardware_candidates
from .gpu_probe import ProbeReport, listed_encoders, probe_hardware

MAX_CONFIG_BYTES = 64 * 1024

_ENCODER_TYPES = {
    "auto": (Device.auto, None),
    "software": (Device.cpu, None),
    "cpu": (Device.cpu, None),
    "nvenc": (Device.gpu, "nvidia"),
    "qsv": (Device.gpu, "intel"),
    "amf": (Device.gpu, "amd"),
    "vce": (Device.gpu, "amd"),
    "vaapi": (Device.gpu, "vaapi"),
    "videotoolbox": (Device.gpu, "apple"),
}


class GpuEncoderConfig(BaseModel):
    """The guide's gpu_encoder_config.

    For example {"encoder_type": "nvenc", "codec": "h264", "preset": "fast", "quality": 23};
    LeRobot's own keys (bitrate, gpu_id, enable_logging) are accepted too.
    """

    model_config = ConfigDict(extra="forbid")

    encoder_type: Literal["auto", "software", "cpu", "nvenc", "qsv", "amf", "vce", "vaapi", "videotoolbox"] = "auto"
    codec: Codec = Codec.h264
    preset: str = "fast"
    quality: int = Field(23, ge=0, le=51)
    bitrate: str | None = None
    gpu_id: int = Field(0, ge=0)
    enable_logging: bool = True  # accepted as LeRobot has it; ffmpeg's errors are always kept

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(cls.model_fields))
            if unknown:
                raise ValueError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(cls.model_fields)}")
        return data

    def as_options(self) -> dict[str, Any]:
        device, vendor = _ENCODER_TYPES[self.encoder_type]
        return {
            "device": device,
            "vendor": vendor,
            "codec": self.codec,
            "preset": self.preset,
            "quality": self.quality,
            "bitrate": self.bitrate,
            "gpu_id": self.gpu_id,
        }


def parse_encoder_config(text: str) -> GpuEncoderConfig:
    """JSON text, or @path to a JSON file; one-line UsageError for anything wrong."""
    source = "--encoder-config"
    if text.startswith("@"):
        path = Path(text[1:])
        source = str(path)
        text = _read_config_file(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(
            f"{source} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from error
    if not isinstance(data, dict):
        raise UsageError(f'{source} must be a JSON object like {{"encoder_type": "nvenc", "codec": "h264"}}')
    try:
        return GpuEncoderConfig.model_validate(data)
    except ValidationError as error:
        raise UsageError(f"invalid {source}: {one_line(error, as_option=False)}") from None


def _read_config_file(path: Path) -> str:
    """A regular file of at most MAX_CONFIG_BYTES: /dev/zero would be read until memory runs out, and
    a FIFO would block the open until someone writes to it (with Ctrl-C unheard meanwhile)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise UsageError(f"cannot read --encoder-config file {path}: {error.strerror or error}") from error
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise UsageError(f"--encoder-config file {path} is not a regular file")
    with os.fdopen(descriptor, "rb") as handle:
        try:
            data = handle.read(MAX_CONFIG_BYTES + 1)
        except OSError as error:
            raise UsageError(f"cannot read --encoder-config file {path}: {error.strerror or error}") from error
    if len(data) > MAX_CONFIG_BYTES:
        raise UsageError(
            f"--encoder-config file {path} is over {MAX_CONFIG_BYTES // 1024} KiB; a configuration is a few "
            "hundred bytes of JSON"
        )
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise UsageError(f"--encoder-config file {path} is not a text (JSON) file") from None


class EncoderPlan(BaseModel):
    """The encoder a run uses, what it falls back to, and why."""

    primary: EncoderSettings
    fallback: EncoderSettings | None = None  # the CPU encoder of the same codec; None with --strict
    reason: str  # why `primary` was chosen, in a few words
    detail: str | None = None  # what each hardware encoder said, when none could be used
    fallback_note: str | None = None  # set when a GPU was asked for but the CPU is used from the start


def plan_encoder(
    options: EncodeOptions,
    binary: FFmpegBinary,
    probe: Callable[[FFmpegBinary], ProbeReport] = probe_hardware,
) -> EncoderPlan:
    """Decide which encoder every job of this run starts on (and falls back to), on this ffmpeg."""
    plan = _plan(options, binary, probe)
    problem = _too_old_for(plan.primary, binary)
    if problem is not None:
        raise UsageError(f"{problem}; --ffmpeg PATH or ENCODECTL_FFMPEG=PATH picks another")
    if plan.fallback is not None and _too_old_for(plan.fallback, binary) is not None:
        plan.fallback = None  # a hardware failure then fails the job, as with --strict, rather than run it wrong
    return plan


def _too_old_for(settings: EncoderSettings, binary: FFmpegBinary) -> str | None:
    needed, version = get_spec(settings.encoder).min_ffmpeg, binary.version_tuple
    if needed is None or version is None or version >= needed:
        return None
    return (
        f"{settings.encoder} needs ffmpeg {'.'.join(map(str, needed))} or newer, whose wrapper takes its quality "
        f"options; this is ffmpeg {binary.version} at {binary.path}"
    )


def _plan(options: EncodeOptions, binary: FFmpegBinary, probe: Callable[[FFmpegBinary], ProbeReport]) -> EncoderPlan:
    lerobot = options.profile is Profile.lerobot
    codec = Codec.av1 if lerobot and "codec" not in options.model_fields_set else options.codec
    cpu = _cpu_for(codec, options)
    if lerobot:
        return EncoderPlan(primary=cpu, reason=f"LeRobot's settings pin {cpu.encoder}")
    if options.encoder:
        spec = get_spec(options.encoder)
        if "codec" in options.model_fields_set and spec.codec is not options.codec:
            raise UsageError(
                f"--encoder {spec.name} makes {spec.codec.value}, but --codec {options.codec.value} was asked"
            )
        if spec.name not in listed_encoders(binary):
            raise UsageError(f"encoder {spec.name} is not compiled into this ffmpeg ({binary.path})")
        forced = encoder_settings(spec, options)
        fallback = None if options.strict or not spec.hardware else _cpu_for(spec.codec, options)
        return EncoderPlan(primary=forced, fallback=fallback, reason="forced with --encoder")
    if options.device is Device.cpu:
        return EncoderPlan(primary=cpu, reason="--device cpu")

    report = probe(binary)
    candidates = [
        name for name in report.working(codec) if options.vendor is None or get_spec(name).vendor == options.vendor
    ]
    if candidates:
        spec = get_spec(candidates[0])
        return EncoderPlan(
            primary=encoder_settings(spec, options),
            fallback=None if options.strict else cpu,
            reason=f"{spec.name} passed its test encode",
        )
    why = _why_no_hardware(report, codec, options.vendor)
    if options.device is Device.auto and options.vendor is None:
        return EncoderPlan(primary=cpu, reason="no working hardware encoder", detail=why)
    asked = f"{options.vendor} encoder" if options.vendor else "GPU encoder"
    if options.strict:
        raise EncodeError(f"no working {asked} for {codec.value} here: {why}")
    return EncoderPlan(
        primary=cpu,
        reason=f"no working {asked}",
        detail=why,
        fallback_note=f"no working {asked} for {codec.value}",
    )


def _cpu_for(codec: Codec, options: EncodeOptions) -> EncoderSettings:
    return encoder_settings(get_spec(CPU_ENCODER[codec]), options)


def _why_no_hardware(report: ProbeReport, codec: Codec, vendor: str | None) -> str:
    relevant = [spec.name for spec in hardware_candidates(codec) if vendor is None or spec.vendor == vendor]
    tried = [report.find(name) for name in relevant]
    listed = [p for p in tried if p is not None and p.listed]
    if not listed:
        return f"this ffmpeg has no {vendor + ' ' if vendor else 'hardware '}encoder for {codec.value}"
    return "; ".join(f"{p.encoder}: {p.reason}" for p in listed)


class CodecChoice(BaseModel):
    """What ``encode --codec C --device auto`` would use on this ffmpeg, and why."""

    encoder: str | None  # None: this ffmpeg cannot encode the codec at all (the reason says why)
    reason: str


class HardwareReport(ProbeReport):
    """``probe-gpu``: the probe, each codec's automatic choice, and the other ffmpeg builds installed."""

    auto_choice: dict[str, CodecChoice]
    other_ffmpeg: list[FFmpegBinary]

    @field_serializer("other_ffmpeg")
    def _without_reason(self, others: list[FFmpegBinary]) -> list[dict[str, Any]]:
        # Why a build was chosen means nothing for the builds not chosen.
        return [other.model_dump(mode="json", exclude={"reason"}) for other in others]


def hardware_report(binary: FFmpegBinary, refresh: bool = False) -> HardwareReport:
    """Probe the hardware encoders (or read the cache) and say what each codec would use."""
    report = probe_hardware(binary, refresh=refresh)
    choices: dict[str, CodecChoice] = {}
    for codec in Codec:
        try:
            plan = plan_encoder(EncodeOptions(codec=codec), binary, probe=lambda _: report)
            choices[codec.value] = CodecChoice(encoder=plan.primary.encoder, reason=plan.reason)
        except UsageError as refusal:  # e.g. AV1 on an ffmpeg before 5.1: say so, and go on with the others
            choices[codec.value] = CodecChoice(encoder=None, reason=refusal.message)
    return HardwareReport(**dict(report), auto_choice=choices, other_ffmpeg=list(other_ffmpegs(binary)))
