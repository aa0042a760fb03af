"""The decide step of a watch pass: pure rules, from an Observation, the options and the time.

No rule reads a file or the ledger: what they need was observed (observe.py), and what they
decide is carried out elsewhere (act.py, streams.py). To change when an episode counts as
complete, is streamed, adopted, redone or refused, change it here; tests/watching/test_rules.py
holds the table.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from enum import StrEnum

from ..frames.headers import ImageHeader
from ..job.ledger import EpisodeRecord, LedgerState
from .observe import Observation
from .options import WatchOptions

_FINISHED = (LedgerState.done, LedgerState.failed)


class Verdict(StrEnum):
    """What a pass makes of an observed folder, before streaming and completeness."""

    unchanged = "unchanged"  # finished, and its frames are as they were then
    refuse = "refuse"  # frames arrived after the encoded ones were deleted: its video is never replaced
    consider = "consider"  # stream it, wait for it, or encode it


def verdict(observation: Observation) -> Verdict:
    record = observation.record
    if record is not None and record.state in _FINISHED and record.signature == observation.signature:
        return Verdict.unchanged
    if record is not None and record.frames_deleted:  # redoing it would lose the first part
        return Verdict.refuse
    return Verdict.consider


class StreamStep(StrEnum):
    none = "none"  # not streamed now
    leave_to_files = "leave_to_files"  # recorded before this watcher: the batch path (which adopts) takes it
    feed = "feed"  # start its stream if need be, and feed it the frames that are complete


def stream_step(observation: Observation, watch: WatchOptions, wall: float) -> StreamStep:
    """watch --stream: whether to feed this episode's stream. `wall` is time.time()."""
    if not watch.stream or watch.once or observation.stream_off:
        return StreamStep.none
    record = observation.record
    if record is None and not observation.live and recorded_before(observation, watch, wall):
        return StreamStep.leave_to_files
    if record is None or record.state is LedgerState.pending or observation.live:
        return StreamStep.feed
    return StreamStep.none


def recorded_before(observation: Observation, watch: WatchOptions, wall: float) -> bool:
    """An episode that was already there, still or encoded, when this watcher first saw it."""
    idle = wall - observation.signature.newest_mtime_ns / 1e9
    return observation.output_exists or idle > watch.settle


def is_complete(observation: Observation, watch: WatchOptions, now: float) -> bool:
    """The recorder has finished the episode. `now` is time.monotonic(), as `changed_at` is."""
    still = now - observation.changed_at
    if watch.marker and observation.marker_present:
        return True  # the recorder says so, and writes its marker after the last frame
    if observation.later_sibling and still >= min(watch.sibling_settle, watch.settle):
        return True
    return still >= watch.settle


class Step(StrEnum):
    """What to do with an episode once it was streamed (or not) this pass."""

    wait = "wait"  # still being recorded
    finish_stream = "finish_stream"  # complete, and streamed: close its stream
    submit = "submit"  # complete: a job of the pool encodes it from its files


def next_step(observation: Observation, watch: WatchOptions, now: float) -> Step:
    if not is_complete(observation, watch, now):
        return Step.wait
    return Step.finish_stream if observation.live else Step.submit


def is_redo(observation: Observation) -> bool:
    """Its video was made, and its frames have changed since: the video is made again."""
    record = observation.record
    return record is not None and record.state is LedgerState.done and record.signature != observation.signature


def try_adopt(record: EpisodeRecord | None, output_exists: bool) -> bool:
    """A video the ledger does not know of is checked before it is replaced: it may be this episode's."""
    return record is None and output_exists


class Reconcile(StrEnum):
    """What a restarted watcher does with an episode the ledger holds."""

    keep = "keep"
    redo_interrupted = "redo_interrupted"  # it was queued or encoding when the last watcher stopped
    redo_missing = "redo_missing"  # its video is gone, its frames are there
    lost = "lost"  # its video is gone, and so are its frames
    forget = "forget"  # it failed, and its frames are gone since: nothing is left to fail


def reconcile(record: EpisodeRecord, video_exists: bool, frames_left: Callable[[], bool]) -> Reconcile:
    """`frames_left` is asked only where the answer matters: a failed episode, or a video that is gone,
    whose frames encodectl did not delete itself."""
    if record.state is LedgerState.encoding:
        return Reconcile.redo_interrupted
    if record.state is LedgerState.failed:
        # A folder the user removed after its failure is no failure any more; one whose frames encodectl
        # deleted (--delete-frames, then the video went) is a loss to keep saying.
        return Reconcile.keep if record.frames_deleted or frames_left() else Reconcile.forget
    if record.state is not LedgerState.done or video_exists:
        return Reconcile.keep
    if record.frames_deleted or not frames_left():
        return Reconcile.lost
    return Reconcile.redo_missing


# -- watch --stream: when a stream is not started, or given up for the files ------------------


def streamable(header: ImageHeader) -> bool:
    """A stream takes PNG/JPEG pictures; depth frames are kept exactly from their files."""
    return header.format != "tiff" and not header.is_depth


def out_of_order(numbers: Collection[int], start: int) -> str | None:
    """Why the stream cannot go on: a frame below the first one it took has appeared."""
    if numbers and min(numbers) < start:
        return f"frame {min(numbers)} arrived after frame {start} had been encoded"
    return None


def wrong_size(number: int, header: ImageHeader, size: tuple[int, int]) -> str | None:
    if (header.width, header.height) != size:
        return f"frame {number} is {header.width}x{header.height}"
    return None


def incomplete(numbers: Collection[int], start: int, next_number: int) -> str | None:
    """Every frame on disk, and only those, must be in the stream; else the files decide."""
    if set(numbers) != set(range(start, next_number)):
        return f"frame {next_number} is missing, late or incomplete"
    return None


# -- the loop -----------------------------------------------------------------------------------


def next_wait(changed_times: Iterable[float], watch: WatchOptions, now: float) -> float:
    """Sleep until the next rescan, or sooner when an episode's settle time runs out."""
    if watch.once:
        return 0.2
    soon = [deadline for changed in changed_times if (deadline := changed + watch.settle - now) > 0]
    return max(0.05, min([watch.rescan, *soon]))
