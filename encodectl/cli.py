"""The encodectl command line: parse options, call the engine, render.

Every EncodectlError becomes one line on stderr and its exit code; a traceback
is shown only with --debug.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from . import __version__
from .engine import encode_sources, exit_code
from .errors import EncodectlError, Interrupted, UsageError
from .ffmpeg_binary import find_ffmpeg
from .ffmpeg_process import Progress as FFmpegProgress
from .layout import discover
from .models import Codec, Device, EncodeJob, EncodeOptions, GapPolicy, JobResult, Profile, VerifyMode
from .report import make_report, print_commands, print_report, result_line

app = typer.Typer(
    name="encodectl",
    help="Turn recorded camera frames into verified videos with ffmpeg.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False)


class _State:
    debug = False


def fail(error: BaseException) -> NoReturn:
    """Print one line for the user and exit with the error's code."""
    if _State.debug:
        stderr.print_exception()
    code = error.exit_code if isinstance(error, EncodectlError) else 1
    stderr.print(f"encodectl: error: {error}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def options_error(error: ValidationError) -> UsageError:
    """A pydantic validation error as one line naming the option."""
    first = error.errors()[0]
    name = "--" + "-".join(str(part) for part in first["loc"]).replace("_", "-") if first["loc"] else "option"
    message = str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return UsageError(f"invalid {name}: {message}{more}")


@contextmanager
def handled_errors() -> Iterator[None]:
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    except (KeyboardInterrupt, Interrupted):
        stderr.print("encodectl: interrupted; running encodes stopped, no partial files left")
        raise typer.Exit(130) from None
    except EncodectlError as error:
        fail(error)
    except ValidationError as error:
        fail(options_error(error))
    finally:
        signal.signal(signal.SIGTERM, previous)


def version_callback(value: bool) -> None:
    if value:
        print_version(None)
        raise typer.Exit()


def print_version(ffmpeg: str | None) -> None:
    stdout.print(f"encodectl {__version__}")
    with handled_errors():
        binary = find_ffmpeg(ffmpeg)
        stdout.print(
            f"ffmpeg {binary.version} at {binary.path} (found via {binary.source})",
            markup=False,
            soft_wrap=True,
        )


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Show versions and exit."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    _State.debug = debug


@app.command()
def version(
    ffmpeg: Annotated[str | None, typer.Option("--ffmpeg", help="Path of the ffmpeg binary to use.")] = None,
) -> None:
    """Print the encodectl version and which ffmpeg it uses (path, version, where it was found)."""
    print_version(ffmpeg)


class Verify(StrEnum):
    packets = "packets"
    decode = "decode"


@app.command()
def encode(
    paths: Annotated[
        list[Path], typer.Argument(help="Episode folders or dataset roots.", show_default=False)
    ],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Output video (one episode) or folder (several / a dataset)."),
    ] = None,
    fps: Annotated[str, typer.Option(help="Frame rate: 30, 29.97 or 30000/1001.")] = "30",
    codec: Annotated[Codec, typer.Option(help="Video codec.")] = Codec.h264,
    encoder: Annotated[str | None, typer.Option(help="Force one encoder, e.g. libx264.")] = None,
    device: Annotated[Device, typer.Option(help="auto, gpu or cpu.")] = Device.auto,
    preset: Annotated[
        str, typer.Option(help="fast, medium, slow, or the encoder's own preset name.")
    ] = "fast",
    quality: Annotated[int, typer.Option(help="0-51, lower is better (CRF-like).")] = 23,
    gop: Annotated[int | None, typer.Option(help="Frames between keyframes [default: one second].")] = None,
    profile: Annotated[
        Profile, typer.Option(help="lerobot = LeRobot's defaults (libsvtav1, crf 30, g 2).")
    ] = (Profile.default),
    on_gap: Annotated[
        GapPolicy, typer.Option(help="A gap in the frame numbering: error, or hold the previous frame.")
    ] = (GapPolicy.error),
    verify: Annotated[
        VerifyMode, typer.Option(help="packets: read every timestamp back; decode: also decode.")
    ] = (VerifyMode.packets),
    threads: Annotated[
        int | None, typer.Option(help="Encoder threads per job [default: ffmpeg's choice].")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Redo videos that already exist.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print each ffmpeg command; run nothing.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print only the results as JSON.")] = False,
    ffmpeg: Annotated[
        str | None,
        typer.Option(help="Path of the ffmpeg binary [default: $ENCODECTL_FFMPEG, PATH, bundled]."),
    ] = None,
) -> None:
    """Encode episode folders or whole datasets into verified videos."""
    with handled_errors():
        options = EncodeOptions(
            fps=fps,
            codec=codec,
            encoder=encoder,
            device=device,
            preset=preset,
            quality=quality,
            gop=gop,
            profile=profile,
            on_gap=on_gap,
            verify=verify,
            threads=threads,
            overwrite=overwrite,
            dry_run=dry_run,
            output=output,
            ffmpeg=ffmpeg,
        )
        binary = find_ffmpeg(options.ffmpeg)
        sources = discover(paths, options.output)
        started = time.perf_counter()
        live = not json_output and not dry_run and len(sources) > 1
        with _live_feedback(enabled=live) as (on_result, on_progress):
            results = encode_sources(sources, options, binary, on_result=on_result, on_progress=on_progress)
        report = make_report(results, binary, time.perf_counter() - started)
        code = exit_code(results)
        if json_output:
            sys.stdout.write(report.model_dump_json(indent=2) + "\n")
        elif code == 2:
            # Nothing could be encoded because the input was rejected: just say why, one line each.
            for result in results:
                stderr.print(
                    f"encodectl: error: {result.reason}", markup=False, highlight=False, soft_wrap=True
                )
        elif dry_run:
            print_commands(stdout, results)
        else:
            print_report(stdout, report, table=stdout.is_terminal, lines=not live)
    raise typer.Exit(code)


@contextmanager
def _live_feedback(
    enabled: bool,
) -> Iterator[tuple[Callable[[JobResult], None] | None, Callable[[EncodeJob, FFmpegProgress], None] | None]]:
    """A progress bar in a terminal; one plain line per finished job elsewhere."""
    if not enabled:
        yield None, None
        return
    if not stdout.is_terminal:

        def plain(result: JobResult) -> None:
            stdout.print(result_line(result), markup=False, highlight=False, soft_wrap=True)

        yield plain, None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[fps]}"),
        TimeRemainingColumn(),
        console=stdout,
        transient=True,
        refresh_per_second=4,
    )
    tasks: dict[str, Any] = {}

    def progress(job: EncodeJob, update: FFmpegProgress) -> None:
        task = tasks.get(job.label)
        if task is None:
            task = tasks[job.label] = bar.add_task(job.label, total=job.frame_count, fps="")
        bar.update(task, completed=update.frame, fps=f"{update.fps:.0f} fps" if update.fps else "")

    def finished(result: JobResult) -> None:
        task = tasks.pop(result.label, None)
        if task is not None:
            bar.remove_task(task)
        bar.console.print(result_line(result), markup=False, highlight=False, soft_wrap=True)

    with bar:
        yield finished, progress


def main() -> None:
    app()


if __name__ == "__main__":
    main()
