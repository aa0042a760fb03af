"""The fallback replay: the frames a hardware encoder was given since it started, kept until it has
proved itself, so that when it fails they can be fed again to a CPU encoder and no frame is lost.

Proved means two GOPs taken and a first fragment written. Kept frames count against the stream's
memory budget, so past its capacity the replay is given up (and the stream stays on the GPU).
"""

from __future__ import annotations

from pathlib import Path

from ..models import EncoderSettings

FIRST_FRAGMENT_BYTES = 4096  # a stream file larger than its header: a fragment is written


class Replay:
    """Frames kept for a restart on `fallback` (the CPU encoder of the plan)."""

    def __init__(self, fallback: EncoderSettings, gop: int, capacity: int, stream_file: Path) -> None:
        self.fallback = fallback
        self._gop, self._capacity, self._stream_file = gop, capacity, stream_file
        self.frames: list[bytes] = []

    def keep(self, data: bytes) -> None:
        """Before the write: the frame that meets a dead encoder is kept too."""
        self.frames.append(data)

    def no_longer_needed(self, frames_written: int) -> bool:
        """The encoder works, or memory says enough: no restart from here on."""
        proved = frames_written >= 2 * self._gop and self._has_fragment()
        return proved or len(self.frames) >= self._capacity

    def _has_fragment(self) -> bool:
        try:
            return self._stream_file.stat().st_size > FIRST_FRAGMENT_BYTES
        except FileNotFoundError:
            return False
