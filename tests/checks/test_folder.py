"""encodectl/checks/folder.py: a folder that `encode` made, each video read back against the frames on disk.

Folders checked through the CLI, with videos damaged for real: tests/test_check.py."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import encodectl
from encodectl.checks.folder import check_folder
from encodectl.checks.models import ProblemKind
from encodectl.models import FFmpegBinary, VerifyMode


def test_each_episode_against_its_frames(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    root = tmp_path / "cam"
    make_frames(root / "episode_0", 3)
    encodectl.encode(root / "episode_0", ffmpeg=ffmpeg_binary)  # episode_0.mp4 beside it, 3 frames at 30 fps
    make_frames(root / "episode_1", 2)  # never encoded
    clean = check_folder(root / "episode_0", ffmpeg_binary, VerifyMode.packets, Fraction(30))
    assert (clean.ok, clean.episodes, clean.videos_read, clean.frames_read) == (True, 1, 1, 3)

    (root / "episode_0" / "frame_000002.png").unlink()
    found = check_folder(root, ffmpeg_binary, VerifyMode.decode, Fraction(25))
    assert (found.layout, found.episodes, found.videos_read, found.frames_read) == ("folder", 2, 1, 3)
    assert [(p.kind, p.episode, p.file, p.detail, p.frames_on_disk) for p in found.problems] == [
        (ProblemKind.missing_video, "episode_1", "episode_1.mp4", "no video for its 2 frames", 2),
        (ProblemKind.frame_count, "episode_0", "episode_0.mp4", "3 frames, its folder holds 2", 2),
        (ProblemKind.fps, "episode_0", "episode_0.mp4", "frame rate 30, expected 25 (--fps)", 2),
    ]
