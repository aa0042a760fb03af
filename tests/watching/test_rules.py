"""The watcher's rules as tables: what becomes of an episode folder, from what was observed alone.

No file system and no ffmpeg: each row is an Observation (or a record) and the answer the rule
must give; a rule that changes fails its rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from encodectl.frames.headers import ImageHeader
from encodectl.frames.layout import EpisodeSource
from encodectl.job.ledger import EpisodeRecord, FrameSignature, LedgerState
from encodectl.watching import rules
from encodectl.watching.observe import Observation, changed_at_first_sight, may_skip_reading
from encodectl.watching.options import WatchOptions
from encodectl.watching.rules import Reconcile, Step, StreamStep, Verdict

pytestmark = pytest.mark.same_on_every_ffmpeg("the rules are pure functions of an Observation: no ffmpeg runs")

NOW = 1000.0  # time.monotonic() of the pass
WALL = 1_700_000_000.0  # time.time() of the pass
SIGNATURE = FrameSignature(frames=10, total_bytes=1000, newest_mtime_ns=int((WALL - 1) * 1e9))  # written 1 s ago
OTHER = FrameSignature(frames=12, total_bytes=1200, newest_mtime_ns=int(WALL * 1e9))
OLD = FrameSignature(frames=10, total_bytes=1000, newest_mtime_ns=int((WALL - 60) * 1e9))  # still for a minute
DIRECTORY = Path("/data/images/top/episode_000003")
WATCH = WatchOptions(root=Path("/data"), settle=5.0, sibling_settle=0.5)
STREAM = WATCH.model_copy(update={"stream": True})
MARKER = WATCH.model_copy(update={"marker": "DONE"})


def record(state: LedgerState, signature: FrameSignature = SIGNATURE, **fields: Any) -> EpisodeRecord:
    return EpisodeRecord(
        source=DIRECTORY, output=Path("/data/videos/top/episode_000003.mp4"), episode=DIRECTORY.name,
        signature=signature, state=state, **fields,
    )  # fmt: skip


def seen(
    state: LedgerState | None = None, signature: FrameSignature = SIGNATURE, still: float = 0.0, **fields: Any
) -> Observation:
    """An observation of DIRECTORY whose frames last changed `still` seconds before NOW."""
    source = EpisodeSource(directory=DIRECTORY, output=Path("/data/videos/top/episode_000003.mp4"), episode="e3")
    ledger = record(state, **fields.pop("record_fields", {})) if state is not None else None
    return Observation(source=source, signature=signature, changed_at=NOW - still, record=ledger, **fields)


D, F, P, E = LedgerState.done, LedgerState.failed, LedgerState.pending, LedgerState.encoding


@pytest.mark.parametrize(
    ("observation", "expected"),
    [
        (seen(None), Verdict.consider),  # new to the ledger
        (seen(D), Verdict.unchanged),  # encoded, frames as they were
        (seen(F), Verdict.unchanged),  # failed, frames as they were: not retried
        (seen(D, OTHER), Verdict.consider),  # late frames: looked at again
        (seen(F, OTHER), Verdict.consider),  # failed, then the frames changed: retried
        (seen(P), Verdict.consider),
        (seen(E), Verdict.consider),
        (seen(D, OTHER, record_fields={"frames_deleted": True}), Verdict.refuse),
        (seen(F, OTHER, record_fields={"frames_deleted": True}), Verdict.refuse),
        (seen(D, record_fields={"frames_deleted": True}), Verdict.unchanged),  # nothing new after the deletion
    ],
)
def test_verdict(observation, expected):
    assert rules.verdict(observation) is expected


@pytest.mark.parametrize(
    ("watch", "observation", "expected"),
    [
        (WATCH, seen(still=4.9), False),
        (WATCH, seen(still=5.0), True),  # --settle of stillness
        (MARKER, seen(still=0.0, marker_present=True), True),  # the recorder's word, at once
        (MARKER, seen(still=4.9, marker_present=False), False),  # a marker is asked for, not written yet
        (WATCH, seen(still=0.0, marker_present=True), False),  # a file of that name means nothing without --marker
        (WATCH, seen(still=0.4, later_sibling=True), False),
        (WATCH, seen(still=0.5, later_sibling=True), True),  # the camera has moved on: a short wait
        (WATCH.model_copy(update={"settle": 0.2}), seen(still=0.2, later_sibling=True), True),  # never > --settle
        (WATCH, seen(still=0.5, later_sibling=False), False),
        (WATCH.model_copy(update={"settle": 0.0}), seen(still=0.0), True),
    ],
)
def test_is_complete(watch, observation, expected):
    assert rules.is_complete(observation, watch, NOW) is expected


@pytest.mark.parametrize(
    ("watch", "observation", "expected"),
    [
        (WATCH, seen(None), StreamStep.none),  # no --stream
        (STREAM.model_copy(update={"once": True}), seen(None), StreamStep.none),  # --once never streams
        (STREAM, seen(None, stream_off=True), StreamStep.none),  # fell back this run: the files decide
        (STREAM, seen(None), StreamStep.feed),  # being recorded now: stream it
        (STREAM, seen(P), StreamStep.feed),  # requeued by a stopped watcher
        (STREAM, seen(E, live=True), StreamStep.feed),  # its stream goes on
        (STREAM, seen(None, live=True, output_exists=True), StreamStep.feed),  # ours, not an old video
        (STREAM, seen(E), StreamStep.none),  # a stream given up, waiting for its files
        (STREAM, seen(D, OTHER), StreamStep.none),  # late frames: redone from the files
        (STREAM, seen(F, OTHER), StreamStep.none),
        (STREAM, seen(None, output_exists=True), StreamStep.leave_to_files),  # a video already: maybe adopted
        (STREAM, seen(None, OLD), StreamStep.leave_to_files),  # still since before the watcher came
    ],
)
def test_stream_step(watch, observation, expected):
    assert rules.stream_step(observation, watch, WALL) is expected


@pytest.mark.parametrize(
    ("observation", "expected"),
    [
        (seen(None, still=1.0), Step.wait),
        (seen(None, still=1.0, live=True), Step.wait),
        (seen(None, still=6.0), Step.submit),
        (seen(E, still=6.0, live=True), Step.finish_stream),
        (seen(D, OTHER, still=6.0), Step.submit),
    ],
)
def test_next_step(observation, expected):
    assert rules.next_step(observation, WATCH, NOW) is expected


@pytest.mark.parametrize(
    ("observation", "expected"),
    [
        (seen(D, OTHER), True),  # frames changed after the video was made
        (seen(D), False),
        (seen(F, OTHER), False),  # no video to redo: a retry
        (seen(P, OTHER), False),
        (seen(None), False),
    ],
)
def test_is_redo(observation, expected):
    assert rules.is_redo(observation) is expected


@pytest.mark.parametrize(
    ("ledger_record", "output_exists", "expected"),
    [
        (None, True, True),  # a video nobody told the ledger of: verified before it is replaced
        (None, False, False),
        (record(D), True, False),  # the ledger's own video
        (record(P), True, False),  # requeued: redone from scratch
        (record(F), True, False),
    ],
)
def test_try_adopt(ledger_record, output_exists, expected):
    assert rules.try_adopt(ledger_record, output_exists) is expected


def never_asked() -> bool:
    raise AssertionError("frames_left was asked, but the answer did not depend on it")


@pytest.mark.parametrize(
    ("ledger_record", "video_exists", "frames_left", "expected"),
    [
        (record(E), False, never_asked, Reconcile.redo_interrupted),
        (record(E), True, never_asked, Reconcile.redo_interrupted),  # a video of an earlier run: redone anyway
        (record(P), False, never_asked, Reconcile.keep),
        (record(F), False, lambda: True, Reconcile.keep),  # still failing: its frames are there
        (record(F), False, lambda: False, Reconcile.forget),  # its folder was removed after the failure
        (record(F), True, lambda: False, Reconcile.forget),
        (record(F, frames_deleted=True), False, never_asked, Reconcile.keep),  # a loss, not the user's removal
        (record(D), True, never_asked, Reconcile.keep),
        (record(D), False, lambda: True, Reconcile.redo_missing),
        (record(D), False, lambda: False, Reconcile.lost),
        (record(D, frames_deleted=True), False, never_asked, Reconcile.lost),  # its frames went with --delete-frames
    ],
)
def test_reconcile(ledger_record, video_exists, frames_left, expected):
    assert rules.reconcile(ledger_record, video_exists, frames_left) is expected


def header(
    format: str = "png", colour: str = "rgb", bit_depth: int = 8, size: tuple[int, int] = (64, 48)
) -> ImageHeader:
    return ImageHeader(format=format, width=size[0], height=size[1], bit_depth=bit_depth, colour=colour)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (header("png"), True),
        (header("jpeg", "ycbcr"), True),
        (header("png", "gray", 8), True),
        (header("png", "gray", 16), False),  # depth: kept exactly, from its files
        (header("tiff", "gray", 16), False),
        (header("tiff", "rgb", 8), False),  # a stream takes PNG/JPEG only
    ],
)
def test_streamable(image, expected):
    assert rules.streamable(image) is expected


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (lambda: rules.out_of_order({1, 2, 3}, 1), None),
        (lambda: rules.out_of_order(set(), 1), None),
        (lambda: rules.out_of_order({0, 1, 2}, 1), "frame 0 arrived after frame 1 had been encoded"),
        (lambda: rules.wrong_size(4, header(size=(64, 48)), (64, 48)), None),
        (lambda: rules.wrong_size(4, header(size=(32, 48)), (64, 48)), "frame 4 is 32x48"),
        (lambda: rules.incomplete({0, 1, 2}, 0, 3), None),  # every frame on disk went in
        (lambda: rules.incomplete({1, 2}, 1, 3), None),  # from the first frame it took
        (lambda: rules.incomplete({0, 1, 3}, 0, 2), "frame 2 is missing, late or incomplete"),  # a gap
        (lambda: rules.incomplete({0, 1, 2}, 0, 2), "frame 2 is missing, late or incomplete"),  # not read yet
        (lambda: rules.incomplete(set(), 0, 2), "frame 2 is missing, late or incomplete"),  # frames removed
    ],
)
def test_stream_fall_backs(check, expected):
    assert check() == expected


@pytest.mark.parametrize(
    ("watch", "changed_times", "expected"),
    [
        (WATCH.model_copy(update={"once": True}), [NOW], 0.2),
        (WATCH, [], 2.0),  # the rescan
        (WATCH, [NOW - 4.0], 1.0),  # sooner: its --settle runs out in a second
        (WATCH, [NOW - 4.0, NOW - 4.5], 0.5),  # the first to run out
        (WATCH, [NOW - 10.0], 2.0),  # already past: no deadline
        (WATCH, [NOW - 5.0], 2.0),  # running out now: complete this pass, nothing to wake for
        (WATCH, [NOW - 4.99], 0.05),  # never a busy loop
    ],
)
def test_next_wait(watch, changed_times, expected):
    assert rules.next_wait(changed_times, watch, NOW) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("ledger_record", "last", "untouched", "expected"),
    [
        (record(D), SIGNATURE, True, True),  # finished, folder untouched, frames as recorded: not read
        (record(F), SIGNATURE, True, True),
        (record(D), SIGNATURE, False, False),  # entries added, removed or renamed (or a deep rescan)
        (record(D), OTHER, True, False),  # last seen otherwise than the ledger holds
        (record(D), None, True, False),  # never seen by this watcher
        (record(P), SIGNATURE, True, False),  # not finished
        (record(E), SIGNATURE, True, False),
        (None, SIGNATURE, True, False),
    ],
)
def test_may_skip_reading(ledger_record, last, untouched, expected):
    assert may_skip_reading(ledger_record, last, untouched) is expected


@pytest.mark.parametrize(
    ("signature", "once", "expected"),
    [
        (OLD, False, NOW),  # a long-running watcher: stillness counts from when it first saw the frames
        (OLD, True, NOW - 60),  # --once: the frames' own times say how long they have been still
        (SIGNATURE, True, NOW - 1),
        (FrameSignature(frames=1, total_bytes=1, newest_mtime_ns=int((WALL + 30) * 1e9)), True, NOW),  # future
    ],
)
def test_changed_at_first_sight(signature, once, expected):
    assert changed_at_first_sight(NOW, WALL, signature, once) == pytest.approx(expected, abs=1e-3)


def written(seconds_before_wall: int) -> FrameSignature:
    """Frames last written a whole number of seconds before WALL (exact in nanoseconds and in floats)."""
    return FrameSignature(frames=10, total_bytes=1000, newest_mtime_ns=(int(WALL) - seconds_before_wall) * 10**9)


@pytest.mark.parametrize(
    ("observation", "expected"),
    [
        (seen(None, written(4)), False),  # still for less than settle (5 s): being recorded now
        (seen(None, written(5)), False),  # still for exactly settle: not yet past it
        (seen(None, written(6)), True),  # still for longer than settle when first seen: recorded before
        (seen(None, written(0), output_exists=True), True),  # its video is there: made before this watcher
    ],
)
def test_recorded_before(observation, expected):
    assert rules.recorded_before(observation, WATCH, WALL) is expected
    step = rules.stream_step(observation, STREAM, WALL)
    assert step is (StreamStep.leave_to_files if expected else StreamStep.feed)
