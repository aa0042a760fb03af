"""The command-line options that `encode` and `watch` share, declared once: the same names, defaults
and help in both, collected into SharedOptions and turned into EncodeOptions.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import BaseModel

from ..errors import UsageError
from ..models import Codec, DepthMode, Device, EncodeOptions, GapPolicy, Priority, Profile, VerifyMode, options_from

if TYPE_CHECKING:
    from ..benchmarking.measures import BenchMode

Command = TypeVar("Command", bound=Callable[..., Any])


def build_options(encoder_config: str | None, given: dict[str, Any]) -> EncodeOptions:
    """Options from --encoder-config, overridden by every option given on the command line."""
    from ..ffmpeg.encoder_choice import parse_encoder_config

    values: dict[str, Any] = parse_encoder_config(encoder_config).as_options() if encoder_config else {}
    values.update({key: value for key, value in given.items() if value is not None})
    return options_from(values)


# Options shared by `encode` and `watch` (the same names, defaults and help in both).
FpsOption = Annotated[
    str | None,
    typer.Option(
        help="Frame rate: 30, 29.97 or 30000/1001 [default: 30; a LeRobot dataset's own].", show_default=False
    ),
]
CodecOption = Annotated[Codec | None, typer.Option(help="h264, hevc or av1 [default: h264].", show_default=False)]
EncoderOption = Annotated[str | None, typer.Option(help="Force one encoder, e.g. libx264 or h264_nvenc.")]
DeviceOption = Annotated[
    Device | None,
    typer.Option(help="auto: best working GPU encoder, else CPU; gpu; cpu [default: auto].", show_default=False),
]
EncoderConfigOption = Annotated[
    str | None,
    typer.Option(
        help='LeRobot\'s gpu_encoder_config: JSON or @file.json, e.g. \'{"encoder_type": "nvenc", "codec": "h264"}\'.'
    ),
]
StrictOption = Annotated[bool, typer.Option("--strict", help="Fail instead of falling back to the CPU.")]
GpuSessionsOption = Annotated[int, typer.Option(help="Concurrent encodes per hardware encoder.")]
PresetOption = Annotated[
    str | None,
    typer.Option(help="fast, medium, slow, or the encoder's own name [default: fast].", show_default=False),
]
QualityOption = Annotated[
    int | None, typer.Option(help="0-51, lower is better (CRF-like) [default: 23].", show_default=False)
]
GopOption = Annotated[int | None, typer.Option(help="Frames between keyframes [default: one second].")]
ProfileOption = Annotated[
    Profile | None,
    typer.Option(
        help="lerobot = LeRobot's settings (libsvtav1 preset 12, crf 30, g 2); the default on a LeRobot dataset.",
        show_default=False,
    ),
]
DepthOption = Annotated[
    DepthMode | None,
    typer.Option(
        help="16-bit single-channel (depth) frames: lossless = FFV1 in EPISODE.mkv, every value kept and checked "
        "by frame hashes; lerobot = LeRobot's 12-bit log quantization, HEVC lossless in .mp4 (always, on a LeRobot "
        "dataset's depth cameras); lossy = the colour encode (--codec, --quality...), 8-bit: the values are lost "
        "[default: lossless].",
        show_default=False,
    ),
]
OnGapOption = Annotated[
    GapPolicy, typer.Option(help="A gap in the frame numbering: error, or hold the previous frame.")
]
VerifyOption = Annotated[
    VerifyMode, typer.Option(help="packets: read every timestamp back; decode: also decode every frame.")
]
WorkersOption = Annotated[
    str, typer.Option(help="Parallel encodes in async mode: a number, or auto (from cores and encoder).")
]
QueueSizeOption = Annotated[int, typer.Option(help="Jobs waiting in the async queue at most.")]
EncodePriorityOption = Annotated[
    Priority,
    typer.Option(
        "--priority",
        help="CPU priority of the encodes: normal, or low (nice 10) to leave the CPU to other programs first. "
        "watch, EncoderPool and StreamEncoder default to low, for the recorder beside them.",
    ),
]
WatchPriorityOption = Annotated[
    Priority,
    typer.Option(
        "--priority",
        help="CPU priority of the encodes: low (nice 10) so that the recorder beside it keeps its frame rate, "
        "or normal.",
    ),
]
ThreadsOption = Annotated[
    int | None, typer.Option(help="Threads per job [default: the cores shared among running jobs].")
]
LeRobotVersionOption = Annotated[
    str | None,
    typer.Option(
        "--lerobot-version",
        help="A LeRobot dataset: write its camera info as this LeRobot release does (0.3, 0.4, 0.6) "
        "[default: the release that made the dataset, from its metadata].",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print only the results as JSON.")]
VerboseOption = Annotated[
    bool, typer.Option("-v", "--verbose", help="Every detail of each job (paths, notes) instead of the table.")
]
FFmpegOption = Annotated[
    str | None,
    typer.Option(help="ffmpeg binary [default: $ENCODECTL_FFMPEG, the bundled one, then PATH's]."),
]

# Options of one command each.
RunAsyncOption = Annotated[
    bool,
    typer.Option(
        "--async/--sync",
        help="async: a pool of workers encodes episodes in parallel; sync: one at a time, inline.",
    ),
]
OverwriteOption = Annotated[bool, typer.Option(help="Redo videos that already exist.")]
DeleteDatasetFramesOption = Annotated[
    bool,
    typer.Option(
        "--delete-frames",
        help="Delete a LeRobot dataset's frames of each episode once the dataset verifies with it.",
    ),
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Print each ffmpeg command; run nothing.")]
ExecutorOption = Annotated[
    str,
    typer.Option(help="local (this machine's pool), dask (a LocalCluster), or dask:ADDRESS (an existing one)."),
]
GpuResourceOption = Annotated[
    str | None,
    typer.Option(help="With dask: GPU jobs need this worker resource (workers started with --resources NAME=N)."),
]
BenchModesOption = Annotated[
    str,
    typer.Option(
        help="all (the four modes of LeRobot's video-encoding guide), or a comma list of sync-cpu, "
        "async-cpu, sync-gpu, async-gpu, stream-cpu, stream-gpu."
    ),
]
BenchEpisodesOption = Annotated[int, typer.Option(min=1, help="Episodes per mode.")]
BenchSecondsOption = Annotated[float, typer.Option(min=0.1, help="Length of each episode.")]
BenchCamerasOption = Annotated[int, typer.Option(min=1, help="Cameras recording at once.")]
BenchSizeOption = Annotated[str, typer.Option(help="Frame size, WIDTHxHEIGHT.")]
BenchFpsOption = Annotated[str, typer.Option(help="Frame rate of the simulated recording: 30, 29.97 or 30000/1001.")]
BenchFramesOption = Annotated[
    Path | None, typer.Option(help="A folder of your own frames to record instead of synthetic ones.")
]
BenchQuickOption = Annotated[
    bool,
    typer.Option(
        "--quick",
        help="2 episodes of 2 s at 320x240, under a minute on 2 cores; --episodes, --seconds and --size "
        "given with it win.",
    ),
]
BenchAllowFallbackOption = Annotated[
    bool, typer.Option("--allow-fallback", help="Run GPU modes on the CPU when no GPU works (labelled).")
]
BenchPlotOption = Annotated[Path | None, typer.Option(help="Write a PNG chart here (needs encodectl[plot]).")]
BenchKeepOption = Annotated[Path | None, typer.Option(help="Keep the recordings and videos in this folder.")]


class SharedOptions(BaseModel):
    """The options `encode` and `watch` share (the *Option types above), collected once from either
    command's parameters: `SharedOptions.model_validate(locals())` at the top of the command."""

    encoder_config: str | None
    fps: str | None
    codec: Codec | None
    encoder: str | None
    device: Device | None
    strict: bool
    gpu_sessions: int
    preset: str | None
    quality: int | None
    gop: int | None
    profile: Profile | None
    depth: DepthMode | None
    on_gap: GapPolicy
    verify: VerifyMode
    workers: str
    queue_size: int
    priority: Priority
    threads: int | None
    ffmpeg: str | None
    lerobot_version: str | None

    def encode_options(self, **specific: Any) -> EncodeOptions:
        """EncodeOptions from these, with the options of one command only (`specific`) added."""
        return build_options(self.encoder_config, {**self.model_dump(exclude={"encoder_config"}), **specific})


