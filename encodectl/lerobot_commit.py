"""The commit that changes a LeRobot dataset, and the guard around every run that may.

One encodectl at a time holds a dataset (a lock on its folder); a dataset that another
program has open (LeRobot keeps its files open while it records) is left alone. What a
run changes it first stages under ``.encodectl/lerobot-staging/``, then syncs, writes a
journal of the moves and makes them; a run cut off between is completed by the next.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from .errors import DatasetBusy
from .ffmpeg_process import signals_deferred
from .ledger import STATE_DIR

STAGING = "lerobot-staging"
JOURNAL = "lerobot-commit.json"


class Move(BaseModel):
    source: Path
    target: Path


class CommitJournal(BaseModel):
    """The moves of one commit, written before the first: a cut-off commit is completed by the next run."""

    moves: list[Move]


@contextlib.contextmanager
def dataset_opened(root: Path) -> Iterator[None]:
    """Hold `root` for this process alone; refuse a dataset another program has open; finish a cut-off commit."""
    descriptor = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(root)
            raise DatasetBusy(
                f"another encodectl ({holder}) is finishing {root}; wait for it to end, or stop it"
            ) from None
        users = processes_using(root)
        if users:
            pid, name, path = users[0]
            raise DatasetBusy(
                f"{path.relative_to(root)} is open in {name} (pid {pid}): the dataset is being written (LeRobot keeps "
                "its files open while it records); encodectl changes nothing until it is closed"
            )
        complete_cut_off_commit(root)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _lock_holder(root: Path) -> str:
    """Who holds the flock on `root`, from /proc/locks (Linux); "another process" elsewhere."""
    stat = root.stat()
    device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return "another process"
    for line in lines:
        fields = line.split()
        if "FLOCK" in fields and device in fields:
            pid = fields[fields.index(device) - 1]
            return f"pid {pid}: {_command_of(pid)}"
    return "another process"


def _command_of(pid: int | str) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    return " ".join(word.decode(errors="replace") for word in words if word)[:120] or "?"


def processes_using(root: Path) -> list[tuple[int, str, Path]]:
    """Other processes with a file of the dataset open (pid, name, path); only those this user may see."""
    prefix = str(root.resolve()) + os.sep
    found = []
    for process in _processes():
        try:
            targets = [str(descriptor.readlink()) for descriptor in (process / "fd").iterdir()]
        except OSError:
            continue
        inside = [target for target in targets if target.startswith(prefix)]
        if inside:
            found.append((int(process.name), _name_of(process), Path(inside[0])))
    return found


def _processes() -> list[Path]:
    """/proc/<pid> of every other process (Linux); none elsewhere."""
    try:
        return [entry for entry in Path("/proc").iterdir() if entry.name.isdigit() and int(entry.name) != os.getpid()]
    except OSError:
        return []


def _name_of(process: Path) -> str:
    try:
        return (process / "comm").read_text().strip()
    except OSError:
        return "?"


def complete_cut_off_commit(root: Path) -> None:
    """Finish the moves of a commit cut off by a crash (its journal says which), then drop what it staged."""
    state = root / STATE_DIR
    journal = state / JOURNAL
    if journal.is_file():
        commit = CommitJournal.model_validate_json(journal.read_text())
        with signals_deferred():
            for move in commit.moves:
                if move.source.exists():
                    publish(move.source, move.target)
            journal.unlink()
    remove_staging(root)


def remove_staging(root: Path) -> None:
    state = root / STATE_DIR
    shutil.rmtree(state / STAGING, ignore_errors=True)
    with contextlib.suppress(OSError):
        state.rmdir()  # only when empty: a watcher's ledger may live there too


def publish(source: Path, target: Path) -> None:
    """Move a verified, synced file into place in one step (a copy first if it is on another file system)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        source.replace(target)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        beside = target.with_name(f".{target.name}.{os.getpid()}.partial")
        shutil.copyfile(source, beside)
        _fsync(beside)
        beside.replace(target)
        source.unlink()
    _fsync_directory(target.parent)


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def commit_moves(root: Path, moves: list[Move]) -> None:
    """Sync everything staged, write the journal, then make every move; a crash in between is completed later."""
    for move in moves:
        _fsync(move.source)
    journal = root / STATE_DIR / JOURNAL
    written = journal.with_suffix(".tmp")
    written.write_text(CommitJournal(moves=moves).model_dump_json())
    _fsync(written)
    written.replace(journal)
    _fsync_directory(journal.parent)
    complete_cut_off_commit(root)


def is_staged(path: Path) -> bool:
    """A camera-episode's video waiting in a dataset's staging folder to be placed."""
    return STAGING in path.parts and STATE_DIR in path.parts
