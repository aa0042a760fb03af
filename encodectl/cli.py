"""The encodectl command line: parse options, call the engine, render.

Every EncodectlError becomes one line on stderr and its exit code; a traceback
is shown only with --debug.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, cast

import typer
from pydantic import BaseModel

from .errors import EncodectlError, Interrupted, UsageError
from .ffmpeg.binary import find_ffmpeg, other_ffmpegs
from .models import (
    Codec,
    DepthMode,
    Device,
    EncodeOptions,
    FFmpegBinary,
    GapPolicy,
    JobResult,
    JobStatus,
    Mode,
    Priority,
    Profile,
    VerifyMode,
    options_from,
)
from .report.text import plain_line, to_json, tolerant_output
from .version import __version__

# The rest is imported by the command that needs it: `encodectl encode` on a folder of frames must reach its
# first ffmpeg fast, without the bench, watch, check, Dask, LeRobot and plot code nor Rich (when its output
# is a pipe) loaded (benchmarks/startup.py measures it).
if TYPE_CHECKING:
    from rich.console import Console

    from .bench.benchmark import BenchMode
    from .ffmpeg.encoder_choice import EncoderPlan
    from .frames.layout import EpisodeSource
    from .job.progress import RunTracker
    from .job.source_runner import SourceRunner

app = typer.Typer(
    name="encodectl",
    help="Turn recorded camera frames into verified videos with ffmpeg.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts contain [default: …] brackets, not markup
)
# click's UsageError, whether typer vendors click or depends on it: the base of BadParameter.
_CLICK_USAGE_ERROR: type[Exception] = typer.BadParameter.__mro__[1]
EXIT_OUTPUT_CLOSED = 141


def _make_console(**settings: Any) -> Console:
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # Rich would exit with 1 from whichever thread printed (a pool worker, say); the error instead
            # stops the run and reaches handled_errors, which exits as a program killed by SIGPIPE does.
            raise BrokenPipeError

    return _Console(**settings)


class _LazyConsole:
    """A Rich console made on first use: importing Rich costs start-up time that a run printing nothing
    before its first ffmpeg (or nothing at all) should not pay."""

    def __init__(self, **settings: Any) -> None:
        self._settings = settings
        self._console: Console | None = None
        self._making = threading.Lock()  # pool workers print too: one console, whoever asks first

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console(), name)

    @property
    def is_terminal(self) -> bool:
        # Rich takes a pipe for a terminal only when the environment says so; without any of its variables,
        # a pipe is a pipe, and a run whose output is plain lines need not load Rich to learn it.
        if self._console is None and not any(os.environ.get(name) for name in _RICH_TERMINAL_VARIABLES):
            stream = sys.stderr if self._settings.get("stderr") else sys.stdout
            with contextlib.suppress(AttributeError, ValueError):  # not a real file, or closed: Rich decides
                if not stream.isatty():
                    return False
        return bool(self.console().is_terminal)

    def console(self) -> Console:
        """The console itself, for what takes it whole (a Live display enters it as a context manager)."""
        with self._making:
            if self._console is None:
                self._console = _make_console(**self._settings)
            return self._console


_RICH_TERMINAL_VARIABLES = ("TTY_COMPATIBLE", "FORCE_COLOR", "FORCE_TERMINAL", "TTY_INTERACTIVE")


def _real(console: Console) -> Console:
    return console.console() if isinstance(console, _LazyConsole) else console


stdout = cast("Console", _LazyConsole(highlight=False))
stderr = cast("Console", _LazyConsole(stderr=True, highlight=False))


class _State:
    debug = False
    json = False  # errors become a JSON object on stdout too


def fail(error: BaseException) -> NoReturn:
    """Print one line for the user (and a JSON object with --json) and exit with the error's code."""
    if _State.debug:
        stderr.print_exception()
    code = error.exit_code if isinstance(error, EncodectlError) else 1
    if _State.json:
        sys.stdout.write(to_json({"error": str(error), "exit_code": code}, indent=None) + "\n")
    plain_line(stderr, f"encodectl: error: {error}")
    raise typer.Exit(code)


