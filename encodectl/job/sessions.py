"""Cap concurrent encodes per hardware encoder, and lower the cap when the driver says "no more".

Consumer NVIDIA cards allow only a few NVENC sessions at once. Rather than fail
job after job, the first session-limit failure lowers the cap for the rest of
the run; the job that hit it waits for a free session and tries again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

# What ffmpeg prints when the hardware has no session or memory left for another encoder.
SESSION_LIMIT_MARKERS = (
    "openencodesessionex failed",
    "incompatible client key",
    "no capable devices found",
    "out of memory",
    "nv_enc_err_out_of_memory",
    "too many sessions",
)


def is_session_limit(reason: str | None) -> bool:
    lowered = (reason or "").lower()
    return any(marker in lowered for marker in SESSION_LIMIT_MARKERS)


class SessionLimiter:
    """One adjustable cap per encoder name, shared by every worker of a run."""

    def __init__(self, cap: int) -> None:
        self._default_cap = max(1, cap)
        self._caps: dict[str, int] = {}
        self._running: dict[str, int] = {}
        self._changed = threading.Condition()

    def cap(self, encoder: str) -> int:
        with self._changed:
            return self._caps.get(encoder, self._default_cap)

    @contextmanager
    def session(self, encoder: str) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: self._running.get(encoder, 0) < self._caps.get(encoder, self._default_cap))
            self._running[encoder] = self._running.get(encoder, 0) + 1
        try:
            yield
        finally:
            with self._changed:
                self._running[encoder] -= 1
                self._changed.notify_all()

    def lower(self, encoder: str, running_when_failed: int) -> int:
        """After a session-limit failure with `running_when_failed` sessions open, allow one fewer."""
        with self._changed:
            current = self._caps.get(encoder, self._default_cap)
            new_cap = max(1, min(current, running_when_failed - 1))
            self._caps[encoder] = new_cap
            self._changed.notify_all()
            return new_cap

    def running(self, encoder: str) -> int:
        with self._changed:
            return self._running.get(encoder, 0)
