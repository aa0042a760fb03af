"""Finish a LeRobot dataset whose recording stopped before its videos were encoded.

Each pending camera-episode is encoded alone and verified (the usual path, into a
staging folder), then written where LeRobot reads it: v2.1, one file per episode;
v3.0, appended by stream copy to the camera's current ``file-XXX.mp4`` (or a new file
once the current one would pass ``video_files_size_in_mb``), its span recorded in the
episode's metadata row. Every new file is verified as LeRobot reads it (frame i of an
episode decoded at ``from_timestamp + i/fps``, within 1e-4 s) before anything in the
dataset changes. Then one commit moves the new videos, ``info.json`` and the episodes
files into place, the episodes last: a journal written before the first move lets
the next run complete a commit that was cut off, and a dataset read meanwhile is the
one from before (the episodes files are what make an episode's video exist).
"""

from __future__ import annotations

import contextlib
import tempfile
from fractions import Fraction
from pathlib import Path

from pydantic import BaseModel

from ..errors import EncodectlError, InputError, VerificationError
from ..ffmpeg.copy_command import build_join_command, concat_list
from ..ffmpeg.log import encoder_failure
from ..ffmpeg.process import run_ffmpeg
from ..job.source_runner import SourceRunner
from ..job.verify import EpisodeSpan, FrameTimes, check_episode_spans, mp4_complete, read_frame_times
from ..models import EncodeOptions, FailureKind, FFmpegBinary, JobResult, JobStatus, LeRobotRelease
from ..version import __version__
from .commit import FileState, Move, commit_moves, dataset_opened, made_by_encodectl, remove_staging
from .episodes import write_episodes_table
from .heal import RebuiltRows, commit_rows, dry_run_results, rows_to_rebuild
from .meta import (
    DatasetEpisode,
    FormatVersion,
    VideoFeatureInfo,
    VideoPlacement,
    channels_of,
    info_document,
)
from .plan import DatasetPlan, PendingVideo, frame_paths, plan_dataset
from .versions import encoder_record

TOLERANCE_S = 1e-4  # LeRobot's default tolerance_s: a decoded frame further from its timestamp is refused
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


# --- opening a dataset: one writer, nobody recording, no commit left half-done -------------------------


# --- planning: what the dataset lacks, and with which settings -------------------------------------------


# --- committing: place, join, verify as LeRobot reads, then move into place ---------------------------------


def commit_dataset(
    plan: DatasetPlan, results: list[JobResult], binary: FFmpegBinary, *, delete_frames: bool = False, nice: int = 0
) -> list[JobResult]:
    """Put every encoded episode where LeRobot reads it; the results come back with their final place."""
    staged = []
    for pending, result in zip(plan.pending, results, strict=True):
        if result.status is not JobStatus.done:
            continue
        try:
            times = read_frame_times(binary, pending.source.output)
        except EncodectlError as error:
            _fail([result], error)
            continue
        staged.append(
            StagedEpisode(pending=pending, result=result, times=times, size=pending.source.output.stat().st_size)
        )
    if not staged:
        return results
    targets: list[TargetFile] = []
    for key in plan.info.video_keys:
        episodes = [episode for episode in staged if episode.pending.key == key]
        if episodes:
            try:
                targets += _place(plan, key, episodes, binary)
            except EncodectlError as error:
                _fail([episode.result for episode in episodes], error)
    planned = {target.path: FileState.of(target.path) for target in targets}  # as joined onto or replaced
    moves: list[Move] = []
    placements: dict[tuple[int, str], VideoPlacement] = {}
    feature_infos: dict[str, VideoFeatureInfo] = {}
    for target in targets:
        try:
            candidate, times = build_target(plan, target, binary, nice)
            for episode in target.episodes:  # the last look before the commit: the frames are still the ones encoded
                check_frames_as_planned(episode.pending)
        except EncodectlError as error:
            _fail([episode.result for episode in target.episodes], error)
            continue
        moves.append(Move(source=candidate, target=target.path))
        feature_infos.setdefault(target.key, _feature_info(plan, target.key, times, target.episodes[0].result))
        for episode in target.episodes:
            placement = target.placement.model_copy(update={"from_s": episode.from_s, "to_s": episode.to_s})
            placements[(episode.pending.episode.index, target.key)] = placement
            episode.result.output = target.path
            if target.note is not None:
                episode.result.notes.append(target.note)
            if plan.info.version is FormatVersion.v30:
                episode.result.notes.append(f"at {episode.from_s:.6f}-{episode.to_s:.6f} s of {target.path.name}")
    if not moves:
        return results
    moves += metadata_moves(plan, placements, feature_infos)
    commit_moves(plan.info.root, moves, {**plan.files, **planned})
    if delete_frames:
        for episode in staged:
            if (episode.pending.episode.index, episode.pending.key) in placements:
                episode.result.notes.append(_delete_frames(episode.pending))
    return results


def check_frames_as_planned(pending: PendingVideo) -> None:
    """The episode's frames must still be the files that were planned, or the video may hold others."""
    changed = next((frame.path for frame in pending.frames if not frame.unchanged()), None)
    if changed is None and sorted(frame_paths(pending.source.directory)) != sorted(str(f.path) for f in pending.frames):
        changed = pending.source.directory
    if changed is not None:
        raise InputError(
            f"{changed} changed after encodectl planned the episode (rewritten, added or removed): its video is "
            "not placed; run again to encode the frames as they are now"
        )


