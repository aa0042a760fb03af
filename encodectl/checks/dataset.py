"""Check a LeRobot dataset (v3.0, v2.1) as LeRobot's loader reads it, changing nothing.

For every camera and episode the metadata has: the video file it names exists and is whole, opens,
holds as many frames in the episode's span as the episode's ``length``, and frame i is found at
``from_timestamp + i/fps`` within LeRobot's tolerance (1e-4 s); the file's codec, size and pixel
format are the ones ``info.json`` declares. An episode without a video is named, with whether its
frames are still under ``images/`` (then ``--repair`` can make it).

Every file is read once (v3.0: one file holds many episodes), many files to an ffmpeg run.
"""

from __future__ import annotations

import bisect
from pathlib import Path

from pydantic import BaseModel

from ..frames.sequence import frame_files
from ..job.ledger import STATE_DIR
from ..lerobot.commit import JOURNAL
from ..lerobot.episodes import read_episodes
from ..lerobot.meta import (
    INFO_PATH,
    TOLERANCE_S,
    DatasetEpisode,
    DatasetInfo,
    FormatVersion,
    VideoPlacement,
    read_info,
)
from ..models import FFmpegBinary, VerifyMode
from .confine import RootGuard
from .models import PathCheck, Problem, ProblemKind
from .readback import FileRead, read_files


class EpisodeSpan(BaseModel):
    """Where the metadata puts one episode in a file: frame i at from_s + i/fps; to_s None: the file's end."""

    episode: int
    length: int
    from_s: float
    to_s: float | None


class VideoFile(BaseModel):
    """One video file of the dataset and the episodes the metadata places in it."""

    camera: str
    path: Path
    spans: list[EpisodeSpan] = []

    @property
    def episodes(self) -> list[int]:
        return [span.episode for span in self.spans]


class LeRobotCheck(BaseModel):
    """What the check planned: the metadata, and the files with their episodes (repair starts from it)."""

    info: DatasetInfo
    episodes: list[DatasetEpisode]
    files: list[VideoFile]
    result: PathCheck


