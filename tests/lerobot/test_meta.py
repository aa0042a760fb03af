"""encodectl.lerobot.meta: a dataset's metadata as LeRobot writes it, and every refusal of metadata that lies.

No ffmpeg: info.json and the episodes files (jsonl, or parquet through pyarrow) are written here as LeRobot
writes them; each refusal is checked word for word, since the message is what the user acts on.
"""

from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path
from typing import Any

import pyarrow
import pyarrow.parquet as parquet
import pytest

from encodectl.errors import InputError
from encodectl.lerobot import episodes as rows_module
from encodectl.lerobot import meta
from encodectl.lerobot.meta import DatasetEpisode, FormatVersion, VideoFeatureInfo, VideoPlacement
from encodectl.models import LeRobotRelease
from tests.conftest import BEFORE_FFMPEG

pytestmark = BEFORE_FFMPEG

TOP = "observation.images.top"
V30_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
V21_PATH = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"


def info_json(version: str = "v3.0", **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "codebase_version": version,
        "fps": 30,
        "chunks_size": 1000,
        "video_path": V30_PATH if version == "v3.0" else V21_PATH,
        "features": {
            TOP: {"dtype": "video", "shape": [48, 64, 3], "names": ["height", "width", "channels"]},
            "action": {"dtype": "float32", "shape": [2]},
        },
    }
    document.update(changes)
    return {name: value for name, value in document.items() if value is not None}


def dataset(root: Path, document: Any) -> Path:
    (root / "meta").mkdir(parents=True, exist_ok=True)
    text = document if isinstance(document, str) else json.dumps(document)
    (root / "meta" / "info.json").write_text(text)
    return root


def refusal_of_info(root: Path, document: Any) -> str:
    dataset(root, document)
    with pytest.raises(InputError) as caught:
        meta.read_info(root)
    return str(caught.value).replace(str(root / "meta" / "info.json"), "INFO")


