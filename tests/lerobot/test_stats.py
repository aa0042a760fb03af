"""encodectl/lerobot/stats.py: per-episode statistics as LeRobot computes them when it saves an episode.

Rebuilt rows compared with LeRobot's own on the 0.6.1 fixtures: tests/test_lerobot.py; a stream's running
statistics, against numpy: tests/test_lerobot_streaming.py."""

from __future__ import annotations

import numpy as np
import pytest

from encodectl.lerobot.stats import (
    QUANTILE_NAMES,
    RunningStats,
    aggregate,
    downscaled,
    downscaled_hwc,
    image_stats,
    sampled_frames,
    vector_stats,
)

pytestmark = pytest.mark.same_on_every_ffmpeg("numbers computed with numpy: no ffmpeg runs")


def test_which_frames_are_sampled() -> None:
    assert sampled_frames(1) == [0]
    assert sampled_frames(5) == [0, 1, 2, 3, 4]
    assert len(sampled_frames(1000)) == 177 and sampled_frames(1000)[-1] == 999  # int(1000 ** 0.75)
    assert sampled_frames(150)[:3] == [0, 2, 3] and len(sampled_frames(150)) == 100  # 100 of 150, evenly


def test_downscaling_starts_at_300_pixels() -> None:
    assert downscaled(np.zeros((3, 48, 299))).shape == (3, 48, 299)
    assert downscaled(np.zeros((3, 240, 320))).shape == (3, 120, 160)  # every 2nd pixel
    assert downscaled(np.zeros((3, 480, 300))).shape == (3, 160, 100)  # every 3rd, by the larger side
    frame = np.arange(480 * 640 * 3, dtype=np.uint8).reshape(480, 640, 3)
    small = downscaled_hwc(frame)
    assert small.shape == (120, 160, 3) and small.flags.c_contiguous
    assert (small[1, 1] == frame[4, 4]).all()


def test_vector_stats_of_a_feature() -> None:
    stats = vector_stats(np.arange(101, dtype=np.int64))
    assert list(stats) == ["min", "max", "mean", "std", "count", *QUANTILE_NAMES]
    assert (stats["min"], stats["max"], stats["mean"], stats["count"]) == ([0.0], [100.0], [50.0], [101])
    assert stats["mean"].shape == (1,) and stats["mean"].dtype == np.float64
    assert stats["std"][0] == pytest.approx(np.std(np.arange(101)))
    # Read off the histogram: q x count samples in, interpolated inside the value's bin.
    assert stats["q50"][0] == pytest.approx(50.01, abs=0.001) and stats["q99"][0] == pytest.approx(99.0, abs=0.001)
    one = vector_stats(np.array([[1.0, 2.0]], dtype=np.float32))
    assert (one["q01"] == one["mean"]).all() and (one["std"] == 0).all()  # one frame: quantiles are the mean


def test_image_stats_are_per_channel_and_scaled_for_colour_only() -> None:
    images = np.zeros((2, 3, 4, 4), dtype=np.uint8)
    images[:, 1] = 255
    stats = image_stats(images, depth=False)
    assert stats["mean"].shape == (3, 1, 1)
    assert stats["mean"].ravel().tolist() == [0.0, 1.0, 0.0] and stats["count"].tolist() == [2]
    depth = image_stats(np.full((2, 1, 2, 2), 1500, dtype=np.uint16), depth=True)
    assert depth["max"].ravel().tolist() == [1500.0]


def test_aggregate_weights_by_count() -> None:
    first, second = vector_stats(np.array([0.0, 2.0])), vector_stats(np.array([4.0, 4.0, 4.0, 4.0, 4.0, 4.0]))
    merged = aggregate([first, second])
    together = vector_stats(np.array([0.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0]))
    assert (merged["min"], merged["max"], merged["count"]) == ([0.0], [4.0], [8])
    assert merged["mean"][0] == pytest.approx(together["mean"][0])
    assert merged["std"][0] == pytest.approx(together["std"][0])


def test_running_stats_count_pixels_and_rebin_when_the_range_widens() -> None:
    running = RunningStats()
    running.add(np.full((2, 2, 1), 10, dtype=np.uint8))
    assert running.result() is None  # below 2 frames, as LeRobot
    running.add(np.array([[[0], [20]], [[10], [10]]], dtype=np.uint8))
    stats = running.result()
    assert stats is not None
    assert (stats["min"], stats["max"], stats["count"]) == ([0.0], [20.0], [8])
    assert stats["mean"][0] == pytest.approx(10.0)
    assert stats["std"][0] == pytest.approx(np.std([10, 10, 10, 10, 0, 20, 10, 10]))
    assert stats["q50"][0] == pytest.approx(10.0, abs=0.01)
    with pytest.raises(ValueError, match="a frame of 3 channel"):
        running.add(np.zeros((2, 2, 3), dtype=np.uint8))
