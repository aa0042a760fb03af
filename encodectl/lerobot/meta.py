"""A LeRobot dataset's metadata, as LeRobot itself reads and writes it (formats v3.0 and v2.1).

What is read: ``meta/info.json`` (version, fps, the video features, the path templates
and file limits) and the episodes (v3.0: ``meta/episodes/chunk-*/file-*.parquet``, which
needs pyarrow; v2.1: ``meta/episodes.jsonl``). What is written, always into a staging
folder first: the episodes files with the ``videos/<key>/...`` columns filled in, in the
column order and types LeRobot uses, and ``info.json`` with each video feature's
``info``. Nothing else of a dataset is ever written.
"""

from __future__ import annotations

import itertools
import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import InputError, UsageError
from ..job.verify import mp4_complete
from ..models import DepthQuantization, LeRobotRelease, one_line
from .confine import check_camera_key, check_index, check_path_template, inside, regular_file
from .versions import EncoderRecord, StreamInfo, camera_info

INFO_PATH = Path("meta") / "info.json"
EPISODES_DIR = Path("meta") / "episodes"
LEGACY_EPISODES_PATH = Path("meta") / "episodes.jsonl"
VIDEO_COLUMNS = ("chunk_index", "file_index", "from_timestamp", "to_timestamp")
RECORD_KEY = "encodectl"  # a top-level key of info.json, for settings other than LeRobot's own
VIDEO_PATH_FIELDS = {
    "v3.0": ("video_key", "chunk_index", "file_index"),
    "v2.1": ("episode_chunk", "video_key", "episode_index"),
}
READ_BACK = ("video.height", "video.width", "video.codec", "video.pix_fmt", "video.fps", "video.channels", "has_audio")
PYARROW_HINT = "pip install 'encodectl[lerobot]'"
MAX_FPS = 1000  # as --fps: a rate past it is no camera's
MAX_CHUNKS_SIZE = 10**6


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


def read_episodes(info: DatasetInfo) -> list[DatasetEpisode]:
    """Every episode of the metadata, in index order, with the videos it already has; InputError if the
    rows contradict each other (nothing is written from metadata that does)."""
    episodes = _read_v30_episodes(info) if info.version is FormatVersion.v30 else _read_v21_episodes(info)
    episodes.sort(key=lambda episode: episode.index)
    check_consistent(info, episodes)
    return episodes


def check_consistent(info: DatasetInfo, episodes: list[DatasetEpisode]) -> None:
    """One row per episode, lengths and data ranges that fit, video spans that do not overlap."""
    where = info.root / (EPISODES_DIR if info.version is FormatVersion.v30 else LEGACY_EPISODES_PATH)
    seen: dict[int, DatasetEpisode] = {}
    for episode in episodes:
        check_index(episode.index, "episode_index", episode.meta_file or where)
        if episode.index in seen:
            files = sorted({str(e.meta_file or where) for e in (seen[episode.index], episode)})
            raise InputError(
                f"{' and '.join(files)}: episode_index {episode.index} has two rows; the metadata contradicts "
                "itself, nothing was changed"
            )
        seen[episode.index] = episode
        if not 0 < episode.length < 10**9:
            raise InputError(f"{episode.meta_file or where}: episode {episode.index} has length {episode.length}")
    ranged = [episode for episode in episodes if episode.data_range is not None]
    previous: DatasetEpisode | None = None
    for episode in ranged:
        start, end = episode.data_range or (0, 0)
        if end - start != episode.length:
            raise InputError(
                f"{episode.meta_file}: episode {episode.index} spans data rows {start}-{end} ({end - start} frames) "
                f"but its length is {episode.length}; nothing was changed"
            )
        follows = previous is not None and previous.index == episode.index - 1  # rows not yet written leave a gap
        if follows and previous is not None and previous.data_range is not None and start != previous.data_range[1]:
            raise InputError(
                f"{episode.meta_file}: episode {episode.index} starts at data row {start}, but episode "
                f"{previous.index} ends at row {previous.data_range[1]}: the data ranges are not contiguous; "
                "nothing was changed"
            )
        previous = episode
    if info.version is FormatVersion.v30:  # v2.1 has a file per episode, no spans
        for key in info.video_keys:
            _check_spans(info, key, episodes, where)


def _check_spans(info: DatasetInfo, key: str, episodes: list[DatasetEpisode], where: Path) -> None:
    """Two episodes in one file at overlapping times would read each other's pictures."""
    by_file: dict[tuple[int, int], list[tuple[float, float, int]]] = {}
    for episode in episodes:
        placement = episode.videos.get(key)
        if placement is None:
            continue
        source = episode.meta_file or where
        check_index(placement.chunk, f"episode {episode.index}'s {key} chunk_index", source)
        check_index(placement.file, f"episode {episode.index}'s {key} file_index", source)
        if not (math.isfinite(placement.from_s) and math.isfinite(placement.to_s)) or not (
            0 <= placement.from_s < placement.to_s
        ):
            raise InputError(
                f"{source}: episode {episode.index}'s {key} span {placement.from_s}-{placement.to_s} s is not a "
                "span of time"
            )
        by_file.setdefault((placement.chunk, placement.file), []).append(
            (placement.from_s, placement.to_s, episode.index)
        )
    for (chunk, file), spans in by_file.items():
        spans.sort()
        for (_, end, first), (start, _, second) in itertools.pairwise(spans):
            if start < end - 1e-6:
                raise InputError(
                    f"{where}: episodes {first} and {second} overlap in {key}'s chunk {chunk} file {file} "
                    f"({start} s < {end} s): one would read the other's pictures; nothing was changed"
                )


