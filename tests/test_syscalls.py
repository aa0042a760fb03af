"""encodectl/syscalls.py: renameat2(RENAME_NOREPLACE) and its fallbacks, and the preparation of an ffmpeg child.

Behaviour-level: a verified video never replaces another run's (tests/test_edge_cases.py), an ffmpeg child
cannot take real-time priority (tests/test_stream.py), dies with its parent (tests/test_interrupt.py)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from encodectl import syscalls

pytestmark = [
    pytest.mark.same_on_every_ffmpeg("system calls on files and processes: no ffmpeg runs"),
    pytest.mark.skipif(sys.platform != "linux", reason="renameat2 and prctl are Linux's"),
]


def two_files(folder: Path) -> tuple[Path, Path]:
    source, target = folder / "new.mp4", folder / "old.mp4"
    source.write_text("new")
    target.write_text("old")
    return source, target


@pytest.mark.parametrize("path", ["renameat2", "hard link", "check then rename"])
def test_rename_noreplace_never_replaces_and_keeps_the_source(
    path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if path != "renameat2":
        monkeypatch.setattr(syscalls, "_libc_function", lambda name: None)
    if path == "check then rename":

        def no_links(source: Path, target: Path) -> None:
            raise OSError(errno.EPERM, "no hard links here")

        monkeypatch.setattr(os, "link", no_links)
    source, target = two_files(tmp_path)
    with pytest.raises(FileExistsError):
        syscalls.rename_noreplace(source, target)
    assert (source.read_text(), target.read_text()) == ("new", "old")

    syscalls.rename_noreplace(source, tmp_path / "free.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["free.mp4", "old.mp4"]
    assert (tmp_path / "free.mp4").read_text() == "new"


def test_rename_noreplace_reports_other_failures_as_they_are(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        syscalls.rename_noreplace(tmp_path / "absent", tmp_path / "target")
    assert not (tmp_path / "target").exists()


CHILD = """
import ctypes, resource
signal = ctypes.c_int(-1)
ctypes.CDLL(None, use_errno=True).prctl(2, ctypes.byref(signal), 0, 0, 0)  # PR_GET_PDEATHSIG
print(signal.value, *resource.getrlimit(resource.RLIMIT_RTPRIO))
"""


@pytest.mark.parametrize(("die_with_parent", "death_signal"), [(True, 9), (False, 0)])
def test_an_ffmpeg_child_has_no_real_time_limit_and_dies_with_its_parent_when_asked(
    die_with_parent: bool, death_signal: int
) -> None:
    prepare = syscalls.preexec_for_ffmpeg(die_with_parent)
    assert prepare is not None
    child = subprocess.run([sys.executable, "-c", CHILD], preexec_fn=prepare, capture_output=True, text=True)
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == [str(death_signal), "0", "0"]
