"""`encodectl bench`: four rows, measured CPU modes, honest GPU rows, a chart."""

from __future__ import annotations

import json
import sys

import pytest

from encodectl.errors import UsageError
from encodectl.report.plot import require_plotting

from .conftest import run_encodectl

# Smaller than --quick (whose own test is the first below): one 1-s episode per mode is enough to
# check a mode's labels and table, and each second of an episode is a second of real-time recording.
SMALL = ("--episodes", "1", "--seconds", "1", "--size", "160x120")

BENCH_MACHINERY = pytest.mark.same_on_every_ffmpeg(
    "the bench's real-time recording, modes and tables; what it runs (encodes, streams, PSNR/SSIM) is "
    "tested on every build in test_encode and test_stream"
)


@BENCH_MACHINERY
def test_quick_bench_measures_cpu_modes_and_says_gpu_modes_are_unavailable(tmp_path):
    chart = tmp_path / "bench.png"
    outcome = run_encodectl("bench", "--quick", "--json", "--plot", chart, timeout=240)
    assert outcome.exit_code == 0, outcome.stderr
    report = json.loads(outcome.stdout)
    rows = {row["mode"]: row for row in report["results"]}
    assert list(rows) == ["sync-cpu", "async-cpu", "sync-gpu", "async-gpu"]
    for mode in ("sync-cpu", "async-cpu"):
        row = rows[mode]
        assert row["available"] and row["encoder"] == "libx264" and row["failed"] == 0
        assert row["frames_encoded"] == 2 * 2 * 60  # 2 episodes x 2 cameras x 2 s at 30 fps
        assert row["quality"]["psnr_db"] > 30 and 0 < row["quality"]["ssim"] <= 1
        assert row["bytes"] > 0 and row["frames_due"] == 120
        for episode in row["episodes"]:
            assert episode["encode_s"] > 0
    # Sync: the recorder waits for the whole encode. Async: the hand-off returns before the encode is done.
    for episode in rows["sync-cpu"]["episodes"]:
        assert episode["blocked_s"] == episode["encode_s"]
    for episode in rows["async-cpu"]["episodes"]:
        assert episode["blocked_s"] < episode["encode_s"]
    for mode in ("sync-gpu", "async-gpu"):
        assert not rows[mode]["available"]
        assert rows[mode]["reason"].startswith("no working GPU encoder for h264 here: ")
        assert rows[mode]["episodes"] == []  # no invented numbers
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000


@BENCH_MACHINERY
def test_allow_fallback_runs_gpu_modes_on_the_cpu_and_labels_them():
    outcome = run_encodectl("bench", *SMALL, "--modes", "async-gpu", "--allow-fallback", "--json", timeout=240)
    assert outcome.exit_code == 0, outcome.stderr
    (row,) = json.loads(outcome.stdout)["results"]
    assert row["available"] and row["fallback"] and row["encoder"] == "libx264"
    assert row["reason"].startswith("CPU fallback: no working GPU encoder for h264")


@BENCH_MACHINERY
def test_bench_text_output_has_the_guides_table():
    outcome = run_encodectl("bench", *SMALL, "--modes", "sync-cpu,sync-gpu", timeout=240)
    assert outcome.exit_code == 0, outcome.stderr
    assert "The guide's table, measured here" in outcome.stdout
    assert "~45-60s · Blocks recording · ~135-150s" in outcome.stdout
    assert "sync-gpu: unavailable: no working GPU encoder for h264 here" in outcome.stdout


@pytest.mark.parametrize(("args", "message"), [(["--modes", "turbo"], "unknown mode 'turbo'"),
                                               (["--size", "big"], "--size 'big' is not WIDTHxHEIGHT")])  # fmt: skip
def test_bad_bench_options(args, message):
    outcome = run_encodectl("bench", *args)
    assert outcome.exit_code == 2 and message in outcome.stderr


def test_plot_without_matplotlib_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if `encodectl[plot]` were not installed
    with pytest.raises(UsageError, match=r"--plot needs matplotlib: pip install 'encodectl\[plot\]'"):
        require_plotting()


@BENCH_MACHINERY
def test_stream_mode_is_measured_too():
    outcome = run_encodectl("bench", *SMALL, "--modes", "stream-cpu", "--json", timeout=240)
    assert outcome.exit_code == 0, outcome.stderr
    (row,) = json.loads(outcome.stdout)["results"]
    assert row["mode"] == "stream-cpu" and row["available"] and row["failed"] == 0
    assert row["frames_encoded"] == 1 * 2 * 30  # 1 episode x 2 cameras x 1 s at 30 fps
    assert row["add_frame_calls"] == 1 * 2 * 30 and row["add_frame_p99_ms"] > 0  # measured, not judged here
    assert row["quality"]["psnr_db"] > 30


def test_a_mode_that_failed_before_measuring_does_not_cost_the_others_their_table():
    from datetime import UTC, datetime

    from rich.console import Console

    from encodectl.bench.benchmark import BenchMode, BenchOptions, BenchReport, EpisodeMeasure, ModeResult
    from encodectl.report.bench import bench_notes, bench_tables

    measured = ModeResult(
        mode=BenchMode("sync-cpu"),
        available=True,
        encoder="libx264",
        blocked_total_s=3.0,
        episodes=[EpisodeMeasure(episode=0, blocked_s=3.0, encode_s=3.0, missed_deadlines=0)],
    )
    failed = ModeResult(mode=BenchMode("async-cpu"), available=True, failed=1, reason="failed: disk full")
    report = BenchReport(
        date=datetime.now(UTC),
        machine="test",
        cores=2,
        ffmpeg="n/a",
        options=BenchOptions(),
        results=[measured, failed],
    )
    console = Console(width=300, record=True)
    for table in bench_tables(report, terminal=False):
        console.print(table)
    text = console.export_text()
    assert "sync-cpu" in text and "3.00 s" in text and "async-cpu" in text
    assert "async-cpu: failed: disk full" in bench_notes(report)