def _read_v21_episodes(info: DatasetInfo) -> list[DatasetEpisode]:
    path = regular_file(inside(info.root, LEGACY_EPISODES_PATH, "meta/episodes.jsonl"))
    episodes = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            episode = DatasetEpisode(index=row["episode_index"], length=row["length"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise InputError(f"{path} line {number} is not an episode record ({error})") from None
        for key in info.video_keys:
            placement = VideoPlacement(chunk=episode.index // info.chunks_size, file=0)
            # LeRobot 0.3 writes a video straight to its final name: one it was killed writing is not whole.
            if mp4_complete(info.video_file(key, placement, episode.index)):
                episode.videos[key] = placement
        episodes.append(episode)
    return episodes


def pyarrow_modules() -> tuple[Any, Any]:
    """(pyarrow, pyarrow.parquet), or a one-line UsageError saying how to get them."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise UsageError(
            f"LeRobot v3.0 datasets keep their episodes in parquet, which needs pyarrow: {PYARROW_HINT}"
        ) from None
    return pyarrow, pyarrow.parquet


def episodes_files(info: DatasetInfo) -> list[Path]:
    folder = inside(info.root, EPISODES_DIR, "meta/episodes")
    return [inside(info.root, path.relative_to(info.root), "an episodes file")
            for path in sorted(folder.glob("chunk-*/file-*.parquet"))]  # fmt: skip


def read_episodes_table(path: Path) -> Any:
    """One episodes parquet file as a pyarrow Table; a file without its footer is a LeRobot still writing it."""
    pyarrow, parquet = pyarrow_modules()
    try:
        return parquet.read_table(path)
    except (OSError, pyarrow.ArrowException) as error:
        raise InputError(
            f"{path} does not read cleanly ({str(error).splitlines()[0]}): LeRobot keeps it open without a footer "
            "until it stops recording; encodectl changes nothing in a dataset that is being written"
        ) from None


def _read_v30_episodes(info: DatasetInfo) -> list[DatasetEpisode]:
    files = episodes_files(info)
    if not files:
        raise InputError(f"{info.root / EPISODES_DIR} holds no episodes (chunk-XXX/file-XXX.parquet)")
    episodes = []
    for path in files:
        table = read_episodes_table(path)
        missing = {"episode_index", "length"} - set(table.column_names)
        if missing:
            raise InputError(f"{path} has no {', '.join(sorted(missing))} column")
        columns = table.to_pydict()
        absent = [None] * table.num_rows
        starts, ends = columns.get("dataset_from_index", absent), columns.get("dataset_to_index", absent)
        for row in range(table.num_rows):
            index, length = columns["episode_index"][row], columns["length"][row]
            try:
                start, end = starts[row], ends[row]
                data_range = (start, end) if start is not None and end is not None else None
                episode = DatasetEpisode(index=index, length=length, meta_file=path, data_range=data_range)
                for key in info.video_keys:
                    values = [columns.get(f"videos/{key}/{name}", absent)[row] for name in VIDEO_COLUMNS]
                    if all(value is not None for value in values):
                        chunk, file, start_s, end_s = values
                        episode.videos[key] = VideoPlacement(chunk=chunk, file=file, from_s=start_s, to_s=end_s)
            except ValidationError as error:
                raise InputError(
                    f"{path} row {row} (episode_index {index!r}, length {length!r}) is not an episode record: "
                    f"{one_line(error, as_option=False)}"
                ) from None
            episodes.append(episode)
    return episodes


def write_episodes_table(
    info: DatasetInfo, path: Path, placements: dict[tuple[int, str], VideoPlacement], target: Path
) -> bool:
    """Write `path` (an episodes file) to `target` with the given placements filled in; False if none apply.

    Columns LeRobot writes for videos go where its own writer puts them (after
    dataset_to_index, camera by camera); every other column is kept as it was.
    """
    pyarrow, parquet = pyarrow_modules()
    table = read_episodes_table(path)
    indices = table.column("episode_index").to_pylist()
    if not any((index, key) in placements for index in indices for key in info.video_keys):
        return False
    types = {"chunk_index": pyarrow.int64(), "file_index": pyarrow.int64()}
    new_columns: dict[str, Any] = {}
    for key in info.video_keys:
        for name in VIDEO_COLUMNS:
            column = f"videos/{key}/{name}"
            values = table.column(column).to_pylist() if column in table.column_names else [None] * len(indices)
            for row, index in enumerate(indices):
                placement = placements.get((index, key))
                if placement is not None:
                    values[row] = {
                        "chunk_index": placement.chunk,
                        "file_index": placement.file,
                        "from_timestamp": placement.from_s,
                        "to_timestamp": placement.to_s,
                    }[name]
            new_columns[column] = pyarrow.array(values, type=types.get(name, pyarrow.float64()))
    names = [name for name in table.column_names if name not in new_columns]
    position = names.index("dataset_to_index") + 1 if "dataset_to_index" in names else len(names)
    ordered = [*names[:position], *new_columns, *names[position:]]
    arrays = [new_columns[name] if name in new_columns else table.column(name) for name in ordered]
    # pandas' and datasets' own descriptions of the columns (LeRobot's batch path writes with pandas) would
    # leave the new columns out: drop them, as a file LeRobot writes with pyarrow has none.
    metadata = {k: v for k, v in (table.schema.metadata or {}).items() if k not in (b"pandas", b"huggingface")}
    result = pyarrow.Table.from_arrays(arrays, names=ordered, metadata=metadata or None)
    parquet.write_table(result, target, compression="snappy", use_dictionary=True)
    return True


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
