"""install_streaming against LeRobot 0.6.1 itself (`make test-lerobot`; not in `make test` or CI: LeRobot
and torch are a heavy install). LeRobot records with streaming_encoding=True, saves, finalizes; then
LeRobot loads every frame, and its episode statistics and an aggregate with a dataset LeRobot encoded
itself are checked."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

lerobot_dataset = pytest.importorskip("lerobot.datasets.lerobot_dataset")
from lerobot.datasets.aggregate import aggregate_datasets  # noqa: E402
from lerobot.datasets.video_utils import StreamingVideoEncoder  # noqa: E402

from encodectl.stream.lerobot import (  # noqa: E402
    EncodectlStreamingEncoder,
    install_streaming,
    installed,
    uninstall_streaming,
)

LeRobotDataset = lerobot_dataset.LeRobotDataset
WIDTH, HEIGHT, FPS = 96, 64, 30
CAMERAS = ("observation.images.top", "observation.images.wrist")
EPISODES = (12, 7)  # frames per episode


def test_it_is_lerobot_0_6_1():
    assert importlib.metadata.version("lerobot") == "0.6.1"


def features() -> dict:
    camera = {"dtype": "video", "shape": (HEIGHT, WIDTH, 3), "names": ["height", "width", "channels"]}
    made = {key: dict(camera) for key in CAMERAS}
    made["action"] = {"dtype": "float32", "shape": (2,), "names": ["x", "y"]}
    return made


def frame(episode: int, index: int, camera: int) -> np.ndarray:
    """A gradient that moves with the frame and differs by camera and episode, with a little noise."""
    rng = np.random.default_rng(episode * 1000 + index * 10 + camera)
    x = np.arange(WIDTH)[np.newaxis, :, np.newaxis]
    y = np.arange(HEIGHT)[:, np.newaxis, np.newaxis]
    base = (x * 2 + y * 3 + index * 7 + episode * 40 + camera * 90 + np.array([0, 70, 140])) % 256
    return ((base + rng.integers(0, 6, size=(HEIGHT, WIDTH, 3))) % 256).astype(np.uint8)


def record(root: Path, repo_id: str, as_float: bool = False) -> LeRobotDataset:
    dataset = LeRobotDataset.create(repo_id, FPS, features(), root=root, streaming_encoding=True)
    for episode, length in enumerate(EPISODES):
        for index in range(length):
            values = {"action": np.array([index, episode], dtype=np.float32), "task": "stack the cubes"}
            for camera, key in enumerate(CAMERAS):
                picture = frame(episode, index, camera)
                values[key] = picture.astype(np.float32) / 255 if as_float else picture
            dataset.add_frame(values)
        dataset.save_episode()
    dataset.finalize()
    return dataset


@pytest.fixture
def streaming():
    install_streaming()
    yield
    uninstall_streaming()


def loaded_frames(root: Path, repo_id: str) -> LeRobotDataset:
    dataset = LeRobotDataset(repo_id, root=root)
    assert len(dataset) == sum(EPISODES)
    return dataset


def test_recorded_through_encodectl_loads_in_lerobot_frame_by_frame(streaming, tmp_path):
    assert installed(LeRobotDataset)
    writer = LeRobotDataset.create("t/build", FPS, features(), root=tmp_path / "probe", streaming_encoding=True)
    assert isinstance(writer.writer._streaming_encoder, EncodectlStreamingEncoder)
    writer.finalize()

    record(tmp_path / "ours", "t/ours")
    dataset = loaded_frames(tmp_path / "ours", "t/ours")
    for i in range(len(dataset)):  # every frame, each decoded at its timestamp within LeRobot's tolerance
        item = dataset[i]
        episode, index = int(item["episode_index"]), int(item["frame_index"])
        for camera, key in enumerate(CAMERAS):
            picture = (item[key].numpy().transpose(1, 2, 0) * 255).round()
            assert picture.shape == (HEIGHT, WIDTH, 3)
            error = np.abs(picture - frame(episode, index, camera)).mean()
            assert error < 10, (key, episode, index, error)
    info = dataset.meta.features[CAMERAS[0]]["info"]
    assert info["video.codec"] == "av1" and info["video.pix_fmt"] == "yuv420p"
    assert not list((tmp_path / "ours").rglob("encodectl-stream-*/*"))  # nothing left behind


def test_episode_statistics_are_the_ones_lerobots_own_streaming_computes(streaming, tmp_path):
    record(tmp_path / "ours", "t/ours", as_float=True)
    uninstall_streaming()
    record(tmp_path / "theirs", "t/theirs", as_float=True)  # LeRobot's own encoder threads
    ours, theirs = episode_rows(tmp_path / "ours"), episode_rows(tmp_path / "theirs")
    for episode in range(len(EPISODES)):
        for key in CAMERAS:
            for stat in ("min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"):
                column = f"stats/{key}/{stat}"
                mine, lerobots = numeric(ours[column][episode]), numeric(theirs[column][episode])
                assert mine.shape == lerobots.shape == ((1,) if stat == "count" else (3, 1, 1)), column
                np.testing.assert_allclose(mine, lerobots, rtol=1e-6, err_msg=column)


def episode_rows(root: Path) -> pd.DataFrame:
    """The episodes' rows with their statistics (LeRobot's loader leaves the stats/ columns out)."""
    files = sorted((root / "meta" / "episodes").rglob("*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files]).sort_values("episode_index").reset_index(drop=True)


def numeric(value: object) -> np.ndarray:
    """A statistic as parquet gives it back (arrays of arrays of objects) as one float array."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        return np.array([numeric(part) for part in value])
    return np.asarray(value, dtype=float)


