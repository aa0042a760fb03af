"""The observe step of a watch pass: each episode folder as a plain record (an Observation).

The observer is the only part of the pass that reads the episode folders (the walk, the frames'
signature and, for --stream, their numbers, the marker, the video) and the ledger; the rules decide
from what it saw, the actor (act.py) acts (feeding a stream reads the frames' bytes: that is the act).
It remembers each folder between passes, to tell when its frames last changed
and to skip re-reading a finished folder in which nothing moved.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container, Iterator
from pathlib import Path

from pydantic import BaseModel

from ..frames.layout import EpisodeSource, source_below
from ..frames.sequence import frame_files, numbered
from ..job.ledger import EpisodeRecord, FrameSignature, LedgerState
from .options import WatchOptions
from .signature import frame_stats, signature_of
from .walker import FolderWalker, later_siblings


class Observation(BaseModel):
    """One episode folder as this pass saw it; the rules decide from this alone."""

    source: EpisodeSource
    signature: FrameSignature
    changed_at: float  # time.monotonic() when its frames were last seen to change
    record: EpisodeRecord | None  # the ledger's, as the pass began with the folder
    marker_present: bool = False  # --marker's file is in the folder
    later_sibling: bool = False  # the same camera has started a later episode
    output_exists: bool = False  # its video is there (made by encode, or by an earlier watcher)
    live: bool = False  # a stream of it is being fed (watch --stream)
    stream_off: bool = False  # it fell back to, or was left to, its files in this run
    numbered: dict[int, Path] = {}  # its frames by number, listed for watch --stream only

    @property
    def directory(self) -> Path:
        return self.source.directory


class _Seen:
    """One episode folder as last observed."""

    def __init__(self, source: EpisodeSource, signature: FrameSignature, changed_at: float) -> None:
        self.source = source
        self.signature = signature
        self.changed_at = changed_at
        self.dir_mtime_ns = 0
        self.numbered: dict[int, Path] = {}  # watch --stream: the frames by number, from the same listing


def may_skip_reading(record: EpisodeRecord | None, last: FrameSignature | None, folder_untouched: bool) -> bool:
    """Finished, and nothing seen since (its folder's entries unchanged): no need to stat its frames."""
    finished = record is not None and record.state in (LedgerState.done, LedgerState.failed)
    return finished and folder_untouched and last is not None and record is not None and last == record.signature


def changed_at_first_sight(now: float, wall: float, signature: FrameSignature, once: bool) -> float:
    """Stillness counts from now: copied-in frames keep old modification times. Only a one-off
    catch-up (--once) judges what is already there by those times."""
    if not once:
        return now
    return now - max(0.0, wall - signature.newest_mtime_ns / 1e9)


class Observer:
    def __init__(self, root: Path, watch: WatchOptions, say: Callable[[str], None]) -> None:
        self.root = root
        self.watch = watch
        self.say = say
        self._walker = FolderWalker(root)
        self._seen: dict[Path, _Seen] = {}
        self._warned: set[Path] = set()
        self._last_deep_scan = time.monotonic()

    def observe(
        self,
        record_of: Callable[[Path], EpisodeRecord | None],
        now: float,
        busy: Container[Path],
        live: Container[Path],
        stream_off: Container[Path],
    ) -> Iterator[Observation]:
        """Each episode folder not `busy` (with a job in the pool), one at a time.

        Lazily: a folder is read just before it is acted on, not before every other folder's
        stream has been fed or closed, so its signature is as fresh as it can be."""
        deep = now - self._last_deep_scan >= self.watch.deep_rescan  # also re-read finished folders
        if deep:
            self._last_deep_scan = now
        folders = self._walker.episode_folders()
        later = later_siblings(folders)
        for directory in folders:
            if directory in busy:
                continue
            record = record_of(directory)
            # The marker before the frames: a recorder writes it after its last frame, so a marker seen
            # here means the signature read next holds every frame.
            marker_present = self._has_marker(directory)
            seen = self._look(directory, record, now, deep)
            if seen is None:
                continue
            yield Observation(
                source=seen.source, signature=seen.signature, changed_at=seen.changed_at, record=record,
                marker_present=marker_present, later_sibling=later.get(directory, False),
                output_exists=seen.source.output.exists(), live=directory in live, stream_off=directory in stream_off,
                numbered=seen.numbered,
            )  # fmt: skip

    def _look(self, directory: Path, record: EpisodeRecord | None, now: float, deep: bool) -> _Seen | None:
        """The folder's memory, brought up to date; None if there is nothing to look at (or it cannot be read)."""
        seen = self._seen.get(directory)
        mtime = self._walker.mtime_of(directory)
        untouched = seen is not None and seen.dir_mtime_ns == mtime and not deep
        if may_skip_reading(record, seen.signature if seen is not None else None, untouched):
            return None
        try:
            stats = frame_stats(directory)  # one listing: the signature, and a stream's frames by number
        except OSError as error:
            self._warn_once(directory, f"cannot read {directory}: {error.strerror or error}; skipping it")
            return None
        signature = signature_of(stats)
        if seen is None:
            changed_at = changed_at_first_sight(now, time.time(), signature, self.watch.once)
            source = source_below(self.root, directory, self.watch.output)
            seen = self._seen[directory] = _Seen(source, signature, changed_at)
        elif signature != seen.signature:
            seen.signature, seen.changed_at = signature, now
        seen.dir_mtime_ns = mtime
        seen.numbered = numbered(stats) if self.watch.stream else {}
        return seen

    @staticmethod
    def video_exists(video: Path) -> bool:
        return video.exists()

    @staticmethod
    def frames_left(directory: Path) -> bool:
        """Whether an episode folder still holds frames (a restarted watcher's question about its ledger)."""
        return bool(frame_files(directory))

    def remember_source(self, source: EpisodeSource) -> None:
        """The episode's source as it was handed to the pool (its video's container known)."""
        self._seen[source.directory].source = source

    def changed_times(self, busy: Container[Path]) -> list[float]:
        """When each folder not `busy` last changed: the settle deadlines the loop may wake for."""
        return [seen.changed_at for path, seen in self._seen.items() if path not in busy]

    def _has_marker(self, directory: Path) -> bool:
        return bool(self.watch.marker) and (directory / str(self.watch.marker)).exists()

    def _warn_once(self, directory: Path, message: str) -> None:
        if directory not in self._warned:
            self._warned.add(directory)
            self.say(message)
