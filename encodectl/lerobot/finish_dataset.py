"""Finishing a LeRobot dataset whose recording stopped before its videos were encoded: `encode ROOT`.

Every dataset is planned first (plan.py; its missing episode rows rebuilt, heal.py), so a
bad one stops the run before anything is written. Each pending camera-episode is then
encoded alone and verified (the usual path, into a staging folder) and placed where
LeRobot reads it (place.py: v2.1, one file per episode; v3.0, appended by stream copy to
the camera's current ``file-XXX.mp4``, its span recorded in the episode's metadata row),
every new file verified as LeRobot reads it before anything in the dataset changes. Then
one commit moves the new videos, ``info.json`` and the episodes files into place, the
episodes last: a journal written before the first move lets the next run complete a
commit that was cut off, and a dataset read meanwhile is the one from before (the
episodes files are what make an episode's video exist).
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from ..errors import EncodectlError, InputError, VerificationError
from ..job.source_runner import SourceRunner
from ..job.verify import FrameTimes, read_frame_times
from ..models import EncodeOptions, FailureKind, FFmpegBinary, JobResult, JobStatus, LeRobotRelease
from ..version import __version__
from .commit import FileState, Move, commit_moves, dataset_opened, remove_staging
from .episodes import write_episodes_table
from .heal import RebuiltRows, commit_rows, dry_run_results, rows_to_rebuild
from .meta import FormatVersion, VideoFeatureInfo, VideoPlacement, channels_of, info_document
from .place import StagedEpisode, TargetFile, build_target, place_episodes
from .plan import DatasetPlan, PendingVideo, frame_paths, plan_dataset
from .versions import encoder_record

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
                targets += place_episodes(plan, key, episodes, binary)
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