@contextmanager
def handled_errors(json_output: bool = False) -> Iterator[None]:
    _State.json = json_output
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    # Started in the background by a non-interactive shell, SIGINT arrives ignored; take it back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    except (KeyboardInterrupt, Interrupted):
        stderr.print("encodectl: interrupted; running encodes stopped, no partial files left")
        raise typer.Exit(130) from None
    except BrokenPipeError:
        output_closed()
    except EncodectlError as error:
        fail(error)
    except OSError as error:  # a file system problem nobody foresaw: still one line
        where = f": {error.filename}" if error.filename else ""
        fail(EncodectlError(f"{error.strerror or error}{where}"))
    except typer.Exit:
        raise
    except Exception as error:  # noqa: BLE001 - a bug of ours: one line, the traceback with --debug
        fail(EncodectlError(f"internal error ({type(error).__name__}: {error}); --debug shows where, please report it"))
    finally:
        signal.signal(signal.SIGTERM, previous)


def output_closed() -> NoReturn:
    """stdout (or stderr) was closed under us, as by `encodectl encode DATASET | head -1`: the run has
    stopped (running encodes killed, their temporary files removed); exit quietly, as a program killed
    by SIGPIPE does (141 = 128 + SIGPIPE), with nothing more written where nobody reads."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):  # not a real file (tests' runner)
            os.dup2(devnull, stream.fileno())
    os.close(devnull)
    raise typer.Exit(EXIT_OUTPUT_CLOSED)


def version_callback(value: bool) -> None:
    tolerant_output()
    if value:
        print_version(None)
        raise typer.Exit()


def print_version(ffmpeg: str | None) -> None:
    from .report.probe import ffmpeg_choice, supported_ffmpeg

    stdout.print(f"encodectl {__version__}")
    with handled_errors():
        binary = find_ffmpeg(ffmpeg)
        for line in ffmpeg_choice(binary, list(other_ffmpegs(binary))):
            plain_line(stdout, line)
        plain_line(stdout, supported_ffmpeg())


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Show versions and exit."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    _State.debug = debug
    tolerant_output()  # a folder name that is not UTF-8 is shown with replacement characters


@app.command()
def version(
    ffmpeg: Annotated[str | None, typer.Option("--ffmpeg", help="Path of the ffmpeg binary to use.")] = None,
) -> None:
    """Print the version and which ffmpeg encodectl uses.

    The ffmpeg's path and version, where it was found and why that one, and what other builds are installed."""
    print_version(ffmpeg)


def build_options(encoder_config: str | None, given: dict[str, Any]) -> EncodeOptions:
    """Options from --encoder-config, overridden by every option given on the command line."""
    from .ffmpeg.encoder_choice import parse_encoder_config

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


def announce_plan(plan: EncoderPlan, json_output: bool) -> None:
    """Say once, on stderr, when a GPU was asked for but the CPU will be used."""
    if plan.fallback_note and not json_output:
        plain_line(
            stderr,
            f"encodectl: {plan.fallback_note} ({plan.detail}); encoding on the CPU with "
            f"{plan.primary.encoder} (--strict to fail instead)",
        )


def _local_runner(binary: FFmpegBinary, tracker: RunTracker, json_output: bool) -> SourceRunner:
    """Encode episodes on this machine (sync or the pool, as the options say), each encoder plan announced once."""
    from .ffmpeg.encoder_choice import plan_encoder
    from .run.engine import encode_sources

    announced: set[str] = set()

    def run(sources: list[EpisodeSource], run_options: EncodeOptions) -> list[JobResult]:
        plan = plan_encoder(run_options, binary)
        if plan.fallback_note and plan.fallback_note not in announced:
            announced.add(plan.fallback_note)
            announce_plan(plan, json_output)
        return encode_sources(sources, run_options, binary, tracker=tracker, plan=plan)

    return run


