"""Check a folder that `encode` made: each frame folder's video beside it (or, in LeRobot's image layout
without metadata, under videos/), read back against the frames still on disk, changing nothing."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from ..frames.layout import DEPTH_SUFFIX, EpisodeSource, discover
from ..frames.sequence import frames_by_number, has_frames
from ..models import FFmpegBinary, VerifyMode
from .confine import RootGuard
from .models import PathCheck, Problem, ProblemKind
from .readback import FileRead, read_files


def check_folder(root: Path, binary: FFmpegBinary, mode: VerifyMode, fps: Fraction) -> PathCheck:
    # An episode folder given itself has its video beside it: the folder that holds both is what is read.
    guard = RootGuard(root.absolute().parent if has_frames(root) else root)
    sources = discover([root.absolute()])
    result = PathCheck(path=root.absolute(), layout="folder", mode=mode, fps=fps, episodes=len(sources))
    result.cameras = sorted({source.camera for source in sources if source.camera is not None})
    present: list[tuple[EpisodeSource, Path, list[int]]] = []
    for source in sources:
        guard.inside(source.directory, "frame folder")
        numbers = sorted(frames_by_number(source.directory))
        candidates = [source.output, source.output.with_suffix(DEPTH_SUFFIX)]
        video = next((path for path in candidates if guard.inside(path, "video").is_file()), None)
        if video is None:
            result.problems.append(
                Problem(
                    kind=ProblemKind.missing_video,
                    camera=source.camera,
                    episode=source.episode,
                    file=guard.relative(source.output),
                    detail=f"no video for its {len(numbers)} frames",
                    frames_on_disk=len(numbers),
                )
            )
            continue
        present.append((source, video, numbers))
    reads = read_files(binary, [video for _, video, _ in present], decode=mode is VerifyMode.decode, fps=fps)
    for (source, video, numbers), read in zip(present, reads, strict=True):
        for kind, detail in _problems(read, numbers, fps):
            result.problems.append(
                Problem(
                    kind=kind,
                    camera=source.camera,
                    episode=source.episode,
                    file=guard.relative(video),
                    detail=detail,
                    frames_on_disk=len(numbers),
                )
            )
        if read.times is not None:
            result.videos_read += 1
            result.frames_read += read.times.video.frames
    return result


def _problems(read: FileRead, numbers: list[int], fps: Fraction) -> list[tuple[ProblemKind, str]]:
    if read.truncated is not None:
        return [(ProblemKind.truncated, read.truncated)]
    if read.times is None:
        return [(ProblemKind.unreadable, str(read.unreadable))]
    problems = []
    if read.decode_error is not None:
        problems.append((ProblemKind.decode, f"a frame does not decode: {read.decode_error}"))
    video = read.times.video
    # --on-gap hold fills a numbering gap with the frame before it: then the video spans first to last.
    allowed = {len(numbers), numbers[-1] - numbers[0] + 1} if numbers else {0}
    if video.frames not in allowed:
        problems.append((ProblemKind.frame_count, f"{video.frames} frames, its folder holds {len(numbers)}"))
    if video.fps != fps:
        problems.append((ProblemKind.fps, f"frame rate {video.fps}, expected {fps} (--fps)"))
    elif not video.timestamps_exact:
        problems.append((ProblemKind.timestamps, f"frame timestamps are not i/{fps} s from 0"))
    return problems
