"""Where each encoded episode of a LeRobot dataset goes, and the video file it makes, verified.

v2.1: a file per episode. v3.0: the episode is appended by stream copy to the camera's
current ``file-XXX.mp4``, or starts a new file once the current one would pass
``video_files_size_in_mb`` or holds another codec configuration (LeRobot's rule), its span
in the file computed as LeRobot computes it. A file that is already there is replaced only
if encodectl may (found wrong by check, placed by an earlier encodectl, or an MP4 its
writer never finished). Each file as it will be is built in the staging folder and read
back as LeRobot reads it: frame i of an episode decoded at ``from_timestamp + i/fps``,
within 1e-4 s. Nothing in the dataset changes here; finish_dataset.py commits.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from pydantic import BaseModel

from ..errors import InputError, VerificationError
from ..ffmpeg.copy_command import build_join_command, concat_list
from ..ffmpeg.log import encoder_failure
from ..ffmpeg.process import run_ffmpeg
from ..job.verify import EpisodeSpan, FrameTimes, check_episode_spans, mp4_complete, read_frame_times
from ..models import FFmpegBinary, JobResult
from .commit import FileState, made_by_encodectl
from .meta import TOLERANCE_S, DatasetEpisode, FormatVersion, VideoPlacement, next_file
from .plan import DatasetPlan, PendingVideo

MIB = 1024 * 1024


class StagedEpisode(BaseModel):
    pending: PendingVideo
    result: JobResult
    times: FrameTimes  # of the staged single-episode video (packets)
    size: int
    start: Fraction = Fraction(0)  # where it begins in its file, exactly
    # The span as LeRobot computes it, in floats (from = the previous episode's to, to = from + duration),
    # so that the metadata rows come out the same as LeRobot's own, bit for bit.
    from_s: float = 0.0
    to_s: float = 0.0

    model_config = {"arbitrary_types_allowed": True}


class TargetFile(BaseModel):
    """One video file of the dataset as it will be: what it holds already, then the new episodes."""

    key: str
    placement: VideoPlacement  # chunk and file
    path: Path
    base: FrameTimes | None = None  # the file as it is, kept at the start
    base_spans: list[EpisodeSpan] = []  # the episodes the metadata already places in it
    base_end_s: float | None = None  # the largest to_timestamp the metadata has in this file
    episodes: list[StagedEpisode] = []
    note: str | None = None  # what placing it replaced

    model_config = {"arbitrary_types_allowed": True}

    @property
    def reference(self) -> FrameTimes | None:
        return self.base if self.base is not None else (self.episodes[0].times if self.episodes else None)

    @property
    def size(self) -> int:
        return (self.path.stat().st_size if self.base is not None else 0) + sum(e.size for e in self.episodes)

    @property
    def end(self) -> Fraction:
        base = self.base.seconds(self.base.end) if self.base is not None else Fraction(0)
        return base + sum((e.times.seconds(e.times.end) for e in self.episodes), Fraction(0))

    @property
    def end_s(self) -> float:
        """The end as LeRobot's metadata has it: the last episode's to_timestamp (unless the file runs longer)."""
        if self.episodes:
            return self.episodes[-1].to_s
        exact = float(self.end)
        if self.base_end_s is not None and abs(self.base_end_s - exact) < TOLERANCE_S:
            return self.base_end_s
        return exact


def place_episodes(
    plan: DatasetPlan, key: str, episodes: list[StagedEpisode], binary: FFmpegBinary
) -> list[TargetFile]:
    """Which file each new episode goes to, and where in it (LeRobot's rule for starting a new file)."""
    info = plan.info
    if info.version is FormatVersion.v21:
        targets = []
        for episode in episodes:
            index = episode.pending.episode.index
            target = _new_target(plan, key, VideoPlacement(chunk=index // info.chunks_size, file=0), index)
            target.episodes.append(episode)
            targets.append(target)
        return targets
    placed = [(episode.videos[key], episode) for episode in plan.episodes if key in episode.videos]
    if placed:
        current = max((placement for placement, _ in placed), key=lambda p: (p.chunk, p.file))
        target = _existing_target(plan, key, current, placed, binary)
    else:
        first = VideoPlacement(chunk=0, file=0)
        target = _new_target(plan, key, first, 0)
    targets = [target]
    for episode in episodes:
        if target.reference is not None and not (
            _joinable(target.reference, episode.times)
            and (target.size + episode.size) / MIB < info.video_files_size_in_mb
        ):
            target = _new_target(plan, key, _next_placement(target.placement, info.chunks_size), 0)
            targets.append(target)
        episode.start, episode.from_s = target.end, target.end_s
        episode.to_s = episode.from_s + float(episode.times.seconds(episode.times.end))
        target.episodes.append(episode)
    return [target for target in targets if target.episodes]


def _new_target(plan: DatasetPlan, key: str, placement: VideoPlacement, episode: int) -> TargetFile:
    """A file no episode row refers to yet. Something already there is encodectl's to replace only if it
    is an MP4 its writer never finished (LeRobot killed while writing it) or a video an earlier encodectl
    placed before its commit was dropped: anything else may be the user's."""
    path = plan.info.video_file(key, placement, episode)
    note = None
    if path in plan.replaceable and FileState.of(path) == plan.replaceable[path]:
        note = f"replaced {path.name}, found wrong by check"
    elif made_by_encodectl(plan.info.root, path):
        note = f"replaced {path.name}, which an earlier run placed before its commit was dropped"
    elif _cut_off_mp4(path):
        note = f"replaced {path.name}, an MP4 its writer never finished (no index)"
    elif path.is_symlink() or path.exists():
        raise InputError(
            f"{path} is already there, but no episode row of the dataset refers to it: encodectl replaces "
            f"nothing it did not make; move it away and run again ({key} not placed)"
        )
    return TargetFile(key=key, placement=placement, path=path, note=note)


def _cut_off_mp4(path: Path) -> bool:
    """An MP4 file (ftyp first) whose writer never wrote its index: what LeRobot leaves when killed mid-write."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            start = handle.read(8)
    except OSError:
        return False
    return start[4:8] == b"ftyp" and not mp4_complete(path)


def _existing_target(
    plan: DatasetPlan,
    key: str,
    current: VideoPlacement,
    placed: list[tuple[VideoPlacement, DatasetEpisode]],
    binary: FFmpegBinary,
) -> TargetFile:
    path = plan.info.video_file(key, current, 0)
    if not path.is_file():
        raise InputError(f"{path} is missing, though the dataset's metadata places episodes in it")
    spans = [
        EpisodeSpan(label=f"episode {episode.index}", start=Fraction(placement.from_s), frames=episode.length)
        for placement, episode in placed
        if (placement.chunk, placement.file) == (current.chunk, current.file)
    ]
    end_s = max(
        placement.to_s for placement, _ in placed if (placement.chunk, placement.file) == (current.chunk, current.file)
    )
    base = read_frame_times(binary, path)
    file_end = float(base.seconds(base.end))
    if end_s > file_end + TOLERANCE_S:
        raise InputError(
            f"{path}: the metadata places an episode up to {end_s:.6f} s, past the file's end at {file_end:.6f} s; "
            f"{key} not placed"
        )
    return TargetFile(key=key, placement=current, path=path, base=base, base_spans=spans, base_end_s=end_s)


def _next_placement(placement: VideoPlacement, chunks_size: int) -> VideoPlacement:
    chunk, file = next_file(placement.chunk, placement.file, chunks_size)
    return VideoPlacement(chunk=chunk, file=file)


def _joinable(reference: FrameTimes, episode: FrameTimes) -> bool:
    """Stream copy keeps one codec configuration for the whole file: the episode must share it exactly,
    and its timestamps must fall on the file's time base."""
    a, b = reference.video, episode.video
    if (a.codec, a.width, a.height, a.pix_fmt, reference.extradata) != (
        b.codec,
        b.width,
        b.height,
        b.pix_fmt,
        episode.extradata,
    ):
        return False
    tick = Fraction(*reference.time_base)
    return all((episode.seconds(pts) / tick).denominator == 1 for pts in (*episode.pts, episode.end))


def build_target(plan: DatasetPlan, target: TargetFile, binary: FFmpegBinary, nice: int) -> tuple[Path, FrameTimes]:
    """The target's new content in the staging folder, verified as LeRobot reads it."""
    if target.base is None and len(target.episodes) == 1:
        candidate = target.episodes[0].pending.source.output
    else:
        relative = target.path.relative_to(plan.info.root)
        candidate = plan.staging / "joined" / relative
        candidate.parent.mkdir(parents=True, exist_ok=True)
        list_file = candidate.with_suffix(".ffconcat")
        parts = [(e.pending.source.output, e.times.seconds(e.times.end)) for e in target.episodes]
        if target.base is not None:
            parts.insert(0, (target.path, target.base.seconds(target.base.end)))
        list_file.write_bytes(concat_list(parts).encode(errors="surrogateescape"))  # names are bytes on Linux
        reference = target.reference
        assert reference is not None
        timescale = reference.time_base[1] // reference.time_base[0]
        returncode, log = run_ffmpeg(build_join_command(binary, list_file, candidate, timescale), nice=nice)
        if returncode != 0:
            raise VerificationError(
                f"joining into {target.path.name} failed: {encoder_failure('ffmpeg', returncode, log)}"
            )
    times = read_frame_times(binary, candidate, decode=True)
    spans = target.base_spans + [
        # Where the metadata will say it starts (LeRobot's float), which is where LeRobot will look.
        EpisodeSpan(label=f"episode {e.pending.episode.index}", start=Fraction(e.from_s), frames=e.times.video.frames)
        for e in target.episodes
    ]
    frames = (target.base.video.frames if target.base is not None else 0) + sum(
        e.times.video.frames for e in target.episodes
    )
    check_episode_spans(times, spans, plan.options.fps, frames, TOLERANCE_S, target.path)
    return candidate, times