@app.command(short_help="Encode frame folders or datasets into verified videos.")
def encode(
    paths: Annotated[
        list[Path], typer.Argument(help="Episode folders or dataset roots.", show_default=False, metavar="PATH...")
    ],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Output video (one episode) or folder (several / a dataset)."),
    ] = None,
    fps: FpsOption = None,
    codec: CodecOption = None,
    encoder: EncoderOption = None,
    device: DeviceOption = None,
    encoder_config: EncoderConfigOption = None,
    strict: StrictOption = False,
    gpu_sessions: GpuSessionsOption = 2,
    preset: PresetOption = None,
    quality: QualityOption = None,
    gop: GopOption = None,
    profile: ProfileOption = None,
    depth: DepthOption = None,
    on_gap: OnGapOption = GapPolicy.error,
    verify: VerifyOption = VerifyMode.packets,
    run_async: Annotated[
        bool,
        typer.Option(
            "--async/--sync",
            help="async: a pool of workers encodes episodes in parallel; sync: one at a time, inline.",
        ),
    ] = True,
    workers: WorkersOption = "2",
    queue_size: QueueSizeOption = 100,
    priority: EncodePriorityOption = Priority.normal,
    threads: ThreadsOption = None,
    lerobot_version: LeRobotVersionOption = None,
    overwrite: Annotated[bool, typer.Option(help="Redo videos that already exist.")] = False,
    delete_frames: Annotated[
        bool,
        typer.Option(
            "--delete-frames",
            help="Delete a LeRobot dataset's frames of each episode once the dataset verifies with it.",
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print each ffmpeg command; run nothing.")] = False,
    executor: Annotated[
        str,
        typer.Option(help="local (this machine's pool), dask (a LocalCluster), or dask:ADDRESS (an existing one)."),
    ] = "local",
    gpu_resource: Annotated[
        str | None,
        typer.Option(help="With dask: GPU jobs need this worker resource (workers started with --resources NAME=N)."),
    ] = None,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
    ffmpeg: FFmpegOption = None,
) -> None:
    """Encode episode folders or whole datasets into verified videos."""
    with handled_errors(json_output):
        from .frames.sequence import has_frames
        from .run.dask_executor import encode_on_dask, parse_executor
        from .run.engine import encode_paths, exit_code

        shared = SharedOptions.model_validate(locals())  # first: locals() are the parameters only
        options = shared.encode_options(
            overwrite=overwrite, dry_run=dry_run, output=output, mode=Mode.async_ if run_async else Mode.sync
        )
        binary = find_ffmpeg(options.ffmpeg)
        kind, address = parse_executor(executor)
        several = not (len(paths) == 1 and has_frames(paths[0]))
        started = time.perf_counter()

        def say(message: str) -> None:
            if not json_output:
                plain_line(stderr, f"encodectl: {message}")

        with _run_display(enabled=not json_output and not dry_run, several=several) as tracker:
            local = _local_runner(binary, tracker, json_output)

            def run(sources: list[EpisodeSource], run_options: EncodeOptions) -> list[JobResult]:
                if kind == "dask":
                    return encode_on_dask(sources, run_options, binary, address=address, tracker=tracker,
                                          gpu_resource=gpu_resource, say=say)  # fmt: skip
                return local(sources, run_options)

            results = encode_paths(paths, options, run, binary, delete_frames=delete_frames)
        from .report.results import make_report, print_commands, print_report, result_line

        if several and not json_output and not dry_run and not stdout.is_terminal:
            for result in results:
                if result.dataset is not None:  # placed in their dataset only now
                    plain_line(stdout, result_line(result))
        report = make_report(results, binary, time.perf_counter() - started)
        code = exit_code(results)
        if json_output:
            sys.stdout.write(to_json(report) + "\n")
        elif code == 2:
            # Nothing could be encoded because the input was rejected: just say why, one line each.
            for result in results:
                plain_line(stderr, f"encodectl: error: {result.reason}")
        elif dry_run:
            print_commands(stdout, results)
        else:
            print_report(stdout, report, table=stdout.is_terminal, lines=not several, verbose=verbose)
            # The report is output; why a job failed is an error as well, where scripts and logs look for one.
            for result in results:
                if result.status is JobStatus.failed:
                    plain_line(stderr, f"encodectl: error: {result.label}: {result.reason}")
    raise typer.Exit(code)


@app.command(short_help="Encode each episode as soon as the recorder has finished it.")
def watch(
    directory: Annotated[
        Path, typer.Argument(help="A dataset root (images/<camera>/<episode>/) or a folder of episode folders.")
    ],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Where videos (and the ledger) go [default: DIRECTORY].")
    ] = None,
    marker: Annotated[
        str | None, typer.Option(help="A file the recorder writes into a finished episode folder, e.g. DONE.")
    ] = None,
    settle: Annotated[
        float, typer.Option(min=0, help="Seconds without change after which an episode is complete.")
    ] = 5.0,
    poll: Annotated[bool, typer.Option("--poll", help="No filesystem events: rescan every 2 s only.")] = False,
    once: Annotated[bool, typer.Option("--once", help="Encode what is complete now, then exit.")] = False,
    delete_frames: Annotated[
        bool, typer.Option("--delete-frames", help="Delete an episode's frames once its video is verified.")
    ] = False,
    drain: Annotated[
        bool, typer.Option("--drain/--no-drain", help="On Ctrl-C, let running encodes finish, or kill them.")
    ] = True,
    stream: Annotated[
        bool, typer.Option("--stream", help="Encode each episode while it is recorded, frame by frame.")
    ] = False,
    fps: FpsOption = None,
    codec: CodecOption = None,
    encoder: EncoderOption = None,
    device: DeviceOption = None,
    encoder_config: EncoderConfigOption = None,
    strict: StrictOption = False,
    gpu_sessions: GpuSessionsOption = 2,
    preset: PresetOption = None,
    quality: QualityOption = None,
    gop: GopOption = None,
    profile: ProfileOption = None,
    depth: DepthOption = None,
    on_gap: OnGapOption = GapPolicy.error,
    verify: VerifyOption = VerifyMode.packets,
    workers: WorkersOption = "2",
    queue_size: QueueSizeOption = 100,
    priority: WatchPriorityOption = Priority.low,
    threads: ThreadsOption = None,
    lerobot_version: LeRobotVersionOption = None,
    json_output: JsonOption = False,
    ffmpeg: FFmpegOption = None,
) -> None:
    """Encode each episode as soon as the recorder has finished it.

    A ledger in the output folder remembers every episode, so a stopped, killed or restarted watch neither loses
    nor repeats a video. --once encodes what is complete now and exits."""
    with handled_errors(json_output):
        from .ffmpeg.encoder_choice import plan_encoder
        from .lerobot.meta import is_lerobot_dataset
        from .report.results import result_line, watch_summary_line
        from .watch.lerobot import watch_dataset
        from .watch.watcher import Watcher, WatchOptions

        shared = SharedOptions.model_validate(locals())  # first: locals() are the parameters only
        options = shared.encode_options()
        settings = WatchOptions(
            root=directory, output=output, marker=marker, settle=settle, poll=poll, once=once,
            delete_frames=delete_frames, drain=drain, stream=stream,
        )  # fmt: skip
        binary = find_ffmpeg(options.ffmpeg)

        def say(message: str) -> None:
            # Through the live display's console in a terminal, so lines appear above the table intact.
            if not json_output:
                console = stdout if stdout.is_terminal else stderr
                plain_line(console, f"encodectl watch: {message}")

        with _run_display(enabled=not json_output, several=True, lines_in_terminal=True) as tracker:
            if is_lerobot_dataset(directory):

                def placed(result: JobResult) -> None:
                    if not json_output:
                        plain_line(stdout, result_line(result))

                runner = _local_runner(binary, tracker, json_output)
                summary = watch_dataset(settings, options, binary, runner, say, on_result=placed)
            else:
                plan = plan_encoder(options, binary)
                announce_plan(plan, json_output)
                summary = Watcher(settings, options, binary, plan, tracker, say).run()
        if json_output:
            sys.stdout.write(to_json(summary) + "\n")
        else:
            if stdout.is_terminal:  # wrapped between words, as the tables are
                stdout.print(watch_summary_line(summary), markup=False, highlight=False)
            else:
                plain_line(stdout, watch_summary_line(summary))
        code = 130 if summary.interrupted else (1 if summary.failed or summary.failed_in_ledger else 0)
    raise typer.Exit(code)


