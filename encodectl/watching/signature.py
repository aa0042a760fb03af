"""An episode folder's frames as one value (count, bytes, newest modification time), and deleting
exactly the frames a signature describes (``--delete-frames``)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..frames.sequence import frame_files, identity_digest
from ..job.ledger import FrameSignature
from ..models import FileIdentity


def frame_signature(directory: Path) -> FrameSignature:
    """Count, bytes and newest modification time of the frames; OSError if the folder cannot be read."""
    return signature_of(frame_stats(directory))


def frame_stats(directory: Path) -> dict[Path, os.stat_result]:
    stats = {}
    for path in frame_files(directory):
        try:
            stats[path] = path.stat()
        except FileNotFoundError:
            continue  # renamed or removed since it was listed
    return stats


def signature_of(stats: dict[Path, os.stat_result]) -> FrameSignature:
    return FrameSignature(
        frames=len(stats),
        total_bytes=sum(stat.st_size for stat in stats.values()),
        newest_mtime_ns=max((stat.st_mtime_ns for stat in stats.values()), default=0),
    )


def delete_encoded_frames(directory: Path, signature: FrameSignature, encoded: str | None = None) -> bool:
    """Delete the frames a video was made from; False (and nothing deleted) if frames arrived since, or
    (`encoded`, the job's frames_digest) if any frame is not the file that was encoded.

    The folder is listed once, and each file is deleted only while it is still the file that was
    listed (device, inode, size, modification and change times), so a frame that arrives meanwhile stays."""
    frames = frame_stats(directory)
    if signature_of(frames) != signature:
        return False
    if encoded is not None and encoded != identity_digest((p.name, FileIdentity.of(s)) for p, s in frames.items()):
        return False
    for path, listed in frames.items():
        if _same_file(path, listed):
            path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # other files (a marker, notes) stay, and so does the folder
        directory.rmdir()
    return True


def _same_file(path: Path, before: os.stat_result) -> bool:
    try:
        return FileIdentity.of(path.stat()) == FileIdentity.of(before)
    except OSError:
        return False