def test_aggregates_with_a_dataset_lerobot_encoded_itself(streaming, tmp_path):
    record(tmp_path / "ours", "t/ours")
    uninstall_streaming()
    record(tmp_path / "theirs", "t/theirs")
    aggregate_datasets(["t/ours", "t/theirs"], "t/both", roots=[tmp_path / "ours", tmp_path / "theirs"],
                       aggr_root=tmp_path / "both")  # fmt: skip
    both = LeRobotDataset("t/both", root=tmp_path / "both")
    assert len(both) == 2 * sum(EPISODES)
    for i in range(len(both)):
        item = both[i]
        assert item[CAMERAS[1]].shape == (3, HEIGHT, WIDTH)


def test_a_contract_that_differs_is_refused_naming_the_release(tmp_path):
    class Changed(StreamingVideoEncoder):
        def finish_episode(self, wait: bool = True):  # a call of another shape
            return super().finish_episode()

    from encodectl.errors import UsageError

    with pytest.raises(UsageError, match=r"LeRobot 0\.6\.1 .*finish_episode is \(self, wait\)"):
        install_streaming(LeRobotDataset, encoder_class=Changed, version="0.6.1")
    with pytest.raises(UsageError, match=r"LeRobot 0\.7\.0 is not supported"):
        install_streaming(LeRobotDataset, encoder_class=StreamingVideoEncoder, version="0.7.0")
    assert not installed(LeRobotDataset)


def test_the_launcher_runs_lerobots_record_with_encodectl_installed(monkeypatch):
    import lerobot.scripts.lerobot_record as lerobot_record

    from encodectl.stream.lerobot_record import main

    seen = {}

    def record():  # LeRobot's entry point, stood in for: there is no robot here
        seen["argv"], seen["installed"] = list(__import__("sys").argv), installed(LeRobotDataset)

    monkeypatch.setattr(lerobot_record, "main", record)
    try:
        assert main(["--robot.type=so101_follower", "--dataset.repo_id=me/x"]) == 0
    finally:
        uninstall_streaming()
    assert seen == {
        "argv": ["lerobot-record", "--robot.type=so101_follower", "--dataset.repo_id=me/x",
                 "--dataset.streaming_encoding=true"],
        "installed": True,
    }  # fmt: skip


def test_the_launcher_reaches_lerobots_own_parser(capsys):
    from encodectl.stream.lerobot_record import main

    try:
        assert main(["--robot.type=not_a_robot"]) == 2  # argparse's usage error, from LeRobot itself
    finally:
        uninstall_streaming()
    assert "lerobot-record: error: argument --robot.type: invalid choice: 'not_a_robot'" in capsys.readouterr().err


DEPTH = "observation.images.depth"


