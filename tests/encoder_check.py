"""What an ffmpeg build says an encoder takes (`ffmpeg -h encoder=NAME`, `-h full`), and the encoder options
of an argv encodectl built, to check one against the other without copying encodectl's own table."""

from __future__ import annotations

import functools
import math
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from encodectl.ffmpeg.command import build_encode_command
from encodectl.ffmpeg.encoders import ENCODERS
from encodectl.ffmpeg.gpu_probe import listed_encoders
from encodectl.frames.layout import EpisodeSource
from encodectl.job.planning import plan_job
from encodectl.models import EncodeOptions, EncoderSettings, FFmpegBinary

# The options of an encode's output that ffmpeg itself or the muxer takes, not the encoder: everything else
# after the last -map must be an option the encoder (or every encoder: AVCodecContext) lists.
NOT_ENCODER_OPTIONS = {"f", "an", "c:v", "frames:v", "fps_mode", "vsync", "movflags", "video_track_timescale",
                       "cues_to_front"}  # fmt: skip
VALUELESS = {"an"}

_OPTION = re.compile(r"^  -(?P<name>\S+)\s+<(?P<type>\w+)>\s+\S+(?P<rest>.*)$")
# ffmpeg 5.0 and later print a constant's value before its flags; 4.x prints none.
_CONSTANT = re.compile(r"^ {4,}(?P<name>\S+)\s+(?:\S+\s+)?[E.][D.]")
_RANGE = re.compile(r"\(from (?P<low>\S+) to (?P<high>\S+)\)")
_LIMITS = {"INT_MIN": -math.inf, "INT_MAX": math.inf, "I64_MIN": -math.inf, "I64_MAX": math.inf,
           "UINT32_MAX": math.inf, "FLT_MAX": math.inf, "-FLT_MAX": -math.inf, "DBL_MAX": math.inf,
           "-DBL_MAX": -math.inf}  # fmt: skip
_SUFFIX = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}


@dataclass
class Option:
    kind: str  # int, int64, float, double, boolean, string, flags, dictionary...
    low: float = -math.inf
    high: float = math.inf
    constants: set[str] = field(default_factory=set)

    def accepts(self, value: str) -> bool:
        """Whether ffmpeg would take `value` for this option: a named constant, or a number in range."""
        if value in self.constants or self.kind not in ("int", "int64", "float", "double", "boolean"):
            return True
        number = value[:-1] if value[-1:] in _SUFFIX else value
        try:
            parsed = float(number) * _SUFFIX.get(value[-1:], 1)
        except ValueError:
            return False
        return self.low <= parsed <= self.high


def parse_options(text: str, section: str | None = None) -> dict[str, Option]:
    """The AVOptions listed in `ffmpeg -h` output (only those under the heading `section`, if given)."""
    options: dict[str, Option] = {}
    current: Option | None = None
    inside = section is None
    for line in text.splitlines():
        if section is not None and line and not line.startswith(" "):
            inside = line.startswith(section)
            current = None
            continue
        if not inside:
            continue
        if match := _OPTION.match(line):
            current = options.setdefault(match["name"], Option(kind=match["type"]))
            if bounds := _RANGE.search(match["rest"]):
                current.low, current.high = (_LIMITS.get(v) or float(v) for v in (bounds["low"], bounds["high"]))
        elif (match := _CONSTANT.match(line)) and current is not None:
            current.constants.add(match["name"])
    return options


@functools.cache
def _help(ffmpeg_path: Path, topic: str) -> str:
    completed = subprocess.run([str(ffmpeg_path), "-hide_banner", "-h", topic], capture_output=True, text=True)
    return completed.stdout


def encoder_options(binary: FFmpegBinary, encoder: str) -> dict[str, Option] | None:
    """The encoder's own options as this build lists them; None when the build does not know the encoder."""
    text = _help(binary.path, f"encoder={encoder}")
    if not text.startswith(f"Encoder {encoder} "):
        return None
    return parse_options(text)


def codec_context_options(binary: FFmpegBinary) -> dict[str, Option]:
    """The options every encoder takes (AVCodecContext's: -b, -g, -threads...)."""
    return parse_options(_help(binary.path, "full"), section="AVCodecContext AVOptions")


def output_options(argv: list[str]) -> list[tuple[str, str | None]]:
    """The (option, value) pairs of the argv's single output: what follows its last -map, but the path."""
    after = len(argv) - 1 - argv[::-1].index("-map") + 2
    options, rest = [], argv[after:-1]
    while rest:
        name = rest.pop(0)
        assert name.startswith("-"), f"{name!r} where an option was expected in {argv}"
        options.append((name[1:], None if name[1:] in VALUELESS else rest.pop(0)))
    return options


def encoder_argv(binary: FFmpegBinary, frames: Path, output: Path, settings: EncoderSettings) -> list[str]:
    """The argv encodectl runs to encode the frames in `frames` into `output` with `settings`."""
    source = EpisodeSource(directory=frames, output=output, episode=frames.name)
    job = plan_job(source, EncodeOptions(device="cpu"), settings)
    return build_encode_command(job, binary, output, progress=False)


def unknown_options(binary: FFmpegBinary, encoder: str, argv: list[str]) -> list[str]:
    """Encoder options of `argv` that this build's encoder does not list, or whose value it would refuse."""
    own = encoder_options(binary, encoder)
    assert own is not None, f"{binary.path} does not know {encoder}"
    common = codec_context_options(binary)
    problems = []
    for name, value in output_options(argv):
        if name in NOT_ENCODER_OPTIONS:
            continue
        option = own.get(name.split(":")[0]) or common.get(name.split(":")[0])
        if option is None:
            problems.append(f"-{name} is not an option of {encoder}")
        elif value is not None and not option.accepts(value):
            problems.append(f"-{name} {value} is outside what {encoder} takes")
    return problems


def skip_unless_runnable(binary: FFmpegBinary, encoder: str) -> None:
    """Skip, saying why, an encoder this ffmpeg cannot run as encodectl uses it."""
    spec = ENCODERS[encoder]
    if encoder not in listed_encoders(binary):
        pytest.skip(f"{binary.path} has no {encoder}")
    if spec.min_ffmpeg and binary.version_tuple and binary.version_tuple < spec.min_ffmpeg:
        pytest.skip(f"encodectl does not use {encoder} on ffmpeg {binary.version} (before {spec.min_ffmpeg})")
