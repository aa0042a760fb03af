"""The one door to the watch ledger: every change of an episode's state, and the run's counters.

An episode's record moves only along these edges (``None``: the ledger does not know it yet)::

    None, pending        --start_stream-->   encoding (a stream, fed while the episode is recorded)
    encoding (stream)    --abandon_stream--> encoding (the stream is given up; its files take over)
    None, pending, done, failed, abandoned stream
                         --start_encode-->   encoding (a job of the pool)
    encoding             --finish-->         done or failed (the job's or stream's result)
    encoding             --fail-->           failed (the job raised)
    encoding             --requeue-->        pending (interrupted: redone from scratch next time)
    done                 --redo_missing-->   pending (its video went missing, its frames are there)
    done                 --lose-->           failed (its video went missing, and its frames too)
    done, failed         --refuse-->         failed (frames arrived after the encoded ones were deleted)
    failed               --forget-->         None (its frames are gone: nothing is left to fail)
    None                 --adopt-->          done (a video already there, verified)

Anything else is a bug of the watcher's and raises LedgerStateError, before the ledger is written.
Whether a stream's record is still fed or abandoned is the record's `stream` (its state is
``encoding`` for both), so that a watcher stopped at any moment redoes the episode from its files.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import LedgerStateError
from ..frames.layout import EpisodeSource
from ..job.ledger import EpisodeRecord, FrameSignature, Ledger, LedgerState, StreamUse
from ..models import JobResult, JobStatus
from .options import WatchSummary

_pending, _encoding, _done, _failed = LedgerState.pending, LedgerState.encoding, LedgerState.done, LedgerState.failed
# The states each change may start from (None: no record yet).
_FROM: dict[str, frozenset[LedgerState | None]] = {
    "start_stream": frozenset({None, _pending}),
    "start_encode": frozenset({None, _pending, _done, _failed}),
    # start_encode of an abandoned stream: its record was left encoding (so a restart would redo it).
    "take_over": frozenset({_encoding}),
    "abandon_stream": frozenset({_encoding}),
    "finish": frozenset({_encoding}),
    "fail": frozenset({_encoding}),
    "requeue": frozenset({_encoding}),
    "redo_missing": frozenset({_done}),
    "lose": frozenset({_done}),
    "refuse": frozenset({_done, _failed}),
    "forget": frozenset({_failed}),
    "adopt": frozenset({None}),
}


class LedgerGateway:
    """Owns every state change of an episode in the ledger, and the summary's counters."""

    def __init__(self, ledger: Ledger, summary: WatchSummary | None = None) -> None:
        self.ledger = ledger
        self.summary = summary if summary is not None else WatchSummary()

    @property
    def path(self) -> Path:
        return self.ledger.path

    def get(self, directory: Path) -> EpisodeRecord | None:
        return self.ledger.get(directory)

    def all(self) -> list[EpisodeRecord]:
        return self.ledger.all()

    def is_streaming(self, directory: Path) -> bool:
        record = self.ledger.get(directory)
        return record is not None and record.state is _encoding and record.stream is StreamUse.fed

    # -- starting ----------------------------------------------------------------------------

    def start_stream(self, source: EpisodeSource, signature: FrameSignature) -> None:
        self._allow("start_stream", source.directory, self.ledger.get(source.directory))
        self.ledger.put(_fresh(source, signature, _encoding, stream=StreamUse.fed))

    def abandon_stream(self, directory: Path) -> None:
        record = self._existing("abandon_stream", directory)
        if record.stream is not StreamUse.fed:
            raise LedgerStateError(f"{directory}: abandon_stream is not allowed: no stream of it is being fed")
        record.stream = StreamUse.abandoned
        self.ledger.put(record)

    def start_encode(self, source: EpisodeSource, signature: FrameSignature) -> None:
        """A new job from the episode's files; a video encoded before and redone counts as redone."""
        directory = source.directory
        record = self.ledger.get(directory)
        abandoned = record is not None and record.stream is StreamUse.abandoned
        self._allow("take_over" if abandoned else "start_encode", directory, record)
        self.ledger.put(_fresh(source, signature, _encoding))
        if record is not None and record.state is _done:
            self.summary.redone += 1

    # -- ending ------------------------------------------------------------------------------

    def finish(
        self, directory: Path, result: JobResult, signature: FrameSignature, frames_deleted: bool | None = None
    ) -> None:
        """The result of a job or a stream: done (a verified video) or failed. `frames_deleted` None: unchanged."""
        record = self._existing("finish", directory)
        record.stream = None
        record.signature, record.output = signature, result.output  # the container follows the frames' kind
        if result.status is JobStatus.done:
            record.state, record.reason, record.encode_seconds = _done, None, result.seconds
            if frames_deleted is not None:
                record.frames_deleted = frames_deleted
            self.summary.done += 1
        else:
            record.state, record.reason = _failed, result.reason
            self.summary.failed += 1
        self.ledger.put(record)

    def fail(self, directory: Path, reason: str) -> None:
        """The job raised instead of returning a result."""
        record = self._existing("fail", directory)
        record.state, record.stream, record.reason = _failed, None, reason
        self.ledger.put(record)
        self.summary.failed += 1

    def requeue(self, directory: Path) -> None:
        """Interrupted (cancelled, Ctrl-C, or found encoding after a restart): redone from scratch."""
        record = self._existing("requeue", directory)
        record.state, record.stream = _pending, None
        self.ledger.put(record)

    # -- after a restart, and what is never redone -------------------------------------------

    def redo_missing(self, directory: Path) -> None:
        record = self._existing("redo_missing", directory)
        record.state = _pending
        self.ledger.put(record)

    def lose(self, directory: Path, reason: str) -> None:
        record = self._existing("lose", directory)
        record.state, record.reason = _failed, reason
        self.ledger.put(record)

    def refuse(self, directory: Path, signature: FrameSignature, reason: str) -> bool:
        """Failed for good with `reason`; False (nothing written) if it was already refused these frames."""
        record = self._existing("refuse", directory)
        if record.state is _failed and record.signature == signature:
            return False
        record.state, record.signature, record.reason = _failed, signature, reason
        self.ledger.put(record)
        self.summary.failed += 1
        return True

    def forget(self, directory: Path) -> EpisodeRecord:
        """Drop a failed episode whose frames have gone; the record as it was, to say what is forgotten."""
        record = self._existing("forget", directory)
        self.ledger.forget(directory)
        return record

    def adopt(self, source: EpisodeSource, signature: FrameSignature) -> None:
        self._allow("adopt", source.directory, self.ledger.get(source.directory))
        record = _fresh(source, signature, _done)
        record.reason = "found already encoded and verified"
        self.ledger.put(record)
        self.summary.adopted += 1

    # -- the counters that are not state changes ---------------------------------------------

    def note_waiting(self, episodes: int) -> None:
        self.summary.waiting = episodes

    def note_interrupted(self) -> None:
        self.summary.interrupted = True

    def failed_records(self) -> list[EpisodeRecord]:
        """Episodes the ledger holds as failed, from this run or earlier ones (counted as failed_in_ledger;
        the done ones as done_in_ledger, so that a rerun's summary counts the videos it found made)."""
        records = self.ledger.all()
        failed = [record for record in records if record.state is _failed]
        self.summary.failed_in_ledger = len(failed)
        self.summary.done_in_ledger = sum(record.state is _done for record in records)
        return failed

    # -- the rule --------------------------------------------------------------------------------

    def _existing(self, change: str, directory: Path) -> EpisodeRecord:
        """The record `change` is to be made to; LedgerStateError if there is none or its state forbids it."""
        record = self.ledger.get(directory)
        self._allow(change, directory, record)
        if record is None:  # every change that reads a record starts from a state, never from None
            raise LedgerStateError(f"{directory}: {change} is not allowed: not in the ledger")
        return record

    @staticmethod
    def _allow(change: str, directory: Path, record: EpisodeRecord | None) -> None:
        state = record.state if record is not None else None
        if state not in _FROM[change]:
            known = f"from {state.value}" if state is not None else "not in the ledger"
            raise LedgerStateError(f"{directory}: {change} is not allowed: {known}")


def _fresh(
    source: EpisodeSource, signature: FrameSignature, state: LedgerState, stream: StreamUse | None = None
) -> EpisodeRecord:
    """A new record: no reason, no deleted frames, no encode time from an earlier attempt."""
    return EpisodeRecord(
        source=source.directory, output=source.output, camera=source.camera, episode=source.episode,
        signature=signature, state=state, stream=stream,
    )  # fmt: skip
