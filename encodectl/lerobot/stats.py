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


class RunningStats:
    """A camera's statistics as LeRobot 0.6's streaming encoder gathers them while it encodes
    (RunningQuantileStats in its _CameraEncoderThread): every frame, downscaled as above, each pixel
    a sample (so `count` is pixels, not frames), the histogram re-binned over the widened range
    whenever a frame brings a new min or max (old bins moved by their centres). Fed (H, W, C) frames
    of the raw values (0-255 for colour); `result` is None below 2 frames, as LeRobot returns then."""

    def __init__(self) -> None:
        self.frames = 0
        self._count = 0
        self._mean: np.ndarray | None = None
        self._squares: np.ndarray | None = None
        self._low: np.ndarray | None = None
        self._high: np.ndarray | None = None
        self._histograms: list[np.ndarray] = []
        self._edges: list[np.ndarray] = []

    def add(self, frame: np.ndarray) -> None:
        """One (H, W, C) frame, already downscaled (`downscaled_hwc`)."""
        rows = frame.reshape(-1, frame.shape[-1])
        rows = rows.astype(np.result_type(rows.dtype, np.float32), copy=False)
        self.frames += 1
        size = rows.shape[0]
        if self._mean is None or self._squares is None or self._low is None or self._high is None:
            self._mean, self._squares = np.mean(rows, axis=0), np.mean(rows**2, axis=0)
            self._low, self._high = np.min(rows, axis=0), np.max(rows, axis=0)
            self._histograms = [np.zeros(HISTOGRAM_BINS) for _ in range(rows.shape[1])]
            self._edges = [
                np.linspace(self._low[c] - EDGE_PAD, self._high[c] + EDGE_PAD, HISTOGRAM_BINS + 1)
                for c in range(rows.shape[1])
            ]
        else:
            if rows.shape[1] != self._mean.size:
                raise ValueError(f"a frame of {rows.shape[1]} channel(s) after frames of {self._mean.size}")
            new_low, new_high = np.min(rows, axis=0), np.max(rows, axis=0)
            widened = bool(np.any(new_high > self._high) or np.any(new_low < self._low))
            self._high, self._low = np.maximum(self._high, new_high), np.minimum(self._low, new_low)
            if widened:
                self._rebin()
        self._count += size
        self._mean += (np.mean(rows, axis=0) - self._mean) * (size / self._count)
        self._squares += (np.mean(rows**2, axis=0) - self._squares) * (size / self._count)
        for column, histogram in enumerate(self._histograms):
            histogram += np.histogram(rows[:, column], bins=self._edges[column])[0]

    def _rebin(self) -> None:
        assert self._low is not None and self._high is not None
        for column, (histogram, edges) in enumerate(zip(self._histograms, self._edges, strict=True)):
            pad = (self._high[column] - self._low[column]) * EDGE_PAD
            new_edges = np.linspace(self._low[column] - pad, self._high[column] + pad, HISTOGRAM_BINS + 1)
            centres = (edges[:-1] + edges[1:]) / 2
            filled = histogram > 0
            slots = np.clip(np.searchsorted(new_edges, centres[filled]) - 1, 0, HISTOGRAM_BINS - 1)
            moved = np.zeros(HISTOGRAM_BINS)
            np.add.at(moved, slots, histogram[filled])
            self._histograms[column], self._edges[column] = moved, new_edges

    def result(self) -> Stats | None:
        """min, max, mean, std, count (pixels) and the quantiles, per channel; None below 2 frames."""
        if self.frames < 2 or self._mean is None or self._squares is None:
            return None
        assert self._low is not None and self._high is not None
        stats: Stats = {
            "min": self._low.copy(),
            "max": self._high.copy(),
            "mean": self._mean.copy(),
            "std": np.sqrt(np.maximum(0, self._squares - self._mean**2)),
            "count": np.array([self._count]),
        }
        for name, q in zip(QUANTILE_NAMES, QUANTILES, strict=True):
            pairs = zip(self._histograms, self._edges, strict=True)
            stats[name] = np.array([_quantile(np.cumsum(h), e, q * self._count) for h, e in pairs])
        return stats


def downscaled_hwc(frame: np.ndarray) -> np.ndarray:
    """An (H, W, C) frame downscaled as `downscaled` does a (C, H, W) one, as a compact copy: the recorder
    may reuse its buffer once the frame is handed over."""
    return np.ascontiguousarray(downscaled(frame.transpose(2, 0, 1)).transpose(1, 2, 0))