def test_read_info(tmp_path: Path) -> None:
    info = meta.read_info(dataset(tmp_path, info_json(video_files_size_in_mb=100)))
    assert (info.version, info.fps, info.video_keys, info.video_path) == (FormatVersion.v30, 30, [TOP], V30_PATH)
    assert (info.chunks_size, info.video_files_size_in_mb, info.root) == (1000, 100, tmp_path)
    assert info.document == info_json(video_files_size_in_mb=100)
    defaults = meta.read_info(dataset(tmp_path, info_json("v2.1", chunks_size=None)))
    assert (defaults.version, defaults.chunks_size, defaults.video_files_size_in_mb) == (FormatVersion.v21, 1000, 200)
    no_video = info_json(features={"action": {"dtype": "float32"}}, video_path=None)
    assert meta.read_info(dataset(tmp_path, no_video)).video_keys == []
    edges = meta.read_info(dataset(tmp_path, info_json(fps=1000, chunks_size=10**6)))
    assert (edges.fps, edges.chunks_size) == (1000, 10**6)
    assert meta.read_info(dataset(tmp_path, info_json(fps=1, chunks_size=1))).fps == 1


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("[1, 2]", "INFO is not a LeRobot info.json (not a JSON object)"),
        (info_json("v2.0"), "INFO: LeRobot dataset format 'v2.0' is not supported; encodectl reads v3.0 and v2.1 "
         "(convert older datasets with LeRobot's own conversion script)"),
        (info_json(codebase_version=None), "INFO: LeRobot dataset format None is not supported; encodectl reads "
         "v3.0 and v2.1 (convert older datasets with LeRobot's own conversion script)"),
        (info_json(features=None), "INFO has no 'features' (an object of objects)"),
        (info_json(features=[]), "INFO has no 'features' (an object of objects)"),
        (info_json(features={"a": 1}), "INFO has no 'features' (an object of objects)"),
        (info_json(fps=0), "INFO: fps 0 is not a whole number of frames per second from 1 to 1000, as LeRobot "
         "writes it"),
        (info_json(fps=1001), "INFO: fps 1001 is not a whole number of frames per second from 1 to 1000, as LeRobot "
         "writes it"),
        (info_json(fps=29.97), "INFO: fps 29.97 is not a whole number of frames per second from 1 to 1000, as "
         "LeRobot writes it"),
        (info_json(fps=True), "INFO: fps True is not a whole number of frames per second from 1 to 1000, as LeRobot "
         "writes it"),
        (info_json(fps=None), "INFO: fps None is not a whole number of frames per second from 1 to 1000, as LeRobot "
         "writes it"),
        (info_json(chunks_size=0), "INFO: chunks_size 0 is not a whole number from 1 to 1000000"),
        (info_json(chunks_size=10**6 + 1), "INFO: chunks_size 1000001 is not a whole number from 1 to 1000000"),
        (info_json(chunks_size=True), "INFO: chunks_size True is not a whole number from 1 to 1000000"),
        (info_json(chunks_size="9"), "INFO: chunks_size '9' is not a whole number from 1 to 1000000"),
        (info_json(video_path=7), "INFO: video_path 7 is not a path template"),
        (info_json(video_path="videos/{video_key}/file-{file_index:03d}.mp4"),
         "INFO: video_path 'videos/{video_key}/file-{file_index:03d}.mp4' lacks {video_key}, {chunk_index}, "
         "{file_index}"),
        (info_json(video_path=None), "INFO: video_path '' lacks {video_key}, {chunk_index}, {file_index}"),
        (info_json("v2.1", video_path=V30_PATH),
         f"INFO: video_path '{V30_PATH}' lacks {{episode_chunk}}, {{video_key}}, {{episode_index}}"),
        (info_json(video_files_size_in_mb=0), "INFO: video_files_size_in_mb 0 is not a size in MB"),
        (info_json(video_files_size_in_mb=10**7), "INFO: video_files_size_in_mb 10000000 is not a size in MB"),
        (info_json(video_files_size_in_mb=True), "INFO: video_files_size_in_mb True is not a size in MB"),
        (info_json(video_files_size_in_mb="5"), "INFO: video_files_size_in_mb '5' is not a size in MB"),
    ],
)  # fmt: skip
def test_info_that_lies_is_refused(tmp_path: Path, document: Any, message: str) -> None:
    assert refusal_of_info(tmp_path, document) == message


def test_info_that_is_not_json(tmp_path: Path) -> None:
    message = refusal_of_info(tmp_path, '{"fps": ')
    assert message.startswith("INFO is not valid JSON (")
    assert message.endswith("); is the dataset still being written?")
    (tmp_path / "meta" / "info.json").write_bytes(b'{"fps": "\xff"}')
    with pytest.raises(InputError, match=r"is not valid JSON \(.*utf-8"):
        meta.read_info(tmp_path)


def test_info_that_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "meta" / "info.json").mkdir(parents=True)
    with pytest.raises(InputError, match="is not a regular file"):
        meta.read_info(tmp_path)


def test_a_camera_key_that_leaves_the_dataset(tmp_path: Path) -> None:
    features = {"../evil": {"dtype": "video", "shape": [48, 64, 3]}}
    with pytest.raises(InputError, match=r"\.\./evil"):
        meta.read_info(dataset(tmp_path, info_json(features=features)))


def test_what_is_a_dataset(tmp_path: Path) -> None:
    root = dataset(tmp_path / "ds", info_json())
    assert meta.is_lerobot_dataset(root)
    assert not meta.is_lerobot_dataset(tmp_path)
    assert meta.dataset_containing(root / "images" / TOP) == root
    assert meta.dataset_containing(root) is None  # at its root, not inside it
    assert meta.dataset_containing(tmp_path / "elsewhere") is None
    fifo = tmp_path / "fifo-ds"
    (fifo / "meta").mkdir(parents=True)
    os.mkfifo(fifo / "meta" / "info.json")
    assert meta.is_lerobot_dataset(fifo)  # refused when read, not taken for another layout
    link = tmp_path / "link-ds"
    (link / "meta").mkdir(parents=True)
    (link / "meta" / "info.json").symlink_to(tmp_path / "nowhere")
    assert meta.is_lerobot_dataset(link)
    folder = tmp_path / "folder-ds"
    (folder / "meta" / "info.json").mkdir(parents=True)
    assert not meta.is_lerobot_dataset(folder)


