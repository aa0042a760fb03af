"""A stream's state: the moves the table allows, and the refusals of the others (pure: no ffmpeg)."""

from __future__ import annotations

import itertools
import re

import pytest

from encodectl.errors import StreamStateError, UsageError
from encodectl.stream.state import TRANSITIONS, StreamLifecycle, StreamState

pytestmark = pytest.mark.same_on_every_ffmpeg("the state table runs no ffmpeg at all")

OPEN, CLOSING, CLOSED, DETACHED, ABORTED = (
    StreamState.open, StreamState.closing, StreamState.closed, StreamState.detached, StreamState.aborted,
)  # fmt: skip
# The issue's lifecycle, written out here rather than read from the table under test.
LEGAL = {(OPEN, CLOSING), (OPEN, ABORTED), (CLOSING, CLOSED), (CLOSING, DETACHED), (CLOSING, ABORTED)}
ILLEGAL = sorted(set(itertools.product(StreamState, repeat=2)) - LEGAL)
# How a stream gets to each state, by its calls.
PATHS: dict[StreamState, list[tuple[StreamState, str]]] = {
    OPEN: [],
    CLOSING: [(CLOSING, "close()")],
    CLOSED: [(CLOSING, "close()"), (CLOSED, "close()")],
    DETACHED: [(CLOSING, "detach()"), (DETACHED, "detach()")],
    ABORTED: [(ABORTED, "abort()")],
}


def lifecycle_in(state: StreamState) -> StreamLifecycle:
    lifecycle = StreamLifecycle()
    for target, call in PATHS[state]:
        lifecycle.move(target, call)
    assert lifecycle.state is state
    return lifecycle


def test_the_table_is_the_lifecycle_of_the_issue():
    assert {(source, target) for source, targets in TRANSITIONS.items() for target in targets} == LEGAL
    assert set(TRANSITIONS) == set(StreamState)


def test_a_stream_starts_open():
    lifecycle = StreamLifecycle()
    assert lifecycle.state is OPEN and lifecycle.is_open and not lifecycle.ended


@pytest.mark.parametrize(("source", "target"), sorted(LEGAL), ids=lambda state: state.value)
def test_every_legal_move_is_made(source, target):
    lifecycle = lifecycle_in(source)
    lifecycle.move(target, "a call")
    assert lifecycle.state is target
    assert not lifecycle.is_open
    assert lifecycle.ended is (target in (CLOSED, DETACHED, ABORTED))


@pytest.mark.parametrize(("source", "target"), ILLEGAL, ids=lambda state: state.value)
def test_every_other_move_is_refused_and_changes_nothing(source, target):
    lifecycle = lifecycle_in(source)
    with pytest.raises(StreamStateError):
        lifecycle.move(target, "a call")
    assert lifecycle.state is source


def test_a_refusal_is_a_usage_error():
    # The recorder asked for something out of order: the CLI's exit code 2, and `except UsageError` catches it.
    assert issubclass(StreamStateError, UsageError) and StreamStateError.exit_code == 2


@pytest.mark.parametrize(
    ("state", "call", "message"),
    [
        (CLOSING, "close()", "close() called twice"),
        (CLOSED, "close()", "close() called twice"),
        (ABORTED, "close()", "close() after abort()"),
        (DETACHED, "close()", "close() after detach()"),
        (CLOSED, "detach()", "detach() after close()"),
        (ABORTED, "abort()", "abort() called twice"),
    ],
)
def test_a_refusal_names_the_calls(state, call, message):
    # Every public call starts with the move out of open (abort() straight to aborted), refused here.
    with pytest.raises(StreamStateError, match=f"^{re.escape(message)}$"):
        lifecycle_in(state).move(ABORTED if call == "abort()" else CLOSING, call)


def test_an_abort_during_close_has_the_last_word():
    lifecycle = lifecycle_in(CLOSING)
    lifecycle.move(ABORTED, "abort()")
    with pytest.raises(StreamStateError, match=r"^close\(\) after abort\(\)$"):
        lifecycle.move(CLOSED, "close()")
    assert lifecycle.state is ABORTED


def test_a_detached_stream_cannot_be_closed_nor_detached_again():
    lifecycle = lifecycle_in(DETACHED)
    for target in StreamState:
        with pytest.raises(StreamStateError):
            lifecycle.move(target, "close()")
    assert lifecycle.state is DETACHED and lifecycle.ended


def test_a_move_out_of_order_from_open_names_the_state():
    """Nothing has left open yet, so no call can be named: the refusal says the stream is still open."""
    lifecycle = StreamLifecycle()
    with pytest.raises(StreamStateError, match=r"^close\(\) on a stream that is open$"):
        lifecycle.move(CLOSED, "close()")
    assert lifecycle.refusal("detach()") == "detach() on a stream that is open"
    assert lifecycle.is_open