@app.command()
def bench(
    context: typer.Context,
    modes: Annotated[
        str,
        typer.Option(
            help="all (the four modes of LeRobot's video-encoding guide), or a comma list of sync-cpu, "
            "async-cpu, sync-gpu, async-gpu, stream-cpu, stream-gpu."
        ),
    ] = "all",
    episodes: Annotated[int, typer.Option(min=1, help="Episodes per mode.")] = 2,
    seconds: Annotated[float, typer.Option(min=0.1, help="Length of each episode.")] = 10.0,
    cameras: Annotated[int, typer.Option(min=1, help="Cameras recording at once.")] = 2,
    size: Annotated[str, typer.Option(help="Frame size, WIDTHxHEIGHT.")] = "1280x720",
    fps: Annotated[str, typer.Option(help="Frame rate of the simulated recording: 30, 29.97 or 30000/1001.")] = "30",
    frames: Annotated[
        Path | None, typer.Option(help="A folder of your own frames to record instead of synthetic ones.")
    ] = None,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help="2 episodes of 2 s at 320x240, under a minute on 2 cores; --episodes, --seconds and --size "
            "given with it win.",
        ),
    ] = False,
    allow_fallback: Annotated[
        bool, typer.Option("--allow-fallback", help="Run GPU modes on the CPU when no GPU works (labelled).")
    ] = False,
    workers: WorkersOption = "2",
    preset: PresetOption = None,
    quality: QualityOption = None,
    codec: CodecOption = None,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG chart here (needs encodectl[plot]).")] = None,
    keep: Annotated[Path | None, typer.Option(help="Keep the recordings and videos in this folder.")] = None,
    json_output: JsonOption = False,
    ffmpeg: FFmpegOption = None,
) -> None:
    """Measure the encoding modes side by side on this machine.

    A simulated recorder records in real time while each mode (sync/async x CPU/GPU, and streaming) encodes; the
    numbers are shown beside the claims of LeRobot's video-encoding guide."""
    with handled_errors(json_output):
        from .bench.benchmark import BenchOptions, run_bench
        from .report.bench import bench_lines, bench_notes, bench_tables
        from .report.plot import plot_bench, require_plotting

        selected = list(dict.fromkeys(mode for name in modes.split(",") for mode in _bench_modes(name)))
        width, height = _size(size)
        settings = BenchOptions(
            modes=selected, episodes=episodes, seconds=seconds, cameras=cameras, size=(width, height), fps=fps,
            frames=frames, allow_fallback=allow_fallback, keep=keep,
        )  # fmt: skip
        if quick:  # a preset: what the command line says explicitly wins over it
            quick_values: dict[str, object] = {"episodes": 2, "seconds": 2.0, "size": (320, 240)}
            kept = {key: value for key, value in quick_values.items() if not _given(context, key)}
            settings = settings.model_copy(update=kept)
        options = build_options(
            None,
            {"preset": preset, "quality": quality, "codec": codec, "ffmpeg": ffmpeg, "fps": fps, "workers": workers},
        )
        binary = find_ffmpeg(options.ffmpeg)
        if plot is not None:
            require_plotting()

        def say(message: str) -> None:
            if not json_output:
                plain_line(stderr, f"encodectl bench: {message}")

        report = run_bench(settings, binary, options, say)
        if json_output:
            sys.stdout.write(to_json(report) + "\n")
        elif stdout.is_terminal:
            for part in bench_tables(report, width=stdout.width):
                stdout.print(part)
            for note in bench_notes(report):
                stdout.print(note, markup=False, highlight=False)
        else:  # a pipe or a log: plain lines, nothing padded
            for line in bench_lines(report) + bench_notes(report):
                plain_line(stdout, line)
        if plot is not None:
            plot_bench(report, plot)
            say(f"chart written to {plot}")
        code = 1 if any(result.failed for result in report.results) else 0
    raise typer.Exit(code)


