"""encodectl/watching/watcher.py: the watch loop (observe, decide, act), its lock, events and shutdown.

The watcher under a recorder (late frames, Ctrl-C, two watchers, events or polling): tests/test_watch.py,
tests/test_interrupt.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from encodectl.errors import UsageError
from encodectl.ffmpeg.encoder_choice import plan_encoder
from encodectl.job.progress import RunTracker
from encodectl.models import EncodeOptions, FFmpegBinary
from encodectl.watching.options import WatchOptions
from encodectl.watching.watcher import Watcher
from tests.conftest import decode


def watcher(root: Path, ffmpeg_binary: FFmpegBinary, said: list[str], **watch: object) -> Watcher:
    options = EncodeOptions(device="cpu", fps=10)
    return Watcher(WatchOptions(root=root, **watch), options, ffmpeg_binary, plan_encoder(options, ffmpeg_binary),  # type: ignore[arg-type]
                   RunTracker(), said.append)  # fmt: skip


def test_once_encodes_what_is_there_and_stops(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "top" / "ep1", count=3)
    make_frames(tmp_path / "top" / "ep2", count=2)
    said: list[str] = []
    summary = watcher(tmp_path, ffmpeg_binary, said, once=True, settle=0, poll=True).run()
    assert (summary.done, summary.failed, summary.waiting, summary.done_in_ledger) == (2, 0, 0, 2)
    assert decode(tmp_path / "top" / "ep1.mp4").frames == 3 and decode(tmp_path / "top" / "ep2.mp4").frames == 2
    assert (tmp_path / ".encodectl").is_dir()

    rerun = watcher(tmp_path, ffmpeg_binary, said, once=True, settle=0, poll=True).run()
    assert (rerun.done, rerun.done_in_ledger) == (0, 2)  # the ledger knows them: nothing redone


@pytest.mark.same_on_every_ffmpeg("refused before any frame is read")
def test_a_root_that_cannot_be_watched(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    with pytest.raises(UsageError, match="is not a folder"):
        watcher(tmp_path / "absent", ffmpeg_binary, [], once=True).run()
    (tmp_path / "frame_000000.png").write_bytes(b"x")
    with pytest.raises(UsageError, match="holds frames itself; watch the folder above it"):
        watcher(tmp_path, ffmpeg_binary, [], once=True).run()
