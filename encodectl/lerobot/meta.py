"""A LeRobot dataset's metadata, as LeRobot itself reads and writes it (formats v3.0 and v2.1).

Here: ``meta/info.json`` (version, fps, the video features, the path templates and file
limits), read and checked, and written again (always into a staging folder first) with
each video feature's ``info``; and the models the rest of the package shares: the
dataset's info, an episode and where its video sits. The episode rows themselves are
episodes.py.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import InputError
from ..models import DepthQuantization, LeRobotRelease, one_line
from .confine import check_camera_key, check_path_template, inside, regular_file
from .versions import EncoderRecord, StreamInfo, camera_info

INFO_PATH = Path("meta") / "info.json"
EPISODES_DIR = Path("meta") / "episodes"
LEGACY_EPISODES_PATH = Path("meta") / "episodes.jsonl"
RECORD_KEY = "encodectl"  # a top-level key of info.json, for settings other than LeRobot's own
VIDEO_PATH_FIELDS = {
    "v3.0": ("video_key", "chunk_index", "file_index"),
    "v2.1": ("episode_chunk", "video_key", "episode_index"),
}
READ_BACK = ("video.height", "video.width", "video.codec", "video.pix_fmt", "video.fps", "video.channels", "has_audio")
MAX_FPS = 1000  # as --fps: a rate past it is no camera's
MAX_CHUNKS_SIZE = 10**6
TOLERANCE_S = 1e-4  # LeRobot's default tolerance_s: a decoded frame further from its timestamp is refused


class FormatVersion(StrEnum):
    v30 = "v3.0"
    v21 = "v2.1"


class VideoPlacement(BaseModel):
    """Where one camera-episode sits: its file, and (v3.0) its span in that file, in seconds."""

    model_config = ConfigDict(strict=True)  # read from untrusted metadata: "0.1" is not a time, True not an index

    chunk: int
    file: int
    from_s: float = 0.0
    to_s: float = 0.0


def next_file(chunk: int, file: int, chunks_size: int) -> tuple[int, int]:
    """LeRobot's update_chunk_file_indices: the (chunk, file) after this one, the first of the next chunk
    once a chunk holds `chunks_size` files."""
    return (chunk + 1, 0) if file == chunks_size - 1 else (chunk, file + 1)


class DatasetEpisode(BaseModel):
    """One episode of the metadata, and the videos it already has (by video key)."""

    model_config = ConfigDict(strict=True)

    index: int
    length: int
    videos: dict[str, VideoPlacement] = {}
    meta_file: Path | None = None  # v3.0: the episodes parquet file that holds its row
    data_range: tuple[int, int] | None = None  # v3.0: dataset_from_index, dataset_to_index


class VideoFeatureInfo(BaseModel):
    """``features[key]["info"]``: what LeRobot's get_video_info() reads of a video, and how it was encoded."""

    height: int
    width: int
    codec: str
    pix_fmt: str
    is_depth_map: bool = False
    fps: int
    channels: int
    has_audio: bool = False
    release: LeRobotRelease = LeRobotRelease.v04  # whose form to write it in (versions.py)
    encoder: EncoderRecord = EncoderRecord()  # recorded by LeRobot 0.6 only

    def as_lerobot(self, existing: dict[str, Any] | None = None) -> dict[str, Any]:
        stream = StreamInfo(
            height=self.height, width=self.width, codec=self.codec, pix_fmt=self.pix_fmt, fps=self.fps,
            channels=self.channels, has_audio=self.has_audio,
        )  # fmt: skip
        return camera_info(self.release, stream, existing or {}, self.encoder, self.is_depth_map)