def _given(context: typer.Context, name: str) -> bool:
    """Whether the option was given on the command line (or its environment), not left at its default."""
    source = context.get_parameter_source(name)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")


def _bench_modes(name: str) -> list[BenchMode]:
    """'all' is the guide's four modes; the streaming ones are asked for by name."""
    from .bench.benchmark import GUIDE_MODES, BenchMode

    if name.strip() == "all":
        return list(GUIDE_MODES)
    try:
        return [BenchMode(name.strip())]
    except ValueError:
        known = ", ".join(mode.value for mode in BenchMode)
        raise UsageError(f"unknown mode {name!r}; use all, or some of {known}") from None


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size {text!r} is not WIDTHxHEIGHT, e.g. 1280x720") from None
    if width < 16 or height < 16:
        raise UsageError(f"--size {text} is too small; at least 16x16")
    return width, height


@app.command()
def recover(
    directory: Annotated[Path, typer.Argument(help="Where interrupted streams wrote (searched recursively).")],
    json_output: JsonOption = False,
    ffmpeg: FFmpegOption = None,
) -> None:
    """Turn what interrupted streams left into verified videos.

    Every complete fragment a StreamEncoder wrote before its program died becomes part of a verified MP4."""
    with handled_errors(json_output):
        if not directory.is_dir():
            raise UsageError(f"{directory} is not a folder")
        from .stream.recovery import recover as recover_streams

        results = recover_streams(directory.absolute(), find_ffmpeg(ffmpeg))
        if json_output:
            sys.stdout.write(to_json(results) + "\n")
        elif not results:
            plain_line(stdout, f"nothing to recover under {directory}")
        for result in [] if json_output else results:
            if result.status == "recovered":
                line = f"recovered {result.output}: {result.frames} frames ({result.seconds:.2f} s)"
                line += f"; {result.reason}" if result.reason else ""
            else:
                line = f"{result.status}: {result.fragmented}: {result.reason}"
            plain_line(stdout, line)
        code = 1 if any(r.status == "nothing to recover" for r in results) else 0
    raise typer.Exit(code)


