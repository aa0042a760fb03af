"""The watcher's memory: a small SQLite ledger in the output root, and the lock that keeps it single.

One row per camera-episode: its frames when last seen (count, bytes, newest
modification time), its state (pending, encoding, done, failed), its video and
the last result. Written in WAL mode with one transaction per change, so a
watcher killed at any instant restarts from a consistent ledger.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
from enum import StrEnum
from pathlib import Path
from typing import IO

from pydantic import BaseModel, ValidationError

from ..errors import InputError, StateError, UsageError

STATE_DIR = ".encodectl"


def state_dir(root: Path) -> Path:
    """`root`'s own .encodectl folder. A folder that came with the data (a downloaded dataset) could be
    a symlink to anywhere, and encodectl writes, moves and deletes in it: one that is not a real folder
    is refused."""
    path = root / STATE_DIR
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise InputError(f"{path} is not a folder (a symlink, or a file): encodectl keeps its own state there; "
                         "move it away and run again")  # fmt: skip
    if path.is_dir():
        # What encodectl keeps there (its ledger, lock, journal, staging folder) is never a link or a special
        # file: one that is came with the data, and writing through it would write elsewhere.
        with os.scandir(path) as entries:
            odd = next((e for e in entries if e.is_symlink() or not (e.is_file() or e.is_dir())), None)
        if odd is not None:
            raise InputError(f"{odd.path} is a link or a special file, which encodectl never makes in its own "
                             f"{STATE_DIR}: it came from elsewhere; move it away and run again")  # fmt: skip
    return path


class LedgerState(StrEnum):
    pending = "pending"
    encoding = "encoding"
    done = "done"
    failed = "failed"


class StreamUse(StrEnum):
    """What an `encoding` record of watch --stream is: a stream being fed, or one given up for the files.
    Either way a watcher that stops redoes the episode from its files: the state is what counts."""

    fed = "fed"
    abandoned = "abandoned"


class FrameSignature(BaseModel):
    """What an episode folder's frames looked like: any change means new or rewritten frames."""

    frames: int
    total_bytes: int
    newest_mtime_ns: int


class EpisodeRecord(BaseModel):
    source: Path
    output: Path
    camera: str | None = None
    episode: str
    signature: FrameSignature
    state: LedgerState
    stream: StreamUse | None = None  # an encoding record of watch --stream (None: a job of the pool, or not encoding)
    reason: str | None = None
    frames_deleted: bool = False
    encode_seconds: float | None = None
    updated: float = 0.0  # time.time() of the last change; for `done`, when the video was verified


_SCHEMA = """
CREATE TABLE IF NOT EXISTS episodes (
    source TEXT PRIMARY KEY,
    record TEXT NOT NULL
)
"""


def _key(source: Path) -> str:
    """The row's key: the folder's path, or for a name that is not UTF-8 (which SQLite's text cannot
    hold) its bytes in hex, which no path (they begin with "/") can be mistaken for."""
    try:
        return str(source).encode().decode()
    except UnicodeEncodeError:
        return "bytes:" + os.fsencode(source).hex()


class Ledger:
    """The watcher's record of every episode, in SQLite, with a copy in memory.

    Only one watcher writes an output root (WatchLock), so the copy in memory is the truth:
    the watcher asks for every folder's record on every pass, and a query plus a JSON
    parse each time would cost a share of a core beside the recorder on a large dataset.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            rows = self._db.execute("SELECT record FROM episodes").fetchall()
            records = [EpisodeRecord.model_validate(json.loads(row[0])) for row in rows]
        except (sqlite3.Error, ValidationError, ValueError) as error:
            self._db.close()
            reason = f"{type(error).__name__}: {error}".splitlines()[0]
            raise StateError(
                f"the watch ledger {path} is unreadable ({reason}); move it aside (with any {path.name}-wal and "
                f"-shm beside it) and start again: watch rebuilds it from the videos and frames on disk"
            ) from error
        self._records = {str(record.source): record for record in records}

    def get(self, source: Path) -> EpisodeRecord | None:
        with self._lock:
            record = self._records.get(str(source))
        return record.model_copy() if record is not None else None  # the caller's changes count only once put

    def put(self, record: EpisodeRecord) -> None:
        record.updated = time.time()
        with self._lock:
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO episodes (source, record) VALUES (?, ?)",
                    # Python's json keeps a name that is not UTF-8 exactly (\udcXX escapes); pydantic's refuses it.
                    (_key(record.source), json.dumps(record.model_dump(mode="json"))),
                )
            except sqlite3.Error as error:  # a full disk, say: the watcher stops, saying where
                raise StateError(f"cannot write the watch ledger {self.path}: {error}") from error
            self._records[str(record.source)] = record.model_copy()

    def all(self) -> list[EpisodeRecord]:
        with self._lock:
            return [record.model_copy() for record in self._records.values()]

    def forget(self, source: Path) -> None:
        with self._lock:
            try:
                self._db.execute("DELETE FROM episodes WHERE source = ?", (_key(source),))
            except sqlite3.Error as error:
                raise StateError(f"cannot write the watch ledger {self.path}: {error}") from error
            self._records.pop(str(source), None)

    def close(self) -> None:
        with self._lock:
            self._db.close()


class WatchLock:
    """An exclusive lock on an output root: two watchers writing the same videos would race."""

    def __init__(self, output_root: Path) -> None:
        self.path = state_dir(output_root) / "watch.lock"
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise UsageError(
                f"another encodectl watch ({holder}) is already writing to {self.path.parent.parent}; "
                "stop it first, or give this one another -o"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