# What the info says of one camera


def info_with(tmp_path: Path, **feature: Any) -> meta.DatasetInfo:
    document = info_json()
    document["features"][TOP].update(feature)
    return meta.read_info(dataset(tmp_path, document))


def test_feature_info(tmp_path: Path) -> None:
    assert info_with(tmp_path).feature_info(TOP) is None
    assert info_with(tmp_path, info={"video.fps": 30}).feature_info(TOP) is None  # no codec: not encoded yet
    assert info_with(tmp_path, info="odd").feature_info(TOP) is None
    recorded = {"video.height": 48, "video.width": 64, "video.codec": "av1", "video.pix_fmt": "yuv420p",
                "video.fps": 30, "video.channels": 3, "has_audio": False, "video.is_depth_map": True}  # fmt: skip
    found = info_with(tmp_path, info=recorded).feature_info(TOP)
    assert found == VideoFeatureInfo(height=48, width=64, codec="av1", pix_fmt="yuv420p", fps=30, channels=3,
                                     is_depth_map=True)  # fmt: skip
    assert info_with(tmp_path, info={**recorded, "video.fps": "thirty"}).feature_info(TOP) is None


@pytest.mark.parametrize(
    ("feature", "depth"),
    [
        ({}, False),
        ({"info": {"is_depth_map": True}}, True),
        ({"info": {"video.is_depth_map": True}}, True),
        ({"video_info": {"video.is_depth_map": True}}, True),
        ({"info": {"is_depth_map": False}, "video_info": "odd"}, False),
        ({"info": "odd", "video_info": {"video.is_depth_map": True}}, True),
    ],
)
def test_is_depth(tmp_path: Path, feature: dict[str, Any], depth: bool) -> None:
    assert info_with(tmp_path, **feature).is_depth(TOP) is depth


def test_depth_quantization(tmp_path: Path) -> None:
    default = info_with(tmp_path).depth_quantization(TOP)
    assert (default.depth_min, default.depth_max, default.recorded) == (0.01, 10.0, False)
    told = info_with(tmp_path, info={"video.depth_min": 0.5, "video.depth_max": 4.0, "video.use_log": None})
    found = told.depth_quantization(TOP)
    assert (found.depth_min, found.depth_max, found.recorded) == (0.5, 4.0, True)
    assert info_with(tmp_path, info="odd").depth_quantization(TOP).recorded is False
    with pytest.raises(InputError) as caught:
        info_with(tmp_path, info={"video.depth_min": "near"}).depth_quantization(TOP)
    assert str(caught.value) == (
        f"{tmp_path / 'meta' / 'info.json'}: {TOP}'s depth quantization ({{'depth_min': 'near'}}) is not LeRobot's "
        "numbers"
    )


@pytest.mark.parametrize(
    ("feature", "shape"),
    [
        ({}, (64, 48)),
        ({"names": ["channels", "width", "height"], "shape": [3, 640, 480]}, (640, 480)),
        ({"names": ["height", "width"], "shape": [48, 64, 3]}, None),  # names and shape disagree
        ({"names": ["height", "channels"], "shape": [48, 3]}, None),
        ({"names": ["width", "channels"], "shape": [48, 3]}, None),
        ({"names": None, "shape": None}, None),
        ({"names": ["height", "width"], "shape": [65535, 1]}, (1, 65535)),
    ],
)
def test_frame_shape(tmp_path: Path, feature: dict[str, Any], shape: tuple[int, int] | None) -> None:
    assert info_with(tmp_path, **feature).frame_shape(TOP) == shape


