"""encodectl/job/staging.py: the frames ffmpeg reads for an episode whose gaps are held (--on-gap hold).

Videos encoded with held gaps, read back frame by frame: tests/test_encode.py, tests/test_edge_cases.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from encodectl.job.staging import stage_held_frames
from encodectl.models import EncodeJob, EncoderSettings, FileIdentity, FrameSequence, GapPolicy

pytestmark = pytest.mark.same_on_every_ffmpeg("links made in a folder: no ffmpeg runs")


def job_for(folder: Path, numbers: list[int]) -> EncodeJob:
    for number in numbers:
        (folder / f"f_{number:03d}.png").write_bytes(str(number).encode())
    identities = {number: FileIdentity.of_path(folder / f"f_{number:03d}.png") for number in numbers}
    frames = FrameSequence(directory=folder, prefix="f_", extension=".png", padding=3, numbers=numbers,
                           gaps=[(4, 5), (7, 7)], width=64, height=48, source_format="png rgb 8-bit",
                           identities=identities)  # fmt: skip
    settings = EncoderSettings(encoder="libx264", codec="h264", gop=2)
    return EncodeJob(frames=frames, output=folder / "out.mp4", episode="ep", fps=10, encoder=settings,
                     on_gap=GapPolicy.hold)  # fmt: skip


def test_each_missing_frame_repeats_the_one_before(tmp_path: Path) -> None:
    job = job_for(tmp_path, [3, 6, 8])
    staging = tmp_path / "staging"
    stage_held_frames(job, staging)
    links = sorted(staging.iterdir())
    assert [link.name for link in links] == [f"{index:06d}.png" for index in range(6)]
    assert [link.read_bytes() for link in links] == [b"3", b"3", b"3", b"6", b"6", b"8"]
    assert all(link.is_symlink() and link.readlink().is_absolute() for link in links)
    assert len(links) == job.frame_count


def test_without_symlinks_hard_links_and_the_identity_follows_the_new_ctime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = job_for(tmp_path, [3, 6, 8])

    def refuse(self: Path, target: object) -> None:
        raise OSError("no symlinks here")

    monkeypatch.setattr(Path, "symlink_to", refuse)
    before = dict(job.frames.identities)
    stage_held_frames(job, tmp_path / "staging")
    assert (tmp_path / "staging" / "000002.png").stat().st_ino == before[3].inode  # type: ignore[union-attr]
    assert (tmp_path / "f_003.png").stat().st_nlink == 4
    # The links changed each frame's ctime: the identity kept is the new one, the frame itself unchanged.
    assert job.frames.identities[3] == FileIdentity.of_path(tmp_path / "f_003.png")
    assert job.frames.identities[3][:4] == before[3][:4]  # type: ignore[index]
