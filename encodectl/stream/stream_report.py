"""What a stream says of itself: its counters (StreamStats) and the notes close() adds to its result about
the buffer (frames spilled, frames still to encode after the last one, waits)."""

from __future__ import annotations

from .frame_buffer import BufferStats


class StreamStats(BufferStats):
    frames_written: int = 0  # frames ffmpeg has taken


def buffer_notes(stats: StreamStats, backlog: int, latency_s: float) -> list[str]:
    """What close() says of the buffer: frames spilled, frames still to encode after the last, waits."""
    notes = []
    if stats.spilled:
        written, peak = stats.spilled_bytes / 2**20, stats.disk_bytes_peak / 2**20
        notes.append(
            f"{stats.spilled} frame(s) spilled to disk while the encoder caught up "
            f"({written:.0f} MB written, at most {peak:.0f} MB at once)"
        )
    if backlog > 1:
        notes.append(f"{backlog} frame(s) still to encode after the last one: verified {latency_s:.2f} s later")
    if stats.blocked_calls:
        notes.append(f"add_frame waited {stats.blocked_calls} time(s), {stats.blocked_seconds:.2f} s in all")
    return notes
