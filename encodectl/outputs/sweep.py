"""What runs that died (SIGKILL, power loss) left beside a video: their temporary files, and an ffmpeg
still writing one. Temporary names carry the writer's process id (names.py), so a live run's are kept."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

from .names import LEFTOVER_SUFFIXES, hidden_files, hidden_prefix


def remove_stale_temp_files(output: Path) -> list[Path]:
    """Remove what runs that died (SIGKILL, power loss) left beside `output`; return what was removed.

    Temporary names carry the writer's process id, so files of a live run are left alone.
    """
    removed = []
    prefix = hidden_prefix(output)
    for path in hidden_files(output):
        if not path.name.endswith(LEFTOVER_SUFFIXES):
            continue
        pid = path.name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            _kill_orphans_writing(path)
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _kill_orphans_writing(path: Path) -> None:
    """An ffmpeg left running by a killed encodectl (it has a process group of its own): stop it too."""
    proc = Path("/proc")
    if not proc.is_dir():
        return
    needle = str(path).encode()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue


def process_alive(pid: int) -> bool:
    """Whether `pid` still runs: a zombie is dead, unless a thread of it runs on (Linux, read from /proc)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie answers signals, yet it is dead: it waits only for its parent (or init) to reap it. But a
    # thread group's leader turns zombie as soon as it exits itself, while its other threads may still run,
    # or still be closing the files they share (a SIGKILLed ffmpeg's encoder threads): alive until the last.
    try:
        states = [_state(task / "stat") for task in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:
        return True  # no /proc here, or it went while we looked: asked again, the signal answers
    return any(state not in ("Z", "X") for state in states)


def _state(stat: Path) -> str:
    fields = stat_fields(stat)
    return fields[0] if fields is not None else "X"  # None: the thread went between the listing and the read


def stat_fields(stat: Path) -> list[str] | None:
    """The fields of a /proc stat file after the command name (its state first, then ppid, pgrp, session...,
    the scheduling policy at index 38); None if it is gone or not one."""
    try:
        fields = [field.decode() for field in stat.read_bytes().rsplit(b")", 1)[1].split()]
    except (OSError, IndexError, UnicodeDecodeError):
        return None
    numbers_read = (fields[1], fields[3], fields[38]) if len(fields) > 38 else ("",)
    return fields if all(number.isdigit() for number in numbers_read) else None