@pytest.mark.parametrize(
    ("feature", "message"),
    [
        ({"names": "height,width"}, "{key}'s names and shape are not lists, as LeRobot writes them"),
        ({"shape": "48x64"}, "{key}'s names and shape are not lists, as LeRobot writes them"),
        ({"shape": [0, 64, 3]}, "{key}'s shape [0, 64, 3] is not a frame size"),
        ({"shape": [48, 65536, 3]}, "{key}'s shape [48, 65536, 3] is not a frame size"),
        ({"shape": [48, True, 3]}, "{key}'s shape [48, True, 3] is not a frame size"),
        ({"shape": [48.0, 64, 3]}, "{key}'s shape [48.0, 64, 3] is not a frame size"),
    ],
)
def test_frame_shape_that_lies(tmp_path: Path, feature: dict[str, Any], message: str) -> None:
    info = info_with(tmp_path, **feature)
    with pytest.raises(InputError) as caught:
        info.frame_shape(TOP)
    assert str(caught.value) == f"{tmp_path / 'meta' / 'info.json'}: " + message.format(key=TOP)


def test_paths_of_a_camera(tmp_path: Path) -> None:
    v30 = meta.read_info(dataset(tmp_path / "v30", info_json()))
    assert v30.frames_dir(TOP, 7) == v30.root / "images" / TOP / "episode-000007"
    assert v30.camera_frames_dir(TOP) == v30.root / "images" / TOP
    placement = VideoPlacement(chunk=2, file=5)
    assert v30.video_file(TOP, placement, 7) == v30.root / "videos" / TOP / "chunk-002" / "file-005.mp4"
    v21 = meta.read_info(dataset(tmp_path / "v21", info_json("v2.1")))
    assert v21.frames_dir(TOP, 7) == v21.root / "images" / TOP / "episode_000007"
    assert v21.video_file(TOP, placement, 7) == v21.root / "videos" / "chunk-002" / TOP / "episode_000007.mp4"
    (v30.root / "images").symlink_to(tmp_path)
    with pytest.raises(InputError, match="outside the dataset"):
        v30.frames_dir(TOP, 7)


@pytest.mark.parametrize(
    ("record", "options"),
    [
        (None, {}),
        ("odd", {}),
        ({"videos": "odd"}, {}),
        ({"videos": {TOP: "odd"}}, {}),
        ({"videos": {TOP: {"options": "odd"}}}, {}),
        ({"videos": {"other": {"options": {"crf": 1}}}}, {}),
        ({"videos": {TOP: {"options": {"crf": 23, "codec": "h264"}}}}, {"crf": 23, "codec": "h264"}),
    ],
)
def test_recorded_options(tmp_path: Path, record: Any, options: dict[str, Any]) -> None:
    info = meta.read_info(dataset(tmp_path, info_json(encodectl=record)))
    assert info.recorded_options(TOP) == options


# Episodes, v2.1: one JSON line each


def v21(tmp_path: Path, lines: list[str]) -> meta.DatasetInfo:
    info = meta.read_info(dataset(tmp_path, info_json("v2.1", chunks_size=2)))
    (tmp_path / "meta" / "episodes.jsonl").write_text("\n".join(lines) + "\n")
    return info


def test_v21_episodes(tmp_path: Path) -> None:
    info = v21(tmp_path, ['{"episode_index": 2, "length": 5}', "", '{"episode_index": 0, "length": 4}',
                          '{"episode_index": 1, "length": 3, "tasks": ["x"]}'])  # fmt: skip
    video = info.video_file(TOP, VideoPlacement(chunk=1, file=0), 2)
    video.parent.mkdir(parents=True)
    video.write_bytes(b"\x00\x00\x00\x08moov\x00\x00\x00\x08mdat")  # a whole MP4, as far as boxes go
    cut = info.video_file(TOP, VideoPlacement(chunk=0, file=0), 1)
    cut.parent.mkdir(parents=True)
    cut.write_bytes(b"\x00\x00\x00\x08moov\x00\x00\x01\x00mdat")  # killed while writing it
    episodes = rows_module.read_episodes(info)
    assert [(e.index, e.length) for e in episodes] == [(0, 4), (1, 3), (2, 5)]
    assert [e.videos for e in episodes] == [{}, {}, {TOP: VideoPlacement(chunk=1, file=0)}]


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("{not json", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ('{"length": 4}', "'episode_index'"),
        ('{"episode_index": "1", "length": 4}', None),
        ("[1]", "list indices must be integers or slices, not str"),
    ],
)
def test_v21_episode_that_is_not_one(tmp_path: Path, line: str, why: str | None) -> None:
    info = v21(tmp_path, ['{"episode_index": 0, "length": 4}', line])
    with pytest.raises(InputError) as caught:
        rows_module.read_episodes(info)
    prefix = f"{tmp_path / 'meta' / 'episodes.jsonl'} line 2 is not an episode record ("
    assert str(caught.value).startswith(prefix)
    if why is not None:
        assert str(caught.value) == f"{prefix}{why})"


