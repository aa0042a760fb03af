"""encodectl/job/ledger.py: the watch ledger (SQLite), its lock, and the state folder it lives in.

The ledger through a watcher's life (restarts, a damaged ledger, two watchers): tests/test_watch.py,
tests/watching/test_ledger_gateway.py, tests/test_bad_input.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from encodectl.errors import InputError, StateError, UsageError
from encodectl.job.ledger import EpisodeRecord, FrameSignature, Ledger, LedgerState, WatchLock, state_dir

pytestmark = pytest.mark.same_on_every_ffmpeg("a SQLite file and a lock: no ffmpeg runs")


def record(source: Path, state: LedgerState = LedgerState.pending) -> EpisodeRecord:
    signature = FrameSignature(frames=3, total_bytes=300, newest_mtime_ns=1)
    return EpisodeRecord(source=source, output=source.with_suffix(".mp4"), episode=source.name, signature=signature,
                         state=state)  # fmt: skip


def test_records_survive_a_reopen_and_copies_change_nothing(tmp_path: Path) -> None:
    path = tmp_path / ".encodectl" / "ledger.sqlite"
    ledger = Ledger(path)
    odd = tmp_path / "ep\udcff"  # a name that is not UTF-8
    ledger.put(record(tmp_path / "ep1"))
    ledger.put(record(odd, LedgerState.done))
    got = ledger.get(tmp_path / "ep1")
    assert got is not None and got.updated > 0
    got.state = LedgerState.failed  # not put: not recorded
    assert ledger.get(tmp_path / "ep1").state is LedgerState.pending  # type: ignore[union-attr]
    ledger.forget(tmp_path / "ep1")
    ledger.close()

    reopened = Ledger(path)
    assert [(r.source, r.state) for r in reopened.all()] == [(odd, LedgerState.done)]
    assert reopened.get(tmp_path / "ep1") is None
    reopened.close()


def test_an_unreadable_ledger_says_how_to_start_again(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StateError, match=r"is unreadable .*move it aside"):
        Ledger(path)


def test_one_watcher_per_output_root(tmp_path: Path) -> None:
    first, second = WatchLock(tmp_path), WatchLock(tmp_path)
    first.acquire()
    assert first.path.read_text() == f"pid {os.getpid()}\n"
    with pytest.raises(UsageError, match=f"another encodectl watch \\(pid {os.getpid()}\\)"):
        second.acquire()
    first.release()
    second.acquire()
    second.release()


def test_the_state_folder_must_be_encodectls_own(tmp_path: Path) -> None:
    assert state_dir(tmp_path) == tmp_path / ".encodectl"
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / ".encodectl").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InputError, match="is not a folder"):
        state_dir(tmp_path)
    (tmp_path / ".encodectl").unlink()
    (tmp_path / ".encodectl").mkdir()
    (tmp_path / ".encodectl" / "ledger.sqlite").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InputError, match="is a link or a special file"):
        state_dir(tmp_path)
