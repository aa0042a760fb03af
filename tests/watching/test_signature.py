"""encodectl/watching/signature.py: an episode folder's frames as one value, and --delete-frames deleting only the
frames that were encoded.

--delete-frames in a watch with frames arriving late: tests/test_watch.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from encodectl.frames.sequence import identity_digest
from encodectl.models import FileIdentity
from encodectl.watching.signature import delete_encoded_frames, frame_signature, frame_stats

pytestmark = pytest.mark.same_on_every_ffmpeg("file sizes and times: no ffmpeg runs")


def frames(folder: Path, sizes: list[int]) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for index, size in enumerate(sizes):
        paths.append(folder / f"frame_{index:06d}.png")
        paths[-1].write_bytes(b"x" * size)
        os.utime(paths[-1], ns=(10**18 + index, 10**18 + index))
    return paths


def test_the_signature_counts_frames_bytes_and_the_newest_time(tmp_path: Path) -> None:
    frames(tmp_path, [10, 20, 30])
    (tmp_path / "notes.txt").write_text("not a frame")
    signature = frame_signature(tmp_path)
    assert (signature.frames, signature.total_bytes, signature.newest_mtime_ns) == (3, 60, 10**18 + 2)
    (tmp_path / "empty").mkdir()
    assert frame_signature(tmp_path / "empty").frames == 0


def test_frames_are_deleted_only_as_encoded(tmp_path: Path) -> None:
    made = frames(tmp_path, [10, 20])
    signature = frame_signature(tmp_path)
    digest = identity_digest((p.name, FileIdentity.of(s)) for p, s in frame_stats(tmp_path).items())

    (tmp_path / "frame_000002.png").write_bytes(b"late")  # a frame arrived since
    assert not delete_encoded_frames(tmp_path, signature)
    assert len(list(tmp_path.glob("frame_*"))) == 3
    (tmp_path / "frame_000002.png").unlink()
    assert frame_signature(tmp_path) == signature

    assert not delete_encoded_frames(tmp_path, frame_signature(tmp_path), encoded="another digest")
    assert all(path.exists() for path in made)

    assert delete_encoded_frames(tmp_path, signature, encoded=digest)
    assert not tmp_path.exists()  # the folder too, once empty
