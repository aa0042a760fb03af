"""Per-episode statistics as LeRobot (0.4 to 0.6, format v3.0) computes them when it saves an episode.

LeRobot keeps, for every numeric feature of an episode, min, max, mean, std, count and
the quantiles q01, q10, q50, q90 and q99 (``compute_episode_stats``). The quantiles are
not exact: they are read off a 5000-bin histogram spanning min-1e-10 to max+1e-10, by
linear interpolation inside the bin where the cumulative count reaches q x count.
Numbers are promoted to at least float32 first (integers to float64). An episode of one
frame gets the plain numbers, every quantile set to the mean. A camera's statistics come
from up to 100 frames sampled evenly (``sample_indices``), each downscaled by striding
when its larger side reaches 300 pixels, per channel, divided by 255 for colour (a depth
camera's stay in its units); their count is the number of frames sampled. Written here
from LeRobot's algorithm so that a rebuilt episode row equals the one LeRobot would have
written (to float rounding); numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
QUANTILE_NAMES = tuple(f"q{round(q * 100):02d}" for q in QUANTILES)
HISTOGRAM_BINS = 5000
EDGE_PAD = 1e-10

Stats = dict[str, Any]  # stat name -> numpy array, in LeRobot's order: min, max, mean, std, count, q01...


def sampled_frames(length: int) -> list[int]:
    """Which frames of an episode LeRobot samples for a camera's statistics (estimate_num_samples, power 0.75)."""
    wanted = max(min(100, length), min(int(length**0.75), 10_000))
    return [int(i) for i in np.round(np.linspace(0, length - 1, wanted)).astype(int)]


def downscaled(image: np.ndarray) -> np.ndarray:
    """(C, H, W) as LeRobot's auto_downsample_height_width leaves it: every n-th pixel once a side reaches 300."""
    _, height, width = image.shape
    if max(width, height) < 300:
        return image
    step = int(width / 150) if width > height else int(height / 150)
    return image[:, ::step, ::step]


def vector_stats(values: np.ndarray) -> Stats:
    """A numeric feature's statistics over an episode's frames (axis 0); `values` as LeRobot stacks them."""
    table = values.reshape(-1, 1) if values.ndim == 1 else values
    stats = _stats(table, len(values))
    if values.ndim == 1:
        stats = {name: value if name == "count" else value.reshape(1) for name, value in stats.items()}
    return stats


def image_stats(images: np.ndarray, depth: bool) -> Stats:
    """A camera's statistics from its sampled frames (N, C, H, W), per channel, shaped (C, 1, 1)."""
    count, channels = images.shape[0], images.shape[1]
    stats = _stats(images.transpose(0, 2, 3, 1).reshape(-1, channels), count)
    scale = 1.0 if depth else 255.0
    return {
        name: value if name == "count" else np.squeeze(value.reshape(1, -1, 1, 1) / scale, axis=0)
        for name, value in stats.items()
    }


def _stats(table: np.ndarray, count: int) -> Stats:
    """min, max, mean, std, count and the quantiles of each column of `table` (rows: samples)."""
    if table.shape[0] < 2:
        mean = np.mean(table, axis=0)
        plain = {
            "min": np.min(table, axis=0),
            "max": np.max(table, axis=0),
            "mean": mean,
            "std": np.std(table, axis=0),
            "count": np.array([count]),
        }
        return plain | {name: mean.copy() for name in QUANTILE_NAMES}
    rows = table.reshape(-1, table.shape[-1])
    rows = rows.astype(np.result_type(rows.dtype, np.float32), copy=False)
    low, high = np.min(rows, axis=0), np.max(rows, axis=0)
    mean = np.mean(rows, axis=0)
    squares = np.mean(rows**2, axis=0)
    size = rows.shape[0]
    quantiles: list[list[float]] = [[] for _ in QUANTILES]
    for column in range(rows.shape[1]):
        edges = np.linspace(low[column] - EDGE_PAD, high[column] + EDGE_PAD, HISTOGRAM_BINS + 1)
        histogram = np.zeros(HISTOGRAM_BINS) + np.histogram(rows[:, column], bins=edges)[0]
        cumulative = np.cumsum(histogram)
        for slot, q in enumerate(QUANTILES):
            quantiles[slot].append(_quantile(cumulative, edges, q * size))
    stats = {
        "min": low.copy(),
        "max": high.copy(),
        "mean": mean.copy(),
        "std": np.sqrt(np.maximum(0, squares - mean**2)),
        "count": np.array([count]),
    }
    return stats | {name: np.array(values) for name, values in zip(QUANTILE_NAMES, quantiles, strict=True)}


def _quantile(cumulative: np.ndarray, edges: np.ndarray, target: float) -> Any:
    index = int(np.searchsorted(cumulative, target))
    if index == 0:
        return edges[0]
    if index >= len(cumulative):
        return edges[-1]
    before = cumulative[index - 1]
    inside = cumulative[index] - before
    if inside == 0:
        return edges[index]
    return edges[index] + (target - before) / inside * (edges[index + 1] - edges[index])


def aggregate(parts: list[Stats]) -> Stats:
    """Statistics of several episodes together, as LeRobot's aggregate_feature_stats merges them: min of mins,
    max of maxes, count-weighted mean, pooled variance, count-weighted quantiles."""
    means = np.stack([part["mean"] for part in parts])
    counts = np.stack([part["count"] for part in parts])
    total = counts.sum(axis=0)
    while counts.ndim < means.ndim:
        counts = np.expand_dims(counts, axis=-1)
    mean = (means * counts).sum(axis=0) / total
    variances = np.stack([part["std"] ** 2 for part in parts])
    variance = ((variances + (means - mean) ** 2) * counts).sum(axis=0) / total
    merged = {
        "min": np.min(np.stack([part["min"] for part in parts]), axis=0),
        "max": np.max(np.stack([part["max"] for part in parts]), axis=0),
        "mean": mean,
        "std": np.sqrt(variance),
        "count": total,
    }
    for name in [name for name in parts[0] if name.startswith("q") and name[1:].isdigit()]:
        if all(name in part for part in parts):
            merged[name] = (np.stack([part[name] for part in parts]) * counts).sum(axis=0) / total
    return merged
