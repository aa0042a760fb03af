"""`check`: each path given, as a LeRobot dataset or a folder that `encode` made; one report."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from pydantic import TypeAdapter

from ..errors import InputError, UsageError
from ..ffmpeg.binary import find_ffmpeg
from ..frames.sequence import not_there
from ..job.source_runner import SourceRunner
from ..lerobot.meta import is_lerobot_dataset
from ..models import FFmpegBinary, FrameRate, VerifyMode
from ..run.engine import source_runner
from ..version import __version__
from .dataset import check_lerobot
from .folder import check_folder
from .models import CheckReport, PathCheck
from .repair import repair_lerobot

_RATE: TypeAdapter[Fraction] = TypeAdapter(FrameRate)


def check(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    decode: bool = False,
    fps: Fraction | int | str | None = None,
    ffmpeg: FFmpegBinary | str | None = None,
    repair: bool = False,
    run: SourceRunner | None = None,
) -> CheckReport:
    """Check LeRobot datasets, or folders that `encode` made, without changing them.

    `decode` decodes every frame as well (finds damaged bytes); `fps` is the frame rate a folder's
    videos should have (default 30; a LeRobot dataset's own is in its metadata). Unusable input
    (a path that is not there, metadata that cannot be read or points outside the dataset) raises
    an EncodectlError with exit code 2; problems found are in the report.

    `repair` (LeRobot datasets only) re-encodes what is wrong from the frames still under images/, through
    the commit `encode` uses (see checks/repair.py), then checks again; `run` encodes the episodes (default:
    this machine's pool)."""
    started = time.monotonic()
    given = [Path(paths)] if isinstance(paths, str | os.PathLike) else [Path(path) for path in paths]
    if not given:
        raise InputError("no path given")
    binary = ffmpeg if isinstance(ffmpeg, FFmpegBinary) else find_ffmpeg(ffmpeg)
    mode = VerifyMode.decode if decode else VerifyMode.packets
    if repair:
        for path in given:
            if path.is_dir() and not is_lerobot_dataset(path):
                raise UsageError(f"--repair applies to LeRobot datasets; {path} is not one (no meta/info.json)")
    runner = (run or source_runner(binary)) if repair else None
    checks = [check_path(path, binary, mode, fps, runner) for path in given]
    return CheckReport(
        encodectl=__version__,
        ffmpeg=binary,
        checks=checks,
        problems=sum(len(item.problems) for item in checks),
        seconds=round(time.monotonic() - started, 3),
    )


def check_path(
    path: Path, binary: FFmpegBinary, mode: VerifyMode, fps: Fraction | int | str | None, repair: SourceRunner | None
) -> PathCheck:
    started = time.monotonic()
    if not path.exists():
        raise InputError(not_there(path))
    if not path.is_dir():
        raise InputError(f"{path} is not a folder (a LeRobot dataset, or a folder that encode made)")
    if is_lerobot_dataset(path):
        if fps is not None:
            raise UsageError(f"--fps does not apply to a LeRobot dataset ({path}): its frame rate is in meta/info.json")
        result = repair_lerobot(path, binary, mode, repair) if repair else check_lerobot(path, binary, mode).result
    else:
        result = check_folder(path, binary, mode, _RATE.validate_python(fps) if fps is not None else Fraction(30))
    result.seconds = round(time.monotonic() - started, 3)
    return result