@app.command(short_help="Check videos as their readers read them; change nothing.")
def check(
    paths: Annotated[
        list[Path],
        typer.Argument(help="LeRobot datasets, or folders that encode made.", show_default=False, metavar="PATH..."),
    ],
    decode: Annotated[bool, typer.Option("--decode", help="Decode every frame too (finds damaged bytes).")] = False,
    fps: Annotated[
        str | None,
        typer.Option(help="A folder's videos' frame rate [default: 30; a LeRobot dataset's own].", show_default=False),
    ] = None,
    repair: Annotated[
        bool,
        typer.Option("--repair", help="LeRobot datasets: re-encode wrong videos from the frames still under images/."),
    ] = False,
    json_output: JsonOption = False,
    ffmpeg: FFmpegOption = None,
) -> None:
    """Check that videos are what their readers expect (LeRobot's loader, or the frames they came from),
    changing nothing (but --repair). Exit 0: clean; 1: problems found (left); 2: unusable input."""
    with handled_errors(json_output):
        from .checks.engine import check as check_paths
        from .job.progress import RunTracker
        from .report.check import print_check

        binary = find_ffmpeg(ffmpeg)
        runner = _local_runner(binary, RunTracker(), json_output) if repair else None
        report = check_paths(paths, decode=decode, fps=fps, ffmpeg=binary, repair=repair, run=runner)
        if json_output:
            sys.stdout.write(to_json(report) + "\n")
        else:
            print_check(stdout, report)
    raise typer.Exit(0 if report.ok else 1)