class DatasetInfo(BaseModel):
    """What encodectl needs of ``meta/info.json``; `document` is the whole file, kept to rewrite it."""

    root: Path
    version: FormatVersion
    fps: int
    video_keys: list[str]
    video_path: str
    chunks_size: int
    video_files_size_in_mb: float = 200.0  # v3.0 only
    document: dict[str, Any]

    def feature_info(self, key: str) -> VideoFeatureInfo | None:
        info = self.document["features"][key].get("info")
        if not isinstance(info, dict) or "video.codec" not in info:
            return None
        try:
            fields = {name.removeprefix("video."): info[name] for name in READ_BACK if name in info}
            return VideoFeatureInfo(**fields, is_depth_map=self.is_depth(key))
        except ValueError:
            return None

    def is_depth(self, key: str) -> bool:
        """LeRobot 0.6's is_depth_map(): the canonical info["is_depth_map"], or the legacy "video.is_depth_map"
        in info or in a separate "video_info" (lerobot/configs/video.py)."""
        feature = self.document["features"][key]
        info, legacy = feature.get("info"), feature.get("video_info")
        info = info if isinstance(info, dict) else {}
        legacy = legacy if isinstance(legacy, dict) else {}
        return bool(info.get("is_depth_map") or info.get("video.is_depth_map") or legacy.get("video.is_depth_map"))

    def depth_quantization(self, key: str) -> DepthQuantization:
        """How LeRobot quantizes this depth camera: the video.depth_min / depth_max / shift / use_log its
        info.json records (written with the first episode's video), else LeRobot's defaults, as its reader
        (DepthEncoderConfig.from_video_info) takes them."""
        info = self.document["features"][key].get("info")
        info = info if isinstance(info, dict) else {}
        recorded = {name: info[f"video.{name}"] for name in ("depth_min", "depth_max", "shift", "use_log")
                    if info.get(f"video.{name}") is not None}  # fmt: skip
        try:
            return DepthQuantization(**recorded, recorded=bool(recorded))
        except ValidationError:
            raise InputError(
                f"{self.root / INFO_PATH}: {key}'s depth quantization ({recorded}) is not LeRobot's numbers"
            ) from None

    def frame_shape(self, key: str) -> tuple[int, int] | None:
        """(width, height) of a video feature, from its shape and names."""
        feature = self.document["features"][key]
        names, shape = feature.get("names") or [], feature.get("shape") or []
        if not isinstance(names, list) or not isinstance(shape, list):
            raise InputError(f"{self.root / INFO_PATH}: {key}'s names and shape are not lists, as LeRobot writes them")
        if "height" in names and "width" in names and len(shape) == len(names):
            width, height = shape[names.index("width")], shape[names.index("height")]
            if not all(
                isinstance(side, int) and not isinstance(side, bool) and 0 < side < 65536 for side in (width, height)
            ):
                raise InputError(f"{self.root / INFO_PATH}: {key}'s shape {shape} is not a frame size")
            return width, height
        return None

    def frames_dir(self, key: str, episode: int) -> Path:
        """Where LeRobot's recorder leaves an episode's frames until its video is encoded."""
        name = f"episode-{episode:06d}" if self.version is FormatVersion.v30 else f"episode_{episode:06d}"
        return inside(self.root, Path("images") / key / name, f"the frames of {key}")

    def camera_frames_dir(self, key: str) -> Path:
        return inside(self.root, Path("images") / key, f"the frames of {key}")

    def video_file(self, key: str, placement: VideoPlacement, episode: int) -> Path:
        relative = self.video_path.format(
            video_key=key,
            chunk_index=placement.chunk,
            file_index=placement.file,
            episode_chunk=placement.chunk,
            episode_index=episode,
        )
        return inside(self.root, relative, f"video_path of {key}")

    def recorded_options(self, key: str) -> dict[str, Any]:
        """The encodectl options a previous run recorded for this video key (none for LeRobot's own)."""
        record = self.document.get(RECORD_KEY)
        if not isinstance(record, dict):
            return {}
        videos = record.get("videos")
        video = videos.get(key) if isinstance(videos, dict) else None
        options = video.get("options") if isinstance(video, dict) else None
        return dict(options) if isinstance(options, dict) else {}


def is_lerobot_dataset(path: Path) -> bool:
    """A folder with meta/info.json: of any kind (a FIFO or a link there is refused when read, not taken for
    another layout)."""
    info = path / INFO_PATH
    return info.is_symlink() or (info.exists() and not info.is_dir())


def dataset_containing(path: Path) -> Path | None:
    """The LeRobot dataset that `path` lies inside (not at its root), if any."""
    for parent in path.absolute().parents:
        if is_lerobot_dataset(parent):
            return parent
    return None