def _fail(results: list[JobResult], error: EncodectlError) -> None:
    for result in results:
        result.status = JobStatus.failed
        result.failure = FailureKind.verify if isinstance(error, VerificationError) else FailureKind.input
        result.reason = error.message


def _place(plan: DatasetPlan, key: str, episodes: list[StagedEpisode], binary: FFmpegBinary) -> list[TargetFile]:
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
            target = _new_target(plan, key, _next_file(target.placement, info.chunks_size), 0)
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


def _next_file(placement: VideoPlacement, chunks_size: int) -> VideoPlacement:
    """LeRobot's update_chunk_file_indices: the next file, or the first of the next chunk."""
    if placement.file == chunks_size - 1:
        return VideoPlacement(chunk=placement.chunk + 1, file=0)
    return VideoPlacement(chunk=placement.chunk, file=placement.file + 1)


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


def _feature_info(plan: DatasetPlan, key: str, times: FrameTimes, result: JobResult) -> VideoFeatureInfo:
    """The camera's info as the dataset's LeRobot release writes it, with the settings `result`'s encode used."""
    video, info = times.video, plan.info
    depth = info.depth_quantization(key) if info.is_depth(key) else None
    release = plan.release.release if plan.release is not None else LeRobotRelease.v04
    return VideoFeatureInfo(
        height=video.height,
        width=video.width,
        codec=video.codec,
        pix_fmt=video.pix_fmt,
        is_depth_map=depth is not None,
        fps=info.fps,
        channels=channels_of(video.pix_fmt),
        release=release,
        encoder=encoder_record(result.command, depth),
    )


def metadata_moves(
    plan: DatasetPlan, placements: dict[tuple[int, str], VideoPlacement], feature_infos: dict[str, VideoFeatureInfo]
) -> list[Move]:
    """info.json and (v3.0) the episodes files, staged; the episodes files last: they make the videos count."""
    info = plan.info
    moves = []
    missing = {key: video for key, video in feature_infos.items() if info.feature_info(key) is None}
    record = (
        {"version": __version__, "videos": {key: {"options": plan.record} for key in feature_infos}}
        if plan.record
        else {}
    )
    text = info_document(info, missing, record)
    if text is not None:
        staged = plan.staging / "meta" / "info.json"
        staged.parent.mkdir(parents=True, exist_ok=True)
        staged.write_text(text, encoding="utf-8")
        moves.append(Move(source=staged, target=info.root / "meta" / "info.json"))
    if info.version is FormatVersion.v30:
        for meta_file in sorted({episode.meta_file for episode in plan.episodes if episode.meta_file is not None}):
            staged = plan.staging / meta_file.relative_to(info.root)
            staged.parent.mkdir(parents=True, exist_ok=True)
            if write_episodes_table(info, meta_file, placements, staged):
                moves.append(Move(source=staged, target=meta_file))
    return moves


def _delete_frames(pending: PendingVideo) -> str:
    """Remove exactly the frame files that were planned, if each is still the same file; then empty folders."""
    removed = kept = 0
    for frame in pending.frames:
        if frame.unchanged():
            frame.path.unlink()
            removed += 1
        elif frame.path.exists():
            kept += 1
    folder = pending.source.directory
    for directory in (folder, folder.parent, folder.parent.parent):
        with contextlib.suppress(OSError):
            directory.rmdir()  # only if empty, as LeRobot leaves images/ when it is done
    note = f"deleted its {removed} frame file(s)"
    return note + (f"; kept {kept} that changed after planning" if kept else "")


# --- the whole run ------------------------------------------------------------------------------------------


def finish_datasets(
    roots: list[Path],
    options: EncodeOptions,
    binary: FFmpegBinary,
    run: SourceRunner,
    *,
    delete_frames: bool = False,
) -> list[JobResult]:
    """Plan every dataset first (so a bad one stops the run before anything is written), encode, commit."""
    with contextlib.ExitStack() as stack:
        plans = []
        rebuilt: dict[Path, RebuiltRows] = {}
        for root in roots:
            stack.enter_context(dataset_opened(root, dry_run=options.dry_run))
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="encodectl-rows-")))
            rows = rows_to_rebuild(root, binary, scratch)  # refused here, before anything is written
            if rows is not None:
                rebuilt[root] = rows
        results: list[JobResult] = []
        for root in roots:
            rows = rebuilt.get(root)
            if rows is not None and options.dry_run:
                results += dry_run_results(rows)
                continue
            if rows is not None:
                commit_rows(rows)  # the dataset's own journaled commit: then it is a pending dataset like any
            plans.append(plan_dataset(root, options))
        for plan in plans:
            try:
                encoded = run(plan.sources, plan.options) if plan.pending else []
                if not plan.options.dry_run:
                    encoded = commit_dataset(plan, encoded, binary, delete_frames=delete_frames, nice=plan.options.nice)
            finally:
                if not plan.options.dry_run:
                    remove_staging(plan.info.root)
            rows = rebuilt.get(plan.info.root)
            for result in plan.reported + encoded:
                result.dataset = plan.info.root
                _add_notes(result, plan, rows)
                results.append(result)
        return results


def _add_notes(result: JobResult, plan: DatasetPlan, rows: RebuiltRows | None) -> None:
    """Say which LeRobot release the camera info was written for when the dataset could not tell, and which
    episodes' rows were rebuilt."""
    if result.status is JobStatus.done and plan.release is not None and plan.release.assumed:
        result.notes.append(plan.release.note)
    if rows is not None and any(result.episode.endswith(f"{index:06d}") for index in rows.episodes):
        result.notes.append(rows.note)