def depth_frame(episode: int, index: int) -> np.ndarray:
    """Millimetres, 16-bit, one channel: a ramp from 0.3 m to about 2.8 m that moves with the frame."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    return (300 + x * 20 + y * 8 + index * 50 + episode * 120).astype(np.uint16)[..., np.newaxis]


def record_with_depth(root: Path, repo_id: str) -> None:
    spec = {"dtype": "video", "shape": (HEIGHT, WIDTH, 1), "names": ["height", "width", "channels"]}
    with_depth = {**features(), DEPTH: {**spec, "info": {"is_depth_map": True}}}
    dataset = LeRobotDataset.create(repo_id, FPS, with_depth, root=root, streaming_encoding=True)
    for episode, length in enumerate(EPISODES):
        for index in range(length):
            values = {key: frame(episode, index, c) for c, key in enumerate(CAMERAS)}
            values |= {DEPTH: depth_frame(episode, index), "action": np.zeros(2, np.float32), "task": "look"}
            dataset.add_frame(values)
        dataset.save_episode()
    dataset.finalize()


def test_a_depth_camera_is_quantized_as_lerobot_does_and_loads(streaming, tmp_path):
    record_with_depth(tmp_path / "ours", "t/depth")
    dataset = LeRobotDataset("t/depth", root=tmp_path / "ours")
    info = dataset.meta.features[DEPTH]["info"]
    assert info["video.codec"] == "hevc" and info["video.pix_fmt"] == "gray12le"
    worst = 0.0
    for i in range(len(dataset)):
        item = dataset[i]
        got = item[DEPTH].numpy().squeeze()
        got = got * 1000.0 if got.max() < 100 else got  # metres or millimetres, as the loader returns them
        wanted = depth_frame(int(item["episode_index"]), int(item["frame_index"]))[..., 0].astype(np.float64)
        worst = max(worst, float(np.abs(got - wanted).max()))
    assert worst <= 1.1  # half a 12-bit log step at 2.8 m: the quantization, nothing more
    ours, theirs = episode_rows(tmp_path / "ours"), None
    uninstall_streaming()
    record_with_depth(tmp_path / "theirs", "t/depth")
    theirs = episode_rows(tmp_path / "theirs")
    for stat in ("min", "max", "mean", "std", "count", "q01", "q50", "q99"):
        column = f"stats/{DEPTH}/{stat}"
        for episode in range(len(EPISODES)):
            np.testing.assert_allclose(numeric(ours[column][episode]), numeric(theirs[column][episode]), rtol=1e-6)


CRASHING_RECORDER = """
import os, sys
sys.path.insert(0, {here!r})
import numpy as np
from pathlib import Path
import test_lerobot061 as t
from encodectl.stream.lerobot import install_streaming
install_streaming()
dataset = t.LeRobotDataset.create("t/crash", t.FPS, t.features(), root=Path({root!r}), streaming_encoding=True)
for index in range(9):
    values = {{key: t.frame(0, index, c) for c, key in enumerate(t.CAMERAS)}}
    dataset.add_frame({{**values, "action": np.zeros(2, np.float32), "task": "crash"}})
dataset.writer._streaming_encoder.wait_written()  # every frame with ffmpeg: what a crash must not lose
os._exit(1)  # the recorder dies mid-episode: no save_episode, no atexit
"""


def test_a_recorder_that_dies_mid_episode_leaves_videos_recover_finishes(tmp_path):
    import fcntl
    import subprocess
    import sys

    from encodectl.ffmpeg.binary import find_ffmpeg
    from encodectl.stream.recovery import recover

    script = CRASHING_RECORDER.format(here=str(Path(__file__).parent), root=str(tmp_path / "crash"))
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 1, run.stderr[-2000:]
    stream_files = sorted((tmp_path / "crash").rglob(".*.stream.mp4"))
    assert len(stream_files) == len(CAMERAS)
    for stream_file in stream_files:  # each orphaned ffmpeg holds its file's lock until it has written out
        with stream_file.open("rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
    recovered = recover(tmp_path / "crash", find_ffmpeg())
    assert sorted((r.status, r.frames) for r in recovered) == [("recovered", 9)] * len(CAMERAS)
    assert sorted(r.output.name for r in recovered if r.output) == sorted(f"{key}_streaming.mp4" for key in CAMERAS)
