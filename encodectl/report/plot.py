"""`encodectl bench --plot`: the bench as a PNG chart, drawn with matplotlib (the optional encodectl[plot]).

matplotlib is imported only here and only when a chart is asked for, so encodectl runs without it.
"""

from __future__ import annotations

from pathlib import Path

from ..benchmarking.measures import BenchReport
from ..errors import UsageError
from .bench import mode_label
from .text import short_seconds


def require_plotting() -> None:
    """Fail before a long benchmark, not after it, when the chart cannot be drawn."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'encodectl[plot]'") from None


def plot_bench(report: BenchReport, path: Path) -> None:
    """A PNG: recording time blocked and encode time per episode, per mode (needs matplotlib)."""
    require_plotting()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = [mode_label(r) for r in report.results]
    blocked = [r.blocked_per_episode_s if r.available else 0.0 for r in report.results]
    encode = [r.encode_per_episode_s if r.available else 0.0 for r in report.results]
    figure, axes = plt.subplots(figsize=(9, 4.8), dpi=120)
    positions = range(len(modes))
    bars = [
        axes.bar([p - 0.2 for p in positions], blocked, width=0.4, label="recording blocked per episode",
                 color="#d62728"),
        axes.bar([p + 0.2 for p in positions], encode, width=0.4, label="encode time per episode", color="#1f77b4"),
    ]  # fmt: skip
    for group, values in zip(bars, (blocked, encode), strict=True):
        # The numbers too: an async mode's blocked time is too small to see as a bar.
        axes.bar_label(group, labels=[short_seconds(v) if v else "" for v in values], fontsize=8, padding=2)
    for position, result in zip(positions, report.results, strict=True):
        if not result.available:
            axes.text(position, 0.02, "unavailable\n(no working GPU)", ha="center", va="bottom", fontsize=8,
                      color="#7f7f7f", transform=axes.get_xaxis_transform())  # fmt: skip
    axes.set_xticks(list(positions), modes)
    axes.set_ylabel("seconds")
    options = report.options
    axes.set_title(
        f"{options.episodes} x {options.seconds:g} s episodes, {options.cameras} cameras, "
        f"{options.size[0]}x{options.size[1]} @ {options.fps} fps — {report.machine}",
        fontsize=10,
    )
    axes.legend()
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
