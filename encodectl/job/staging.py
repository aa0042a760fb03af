"""The frames ffmpeg reads for an episode with gaps held (--on-gap hold): links numbered 0..N-1 in a
staging folder, each missing frame a link to the frame before it."""

from __future__ import annotations

import os
from pathlib import Path

from ..models import EncodeJob, FileIdentity, FrameSequence


def stage_held_frames(job: EncodeJob, staging_dir: Path) -> None:
    """Links numbered 0..N-1 in which each missing frame points at the frame before it."""
    frames = job.frames
    staging_dir.mkdir()
    present = set(frames.numbers)
    held = frames.first
    for index, number in enumerate(range(frames.first, frames.last + 1)):
        if number in present:
            held = number
        source, link = frames.path(held).absolute(), staging_dir / f"{index:06d}{frames.extension}"
        try:
            link.symlink_to(source)
        except OSError:
            os.link(source, link)  # file systems without symlinks (some network mounts)
            _relinked(frames, held)


def _relinked(frames: FrameSequence, number: int) -> None:
    """A hard link changes its file's ctime: take the new one, if nothing else about the frame changed."""
    before, now = frames.identities.get(number), FileIdentity.of_path(frames.path(number))
    if before is not None and now is not None and before[:4] == now[:4]:
        frames.identities[number] = now