@app.command(
    "lerobot-record", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, no_args_is_help=False
)
def lerobot_record(
    args: Annotated[
        list[str] | None, typer.Argument(help="lerobot-record's own arguments, as you type them for LeRobot.")
    ] = None,
) -> None:
    """Record with LeRobot 0.6, its cameras encoded by encodectl.

    Runs LeRobot's lerobot-record in this process with its streaming encoder replaced by encodectl's: no
    frame dropped, the recorder never waiting on an encoder, every video verified, a crash recoverable with
    `encodectl recover`. Adds --dataset.streaming_encoding=true unless given. Needs LeRobot 0.6.x installed
    beside encodectl."""
    from .stream.lerobot_record import main as record

    raise typer.Exit(record(list(args or [])))


@app.command("probe-gpu")
def probe_gpu(
    refresh: Annotated[bool, typer.Option("--refresh", help="Probe again instead of using the cache.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print only the probe as JSON.")] = False,
    ffmpeg: Annotated[str | None, typer.Option(help="ffmpeg binary to probe.")] = None,
) -> None:
    """Test which hardware encoders work here.

    Every hardware encoder this ffmpeg lists gets a short test encode; the result is cached."""
    with handled_errors(json_output):
        from .ffmpeg.encoder_choice import plan_encoder
        from .ffmpeg.gpu_probe import probe_hardware
        from .report.probe import print_probe

        binary = find_ffmpeg(ffmpeg)
        with (
            stderr.status("test-encoding with each hardware encoder…", spinner="dots")
            if (stderr.is_terminal and not json_output)
            else nullcontext()
        ):
            report = probe_hardware(binary, refresh=refresh)
        choices: dict[str, EncoderPlan | str] = {}
        for codec in Codec:
            try:
                choices[codec.value] = plan_encoder(EncodeOptions(codec=codec), binary, probe=lambda _: report)
            except UsageError as refusal:  # e.g. AV1 on an ffmpeg before 5.1: say so, and go on with the others
                choices[codec.value] = refusal.message
        others = list(other_ffmpegs(binary))
        if json_output:
            payload = report.model_dump(mode="json")
            payload["auto_choice"] = {
                codec: {"encoder": None, "reason": plan}
                if isinstance(plan, str)
                else {"encoder": plan.primary.encoder, "reason": plan.reason}
                for codec, plan in choices.items()
            }
            payload["other_ffmpeg"] = [other.model_dump(mode="json", exclude={"reason"}) for other in others]
            sys.stdout.write(to_json(payload) + "\n")
            return
        print_probe(stdout, report, choices, table=stdout.is_terminal, others=others)


@contextmanager
def _run_display(enabled: bool, several: bool, lines_in_terminal: bool = False) -> Iterator[RunTracker]:
    """A live table in a terminal; elsewhere one plain line per finished job (when there are several).

    With lines_in_terminal (watch, which has no closing table), finished jobs are listed above
    the live table too."""
    from .job.progress import RunTracker

    if not enabled:
        yield RunTracker()
        return

    def print_result(result: JobResult) -> None:  # in a terminal, above the live table
        from .lerobot.commit import is_staged
        from .report.results import result_line

        if not is_staged(result.output):  # a dataset's episodes are listed once placed
            plain_line(stdout, result_line(result))

    if not stdout.is_terminal:
        yield RunTracker(on_finished=print_result if several else None)
        return
    from rich.live import Live

    from .report.live import LiveRunView

    tracker = RunTracker(on_finished=print_result if lines_in_terminal else None)
    rows = max(3, min(20, stdout.size.height - 6))
    with Live(LiveRunView(tracker, rows), console=_real(stdout), refresh_per_second=4, transient=True):
        yield tracker


# What an option of `encode` means to `watch`, which lacks it: said instead of a guess at another option.
_NOT_IN_WATCH = {
    "--overwrite": "watch redoes a video itself when its frames change or it fails its checks; delete a video "
    "to have it made again",
    "--dry-run": "`encodectl encode DIRECTORY --dry-run` prints the commands",
    "--async": "watch always encodes in the background pool (--workers)",
    "--sync": "watch always encodes in the background pool (--workers 1 for one at a time)",
    "--executor": "watch encodes on this machine",
    "--gpu-resource": "watch encodes on this machine",
    "--verbose": "watch prints a line per video",
    "-v": "watch prints a line per video",
}
# Help texts name values, never Python types (typer shows <str>, <list[Path]> otherwise).
_METAVARS = {
    "fps": "RATE", "encoder": "NAME", "encoder_config": "JSON|@FILE", "preset": "NAME", "workers": "N|auto",
    "size": "WxH", "modes": "MODES", "executor": "local|dask|dask:ADDRESS", "gpu_resource": "NAME",
    "marker": "NAME", "ffmpeg": "PATH", "settle": "SECONDS", "seconds": "SECONDS",
}  # fmt: skip