# Each shared option's type (with its help) and default, in the order `--help` lists them. Priority's
# default and help depend on the command (with_shared_options).
_SHARED: dict[str, tuple[Any, Any]] = {
    "fps": (FpsOption, None),
    "codec": (CodecOption, None),
    "encoder": (EncoderOption, None),
    "device": (DeviceOption, None),
    "encoder_config": (EncoderConfigOption, None),
    "strict": (StrictOption, False),
    "gpu_sessions": (GpuSessionsOption, 2),
    "preset": (PresetOption, None),
    "quality": (QualityOption, None),
    "gop": (GopOption, None),
    "profile": (ProfileOption, None),
    "depth": (DepthOption, None),
    "on_gap": (OnGapOption, GapPolicy.error),
    "verify": (VerifyOption, VerifyMode.packets),
    "workers": (WorkersOption, "2"),
    "queue_size": (QueueSizeOption, 100),
    "priority": (None, None),
    "threads": (ThreadsOption, None),
    "lerobot_version": (LeRobotVersionOption, None),
    "ffmpeg": (FFmpegOption, None),
}
_PRIORITY_OPTION = {Priority.normal: EncodePriorityOption, Priority.low: WatchPriorityOption}


def with_shared_options(priority: Priority) -> Callable[[Command], Command]:
    """Give a command every shared option, in place of its `shared: SharedOptions` parameter, which it then
    receives filled in; `priority` is its default CPU priority (encode: normal; watch: low, for the
    recorder beside it). typer reads the command's parameters from the signature made here."""

    def decorate(command: Command) -> Command:
        own = inspect.signature(command, eval_str=True)
        kind = own.parameters["shared"].kind  # keyword-only: it need not have a default
        shared = [
            inspect.Parameter(
                name,
                kind,
                annotation=_PRIORITY_OPTION[priority] if name == "priority" else annotation,
                default=priority if name == "priority" else default,
            )
            for name, (annotation, default) in _SHARED.items()
        ]
        parameters: list[inspect.Parameter] = []
        for parameter in own.parameters.values():
            parameters.extend([p for p in shared if p.name != "ffmpeg"] if parameter.name == "shared" else [parameter])
        parameters += [p for p in shared if p.name == "ffmpeg"]  # last, as in every command

        def with_shared(**values: Any) -> Any:
            filled = SharedOptions.model_validate({name: values.pop(name) for name in _SHARED})
            return command(shared=filled, **values)

        for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(with_shared, attribute, getattr(command, attribute))
        with_shared.__signature__ = own.replace(parameters=parameters)  # type: ignore[attr-defined]
        with_shared.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
        return with_shared  # type: ignore[return-value]

    return decorate


def bench_modes(name: str) -> list[BenchMode]:
    """'all' is the guide's four modes; the streaming ones are asked for by name."""
    from ..benchmarking.measures import GUIDE_MODES, BenchMode

    if name.strip() == "all":
        return list(GUIDE_MODES)
    try:
        return [BenchMode(name.strip())]
    except ValueError:
        known = ", ".join(mode.value for mode in BenchMode)
        raise UsageError(f"unknown mode {name!r}; use all, or some of {known}") from None


def frame_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size {text!r} is not WIDTHxHEIGHT, e.g. 1280x720") from None
    if width < 16 or height < 16:
        raise UsageError(f"--size {text} is too small; at least 16x16")
    return width, height
