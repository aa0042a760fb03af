"""The ledger gateway: each legal change of an episode's state, and every other one refused before the
ledger is written. A real SQLite ledger in a temporary folder; no ffmpeg."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from encodectl.errors import EncodectlError, LedgerStateError
from encodectl.frames.layout import EpisodeSource
from encodectl.job.ledger import EpisodeRecord, FrameSignature, Ledger, LedgerState, StreamUse
from encodectl.models import JobResult, JobStatus
from encodectl.watching.ledger_gateway import LedgerGateway

pytestmark = pytest.mark.same_on_every_ffmpeg("the ledger gateway is SQLite and encodectl alone: no ffmpeg runs")

D, F, P, E = LedgerState.done, LedgerState.failed, LedgerState.pending, LedgerState.encoding
BEFORE = FrameSignature(frames=4, total_bytes=400, newest_mtime_ns=1)
AFTER = FrameSignature(frames=6, total_bytes=600, newest_mtime_ns=2)


@pytest.fixture
def ledger(tmp_path):
    ledger = Ledger(tmp_path / "state.sqlite")
    yield ledger
    ledger.close()


@pytest.fixture
def source(tmp_path) -> EpisodeSource:
    return EpisodeSource(directory=tmp_path / "ep", output=tmp_path / "ep.mp4", episode="ep", camera="top")


def in_state(ledger: Ledger, source: EpisodeSource, state: LedgerState | None, **fields: object) -> LedgerGateway:
    """A gateway over a ledger that holds `source` in `state` (None: not at all)."""
    if state is not None:
        ledger.put(EpisodeRecord(source=source.directory, output=source.output, episode=source.episode,
                                 signature=BEFORE, state=state, **fields))  # fmt: skip
    return LedgerGateway(ledger)


def result(source: EpisodeSource, status: JobStatus, reason: str | None = None) -> JobResult:
    output = source.output.with_suffix(".mkv")  # the container followed the frames' kind
    return JobResult(source=source.directory, output=output, episode=source.episode, status=status, reason=reason,
                     seconds=1.5)  # fmt: skip


def state_of(ledger: Ledger, source: EpisodeSource) -> LedgerState | None:
    record = ledger.get(source.directory)
    return record.state if record is not None else None


# -- legal changes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("start", [None, P])
def test_start_stream(ledger, source, start):
    gateway = in_state(ledger, source, start)
    gateway.start_stream(source, AFTER)
    record = ledger.get(source.directory)
    assert record is not None and (record.state, record.signature) == (E, AFTER)
    assert gateway.is_streaming(source.directory)


@pytest.mark.parametrize(("start", "redone"), [(None, 0), (P, 0), (D, 1), (F, 0)])
def test_start_encode_writes_a_fresh_record_and_counts_a_redo(ledger, source, start, redone):
    gateway = in_state(ledger, source, start, reason="earlier", encode_seconds=9.0)
    gateway.start_encode(source, AFTER)
    record = ledger.get(source.directory)
    assert record is not None
    assert (record.state, record.signature, record.reason, record.encode_seconds) == (E, AFTER, None, None)
    assert gateway.summary.redone == redone


def test_an_abandoned_stream_is_taken_over_by_the_files(ledger, source):
    gateway = in_state(ledger, source, None)
    gateway.start_stream(source, BEFORE)
    gateway.abandon_stream(source.directory)
    assert state_of(ledger, source) is E  # still encoding: a watcher killed now redoes it after a restart
    assert not gateway.is_streaming(source.directory)
    gateway.start_encode(source, AFTER)
    assert state_of(ledger, source) is E
    with pytest.raises(LedgerStateError):  # once taken over, it is a job of the pool like any other
        gateway.start_encode(source, AFTER)


def test_finish_done(ledger, source):
    gateway = in_state(ledger, source, E)
    gateway.finish(source.directory, result(source, JobStatus.done), AFTER, frames_deleted=True)
    record = ledger.get(source.directory)
    assert record is not None
    assert (record.state, record.signature, record.output, record.reason) == (D, AFTER, source.output.with_suffix(
        ".mkv"), None)  # fmt: skip
    assert (record.encode_seconds, record.frames_deleted) == (1.5, True)
    assert (gateway.summary.done, gateway.summary.failed) == (1, 0)


def test_finish_done_leaves_frames_deleted_alone_unless_told(ledger, source):
    gateway = in_state(ledger, source, E)
    gateway.finish(source.directory, result(source, JobStatus.done), AFTER)
    record = ledger.get(source.directory)
    assert record is not None and record.frames_deleted is False


@pytest.mark.parametrize("status", [JobStatus.failed, JobStatus.skipped])
def test_finish_without_a_video_is_failed(ledger, source, status):
    gateway = in_state(ledger, source, E)
    gateway.finish(source.directory, result(source, status, reason="bad frame"), AFTER)
    record = ledger.get(source.directory)
    assert record is not None and (record.state, record.reason, record.signature) == (F, "bad frame", AFTER)
    assert (gateway.summary.done, gateway.summary.failed) == (0, 1)


def test_finish_ends_a_stream(ledger, source):
    gateway = in_state(ledger, source, None)
    gateway.start_stream(source, BEFORE)
    gateway.finish(source.directory, result(source, JobStatus.done), AFTER)
    assert state_of(ledger, source) is D and not gateway.is_streaming(source.directory)


def test_fail(ledger, source):
    gateway = in_state(ledger, source, E)
    gateway.fail(source.directory, "the job raised")
    record = ledger.get(source.directory)
    assert record is not None and (record.state, record.reason, record.signature) == (F, "the job raised", BEFORE)
    assert gateway.summary.failed == 1


def test_requeue(ledger, source):
    gateway = in_state(ledger, source, E)
    gateway.requeue(source.directory)
    assert state_of(ledger, source) is P
    assert gateway.summary == type(gateway.summary)()  # no counter moves: it is done next time


def test_requeue_a_stream(ledger, source):
    gateway = in_state(ledger, source, None)
    gateway.start_stream(source, BEFORE)
    gateway.requeue(source.directory)
    assert state_of(ledger, source) is P and not gateway.is_streaming(source.directory)


def test_redo_missing(ledger, source):
    gateway = in_state(ledger, source, D)
    gateway.redo_missing(source.directory)
    assert state_of(ledger, source) is P


def test_lose(ledger, source):
    gateway = in_state(ledger, source, D)
    gateway.lose(source.directory, "gone")
    record = ledger.get(source.directory)
    assert record is not None and (record.state, record.reason) == (F, "gone")
    assert gateway.summary.failed == 0  # counted at the end, as failed_in_ledger


def test_forget(ledger, source):
    gateway = in_state(ledger, source, F, reason="truncated frame")
    forgotten = gateway.forget(source.directory)
    assert (forgotten.state, forgotten.reason) == (F, "truncated frame")
    assert ledger.get(source.directory) is None
    assert Ledger(ledger.path).get(source.directory) is None  # gone from the file too, not only from memory
    assert gateway.failed_records() == [] and gateway.summary.failed_in_ledger == 0


@pytest.mark.parametrize("start", [D, F])
def test_refuse_once_per_signature(ledger, source, start):
    gateway = in_state(ledger, source, start, frames_deleted=True)
    assert gateway.refuse(source.directory, AFTER, "new frames after deletion")
    record = ledger.get(source.directory)
    assert record is not None and (record.state, record.signature, record.reason) == (
        F, AFTER, "new frames after deletion"
    )  # fmt: skip
    assert not gateway.refuse(source.directory, AFTER, "new frames after deletion")  # said once, counted once
    assert gateway.summary.failed == 1


def test_adopt(ledger, source):
    gateway = in_state(ledger, source, None)
    gateway.adopt(source, AFTER)
    record = ledger.get(source.directory)
    assert record is not None
    assert (record.state, record.signature, record.reason) == (D, AFTER, "found already encoded and verified")
    assert gateway.summary.adopted == 1


def test_failed_records_are_counted_in_the_summary(ledger, source, tmp_path):
    gateway = in_state(ledger, source, F)
    other = EpisodeSource(directory=tmp_path / "other", output=tmp_path / "other.mp4", episode="other")
    in_state(ledger, other, D)
    assert [record.source for record in gateway.failed_records()] == [source.directory]
    assert gateway.summary.failed_in_ledger == 1


# -- illegal changes -------------------------------------------------------------------------------


def change(name: str, source: EpisodeSource) -> Callable[[LedgerGateway], object]:
    done = JobResult(source=source.directory, output=source.output, episode=source.episode, status=JobStatus.done)
    return {
        "start_stream": lambda g: g.start_stream(source, AFTER),
        "start_encode": lambda g: g.start_encode(source, AFTER),
        "abandon_stream": lambda g: g.abandon_stream(source.directory),
        "finish": lambda g: g.finish(source.directory, done, AFTER),
        "fail": lambda g: g.fail(source.directory, "x"),
        "requeue": lambda g: g.requeue(source.directory),
        "redo_missing": lambda g: g.redo_missing(source.directory),
        "lose": lambda g: g.lose(source.directory, "x"),
        "refuse": lambda g: g.refuse(source.directory, AFTER, "x"),
        "adopt": lambda g: g.adopt(source, AFTER),
        "forget": lambda g: g.forget(source.directory),
    }[name]


ILLEGAL = [
    ("start_stream", E), ("start_stream", D), ("start_stream", F),
    ("start_encode", E),  # a job of the pool, or a stream still fed: never two at once
    ("abandon_stream", None), ("abandon_stream", P), ("abandon_stream", E),  # no stream of it in this run
    ("abandon_stream", D), ("abandon_stream", F),
    ("finish", None), ("finish", P), ("finish", D), ("finish", F),
    ("fail", None), ("fail", P), ("fail", D), ("fail", F),
    ("requeue", None), ("requeue", P), ("requeue", D), ("requeue", F),
    ("redo_missing", None), ("redo_missing", P), ("redo_missing", E), ("redo_missing", F),
    ("lose", None), ("lose", P), ("lose", E), ("lose", F),
    ("refuse", None), ("refuse", P), ("refuse", E),
    ("adopt", P), ("adopt", E), ("adopt", D), ("adopt", F),
    ("forget", None), ("forget", P), ("forget", E), ("forget", D),
]  # fmt: skip


@pytest.mark.parametrize(("name", "start"), ILLEGAL, ids=[f"{n}-from-{s}" for n, s in ILLEGAL])
def test_an_illegal_change_raises_and_writes_nothing(ledger, source, name, start):
    gateway = in_state(ledger, source, start)
    before = ledger.get(source.directory)
    with pytest.raises(LedgerStateError, match=f"{name} is not allowed"):
        change(name, source)(gateway)
    assert ledger.get(source.directory) == before
    assert gateway.summary == type(gateway.summary)()


def test_a_stream_cannot_be_abandoned_twice(ledger, source):
    gateway = in_state(ledger, source, None)
    gateway.start_stream(source, BEFORE)
    gateway.abandon_stream(source.directory)
    with pytest.raises(LedgerStateError):
        gateway.abandon_stream(source.directory)


def test_the_error_is_of_the_family_and_names_the_episode(ledger, source):
    gateway = in_state(ledger, source, D)
    with pytest.raises(EncodectlError) as raised:
        gateway.requeue(source.directory)
    assert isinstance(raised.value, LedgerStateError)
    assert str(raised.value) == f"{source.directory}: requeue is not allowed: from done"


def test_every_change_is_either_tested_legal_or_illegal_from_every_state():
    """A change added to the gateway without a row here fails: each (change, state) pair is one or the other."""
    legal = {
        ("start_stream", None), ("start_stream", P),
        ("start_encode", None), ("start_encode", P), ("start_encode", D), ("start_encode", F),
        ("finish", E), ("fail", E), ("requeue", E), ("redo_missing", D), ("lose", D),
        ("refuse", D), ("refuse", F), ("adopt", None), ("forget", F),
    }  # fmt: skip  # abandon_stream is legal from no state: only from a stream start_stream began
    names = {name for name, _ in ILLEGAL}
    every = {(name, state) for name in names for state in (None, P, E, D, F)}
    assert every - legal == set(ILLEGAL)
    public = {name for name in vars(LedgerGateway) if not name.startswith("_") and callable(vars(LedgerGateway)[name])}
    public = {name for name in public if "__mutmut_" not in name}  # make mutation's copies of the methods
    assert names == public - {"get", "all", "is_streaming", "note_waiting", "note_interrupted", "failed_records"}


def test_the_records_are_those_of_the_ledger(ledger, source):
    gateway = in_state(ledger, source, D)
    assert gateway.path == ledger.path
    assert [record.source for record in gateway.all()] == [source.directory]
    assert gateway.get(source.directory) == ledger.get(source.directory)
    assert gateway.get(Path("/nowhere")) is None


def test_a_stream_s_use_is_in_the_ledger_file_and_a_restart_redoes_it(tmp_path, source):
    # Fed or abandoned, a stream's record says so in the ledger itself (no memory beside it); a watcher
    # that reopens the ledger finds it encoding, to redo from the files, and no stream being fed.
    ledger = Ledger(tmp_path / "state.sqlite")
    gateway = LedgerGateway(ledger)
    gateway.start_stream(source, BEFORE)
    gateway.abandon_stream(source.directory)
    ledger.close()
    reopened = Ledger(tmp_path / "state.sqlite")
    try:
        record = reopened.get(source.directory)
        assert record is not None and (record.state, record.stream) == (E, StreamUse.abandoned)
        again = LedgerGateway(reopened)
        assert not again.is_streaming(source.directory)
        again.requeue(source.directory)
        record = reopened.get(source.directory)
        assert record is not None and (record.state, record.stream) == (P, None)
    finally:
        reopened.close()


# -- the counters add up, across episodes and onto the summary given ---------------------------------


def test_the_counters_add_to_the_summary_given(ledger, tmp_path):
    from encodectl.watching.options import WatchSummary

    given = WatchSummary(done=10, failed=20, redone=30, adopted=40)
    gateway = LedgerGateway(ledger, given)
    assert gateway.summary is given
    sources = [EpisodeSource(directory=tmp_path / f"ep{i}", output=tmp_path / f"ep{i}.mp4", episode=f"ep{i}",
                             camera="wrist") for i in range(6)]  # fmt: skip
    for done in sources[:2]:
        gateway.start_encode(done, BEFORE)
        gateway.finish(done.directory, result(done, JobStatus.done), BEFORE)
    for again in sources[:2]:  # late frames: encoded again
        gateway.start_encode(again, AFTER)
        gateway.finish(again.directory, result(again, JobStatus.failed, "x"), AFTER)
    gateway.start_encode(sources[2], BEFORE)
    gateway.fail(sources[2].directory, "raised")
    gateway.refuse(sources[2].directory, AFTER, "frames arrived after the deletion")
    for adopted in sources[3:5]:
        gateway.adopt(adopted, BEFORE)
    assert (given.done, given.failed, given.redone, given.adopted) == (12, 24, 32, 42)
    record = ledger.get(sources[3].directory)
    assert record is not None and record.camera == "wrist"  # a fresh record keeps the camera
    gateway.note_waiting(3)
    gateway.note_interrupted()
    assert (given.waiting, given.interrupted) == (3, True)
    failed = gateway.failed_records()
    assert sorted(r.source.name for r in failed) == ["ep0", "ep1", "ep2"]
    assert (given.failed_in_ledger, given.done_in_ledger) == (3, 2)


def test_a_fail_or_finish_ends_a_stream_of_that_episode_only(ledger, tmp_path):
    one, two = (EpisodeSource(directory=tmp_path / n, output=tmp_path / f"{n}.mp4", episode=n) for n in ("a", "b"))
    gateway = LedgerGateway(ledger)
    gateway.start_stream(one, BEFORE)
    gateway.start_stream(two, BEFORE)
    gateway.abandon_stream(two.directory)
    gateway.fail(one.directory, "raised")
    assert not gateway.is_streaming(one.directory)
    gateway.fail(two.directory, "raised")  # the abandoned stream's record, failed before its files took over
    gateway.start_encode(two, AFTER)  # no longer an abandoned stream: a plain redo from failed
    assert state_of(ledger, two) is E


@pytest.mark.parametrize("name", ["start_stream", "start_encode", "adopt"])
def test_a_refusal_names_the_episode_and_its_state(ledger, source, name):
    gateway = in_state(ledger, source, E)
    with pytest.raises(LedgerStateError) as raised:
        change(name, source)(gateway)
    assert str(raised.value) == f"{source.directory}: {name} is not allowed: from encoding"


@pytest.mark.parametrize("name", ["finish", "fail", "requeue", "redo_missing", "lose", "refuse", "forget"])
def test_a_change_of_a_record_the_ledger_lacks_says_so(ledger, source, name):
    with pytest.raises(LedgerStateError) as raised:
        change(name, source)(in_state(ledger, source, None))
    assert str(raised.value) == f"{source.directory}: {name} is not allowed: not in the ledger"