def cli_command() -> Any:
    """The click command typer builds from `app`, with usage lines and help that name values, not types:
    `encode PATH...`, `--quality N`, `--fps RATE`. The command reference in the docs is generated from it."""
    command = typer.main.get_command(app)
    for sub in getattr(command, "commands", {}).values():
        for param in sub.params:
            if param.param_type_name == "argument":
                name = param.metavar = param.metavar or param.name.upper()
                shown = name if param.required else f"[{name}]"
                param.get_usage_pieces = lambda ctx, shown=shown: [shown]
                param.display_type_rich = lambda ctx: None  # help's name column: PATH..., not PATH... <list[Path]>
            elif not getattr(param, "is_flag", False) and param.metavar is None and not _is_choice(param):
                param.metavar = _METAVARS.get(param.name, "N" if _is_number(param) else "PATH")
    return command


def command_names() -> list[str]:
    """Every command, in the order `encodectl --help` lists them."""
    return list(getattr(cli_command(), "commands", {}))


def command_help(name: str | None = None, width: int = 80) -> str:
    """`encodectl [NAME] --help` as text, `width` columns wide: the docs' command reference is made of it."""
    root = cli_command()
    context = root.context_class(root, info_name="encodectl", terminal_width=width, max_content_width=width)
    if name is None:
        return str(root.get_help(context))
    sub = root.commands[name]
    sub_context = sub.context_class(sub, info_name=name, parent=context, terminal_width=width, max_content_width=width)
    return str(sub.get_help(sub_context))


def _is_choice(param: Any) -> bool:
    """An option of a few values (shown as they are: <h264|hevc|av1>), in typer's newer or older model."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:
        return bool(descriptor.is_choice)
    return hasattr(getattr(param, "type", None), "choices")


def _is_number(param: Any) -> bool:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:
        return descriptor.annotation in (int, float, int | None, float | None)
    return getattr(getattr(param, "type", None), "name", "") in ("integer", "float")


def _unknown_option_hint(error: Exception, command: str) -> str | None:
    """Why a command lacks an option that another command has, or None when no other command has it."""
    option = getattr(error, "option_name", None)
    if not option:
        return None
    root = typer.main.get_command(app)
    having = [
        name
        for name, sub in getattr(root, "commands", {}).items()
        if any(option in (*param.opts, *param.secondary_opts) for param in sub.params)
    ]
    if not having:
        return None
    which = command.rsplit(" ", 1)[-1]
    reason = _NOT_IN_WATCH.get(option) if which == "watch" else None
    also = f"; {reason}" if reason else f" ({', '.join(having)} has)"
    return f"No such option: {option}: `{which}` has none{also}"


def main() -> None:
    """The console entry point: every usage error is one line too, not a help panel."""
    try:
        code = cli_command()(standalone_mode=False, prog_name="encodectl")
    except _CLICK_USAGE_ERROR as error:
        message = str(error.format_message()).replace("Value error, ", "")  # type: ignore[attr-defined]
        if type(error).__name__ == "NoArgsIsHelpError":
            sys.stdout.write(message + "\n")
            sys.exit(0)
        context = getattr(error, "ctx", None)
        command = context.command_path if context is not None else "encodectl"
        hint = _unknown_option_hint(error, command)
        if hint is not None:
            message = hint
        elif message.startswith("No such option: -"):
            message += " (a path that starts with '-' goes after `--`)"
        plain_line(stderr, f"encodectl: error: {message} (see `{command} --help`)")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
