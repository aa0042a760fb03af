"""What a LeRobot dataset lacks, and the settings to make it with.

Every camera-episode the metadata has without a video becomes a job: its frames
(checked against the episode's length and the feature's shape) into a staged video.
Frames of episodes the metadata does not have are reported and left alone.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..errors import InputError, UsageError
from ..ffmpeg.encoders import LEROBOT_GOP
from ..frames.layout import EpisodeSource
from ..frames.sequence import is_frame_name
from ..job.ledger import state_dir
from ..job.planning import source_result
from ..models import (
    Codec,
    DepthMode,
    EncodeOptions,
    FailureKind,
    FileIdentity,
    JobResult,
    JobStatus,
    Profile,
    options_from,
)
from .commit import STAGING, FileState
from .confine import inside
from .episodes import read_episodes
from .meta import (
    EPISODES_DIR,
    INFO_PATH,
    LEGACY_EPISODES_PATH,
    DatasetEpisode,
    DatasetInfo,
    FormatVersion,
    VideoPlacement,
    read_info,
)
from .versions import ReleaseChoice, decide_release

# Options that choose an encoder or its settings: without any, a dataset keeps what it already uses.
ENCODER_OPTIONS = {"codec", "encoder", "quality", "preset", "device", "bitrate", "vendor", "gop", "pix_fmt", "profile"}
_EPISODE_DIR = re.compile(r"^episode[-_](\d+)$")


class FrameFile(BaseModel):
    """A frame file as it was when planned: a video is placed, and a file deleted, only while it is still this."""

    path: Path
    identity: FileIdentity  # of the file itself, or of what a link leads to
    link: Path | None = None  # a link's target as written: one pointed elsewhere meanwhile is another frame

    def unchanged(self) -> bool:
        try:
            link = self.path.readlink() if self.path.is_symlink() else None
        except OSError:
            return False
        return link == self.link and FileIdentity.of_path(self.path) == self.identity


class PendingVideo(BaseModel):
    """One camera-episode the dataset has no video for, and the frames that will make it."""

    key: str
    episode: DatasetEpisode
    source: EpisodeSource
    frames: list[FrameFile]


class DatasetPlan(BaseModel):
    info: DatasetInfo
    episodes: list[DatasetEpisode]
    options: EncodeOptions
    record: dict[str, str]  # encodectl options other than LeRobot's own, kept in info.json
    pending: list[PendingVideo]
    reported: list[JobResult]  # camera-episodes not encoded: done already, cut off, or without frames
    files: dict[Path, FileState | None] = {}  # the metadata files as read: a change before the commit stops it
    # Videos the user asked to have replaced (check --repair found them wrong), as they were found.
    replaceable: dict[Path, FileState | None] = {}
    release: ReleaseChoice | None = None  # the LeRobot release whose camera info is written (versions.py)

    @property
    def sources(self) -> list[EpisodeSource]:
        return [pending.source for pending in self.pending]

    @property
    def staging(self) -> Path:
        return state_dir(self.info.root) / STAGING


def dataset_options(info: DatasetInfo, options: EncodeOptions) -> tuple[EncodeOptions, dict[str, str]]:
    """The options for this dataset, and what to record of them in info.json (nothing for LeRobot's own).

    Without encoder options a dataset keeps what it uses (its codec and pixel format,
    or the settings an earlier encodectl run recorded), else LeRobot's defaults."""
    given = options.model_fields_set
    root = info.root
    if "output" in given and options.output is not None:
        raise UsageError(f"-o does not apply to a LeRobot dataset: its videos go where LeRobot reads them ({root})")
    if options.overwrite:
        raise UsageError(
            f"--overwrite does not apply to a LeRobot dataset ({root}): encodectl adds the videos it lacks and "
            "never rewrites those it has"
        )
    if "fps" in given and options.fps != info.fps:
        raise UsageError(f"--fps {options.fps} disagrees with the dataset's fps {info.fps} ({root}/meta/info.json)")
    _check_depth_cameras(info, options)
    colour_keys = [key for key in info.video_keys if not info.is_depth(key)]
    existing = next((v for v in (info.feature_info(key) for key in colour_keys) if v is not None), None)
    codec = _codec_of(existing.codec, root) if existing is not None else Codec.av1
    values: dict[str, Any] = {name: getattr(options, name) for name in given if name not in {"output", "overwrite"}}
    values["fps"] = info.fps
    explicit = given & ENCODER_OPTIONS
    if options.profile is Profile.lerobot:
        explicit.discard("profile")  # what a dataset gets anyway
    recorded = _recorded_encoder_options(info)
    record: dict[str, str] = {}
    if not explicit and recorded and "profile" not in given:
        values.update(recorded)
        record = {name: str(value) for name, value in recorded.items()}
    elif not explicit:
        values.update(profile=Profile.lerobot, codec=codec)
    else:
        if "codec" not in given and "encoder" not in given:
            values["codec"] = codec
        record = {name: str(getattr(options, name)) for name in sorted(given & ENCODER_OPTIONS)}
    values.setdefault("gop", LEROBOT_GOP)
    values.setdefault("pix_fmt", existing.pix_fmt if existing is not None else "yuv420p")
    settings = options_from(values)
    if existing is not None and (settings.codec.value, settings.pix_fmt) != (existing.codec, existing.pix_fmt):
        raise UsageError(
            f"the dataset's videos are {existing.codec} {existing.pix_fmt} ({root}/meta/info.json); "
            f"{settings.codec.value} {settings.pix_fmt} would mix two kinds in one dataset: drop --codec"
        )
    return settings, record


def _recorded_encoder_options(info: DatasetInfo) -> dict[str, Any]:
    """The encoder settings an earlier run recorded in info.json, and only those (the file may come from anyone:
    fps, dry_run or verify recorded there would change what this run does), each checked as an option would be."""
    recorded = info.recorded_options(info.video_keys[0]) if info.video_keys else {}
    unknown = sorted(set(recorded) - ENCODER_OPTIONS)
    if unknown:
        raise InputError(
            f"{info.root / INFO_PATH}: encodectl.videos records {', '.join(unknown)}, which are not encoder settings "
            "encodectl records; not touched"
        )
    try:
        options_from(recorded)
    except UsageError as error:
        message = f"{info.root / INFO_PATH}: the encoder settings recorded there are not valid: {error}"
        raise InputError(message) from None
    return recorded


# LeRobot 0.6's DepthEncoderConfig defaults: what encodectl writes for a depth camera.
LEROBOT_DEPTH_VIDEO = ("hevc", "gray12le")


def _check_depth_cameras(info: DatasetInfo, options: EncodeOptions) -> None:
    """A depth camera (is_depth_map in info.json) gets LeRobot's own depth encoding, the one form LeRobot's
    loader decodes (it reads gray12le codes and dequantizes them); never another, asked for or not."""
    depth_keys = [key for key in info.video_keys if info.is_depth(key)]
    if depth_keys and "depth" in options.model_fields_set and options.depth is not DepthMode.lerobot:
        raise UsageError(
            f"--depth {options.depth.value} does not apply to the depth cameras of {info.root} "
            f"({', '.join(depth_keys)}): LeRobot reads their videos as its 12-bit codes; drop --depth"
        )
    for key in depth_keys:
        video = info.feature_info(key)
        if video is not None and (video.codec, video.pix_fmt) != LEROBOT_DEPTH_VIDEO:
            raise UsageError(
                f"the dataset's {key} depth videos are {video.codec} {video.pix_fmt} ({info.root / INFO_PATH}); "
                f"encodectl writes LeRobot's default depth encoding ({' '.join(LEROBOT_DEPTH_VIDEO)}) only"
            )


def _codec_of(name: str, root: Path) -> Codec:
    try:
        return Codec(name)
    except ValueError:
        raise UsageError(
            f"the dataset's videos are {name} ({root}/meta/info.json), which encodectl does not write"
        ) from None


def plan_dataset(root: Path, options: EncodeOptions) -> DatasetPlan:
    """Every camera-episode the metadata has without its video, with the frames to encode it from."""
    metadata = [root / INFO_PATH, root / LEGACY_EPISODES_PATH, *sorted((root / EPISODES_DIR).glob("*/*.parquet"))]
    files = {path: FileState.of(path) for path in metadata}  # before reading: a change while reading shows too
    info = read_info(root)
    episodes = read_episodes(info)
    settings, record = dataset_options(info, options)
    plan = DatasetPlan(
        info=info, episodes=episodes, options=settings, record=record, pending=[], reported=[], files=files,
        release=decide_release(info.document, options.lerobot_version),
    )  # fmt: skip
    for episode in episodes:
        for key in info.video_keys:
            source = episode_source(plan, key, episode)
            frames_dir = source.directory
            if key in episode.videos:
                if frames_dir.is_dir():
                    placed = episode.videos[key]
                    plan.reported.append(
                        source_result(
                            source.model_copy(update={"output": info.video_file(key, placed, episode.index)}),
                            JobStatus.skipped,
                            reason="already in the dataset (its frames are left alone)",
                        )
                    )
                continue
            if not frames_dir.is_dir():
                plan.reported.append(
                    source_result(
                        source,
                        JobStatus.failed,
                        failure=FailureKind.input,
                        reason=f"episode {episode.index} has no video and no frames at {frames_dir}",
                    )
                )
                continue
            plan.pending.append(pending_video(plan, key, episode))
    plan.reported += _cut_off_episodes(info, {episode.index for episode in episodes})
    _check_video_paths(info, episodes)
    return plan


def episode_source(plan: DatasetPlan, key: str, episode: DatasetEpisode) -> EpisodeSource:
    """A camera-episode's frames and the staged video they become, with what the metadata says they must be."""
    info = plan.info
    frames_dir = info.frames_dir(key, episode.index)
    return EpisodeSource(
        directory=frames_dir,
        output=plan.staging / key / f"episode-{episode.index:06d}.mp4",
        episode=frames_dir.name,
        camera=key,
        expected_frames=episode.length,
        expected_size=info.frame_shape(key),
        expected_depth=info.is_depth(key),
        depth_quantization=info.depth_quantization(key) if info.is_depth(key) else None,
    )


def pending_video(plan: DatasetPlan, key: str, episode: DatasetEpisode) -> PendingVideo:
    """A camera-episode to encode, with its frame files as they are now (see FrameFile)."""
    source = episode_source(plan, key, episode)
    return PendingVideo(key=key, episode=episode, source=source, frames=_frame_files(plan.info, source.directory))


def _check_video_paths(info: DatasetInfo, episodes: list[DatasetEpisode]) -> None:
    """Every video path the metadata leads to, and the first new one of each camera, inside the dataset
    (DatasetInfo.video_file refuses any other): a dataset that leads out is refused before any encode."""
    for key in info.video_keys:
        placements = [(episode.videos[key], episode.index) for episode in episodes if key in episode.videos]
        if info.version is FormatVersion.v21:
            placements += [(VideoPlacement(chunk=e.index // info.chunks_size, file=0), e.index) for e in episodes]
        else:
            placements.append((VideoPlacement(chunk=0, file=0), 0))
        for placement, index in placements:
            info.video_file(key, placement, index)


def _frame_files(info: DatasetInfo, directory: Path) -> list[FrameFile]:
    """The episode's frame files as planned (numbered images only: a note or a .DS_Store beside them is not a
    frame, and is never deleted). A frame that is a link out of the dataset is refused: it would put a picture
    from elsewhere on this disk into a video of a dataset that may be shared."""
    return [frame_file(info, Path(path)) for path in sorted(frame_paths(directory))]


def frame_paths(directory: Path) -> list[str]:
    """The numbered images in `directory`, files and links alike, by path."""
    try:
        with os.scandir(directory) as entries:
            return [entry.path for entry in entries if is_frame_name(entry.name) and not entry.is_dir()]
    except OSError:
        return []


def frame_file(info: DatasetInfo, path: Path) -> FrameFile:
    if not path.is_symlink():
        return FrameFile(path=path, identity=FileIdentity.of(path.stat()))
    inside(info.root, path.relative_to(info.root), "a frame")
    identity = FileIdentity.of_path(path)
    if identity is None:
        raise InputError(f"{path} is a broken link, not a frame")
    return FrameFile(path=path, identity=identity, link=path.readlink())


def _cut_off_episodes(info: DatasetInfo, known: set[int]) -> list[JobResult]:
    """Frames of episodes the metadata does not have (a recording cut off mid-episode): reported, left alone."""
    reported = []
    for key in info.video_keys:
        folder = info.camera_frames_dir(key)
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            match = _EPISODE_DIR.match(entry.name)
            if entry.is_dir() and match and int(match.group(1)) not in known:
                source = EpisodeSource(directory=entry, output=entry, episode=entry.name, camera=key)
                reason = (
                    f"episode {int(match.group(1))} is not in the dataset's metadata (a recording cut off "
                    "mid-episode?): its frames are left alone"
                )
                reported.append(source_result(source, JobStatus.skipped, reason=reason))
    return reported
