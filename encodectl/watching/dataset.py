"""``encodectl watch`` on a LeRobot dataset root: finish the dataset each time nobody is writing it.

LeRobot keeps its metadata files open while it records and encodes what is pending
itself when it stops normally; what it leaves pending (a crash, a batch never
reached) is finished here, the same way ``encode`` does, once no process has a file
of the dataset open and nothing in it has changed for ``--settle`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ..errors import DatasetBusy, EncodectlError, UsageError
from ..job.source_runner import SourceRunner
from ..lerobot.commit import processes_using
from ..lerobot.finish_dataset import finish_datasets
from ..models import EncodeOptions, FFmpegBinary, JobResult, JobStatus
from .options import WatchOptions, WatchSummary


def dataset_signature(root: Path) -> tuple[int, ...]:
    """Changes whenever the recorder adds an episode or a frame: the metadata files and the image folders."""
    stamps = []
    for pattern in ("meta/*", "meta/episodes/*/*", "images/*/*"):
        for path in sorted(root.glob(pattern)):
            try:
                stamps.append(path.stat().st_mtime_ns)
            except OSError:
                continue
    return tuple(stamps)


def watch_dataset(
    watch: WatchOptions,
    options: EncodeOptions,
    binary: FFmpegBinary,
    run: SourceRunner,
    say: Callable[[str], None],
    on_result: Callable[[JobResult], None] | None = None,
) -> WatchSummary:
    root = watch.root.absolute()
    if watch.stream or watch.marker:
        raise UsageError(
            f"{root} is a LeRobot dataset: it is finished as a whole once LeRobot stops writing it, so "
            "--stream and --marker do not apply"
        )
    summary = WatchSummary()
    signature, quiet_since = dataset_signature(root), time.monotonic()
    attempted: tuple[int, ...] | None = None  # the dataset as it was at the last attempt to finish it
    told: str | None = None
    if not watch.once:
        say(f"watching the LeRobot dataset {root}: finishing it whenever no program is writing it; Ctrl-C to stop")
    try:
        while True:
            now = time.monotonic()
            current = dataset_signature(root)
            if current != signature:
                signature, quiet_since = current, now
            users = processes_using(root)
            why = None
            if users:
                why = f"{users[0][1]} (pid {users[0][0]}) is writing the dataset; waiting until it closes its files"
            elif signature != attempted and (watch.once or now - quiet_since >= watch.settle):
                attempted = signature
                results = _finish(root, options, binary, run, watch.delete_frames, say)
                if results is None and watch.once:
                    summary.failed += 1  # --once could not finish it, and said why: the exit code says so too
                for result in results or []:
                    if result.status is not JobStatus.skipped and on_result is not None:
                        on_result(result)
                    summary.done += result.status is JobStatus.done
                    summary.failed += result.status is JobStatus.failed
                signature = attempted = dataset_signature(root)
            if why is not None and why != told:
                say(why)
            told = why
            if watch.once:
                summary.waiting = int(bool(users))
                return summary
            time.sleep(watch.rescan)
    except KeyboardInterrupt:
        summary.interrupted = True
        return summary


def _finish(
    root: Path,
    options: EncodeOptions,
    binary: FFmpegBinary,
    run: SourceRunner,
    delete_frames: bool,
    say: Callable[[str], None],
) -> list[JobResult] | None:
    """One pass of `encode` on the dataset; a dataset that cannot be finished now is said, not fatal (None: it
    could not be finished for a reason other than another program writing it)."""
    try:
        return finish_datasets([root], options, binary, run, delete_frames=delete_frames)
    except DatasetBusy as busy:
        say(f"not now: {busy}")
        return []
    except UsageError:
        raise  # the options themselves are wrong: no later pass would do better
    except EncodectlError as error:
        say(f"not finished yet: {error}")
    except OSError as error:  # a file that went away while the dataset was read: the next pass sees it whole
        say(f"not finished yet: {error.strerror or error}: {error.filename or root}")
    return None
