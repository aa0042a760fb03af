"""encodectl/watching/observe.py: each episode folder as one pass of the watcher sees it.

What the rules make of observations: tests/watching/test_rules.py (changed_at_first_sight among them); the watcher
as a recorder meets it: tests/test_watch.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from encodectl.job.ledger import EpisodeRecord, FrameSignature, LedgerState
from encodectl.watching.observe import Observer, may_skip_reading
from encodectl.watching.options import WatchOptions

pytestmark = pytest.mark.same_on_every_ffmpeg("folders listed and stat'ed: no ffmpeg runs")


def episode(folder: Path, frames: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(frames):
        (folder / f"frame_{index:06d}.png").write_bytes(b"x")
    return folder


def test_each_folder_observed_with_what_the_rules_need(tmp_path: Path) -> None:
    first, second = episode(tmp_path / "top" / "ep1", 2), episode(tmp_path / "top" / "ep2", 1)
    busy = episode(tmp_path / "wrist" / "ep1", 1)
    (first / "done.txt").write_text("")
    (tmp_path / "top" / "ep1.mp4").write_bytes(b"")
    said: list[str] = []
    observer = Observer(tmp_path, WatchOptions(root=tmp_path, marker="done.txt"), said.append)
    seen = list(observer.observe(lambda _: None, now=100.0, busy={busy}, live={second}, stream_off=set()))
    assert [o.directory for o in seen] == [first, second]
    one, two = seen
    assert (one.signature.frames, one.marker_present, one.later_sibling, one.output_exists, one.live) == (
        2, True, True, True, False
    )  # fmt: skip
    assert (two.signature.frames, two.marker_present, two.later_sibling, two.output_exists, two.live) == (
        1, False, False, False, True
    )  # fmt: skip
    assert one.changed_at == two.changed_at == 100.0
    assert one.source.camera == "top" and one.numbered == {}  # frames listed by number with --stream only

    episode(second, 3)
    again = {o.directory: o for o in observer.observe(lambda _: None, 105.0, busy=set(), live=set(), stream_off=set())}
    assert again[first].changed_at == 100.0  # unchanged since
    assert (again[second].changed_at, again[second].signature.frames) == (105.0, 3)
    # Not the busy folder's; the second's, and the one first seen now (busy in the first pass).
    assert sorted(observer.changed_times(busy={first})) == [105.0, 105.0]
    assert observer.frames_left(first) and not observer.frames_left(tmp_path / "top")
    assert said == []


def test_a_finished_folder_untouched_is_not_read_again() -> None:
    signature = FrameSignature(frames=3, total_bytes=3, newest_mtime_ns=1)
    done = EpisodeRecord(source=Path("/e"), output=Path("/e.mp4"), episode="e", signature=signature,
                         state=LedgerState.done)  # fmt: skip
    assert may_skip_reading(done, signature, folder_untouched=True)
    assert not may_skip_reading(done, signature, folder_untouched=False)
    assert not may_skip_reading(done, signature.model_copy(update={"frames": 4}), folder_untouched=True)
    assert not may_skip_reading(done.model_copy(update={"state": LedgerState.pending}), signature, True)
    assert not may_skip_reading(None, signature, True)


def test_a_streamed_folder_is_observed_with_its_frames_by_number(tmp_path: Path) -> None:
    folder = episode(tmp_path / "ep1", 3)
    (folder / "frame_000001.png").unlink()  # a frame not there yet
    for stream, expected in ((True, {0: folder / "frame_000000.png", 2: folder / "frame_000002.png"}), (False, {})):
        observer = Observer(tmp_path, WatchOptions(root=tmp_path, stream=stream), lambda _: None)
        (seen,) = observer.observe(lambda _: None, now=1.0, busy=set(), live=set(), stream_off=set())
        assert (seen.signature.frames, seen.numbered) == (2, expected)
