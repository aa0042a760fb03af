"""encodectl/report/plot.py: `bench --plot`, the bench as a PNG chart (matplotlib, optional).

`bench --plot` from the command line: tests/test_bench.py."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from encodectl.benchmarking.measures import BenchMode, BenchOptions, BenchReport, ModeResult
from encodectl.errors import UsageError
from encodectl.report.plot import plot_bench, require_plotting

pytestmark = pytest.mark.same_on_every_ffmpeg("a chart drawn from a given report: no ffmpeg runs")


def test_the_chart_is_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    results = [
        ModeResult(mode=BenchMode.sync_cpu, available=True, encoder="libx264", encode_per_episode_s=1.5),
        ModeResult(mode=BenchMode.sync_gpu, available=False, reason="no GPU"),
    ]
    report = BenchReport(date=datetime(2026, 12, 1, tzinfo=UTC), machine="m", cores=2, ffmpeg="9.0",
                         options=BenchOptions(), results=results)  # fmt: skip
    chart = tmp_path / "bench.png"
    plot_bench(report, chart)
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert chart.stat().st_size > 10_000


def test_without_matplotlib_it_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    with pytest.raises(UsageError, match=r"pip install 'encodectl\[plot\]'"):
        require_plotting()
