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

from ..errors import DatasetBusy, EncodeError, InputError
from ..ffmpeg.process import signals_deferred
from ..job.ledger import STATE_DIR, state_dir
from .confine import inside

STAGING = "lerobot-staging"
JOURNAL = "lerobot-commit.json"
MADE = "lerobot-made.json"  # videos a dropped commit had already placed: encodectl's own, so replaceable


class FileState(BaseModel):
    """What a file was when last seen (size and modification time, which a rename keeps); None: absent."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileState | None:
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return cls(size=stat.st_size, mtime_ns=stat.st_mtime_ns)


class Move(BaseModel):
    source: Path
    target: Path
    staged: FileState | None = None  # the source when the journal was written
    before: FileState | None = None  # the target as the run planned on it


class CommitJournal(BaseModel):
    """The moves of one commit, written before the first: a cut-off commit is completed by the next run."""

    moves: list[Move]


class MadeFiles(BaseModel):
    """Files encodectl placed in the dataset that no metadata refers to (a commit dropped half-way),
    as they were then: a later run may replace such a file while it is still exactly that."""

    files: dict[Path, FileState] = {}


def made_by_encodectl(root: Path, path: Path) -> bool:
    made = _read_made(root)
    return path in made.files and FileState.of(path) == made.files[path]


def _read_made(root: Path) -> MadeFiles:
    """Only entries for files inside the dataset, named absolutely (the file may have come with the dataset)."""
    try:
        made = MadeFiles.model_validate_json((state_dir(root) / MADE).read_text())
    except (OSError, ValueError):
        return MadeFiles()
    kept = {}
    for path, state in made.files.items():
        with contextlib.suppress(InputError):
            if path.is_absolute() and path.is_relative_to(root.absolute()) and inside(root, path, "a placed video"):
                kept[path] = state
    return MadeFiles(files=kept)


def _write_made(root: Path, made: MadeFiles) -> None:
    """Only entries still true are kept; no entries, no file."""
    made.files = {path: state for path, state in made.files.items() if FileState.of(path) == state}
    path = state_dir(root) / MADE
    if made.files:
        path.write_text(made.model_dump_json())
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def dataset_opened(root: Path, dry_run: bool = False) -> Iterator[None]:
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
        refuse_if_in_use(root)
        if not dry_run:
            complete_cut_off_commit(root)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def refuse_if_in_use(root: Path) -> None:
    users = processes_using(root)
    if users:
        pid, name, path = users[0]
        raise DatasetBusy(
            f"{path.relative_to(root.resolve())} is open in {name} (pid {pid}): the dataset is being written "
            "(LeRobot keeps its files open while it records); encodectl changes nothing until it is closed"
        )


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


def complete_cut_off_commit(root: Path) -> bool:
    """Finish the moves of a commit cut off by a crash (its journal says which), then drop what it staged;
    False if the rest of the commit had to be dropped.

    A move is made only if its target is still what the run planned on: if anything changed
    the dataset since (a resumed recording rewrote info.json, say), the rest of the commit is
    dropped, which is safe because videos move before the metadata that points into them."""
    completed = True
    state = state_dir(root)
    journal = state / JOURNAL
    journal.with_suffix(".tmp").unlink(missing_ok=True)  # a journal never finished: its commit never began
    if journal.is_file():
        try:
            commit = CommitJournal.model_validate_json(journal.read_text())
        except (OSError, ValueError) as error:
            raise InputError(
                f"{journal} cannot be read ({type(error).__name__}); move it aside to drop the commit it describes"
            ) from None
        _check_journal(root, journal, commit)
        with signals_deferred():
            for number, move in enumerate(commit.moves):
                _copy_beside(move.target).unlink(missing_ok=True)
                if FileState.of(move.source) is not None and move.staged == FileState.of(move.source):
                    if FileState.of(move.target) != move.before:
                        # The dataset changed meanwhile: plan again rather than undo what changed it. What
                        # was placed already is remembered as encodectl's, for the next run to replace.
                        made = _read_made(root)
                        made.files.update({m.target: m.staged for m in commit.moves[:number] if m.staged})
                        _write_made(root, made)
                        completed = False
                        break
                    try:
                        publish(move.source, move.target)
                    except OSError as error:  # a read-only target, a full disk: the journal keeps the rest
                        raise EncodeError(
                            f"cannot put {move.target} in place ({error.strerror or error}); the rest of the commit "
                            f"waits in {journal}, and the next run completes it once that file can be written"
                        ) from None
                elif FileState.of(move.target) != move.staged:
                    completed = False
                    break  # neither moved nor still staged (lost in a power cut): no metadata may follow it
            journal.unlink()
    remove_staging(root)
    return completed


def _check_journal(root: Path, journal: Path, commit: CommitJournal) -> None:
    """A journal may have come with the dataset (downloaded with it): its moves are made only from this
    dataset's staging folder to places inside the dataset, never from or to anywhere else. Its paths must be
    absolute and lie under the root as written, so that the paths checked are the paths acted on (a relative
    one would be taken from the current folder)."""
    staging = (root / STATE_DIR / STAGING).resolve()
    for move in commit.moves:
        try:
            paths = (move.source, move.target)
            fits = all(path.is_absolute() and path.is_relative_to(root.absolute()) for path in paths)
            source, target = inside(root, move.source, "a staged file"), inside(root, move.target, "a target")
            fits = fits and source.resolve().is_relative_to(staging)
            fits = fits and not target.resolve().is_relative_to(staging.parent)
        except InputError:
            fits = False
        if not fits:
            raise InputError(
                f"{journal} moves {move.source} to {move.target}, which is not from this dataset's staging folder "
                "into the dataset: encodectl did not write it here; move it aside and run again"
            )


def remove_staging(root: Path) -> None:
    """Drop what a run staged, unless a journal still needs it (the next run completes that commit)."""
    state = state_dir(root)
    if (state / JOURNAL).exists():
        return
    _write_made(root, _read_made(root))
    shutil.rmtree(state / STAGING, ignore_errors=True)  # a link there is refused by state_dir before any run
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
        beside = _copy_beside(target)
        shutil.copy2(source, beside)  # keeps the modification time: the journal knows the file by it
        _fsync(beside)
        beside.replace(target)
        source.unlink()
    _fsync_directory(target.parent)


def _copy_beside(target: Path) -> Path:
    return target.with_name(f".{target.name}.encodectl-copy.partial")


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def commit_moves(root: Path, moves: list[Move], planned: dict[Path, FileState | None]) -> None:
    """Sync everything staged, write the journal, then make every move; a crash in between is completed later.

    `planned` is every dataset file the run read or will replace, as it was then: if one has
    changed since (or a program has opened the dataset), nothing is moved."""
    refuse_if_in_use(root)
    changed = [path for path, state in planned.items() if FileState.of(path) != state]
    if changed:
        raise DatasetBusy(
            f"{changed[0].relative_to(root)} changed while encoding; nothing was changed in the dataset: run again"
        )
    # Ctrl-C or SIGTERM waits for the commit (a second or so of syncs): stopped half-way, it would leave
    # the dataset for the next run to complete, while the user was told the run stopped cleanly.
    targets = [move.target.resolve() for move in moves]
    if len(set(targets)) != len(targets):
        twice = next(target for target in targets if targets.count(target) > 1)
        raise InputError(f"{twice}: two files of this commit would go to one place (through a link in the dataset); "
                         "nothing was changed")  # fmt: skip
    with signals_deferred():
        for move in moves:
            _fsync(move.source)
            move.staged, move.before = FileState.of(move.source), planned.get(move.target, FileState.of(move.target))
        for directory in {move.source.parent for move in moves}:
            _fsync_directory(directory)
        journal = state_dir(root) / JOURNAL
        written = journal.with_suffix(".tmp")
        written.write_text(CommitJournal(moves=moves).model_dump_json())
        _fsync(written)
        written.replace(journal)
        _fsync_directory(journal.parent)
        if not complete_cut_off_commit(root):
            raise DatasetBusy(
                "the dataset changed while encodectl committed to it: the rest of the commit was dropped and no "
                "episode was placed (the videos already moved are remembered as encodectl's); run again"
            )


def is_staged(path: Path) -> bool:
    """A camera-episode's video waiting in a dataset's staging folder to be placed."""
    return STAGING in path.parts and STATE_DIR in path.parts
