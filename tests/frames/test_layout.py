"""encodectl/frames/layout.py: which folders are episodes, and the video each becomes.

The layouts a user gives (one episode, a LeRobot image dataset, folders of folders, -o): tests/test_encode.py,
tests/test_output.py; bad paths at the command line: tests/test_bad_input.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from encodectl.errors import InputError, UsageError
from encodectl.frames.layout import EpisodeSource, discover, frame_folders_below, natural_key

pytestmark = pytest.mark.same_on_every_ffmpeg("folders and names only: frames are empty files, no ffmpeg runs")


def episode(folder: Path, frames: int = 2) -> Path:
    folder.mkdir(parents=True)
    for index in range(frames):
        (folder / f"frame_{index:06d}.png").write_bytes(b"")
    return folder


def test_natural_order() -> None:
    names = ["episode_10", "episode_2", "episode_1"]
    assert sorted(names, key=natural_key) == ["episode_1", "episode_2", "episode_10"]


def test_one_episode_gets_its_video_beside_it_or_where_o_says(tmp_path: Path) -> None:
    folder = episode(tmp_path / "ep")
    (source,) = discover([folder])
    assert (source.directory, source.output, source.episode, source.camera) == (folder, tmp_path / "ep.mp4", "ep", None)
    (named,) = discover([folder], tmp_path / "out" / "clip.mp4")
    assert named.output == tmp_path / "out" / "clip.mp4" and named.named_output
    with pytest.raises(UsageError, match=r"writes \.mp4 videos"):
        discover([folder], tmp_path / "clip.avi")


def test_a_lerobot_image_dataset_maps_to_its_videos_folder(tmp_path: Path) -> None:
    for camera in ("top", "wrist"):
        for number in (10, 2):
            episode(tmp_path / "images" / camera / f"episode_{number}")
    sources = discover([tmp_path])
    assert [(s.camera, s.episode) for s in sources] == [
        ("top", "episode_2"),
        ("top", "episode_10"),
        ("wrist", "episode_2"),
        ("wrist", "episode_10"),
    ]
    assert sources[0].output == tmp_path / "videos" / "top" / "episode_2.mp4"
    mirrored = discover([tmp_path], tmp_path / "elsewhere")
    assert mirrored[0].output == tmp_path / "elsewhere" / "videos" / "top" / "episode_2.mp4"


def test_folders_of_folders_and_what_is_refused(tmp_path: Path) -> None:
    episode(tmp_path / "run" / "cam" / "a")
    episode(tmp_path / "run" / ".hidden" / "b")
    episode(tmp_path / "run" / "cam" / "b")
    assert frame_folders_below(tmp_path / "run") == [tmp_path / "run" / "cam" / "a", tmp_path / "run" / "cam" / "b"]
    with pytest.raises(UsageError, match="names one video but 2 episodes"):
        discover([tmp_path / "run"], tmp_path / "one.mp4")
    with pytest.raises(InputError, match="does not exist"):
        discover([tmp_path / "absent"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no frames found"):
        discover([tmp_path / "empty"])
    with pytest.raises(UsageError, match="no path given"):
        discover([])


def test_with_container_changes_the_suffix_unless_the_user_named_the_file(tmp_path: Path) -> None:
    source = EpisodeSource(directory=tmp_path / "ep", output=tmp_path / "ep.mp4", episode="ep")
    assert source.with_container(matroska=True).output == tmp_path / "ep.mkv"
    assert source.with_container(matroska=False) is source
    named = source.model_copy(update={"named_output": True})
    with pytest.raises(InputError, match=r"name a \.mkv file"):
        named.with_container(matroska=True)
