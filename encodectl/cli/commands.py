"""The commands: each parses its options, calls the library (encodectl/api.py) and renders the result
through report/. Nothing here decides how to encode.
"""

from __future__ import annotations

import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from .. import api
from ..ffmpeg.binary import find_ffmpeg, other_ffmpegs
from ..models import JobResult, Mode, Priority, from_user
from ..report.text import plain_line, to_json, tolerant_output
from ..version import __version__
from .console import CliState, handled_errors, note_printer, stderr, stdout
from .display import run_display
from .options import (
    BenchAllowFallbackOption,
    BenchCamerasOption,
    BenchEpisodesOption,
    BenchFpsOption,
    BenchFramesOption,
    BenchKeepOption,
    BenchModesOption,
    BenchPlotOption,
    BenchQuickOption,
    BenchSecondsOption,
    BenchSizeOption,
    CodecOption,
    DeleteDatasetFramesOption,
    DryRunOption,
    ExecutorOption,
    FFmpegOption,
    GpuResourceOption,
    JsonOption,
    OverwriteOption,
    PresetOption,
    QualityOption,
    RunAsyncOption,
    SharedOptions,
    VerboseOption,
    WorkersOption,
    bench_modes,
    build_options,
    frame_size,
    with_shared_options,
)

# The rest is imported by the command that needs it: `encodectl encode` on a folder of frames must reach its
# first ffmpeg fast, without the bench, watch, check, Dask, LeRobot and plot code nor Rich (when its output
# is a pipe) loaded (benchmarks/startup.py measures it).
app = typer.Typer(
    name="encodectl",
    help="Turn recorded camera frames into verified videos with ffmpeg.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts contain [default: …] brackets, not markup
)


def version_callback(value: bool) -> None:
    tolerant_output()
    if value:
        print_version(None)
        raise typer.Exit()


def print_version(ffmpeg: str | None) -> None:
    from ..report.probe import ffmpeg_choice, supported_ffmpeg

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
    CliState.debug = debug
    tolerant_output()  # a folder name that is not UTF-8 is shown with replacement characters


@app.command()
def version(
    ffmpeg: Annotated[str | None, typer.Option("--ffmpeg", help="Path of the ffmpeg binary to use.")] = None,
) -> None:
    """Print the version and which ffmpeg encodectl uses.

    The ffmpeg's path and version, where it was found and why that one, and what other builds are installed."""
    print_version(ffmpeg)