def test_v21_episodes_file_unreadable(tmp_path: Path) -> None:
    info = meta.read_info(dataset(tmp_path, info_json("v2.1")))
    (tmp_path / "meta" / "episodes.jsonl").mkdir()
    with pytest.raises(InputError, match="is not a regular file"):
        rows_module.read_episodes(info)


# Episodes, v3.0: parquet files


def v30_table(rows: list[dict[str, Any]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    parquet.write_table(pyarrow.Table.from_pylist(rows), path)
    return path


def episodes_file(root: Path, chunk: int = 0, file: int = 0) -> Path:
    return root / "meta" / "episodes" / f"chunk-{chunk:03d}" / f"file-{file:03d}.parquet"


def row(index: int, length: int, start: int | None = None, **video: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"episode_index": index, "length": length}
    if start is not None:
        values |= {"dataset_from_index": start, "dataset_to_index": start + length}
    if video:
        values |= {f"videos/{TOP}/{name}": value for name, value in video.items()}
    return values


def placed(chunk: int, file: int, start: float, end: float) -> dict[str, Any]:
    return {"chunk_index": chunk, "file_index": file, "from_timestamp": start, "to_timestamp": end}


def test_v30_episodes(tmp_path: Path) -> None:
    info = meta.read_info(dataset(tmp_path, info_json()))
    first = v30_table([row(0, 3, 0, **placed(0, 0, 0.0, 0.1)), row(1, 2, 3)], episodes_file(tmp_path))
    second = v30_table([row(2, 4, 5, **placed(0, 0, 0.1, 0.2))], episodes_file(tmp_path, 0, 1))
    episodes = rows_module.read_episodes(info)
    assert [(e.index, e.length, e.data_range, e.meta_file) for e in episodes] == [
        (0, 3, (0, 3), first), (1, 2, (3, 5), first), (2, 4, (5, 9), second),
    ]  # fmt: skip
    assert episodes[0].videos == {TOP: VideoPlacement(chunk=0, file=0, from_s=0.0, to_s=0.1)}
    assert episodes[1].videos == {}
    assert rows_module.episodes_files(info) == [first, second]


def test_v30_without_episodes_or_columns(tmp_path: Path) -> None:
    info = meta.read_info(dataset(tmp_path, info_json()))
    with pytest.raises(InputError) as caught:
        rows_module.read_episodes(info)
    assert str(caught.value) == f"{tmp_path / 'meta' / 'episodes'} holds no episodes (chunk-XXX/file-XXX.parquet)"
    path = v30_table([{"index": 0}], episodes_file(tmp_path))
    with pytest.raises(InputError) as caught:
        rows_module.read_episodes(info)
    assert str(caught.value) == f"{path} has no episode_index, length column"
    v30_table([{"episode_index": 0}], path)
    with pytest.raises(InputError) as caught:
        rows_module.read_episodes(info)
    assert str(caught.value) == f"{path} has no length column"


def test_v30_file_still_being_written(tmp_path: Path) -> None:
    info = meta.read_info(dataset(tmp_path, info_json()))
    path = v30_table([row(0, 3)], episodes_file(tmp_path))
    path.write_bytes(path.read_bytes()[:-12])  # LeRobot writes the footer when it stops recording
    with pytest.raises(InputError) as caught:
        rows_module.read_episodes(info)
    message = str(caught.value)
    assert message.startswith(f"{path} does not read cleanly (")
    assert message.endswith("): LeRobot keeps it open without a footer until it stops recording; encodectl changes "
                            "nothing in a dataset that is being written")  # fmt: skip
    assert "\n" not in message


def test_v30_row_that_is_not_an_episode(tmp_path: Path) -> None:
    info = meta.read_info(dataset(tmp_path, info_json()))
    path = v30_table([row(0, 3), row(1, 2)], episodes_file(tmp_path))
    rows_module.read_episodes(info)
    v30_table([{"episode_index": 0.0, "length": 3}, {"episode_index": 1.5, "length": 2}], path)
    with pytest.raises(InputError) as caught:
        rows_module.read_episodes(info)  # strict: a float is not an index, even 0.0
    assert str(caught.value) == (
        f"{path} row 0 (episode_index 0.0, length 3) is not an episode record: index: Input should be a valid integer"
    )
    v30_table([{**row(0, 3), f"videos/{TOP}/chunk_index": 0, f"videos/{TOP}/file_index": 0,
                f"videos/{TOP}/from_timestamp": "0", f"videos/{TOP}/to_timestamp": 1.0}], path)  # fmt: skip
    with pytest.raises(InputError) as caught:
        rows_module.read_episodes(info)
    assert str(caught.value).startswith(f"{path} row 0 (episode_index 0, length 3) is not an episode record: from_s")


# The episodes must agree with each other


def episode(index: int, length: int = 3, start: int | None = None, **video: Any) -> DatasetEpisode:
    data_range = (start, start + length) if start is not None else None
    videos = {TOP: VideoPlacement(**video)} if video else {}
    return DatasetEpisode(index=index, length=length, data_range=data_range, meta_file=Path("ep.parquet"),
                          videos=videos)  # fmt: skip


def consistency(tmp_path: Path, episodes: list[DatasetEpisode], version: str = "v3.0") -> str | None:
    info = meta.read_info(dataset(tmp_path, info_json(version)))
    try:
        rows_module.check_consistent(info, episodes)
    except InputError as error:
        return str(error).replace(str(tmp_path), "ROOT")
    return None


def test_consistent_episodes(tmp_path: Path) -> None:
    episodes = [
        episode(0, 3, 0, chunk=0, file=0, from_s=0.0, to_s=0.1),
        episode(1, 2, 3, chunk=0, file=0, from_s=0.1, to_s=0.2),  # touching spans: fine
        episode(3, 2, 9, chunk=0, file=1, from_s=0.0, to_s=0.1),  # episode 2's rows not written yet: a gap
        episode(4, 2, 11, chunk=1, file=0, from_s=0.0, to_s=0.1),  # another file: its own times
    ]
    assert consistency(tmp_path, episodes) is None
    almost = [episode(0, 3, chunk=0, file=0, from_s=0.0, to_s=0.1), episode(1, 3, chunk=0, file=0, from_s=0.1 - 5e-7,
              to_s=0.2)]  # fmt: skip
    assert consistency(tmp_path, almost) is None  # within a microsecond: rounding, not an overlap


@pytest.mark.parametrize(
    ("episodes", "message"),
    [
        ([episode(0), episode(0)], "ep.parquet: episode_index 0 has two rows; the metadata contradicts itself, "
         "nothing was changed"),
        ([episode(-1)], "ep.parquet: episode_index -1 is out of range (0 to {max})"),
        ([episode(0, 0)], "ep.parquet: episode 0 has length 0"),
        ([episode(0, 10**9)], "ep.parquet: episode 0 has length 1000000000"),
        ([episode(0, 3, 0).model_copy(update={"data_range": (0, 4)})],
         "ep.parquet: episode 0 spans data rows 0-4 (4 frames) but its length is 3; nothing was changed"),
        ([episode(0, 3, 0), episode(1, 2, 4)],
         "ep.parquet: episode 1 starts at data row 4, but episode 0 ends at row 3: the data ranges are not "
         "contiguous; nothing was changed"),
        ([episode(0, 3, 0, chunk=0, file=0, from_s=0.0, to_s=0.1), episode(1, 3, 3, chunk=0, file=0, from_s=0.05,
          to_s=0.2)],
         "ROOT/meta/episodes: episodes 0 and 1 overlap in observation.images.top's chunk 0 file 0 (0.05 s < 0.1 s): "
         "one would read the other's pictures; nothing was changed"),
        ([episode(0, chunk=0, file=0, from_s=0.1, to_s=0.1)],
         "ep.parquet: episode 0's observation.images.top span 0.1-0.1 s is not a span of time"),
        ([episode(0, chunk=0, file=0, from_s=-0.1, to_s=0.1)],
         "ep.parquet: episode 0's observation.images.top span -0.1-0.1 s is not a span of time"),
        ([episode(0, chunk=0, file=0, from_s=0.0, to_s=math.inf)],
         "ep.parquet: episode 0's observation.images.top span 0.0-inf s is not a span of time"),
        ([episode(0, chunk=0, file=0, from_s=math.nan, to_s=1.0)],
         "ep.parquet: episode 0's observation.images.top span nan-1.0 s is not a span of time"),
        ([episode(0, chunk=-1, file=0, from_s=0.0, to_s=0.1)],
         "ep.parquet: episode 0's observation.images.top chunk_index -1 is out of range (0 to {max})"),
        ([episode(0, chunk=0, file=-1, from_s=0.0, to_s=0.1)],
         "ep.parquet: episode 0's observation.images.top file_index -1 is out of range (0 to {max})"),
    ],
)  # fmt: skip
def test_episodes_that_contradict_each_other(tmp_path: Path, episodes: list[DatasetEpisode], message: str) -> None:
    from encodectl.lerobot import confine

    assert consistency(tmp_path, episodes) == message.format(max=confine._MAX_INDEX - 1)


def test_two_rows_in_two_files(tmp_path: Path) -> None:
    one, two = episode(0).model_copy(update={"meta_file": Path("b.parquet")}), episode(0)
    assert consistency(tmp_path, [one, two]) == (
        "b.parquet and ep.parquet: episode_index 0 has two rows; the metadata contradicts itself, nothing was changed"
    )
    v21_rows = [DatasetEpisode(index=0, length=3), DatasetEpisode(index=0, length=3)]
    assert consistency(tmp_path, v21_rows, "v2.1") == (
        "ROOT/meta/episodes.jsonl: episode_index 0 has two rows; the metadata contradicts itself, nothing was changed"
    )


def test_v21_has_no_spans_to_check(tmp_path: Path) -> None:
    overlapping = [episode(0, chunk=0, file=0, from_s=0.0, to_s=1.0), episode(1, chunk=0, file=0, from_s=0.5,
                   to_s=1.0)]  # fmt: skip
    assert consistency(tmp_path, overlapping, "v2.1") is None


# Writing the episodes and info.json back


def test_write_episodes_table(tmp_path: Path) -> None:
    info = meta.read_info(dataset(tmp_path, info_json()))
    rows = [
        {**row(0, 3, 0), "tasks": ["pick"]},
        {**row(1, 2, 3), "tasks": ["place"]},
    ]
    path = v30_table(rows, episodes_file(tmp_path))
    target = tmp_path / "written.parquet"
    placements = {(1, TOP): VideoPlacement(chunk=0, file=2, from_s=0.5, to_s=0.6)}
    assert rows_module.write_episodes_table(info, path, placements, target) is True
    table = parquet.read_table(target)
    assert table.column_names == [
        "episode_index", "length", "dataset_from_index", "dataset_to_index",
        f"videos/{TOP}/chunk_index", f"videos/{TOP}/file_index", f"videos/{TOP}/from_timestamp",
        f"videos/{TOP}/to_timestamp", "tasks",
    ]  # fmt: skip
    assert table.column(f"videos/{TOP}/chunk_index").to_pylist() == [None, 0]
    assert table.column(f"videos/{TOP}/file_index").to_pylist() == [None, 2]
    assert table.column(f"videos/{TOP}/from_timestamp").to_pylist() == [None, 0.5]
    assert table.column(f"videos/{TOP}/to_timestamp").to_pylist() == [None, 0.6]
    assert table.schema.field(f"videos/{TOP}/chunk_index").type == pyarrow.int64()
    assert table.schema.field(f"videos/{TOP}/from_timestamp").type == pyarrow.float64()
    assert table.column("tasks").to_pylist() == [["pick"], ["place"]]
    assert table.schema.metadata is None or b"pandas" not in table.schema.metadata
    # Filled in again: the placements already there are kept.
    again = tmp_path / "again.parquet"
    later = {(0, TOP): VideoPlacement(chunk=0, file=2, from_s=0.0, to_s=0.5)}
    assert rows_module.write_episodes_table(info, target, later, again) is True
    assert parquet.read_table(again).column(f"videos/{TOP}/from_timestamp").to_pylist() == [0.0, 0.5]
    assert rows_module.write_episodes_table(info, path, {(7, TOP): placements[(1, TOP)]}, tmp_path / "none") is False
    assert not (tmp_path / "none").exists()


def test_write_episodes_table_without_data_ranges_keeps_pandas_out(tmp_path: Path) -> None:
    info = meta.read_info(dataset(tmp_path, info_json()))
    table = pyarrow.Table.from_pylist([row(0, 3)]).replace_schema_metadata({"pandas": "{}", "other": "kept"})
    path = episodes_file(tmp_path)
    path.parent.mkdir(parents=True)
    parquet.write_table(table, path)
    target = tmp_path / "written.parquet"
    placements = {(0, TOP): VideoPlacement(chunk=0, file=0, from_s=0.0, to_s=0.1)}
    assert rows_module.write_episodes_table(info, path, placements, target)
    written = parquet.read_table(target)
    assert written.column_names[:2] == ["episode_index", "length"]
    assert written.column_names[2] == f"videos/{TOP}/chunk_index"
    assert written.schema.metadata == {b"other": b"kept"}


def test_info_document(tmp_path: Path) -> None:
    document = info_json()
    document["features"][TOP]["info"] = {"is_depth_map": False}
    info = meta.read_info(dataset(tmp_path, document))
    video = VideoFeatureInfo(height=48, width=64, codec="av1", pix_fmt="yuv420p", fps=30, channels=3,
                             release=LeRobotRelease.v04)  # fmt: skip
    assert meta.info_document(info, {}, {}) is None  # nothing to change
    written = meta.info_document(info, {TOP: video}, {"version": "1", "videos": {TOP: {"options": {"crf": 30}}}})
    assert written is not None and written.startswith('{\n    "codebase_version": "v3.0"')
    result = json.loads(written)
    assert result["features"][TOP]["info"]["video.codec"] == "av1"
    assert result["encodectl"] == {"version": "1", "videos": {TOP: {"options": {"crf": 30}}}}
    assert info.document == document  # the info read is left as it was
    # A video already described is left as it is; the record is merged camera by camera.
    again = meta.read_info(dataset(tmp_path, result))
    other = video.model_copy(update={"codec": "h264"})
    rewritten = meta.info_document(again, {TOP: other}, {"videos": {"wrist": {"options": {}}}})
    assert rewritten is not None
    merged = json.loads(rewritten)
    assert merged["features"][TOP]["info"]["video.codec"] == "av1"
    assert merged["encodectl"] == {"version": "1", "videos": {TOP: {"options": {"crf": 30}}, "wrist": {"options": {}}}}
    assert meta.info_document(again, {TOP: other}, {}) is None
    unicode = copy.deepcopy(result)
    unicode["robot"] = "ロボット"
    assert "ロボット" in (meta.info_document(meta.read_info(dataset(tmp_path, unicode)), {}, {"x": 1}) or "")


@pytest.mark.parametrize(
    ("pix_fmt", "channels"),
    [("gray", 1), ("gray16le", 1), ("depth", 1), ("monochrome", 1), ("rgba", 4), ("yuva420p", 4), ("yuv420p", 3),
     ("rgb24", 3)],
)  # fmt: skip
def test_channels_of(pix_fmt: str, channels: int) -> None:
    assert meta.channels_of(pix_fmt) == channels


def test_pyarrow_modules() -> None:
    pa, pq = rows_module.pyarrow_modules()
    assert pa is pyarrow and pq is parquet
