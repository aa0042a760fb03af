"""`check --repair`: re-encode, from the frames still under images/, the videos a check found wrong.

Everything goes through the LeRobot commit that `encode ROOT` uses (lerobot/finish_dataset.py, lerobot/commit.py):
the dataset is held (lock, refused while another program has it open), new files are staged, verified as
LeRobot reads them, journaled and moved into place, the metadata last.

- Episodes the metadata gives no video (v3.0 rows without their columns) or whose v2.1 file is missing or
  cut off: what `encode ROOT` does, nothing more.
- v2.1, a file that is there but wrong: the episode is encoded again and its file replaced.
- v3.0, a file that is there (or missing) but wrong: the file is rewritten as a whole, every episode in it
  encoded again from its frames and joined in the same order, and the episodes' spans in the metadata
  rewritten; only when every episode of that file still has all its frames (LeRobot deletes them once a
  video is made): the episodes of a file are not cut out of it.

Then the dataset is checked again; what was done is in the result's `repaired`, what could not be done
stays among its problems.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from ..errors import EncodectlError
from ..job.source_runner import SourceRunner
from ..job.verify import read_frame_times
from ..lerobot.commit import FileState, Move, commit_moves, dataset_opened, remove_staging
from ..lerobot.finish_dataset import check_frames_as_planned, commit_dataset, metadata_moves
from ..lerobot.meta import DatasetEpisode, FormatVersion, VideoPlacement
from ..lerobot.place import StagedEpisode, TargetFile, build_target
from ..lerobot.plan import DatasetPlan, pending_video, plan_dataset
from ..models import EncodeOptions, FFmpegBinary, JobStatus, VerifyMode
from .dataset import LeRobotCheck, VideoFile, check_lerobot
from .models import PathCheck, ProblemKind

# What the commit of `encode ROOT` already makes: a video the metadata lacks, or a v2.1 file cut off.
_PENDING_KINDS = {ProblemKind.no_video}


def repair_lerobot(root: Path, binary: FFmpegBinary, mode: VerifyMode, run: SourceRunner) -> PathCheck:
    root = root.absolute()
    done: list[str] = []
    with dataset_opened(root):
        first = check_lerobot(root, binary, mode)
        if first.result.ok:
            return first.result
        if first.info.version is FormatVersion.v30:
            # The broken files first: the videos the metadata lacks are then joined onto whole files.
            for video in _files_to_rewrite(first):
                try:
                    done.append(_rewrite(root, video, binary, run))
                except EncodectlError as error:
                    done.append(f"{video.camera} {_relative(root, video.path)}: not rewritten: {error}")
                finally:
                    remove_staging(root)
        try:
            plan = plan_dataset(root, EncodeOptions())
            redo = _episodes_to_redo(first, plan) if first.info.version is FormatVersion.v21 else []
            for key, episode in redo:
                placement = episode.videos.pop(key, None)
                if placement is not None:  # the file check found wrong: the user asked for it to be replaced
                    path = plan.info.video_file(key, placement, episode.index)
                    plan.replaceable[path] = FileState.of(path)
                plan.pending.append(pending_video(plan, key, episode))
            if plan.pending:
                encoded = commit_dataset(plan, run(plan.sources, plan.options), binary, nice=plan.options.nice)
                done += [_said(result.camera, result.episode, result.status, result.reason) for result in encoded]
        finally:
            remove_staging(root)
    result = check_lerobot(root, binary, mode).result
    result.repaired = done
    return result


def _said(camera: str | None, episode: str, status: JobStatus, reason: str | None) -> str:
    if status is JobStatus.done:
        return f"{camera} {episode}: encoded again from its frames"
    return f"{camera} {episode}: not repaired ({status.value}: {reason})"


def _relative(root: Path, path: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _episodes_to_redo(checked: LeRobotCheck, plan: DatasetPlan) -> list[tuple[str, DatasetEpisode]]:
    """v2.1: camera-episodes whose file is there and whole but wrong, with all their frames on disk."""
    pending = {(item.key, item.episode.index) for item in plan.pending}
    by_index = {episode.index: episode for episode in plan.episodes}
    redo = []
    for problem in checked.result.problems:
        if not problem.repairable or problem.camera is None or problem.kind in _PENDING_KINDS:
            continue
        for index in problem.episodes:
            if (problem.camera, index) not in pending and index in by_index:
                pending.add((problem.camera, index))
                redo.append((problem.camera, by_index[index]))
    return redo


def _files_to_rewrite(checked: LeRobotCheck) -> list[VideoFile]:
    """v3.0 files with a problem, every episode of which still has all its frames."""
    wrong = {
        (problem.camera, problem.file)
        for problem in checked.result.problems
        if problem.kind not in _PENDING_KINDS and problem.file is not None
    }
    chosen = []
    for video in checked.files:
        if (video.camera, _relative(checked.info.root, video.path)) not in wrong:
            continue
        if _all_frames(checked, video):
            chosen.append(video)
    return chosen


def _all_frames(checked: LeRobotCheck, video: VideoFile) -> bool:
    from .confine import RootGuard
    from .dataset import frames_on_disk

    guard = RootGuard(checked.info.root)
    return all(frames_on_disk(checked.info, guard, video.camera, span.episode) == span.length for span in video.spans)


def _rewrite(root: Path, video: VideoFile, binary: FFmpegBinary, run: SourceRunner) -> str:
    """Encode every episode of one v3.0 file again, join them in their order, verify, commit."""
    plan = plan_dataset(root, EncodeOptions())
    by_index = {episode.index: episode for episode in plan.episodes}
    spans = sorted(video.spans, key=lambda span: span.from_s)
    pending = [pending_video(plan, video.camera, by_index[span.episode]) for span in spans]
    results = run([item.source for item in pending], plan.options)
    failed = [result for result in results if result.status is not JobStatus.done]
    if failed:
        return f"{video.camera} {_relative(root, video.path)}: not rewritten: {failed[0].episode}: {failed[0].reason}"
    placement = next(
        episode.videos[video.camera] for episode in plan.episodes if video.camera in episode.videos
        and video.path == plan.info.video_file(video.camera, episode.videos[video.camera], episode.index)
    )  # fmt: skip
    target = TargetFile(key=video.camera, placement=placement.model_copy(), path=video.path)
    end, end_s = Fraction(0), 0.0
    for item, result in zip(pending, results, strict=True):
        times = read_frame_times(binary, item.source.output)
        staged = StagedEpisode(pending=item, result=result, times=times, size=item.source.output.stat().st_size)
        # As LeRobot computes a span: from = the previous episode's to, to = from + this video's duration.
        staged.start, staged.from_s = end, end_s
        staged.to_s = end_s + float(times.seconds(times.end))
        end, end_s = end + times.seconds(times.end), staged.to_s
        target.episodes.append(staged)
    candidate, _ = build_target(plan, target, binary, plan.options.nice)
    for staged in target.episodes:  # the frames are still the ones encoded, or nothing is rewritten
        check_frames_as_planned(staged.pending)
    placements = {
        (staged.pending.episode.index, video.camera): VideoPlacement(
            chunk=placement.chunk, file=placement.file, from_s=staged.from_s, to_s=staged.to_s
        )
        for staged in target.episodes
    }
    moves = [Move(source=candidate, target=video.path), *metadata_moves(plan, placements, {})]
    commit_moves(root, moves, {**plan.files, video.path: FileState.of(video.path)})
    return (
        f"{video.camera} {_relative(root, video.path)}: rewritten from the frames of episodes "
        f"{', '.join(str(span.episode) for span in spans)}, verified as LeRobot reads it"
    )
