"""A stream's life as an explicit state: open -> closing -> closed / detached, and aborted from either.

``StreamLifecycle`` holds the state and refuses a move the table does not list, with a
``StreamStateError`` (a UsageError: the caller asked for something out of order). It has no lock of
its own: StreamEncoder moves it under the lock that also guards its encoder process, so a state
and the process it speaks of never disagree. Pure: no ffmpeg, no file, no thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from ..errors import StreamStateError


class StreamState(StrEnum):
    open = "open"  # frames are taken
    closing = "closing"  # close() or detach() is writing out what was taken
    closed = "closed"  # close() finished: a verified video, or a failed result handed over for recovery
    detached = "detached"  # detach() finished: the stream file left for `encodectl recover`
    aborted = "aborted"  # abort(): the encoder killed, everything the stream wrote removed


TRANSITIONS: Mapping[StreamState, frozenset[StreamState]] = {
    StreamState.open: frozenset({StreamState.closing, StreamState.aborted}),
    # abort() may come from another thread while close() or detach() waits for the encoder.
    StreamState.closing: frozenset({StreamState.closed, StreamState.detached, StreamState.aborted}),
    StreamState.closed: frozenset(),
    StreamState.detached: frozenset(),
    StreamState.aborted: frozenset(),
}


class StreamLifecycle:
    """The state of one stream and the record of how it left `open`."""

    def __init__(self) -> None:
        self._state = StreamState.open
        self._left_by: str | None = None  # the call that moved it out of open: "close()" or "detach()", ...

    @property
    def state(self) -> StreamState:
        return self._state

    @property
    def is_open(self) -> bool:
        return self._state is StreamState.open

    @property
    def ended(self) -> bool:
        """No move is left: closed, detached or aborted."""
        return not TRANSITIONS[self._state]

    def move(self, target: StreamState, call: str) -> None:
        """Go to `target` on behalf of `call` ("close()", say); StreamStateError if the table has no such move."""
        if target not in TRANSITIONS[self._state]:
            raise StreamStateError(self.refusal(call))
        if self._state is StreamState.open:
            self._left_by = call
        self._state = target

    def refusal(self, call: str) -> str:
        """Why `call` cannot be done now, in the words the recorder's author knows (the calls, not the states)."""
        before = "abort()" if self._state is StreamState.aborted else self._left_by  # abort() has the last word
        if before is None:
            return f"{call} on a stream that is {self._state.value}"
        return f"{call} called twice" if call == before else f"{call} after {before}"