@app.command(short_help="Encode frame folders or datasets into verified videos.")
@with_shared_options(Priority.normal)
def encode(
    paths: Annotated[
        list[Path], typer.Argument(help="Episode folders or dataset roots.", show_default=False, metavar="PATH...")
    ],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Output video (one episode) or folder (several / a dataset)."),
    ] = None,
    *,
    shared: SharedOptions,
    run_async: RunAsyncOption = True,
    overwrite: OverwriteOption = False,
    delete_frames: DeleteDatasetFramesOption = False,
    dry_run: DryRunOption = False,
    executor: ExecutorOption = "local",
    gpu_resource: GpuResourceOption = None,
    json_output: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Encode episode folders or whole datasets into verified videos."""
    with handled_errors(json_output):
        from ..frames.sequence import has_frames
        from ..run.engine import exit_code

        options = shared.encode_options(
            overwrite=overwrite, dry_run=dry_run, output=output, mode=Mode.async_ if run_async else Mode.sync
        )
        binary = find_ffmpeg(options.ffmpeg)
        several = not (len(paths) == 1 and has_frames(paths[0]))
        started = time.perf_counter()
        with run_display(enabled=not json_output and not dry_run, several=several) as tracker:
            results = api.encode(
                paths, options=options, delete_frames=delete_frames, executor=executor, gpu_resource=gpu_resource,
                ffmpeg=binary, tracker=tracker, say=note_printer("encodectl", json_output),
            )  # fmt: skip
        from ..report.results import make_report, print_commands, print_run

        report = make_report(results, binary, time.perf_counter() - started)
        code = exit_code(results)
        if json_output:
            sys.stdout.write(to_json(report) + "\n")
        elif dry_run:
            print_commands(stdout, results)
        else:
            print_run(stdout, stderr, report, code, several=several, verbose=verbose)
    raise typer.Exit(code)


@app.command(short_help="Encode each episode as soon as the recorder has finished it.")
@with_shared_options(Priority.low)
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
    *,
    shared: SharedOptions,
    json_output: JsonOption = False,
) -> None:
    """Encode each episode as soon as the recorder has finished it.

    A ledger in the output folder remembers every episode, so a stopped, killed or restarted watch neither loses
    nor repeats a video. --once encodes what is complete now and exits."""
    with handled_errors(json_output):
        from ..report.results import print_watch_summary, result_line
        from ..watching.options import WatchOptions

        watch_options = WatchOptions(
            root=directory, output=output, marker=marker, settle=settle, poll=poll, once=once,
            delete_frames=delete_frames, drain=drain, stream=stream,
        )  # fmt: skip

        def placed(result: JobResult) -> None:  # a LeRobot dataset's episode, once in the dataset
            if not json_output:
                plain_line(stdout, result_line(result))

        with run_display(enabled=not json_output, several=True, lines_in_terminal=True) as tracker:
            # Through the live display's console in a terminal, so lines appear above the table intact.
            say = note_printer("encodectl watch", json_output, stdout if stdout.is_terminal else stderr)
            summary = api.watch(
                watch_options, options=shared.encode_options(), tracker=tracker, say=say, on_result=placed
            )
        if json_output:
            sys.stdout.write(to_json(summary) + "\n")
        else:
            print_watch_summary(stdout, summary)
        code = 130 if summary.interrupted else (1 if summary.failed or summary.failed_in_ledger else 0)
    raise typer.Exit(code)


@app.command()
def bench(
    context: typer.Context,
    modes: BenchModesOption = "all",
    episodes: BenchEpisodesOption = 2,
    seconds: BenchSecondsOption = 10.0,
    cameras: BenchCamerasOption = 2,
    size: BenchSizeOption = "1280x720",
    fps: BenchFpsOption = "30",
    frames: BenchFramesOption = None,
    quick: BenchQuickOption = False,
    allow_fallback: BenchAllowFallbackOption = False,
    workers: WorkersOption = "2",
    preset: PresetOption = None,
    quality: QualityOption = None,
    codec: CodecOption = None,
    plot: BenchPlotOption = None,
    keep: BenchKeepOption = None,
    json_output: JsonOption = False,
    ffmpeg: FFmpegOption = None,
) -> None:
    """Measure the encoding modes side by side on this machine.

    A simulated recorder records in real time while each mode (sync/async x CPU/GPU, and streaming) encodes; the
    numbers are shown beside the claims of LeRobot's video-encoding guide."""
    with handled_errors(json_output):
        from ..benchmarking.measures import BenchOptions
        from ..report.bench import print_bench
        from ..report.plot import plot_bench, require_plotting

        selected = list(dict.fromkeys(mode for name in modes.split(",") for mode in bench_modes(name)))
        bench_options = from_user(BenchOptions, dict(
            modes=selected, episodes=episodes, seconds=seconds, cameras=cameras, size=frame_size(size), fps=fps,
            frames=frames, allow_fallback=allow_fallback, keep=keep,
        ))  # fmt: skip
        if quick:  # a preset: what the command line says explicitly wins over it
            quick_values: dict[str, object] = {"episodes": 2, "seconds": 2.0, "size": (320, 240)}
            kept = {key: value for key, value in quick_values.items() if not _given(context, key)}
            bench_options = bench_options.model_copy(update=kept)
        options = build_options(
            None,
            {"preset": preset, "quality": quality, "codec": codec, "ffmpeg": ffmpeg, "fps": fps, "workers": workers},
        )
        if plot is not None:
            require_plotting()
        say = note_printer("encodectl bench", json_output)
        report = api.bench(bench_options, options=options, say=say)
        if json_output:
            sys.stdout.write(to_json(report) + "\n")
        else:
            print_bench(stdout, report)
        if plot is not None:
            plot_bench(report, plot)
            say(f"chart written to {plot}")
        code = 1 if any(result.failed for result in report.results) else 0
    raise typer.Exit(code)


def _given(context: typer.Context, name: str) -> bool:
    """Whether the option was given on the command line (or its environment), not left at its default."""
    source = context.get_parameter_source(name)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")


@app.command()
def recover(
    directory: Annotated[Path, typer.Argument(help="Where interrupted streams wrote (searched recursively).")],
    json_output: JsonOption = False,
    ffmpeg: FFmpegOption = None,
) -> None:
    """Turn what interrupted streams left into verified videos.

    Every complete fragment a StreamEncoder wrote before its program died becomes part of a verified MP4."""
    with handled_errors(json_output):
        from ..report.recover import recover_lines

        results = api.recover(directory, ffmpeg=ffmpeg)
        if json_output:
            sys.stdout.write(to_json(results) + "\n")
        else:
            for line in recover_lines(results, directory):
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
        from ..report.check import print_check

        say = note_printer("encodectl", json_output)
        report = api.check(paths, decode=decode, fps=fps, repair=repair, ffmpeg=ffmpeg, say=say)
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
    from ..stream.lerobot_record import main as record

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
        from ..report.probe import print_probe

        with (
            stderr.status("test-encoding with each hardware encoder…", spinner="dots")
            if (stderr.is_terminal and not json_output)
            else nullcontext()
        ):
            report = api.probe_gpu(refresh=refresh, ffmpeg=ffmpeg)
        if json_output:
            sys.stdout.write(to_json(report) + "\n")
        else:
            print_probe(stdout, report, table=stdout.is_terminal)