def read_info(root: Path) -> DatasetInfo:
    """meta/info.json, checked; a one-line InputError names what is wrong."""
    path = regular_file(inside(root, INFO_PATH, "meta/info.json"))
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path} is not valid JSON ({error}); is the dataset still being written?") from error
    if not isinstance(document, dict):
        raise InputError(f"{path} is not a LeRobot info.json (not a JSON object)")
    version = document.get("codebase_version")
    if version not in {v.value for v in FormatVersion}:
        raise InputError(
            f"{path}: LeRobot dataset format {version!r} is not supported; encodectl reads v3.0 and v2.1 "
            "(convert older datasets with LeRobot's own conversion script)"
        )
    features = document.get("features")
    if not isinstance(features, dict) or not all(isinstance(feature, dict) for feature in features.values()):
        raise InputError(f"{path} has no 'features' (an object of objects)")
    fps, chunks = document.get("fps"), document.get("chunks_size", 1000)
    if not isinstance(fps, int) or isinstance(fps, bool) or not 0 < fps <= MAX_FPS:
        raise InputError(
            f"{path}: fps {fps!r} is not a whole number of frames per second from 1 to {MAX_FPS}, as LeRobot writes it"
        )
    if not isinstance(chunks, int) or isinstance(chunks, bool) or not 0 < chunks <= MAX_CHUNKS_SIZE:
        raise InputError(f"{path}: chunks_size {chunks!r} is not a whole number from 1 to {MAX_CHUNKS_SIZE}")
    video_keys = [key for key, feature in features.items() if feature.get("dtype") == "video"]
    for key in video_keys:
        check_camera_key(key, path)
    video_path = document.get("video_path") or ""
    needed = VIDEO_PATH_FIELDS[FormatVersion(version)]
    if video_keys and not isinstance(video_path, str):
        raise InputError(f"{path}: video_path {video_path!r} is not a path template")
    if video_keys and not all("{" + name in video_path for name in needed):
        raise InputError(f"{path}: video_path {video_path!r} lacks {', '.join('{' + n + '}' for n in needed)}")
    if video_keys:
        check_path_template(video_path, VIDEO_PATH_FIELDS[FormatVersion(version)], path)
    size = document.get("video_files_size_in_mb", 200.0)
    if isinstance(size, bool) or not isinstance(size, int | float) or not 0 < size < 10**7:
        raise InputError(f"{path}: video_files_size_in_mb {size!r} is not a size in MB")
    try:
        return DatasetInfo(
            root=root,
            version=FormatVersion(version),
            fps=fps,
            video_keys=video_keys,
            video_path=video_path,
            chunks_size=chunks,
            video_files_size_in_mb=document.get("video_files_size_in_mb", 200.0),
            document=document,
        )
    except ValidationError as error:
        raise InputError(f"{path} is not a LeRobot info.json: {one_line(error, as_option=False)}") from None


def info_document(info: DatasetInfo, videos: dict[str, VideoFeatureInfo], record: dict[str, Any]) -> str | None:
    """info.json with each video feature's info filled in (where missing) and encodectl's record; None if unchanged.

    Written as LeRobot writes it (4-space indent, UTF-8 as is), so a dataset finished by
    encodectl and one finished by LeRobot carry the same info.json."""
    document = json.loads(json.dumps(info.document))
    for key, video in videos.items():
        feature = document["features"][key]
        existing = feature.get("info") if isinstance(feature.get("info"), dict) else {}
        if "video.codec" not in existing:
            # As LeRobot's update_video_info merges: what the recorder put there (LeRobot 0.6: is_depth_map,
            # depth_unit) stays, in its place (versions.py).
            feature["info"] = video.as_lerobot(existing)
    if record:
        recorded = document.setdefault(RECORD_KEY, {})
        recorded.update({name: value for name, value in record.items() if name != "videos"})
        recorded.setdefault("videos", {}).update(record.get("videos", {}))
    if document == info.document:
        return None
    return json.dumps(document, indent=4, ensure_ascii=False)


def channels_of(pix_fmt: str) -> int:
    """As LeRobot counts them (get_video_pixel_channels)."""
    if any(word in pix_fmt for word in ("gray", "depth", "monochrome")):
        return 1
    if "rgba" in pix_fmt or "yuva" in pix_fmt:
        return 4
    return 3