def check_lerobot(root: Path, binary: FFmpegBinary, mode: VerifyMode) -> LeRobotCheck:
    guard = RootGuard(root)
    guard.inside(INFO_PATH, "metadata file")
    info = read_info(guard.root)
    episodes = read_episodes(info)  # confined, consistent, refused in one line otherwise
    result = PathCheck(
        path=guard.root, layout=f"lerobot {info.version.value}", mode=mode, fps=info.fps,
        cameras=list(info.video_keys), episodes=len(episodes),
    )  # fmt: skip
    files: dict[Path, VideoFile] = {}
    for episode in episodes:
        for key in info.video_keys:
            if info.version is FormatVersion.v21:
                # LeRobot 0.3 reads the template's path, whether or not a file is there.
                placement = VideoPlacement(chunk=episode.index // info.chunks_size, file=0)
                span = EpisodeSpan(episode=episode.index, length=episode.length, from_s=0.0, to_s=None)
            elif key in episode.videos:
                placement = episode.videos[key]
                span = EpisodeSpan(
                    episode=episode.index, length=episode.length, from_s=placement.from_s, to_s=placement.to_s
                )
            else:
                result.problems.append(_no_video(info, guard, key, episode))
                continue
            path = guard.inside(info.video_file(key, placement, episode.index), "video")
            files.setdefault(path, VideoFile(camera=key, path=path)).spans.append(span)
    present = []
    for video in files.values():
        if video.path.is_file():
            present.append(video)
        else:
            result.problems.append(_missing(info, guard, video))
    reads = read_files(binary, [video.path for video in present], decode=mode is VerifyMode.decode)
    for video, read in zip(present, reads, strict=True):
        result.problems += _file_problems(info, guard, video, read)
        if read.times is not None:
            result.videos_read += 1
            result.frames_read += read.times.video.frames
    if (guard.root / STATE_DIR / JOURNAL).exists():
        result.problems.append(
            Problem(
                kind=ProblemKind.cut_off_commit,
                file=f"{STATE_DIR}/{JOURNAL}",
                detail="an encodectl commit was cut off; `encodectl encode` on the dataset completes it",
            )
        )
    cameras = {key: position for position, key in enumerate(info.video_keys)}
    result.problems.sort(key=lambda p: (cameras.get(p.camera or "", -1), min(p.episodes, default=-1)))
    return LeRobotCheck(info=info, episodes=episodes, files=list(files.values()), result=result)


def frames_on_disk(info: DatasetInfo, guard: RootGuard, key: str, episode: int) -> int | None:
    """How many frames of the episode LeRobot's recorder left under images/ (None: no such folder)."""
    folder = guard.inside(info.frames_dir(key, episode), "frame folder")
    if not folder.is_dir():
        return None
    try:
        return len(frame_files(folder))
    except OSError:  # there, but not readable by this user: no frames to count on
        return None


def _frames_note(count: int | None, length: int) -> str:
    if count is None:
        return "no frames under images/ either"
    if count == length:
        return f"its {count} frames are still under images/"
    return f"{count} of its {length} frames are under images/"


def _no_video(info: DatasetInfo, guard: RootGuard, key: str, episode: DatasetEpisode) -> Problem:
    count = frames_on_disk(info, guard, key, episode.index)
    return Problem(
        kind=ProblemKind.no_video,
        camera=key,
        episodes=[episode.index],
        detail=f"the episode row has no videos/{key}/ columns; {_frames_note(count, episode.length)}",
        frames_on_disk=count,
        repairable=count == episode.length,
    )


def _missing(info: DatasetInfo, guard: RootGuard, video: VideoFile) -> Problem:
    note, count, repairable = "", None, True
    for span in video.spans:
        count = frames_on_disk(info, guard, video.camera, span.episode)
        repairable = repairable and count == span.length
    if len(video.spans) == 1:
        note = "; " + _frames_note(count, video.spans[0].length)
    else:
        count = None
    return Problem(
        kind=ProblemKind.missing_video,
        camera=video.camera,
        episodes=video.episodes,
        file=guard.relative(video.path),
        detail=f"the file is missing{note}",
        frames_on_disk=count,
        repairable=repairable,
    )


def _file_problems(info: DatasetInfo, guard: RootGuard, video: VideoFile, read: FileRead) -> list[Problem]:
    relative = guard.relative(video.path)

    def problem(kind: ProblemKind, detail: str, episodes: list[int] | None = None) -> Problem:
        chosen = video.episodes if episodes is None else episodes
        counts = [frames_on_disk(info, guard, video.camera, episode) for episode in chosen]
        lengths = {span.episode: span.length for span in video.spans}
        repairable = bool(chosen) and all(c == lengths[e] for c, e in zip(counts, chosen, strict=True))
        return Problem(
            kind=kind, camera=video.camera, episodes=chosen, file=relative, detail=detail,
            frames_on_disk=counts[0] if len(counts) == 1 else None, repairable=repairable,
        )  # fmt: skip

    if read.truncated is not None:
        return [problem(ProblemKind.truncated, read.truncated)]
    if read.times is None:
        return [problem(ProblemKind.unreadable, str(read.unreadable))]
    problems = []
    if read.decode_error is not None:
        problems.append(problem(ProblemKind.decode, f"a frame does not decode: {read.decode_error}"))
    declared = info.feature_info(video.camera)
    found = read.times.video
    if declared is not None:
        wrong = [
            f"{name} {have}, info.json says {want}"
            for name, have, want in (
                ("codec", found.codec, declared.codec),
                ("size", f"{found.width}x{found.height}", f"{declared.width}x{declared.height}"),
                ("pixel format", found.pix_fmt, declared.pix_fmt),
            )
            if have != want
        ]
        if wrong:
            problems.append(problem(ProblemKind.video_format, "; ".join(wrong)))
    numerator, denominator = read.times.time_base
    seconds = sorted(pts * numerator / denominator for pts in read.times.pts)  # floats, as LeRobot compares
    covered = 0
    for span in video.spans:
        kind, detail, count, missing = span_problem(seconds, span, info.fps)
        # Short at its end, nothing missing before: the pattern of a frame lost earlier in the file.
        closed_up = kind is ProblemKind.frame_count and missing == count
        covered += count
        if kind is not None:
            if closed_up and len(video.spans) > 1 and len(seconds) < _total(video):
                detail += (
                    f" (the file holds {len(seconds)} frames, its episodes' lengths add up to {_total(video)}: "
                    "a frame lost earlier in it moves every later one)"
                )
            problems.append(problem(kind, detail, [span.episode]))
    if covered < len(seconds):
        problems.append(
            problem(
                ProblemKind.extra_frames,
                f"{len(seconds) - covered} of its {len(seconds)} frames lie in no episode's span",
                [],
            )
        )
    return problems


def _total(video: VideoFile) -> int:
    return sum(span.length for span in video.spans)


def span_problem(seconds: list[float], span: EpisodeSpan, fps: int) -> tuple[ProblemKind | None, str, int, int | None]:
    """What is wrong with one episode's frames in its file (None: nothing), how many frames its span holds,
    and the first frame not where LeRobot looks for it.

    LeRobot asks for frame i at from_timestamp + i/fps and refuses a frame further than its tolerance
    (strictly within); the frames of the span are those from its start to its end, both less the tolerance."""
    low = bisect.bisect_left(seconds, span.from_s - TOLERANCE_S)
    high = len(seconds) if span.to_s is None else bisect.bisect_left(seconds, span.to_s - TOLERANCE_S)
    count = max(0, high - low)
    missing = None
    for index in range(span.length):
        wanted = span.from_s + index / fps
        position = bisect.bisect_left(seconds, wanted - TOLERANCE_S)
        if position == len(seconds) or abs(seconds[position] - wanted) >= TOLERANCE_S:
            missing = index
            break
    where = ""
    if missing is not None:
        where = f"frame {missing} is not at {span.from_s + missing / fps:.6f} s (within {TOLERANCE_S:g} s)"
    if count != span.length:
        detail = f"{count} frames where its length is {span.length}"
        return ProblemKind.frame_count, f"{detail}; {where}" if where else detail, count, missing
    if missing is not None:
        return ProblemKind.timestamps, where, count, missing
    return None, "", count, None
