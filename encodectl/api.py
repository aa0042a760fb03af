"""encodectl as a library: one function per command, each returning the pydantic results the command prints.

The command line is one client of these (cli/ parses, calls one of them, renders through report/); a
program is another. The engine decides what the CLI used to: local pool or Dask, the encoder plan and
its fallback. What a caller may want shown arrives through callbacks: `tracker` (a RunTracker: each
job's progress and result) and `say` (one-line notes such as a CPU fallback), both optional.

    import encodectl
    results = encodectl.encode("datasets/pick_cube", quality=23)     # list[JobResult]
    summary = encodectl.watching("recordings/", once=True)                 # WatchSummary
    report = encodectl.check("datasets/pick_cube", decode=True)         # CheckReport
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .ffmpeg.binary import find_ffmpeg
from .models import EncodeOptions, FFmpegBinary, JobResult, Priority, from_user, options_from

if TYPE_CHECKING:
    from .benchmarking.measures import BenchOptions, BenchReport
    from .checks.models import CheckReport
    from .ffmpeg.encoder_choice import HardwareReport
    from .job.progress import RunTracker
    from .stream.recovery import RecoveredVideo
    from .watching.options import WatchOptions, WatchSummary

PathLike = str | os.PathLike[str]
Say = Callable[[str], None]


def _binary(ffmpeg: FFmpegBinary | str | None) -> FFmpegBinary:
    return ffmpeg if isinstance(ffmpeg, FFmpegBinary) else find_ffmpeg(ffmpeg)


def _paths(paths: PathLike | Sequence[PathLike]) -> list[Path]:
    return [Path(paths)] if isinstance(paths, str | os.PathLike) else [Path(path) for path in paths]


def _encode_options(options: EncodeOptions | None, values: dict[str, Any], priority: Priority | None) -> EncodeOptions:
    """`options` as given, or built from keyword values (the CLI's option names, with underscores), at
    `priority` unless they name one (None: EncodeOptions' own rule, low in the background pool)."""
    if options is not None:
        if values:
            raise UsageError(f"give either options= or keyword options, not both ({', '.join(sorted(values))})")
        return options
    return options_from({"priority": priority, **values} if priority is not None else values)


def encode(
    paths: PathLike | Sequence[PathLike],
    *,
    options: EncodeOptions | None = None,
    delete_frames: bool = False,
    executor: str = "local",
    gpu_resource: str | None = None,
    ffmpeg: FFmpegBinary | str | None = None,
    tracker: RunTracker | None = None,
    say: Say | None = None,
    **values: Any,
) -> list[JobResult]:
    """Encode episode folders, dataset trees or LeRobot datasets: ``encodectl encode``.

    Keyword `values` are those of EncodeOptions (fps, quality, preset, on_gap, output, overwrite, device,
    mode, workers, ...), or pass `options` whole. Like the command, it runs at normal priority unless told
    `priority="low"`: someone is waiting for the videos. `executor` is "local", "dask" or "dask:ADDRESS".
    One JobResult per camera-episode, bad input included (failed, with a reason)."""
    from .run.engine import encode_paths, source_runner

    encode_options = _encode_options(options, values, Priority.normal)
    binary = _binary(ffmpeg or encode_options.ffmpeg)
    run = source_runner(binary, executor=executor, gpu_resource=gpu_resource, tracker=tracker, say=say)
    return encode_paths(_paths(paths), encode_options, run, binary, delete_frames=delete_frames)


def watch(
    directory: PathLike | WatchOptions,
    *,
    options: EncodeOptions | None = None,
    ffmpeg: FFmpegBinary | str | None = None,
    tracker: RunTracker | None = None,
    say: Say | None = None,
    on_result: Callable[[JobResult], None] | None = None,
    **values: Any,
) -> WatchSummary:
    """Encode each episode as soon as the recorder has finished it: ``encodectl watch``. Runs until Ctrl-C,
    or, with ``once=True``, until what is complete now is done.

    Keyword `values` are WatchOptions' (output, marker, settle, poll, once, delete_frames, drain, stream)
    and EncodeOptions' (codec, quality, workers, ...; priority low unless told: the recorder comes first).
    A LeRobot dataset root is finished as a whole whenever LeRobot is not writing it (`on_result` hears of
    each episode placed); a folder of episode folders is watched episode by episode."""
    from .job.progress import RunTracker
    from .lerobot.meta import is_lerobot_dataset
    from .watching.options import WatchOptions

    watch_fields = {key: values.pop(key) for key in list(values) if key in WatchOptions.model_fields}
    if isinstance(directory, WatchOptions):
        watch_options = from_user(WatchOptions, {**directory.model_dump(), **watch_fields})
    else:
        watch_options = from_user(WatchOptions, {"root": Path(directory), **watch_fields})
    encode_options = _encode_options(options, values, Priority.low)
    binary = _binary(ffmpeg or encode_options.ffmpeg)
    tracker = tracker or RunTracker()
    tell = say or (lambda _: None)
    if is_lerobot_dataset(watch_options.root):
        from .run.engine import source_runner
        from .watching.dataset import watch_dataset

        run = source_runner(binary, tracker=tracker, say=say)
        return watch_dataset(watch_options, encode_options, binary, run, tell, on_result=on_result)
    from .ffmpeg.encoder_choice import plan_encoder
    from .run.engine import fallback_announcement
    from .watching.watcher import Watcher

    plan = plan_encoder(encode_options, binary)
    note = fallback_announcement(plan)
    if note is not None:
        tell(note)
    return Watcher(watch_options, encode_options, binary, plan, tracker, tell).run()


def check(
    paths: PathLike | Sequence[PathLike],
    *,
    decode: bool = False,
    fps: Fraction | int | str | None = None,
    repair: bool = False,
    ffmpeg: FFmpegBinary | str | None = None,
    tracker: RunTracker | None = None,
    say: Say | None = None,
) -> CheckReport:
    """Check videos as their readers read them, changing nothing (but `repair`): ``encodectl check``.

    `decode` decodes every frame too; `fps` is a folder's frame rate (a LeRobot dataset's is in its
    metadata). `repair` re-encodes a LeRobot dataset's wrong videos from its frames, then checks again.
    Unusable input raises an EncodectlError (exit code 2); problems found are in the report."""
    from .checks.engine import check as check_paths
    from .run.engine import source_runner

    binary = _binary(ffmpeg)
    run = source_runner(binary, tracker=tracker, say=say) if repair else None
    return check_paths(_paths(paths), decode=decode, fps=fps, ffmpeg=binary, repair=repair, run=run)


def recover(directory: PathLike, *, ffmpeg: FFmpegBinary | str | None = None) -> list[RecoveredVideo]:
    """Turn what interrupted streams left under `directory` (searched recursively) into verified videos:
    ``encodectl recover``. One RecoveredVideo per stream file found."""
    from .stream.recovery import recover as recover_streams

    folder = Path(directory)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    return recover_streams(folder.absolute(), _binary(ffmpeg))


def probe_gpu(*, refresh: bool = False, ffmpeg: FFmpegBinary | str | None = None) -> HardwareReport:
    """Which hardware encoders this ffmpeg has and which really work here (a test encode each, cached), what
    ``encode --device auto`` would choose for each codec, and which other ffmpeg builds are installed:
    ``encodectl probe-gpu``."""
    from .ffmpeg.encoder_choice import hardware_report

    return hardware_report(_binary(ffmpeg), refresh=refresh)


def bench(
    bench_options: BenchOptions | None = None,
    *,
    options: EncodeOptions | None = None,
    ffmpeg: FFmpegBinary | str | None = None,
    say: Say | None = None,
    **values: Any,
) -> BenchReport:
    """Measure the encoding modes side by side on this machine while a simulated recorder records:
    ``encodectl bench``. Keyword `values` are BenchOptions' (modes, episodes, seconds, cameras, size, fps,
    frames, allow_fallback, keep) and EncodeOptions' (preset, quality, codec, workers)."""
    from .benchmarking.benchmark import run_bench
    from .benchmarking.measures import BenchOptions

    bench_fields = {key: values.pop(key) for key in list(values) if key in BenchOptions.model_fields}
    measured = from_user(BenchOptions, {**(bench_options or BenchOptions()).model_dump(), **bench_fields})
    encode_options = _encode_options(options, values, None)
    return run_bench(measured, _binary(ffmpeg or encode_options.ffmpeg), encode_options, say or (lambda _: None))
