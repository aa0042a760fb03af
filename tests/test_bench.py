"""`encodectl bench`: four rows, measured CPU modes, honest GPU rows, a chart."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

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
def test_quick_bench_measures_cpu_modes_and_says_gpu_modes_are_unavailable(tmp_path, decoded):
    chart, kept = tmp_path / "bench.png", tmp_path / "kept"
    outcome = run_encodectl("bench", "--quick", "--json", "--plot", chart, "--keep", kept, timeout=240)
    assert outcome.exit_code == 0, outcome.stderr
    report = json.loads(outcome.stdout)
    rows = {row["mode"]: row for row in report["results"]}
    assert list(rows) == ["sync-cpu", "async-cpu", "sync-gpu", "async-gpu"]
    for mode in ("sync-cpu", "async-cpu"):
        row = rows[mode]
        assert row["available"] and row["encoder"] == "libx264" and row["failed"] == 0
        assert row["frames_encoded"] == 2 * 2 * 60  # 2 episodes x 2 cameras x 2 s at 30 fps
        # What the simulated recorder wrote, and what the videos hold, counted here.
        assert len(list((kept / mode / "images").glob("*/*/*.png"))) == row["frames_encoded"]
        assert sum(decoded(video).frames for video in (kept / mode / "videos").glob("*/*.mp4")) == row["frames_encoded"]
        assert row["quality"]["psnr_db"] > 30 and 0 < row["quality"]["ssim"] <= 1
        assert row["bytes"] > 0 and row["frames_due"] == 120
    for mode in ("sync-gpu", "async-gpu"):
        assert not rows[mode]["available"]
        assert rows[mode]["reason"].startswith("no working GPU encoder for h264 here: ")
        assert rows[mode]["episodes"] == []  # no invented numbers
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000
    assert_sync_blocks_for_every_encode(rows["sync-cpu"])
    assert_async_hands_off_and_encodes_in_the_background(rows["async-cpu"], workers=2)


def busy_seconds(row: dict[str, Any]) -> float:
    """The jobs' own encode times (ffmpeg started to video verified, timed by each job), summed: the bench
    reports their frames and the frames per second of them, not its own clock."""
    return row["frames_encoded"] / row["encode_fps"]


def assert_sync_blocks_for_every_encode(row: dict[str, Any]) -> None:
    """Sync: the recorder waits while its episode's jobs run one after the other, so the time it was
    blocked (and the episode's encode time) holds every job's whole encode."""
    assert len(row["episodes"]) == 2
    for measure in ("blocked_s", "encode_s"):
        assert sum(episode[measure] for episode in row["episodes"]) >= busy_seconds(row) > 0


def assert_async_hands_off_and_encodes_in_the_background(row: dict[str, Any], workers: int) -> None:
    """Async: the hand-off returns long before the episode's videos are verified, and an episode's encode
    time spans its jobs (at most `workers` at once)."""
    for episode in row["episodes"]:
        assert episode["blocked_s"] * 10 < episode["encode_s"]
    assert workers * sum(episode["encode_s"] for episode in row["episodes"]) >= busy_seconds(row) > 0


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
    assert "The table of LeRobot's video-encoding guide, measured here" in outcome.stdout
    assert all(line == line.rstrip() and "\x1b" not in line for line in outcome.stdout.splitlines())  # plain lines
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


# Calls of add_frame made slow on purpose (index: seconds): the two slowest of 120 calls, so that the
# nearest-rank 99th percentile (the 119th of 120) is the shorter of the two, and the maximum the longer.
SLOW_CALLS = {10: 0.6, 20: 0.1}  # the slowest far above the rest: p99 must stay below it under load


@BENCH_MACHINERY
def test_stream_mode_times_every_add_frame_and_encodes_every_frame(tmp_path, monkeypatch, ffmpeg_binary, decoded):
    from encodectl.benchmarking.benchmark import run_bench
    from encodectl.benchmarking.measures import BenchMode, BenchOptions
    from encodectl.models import EncodeOptions
    from encodectl.stream.encoder import StreamEncoder

    timed: list[float] = []  # each call as timed here, inside the bench's own timing of it
    add_frame = StreamEncoder.add_frame

    def slow_add_frame(self: StreamEncoder, frame: Any) -> None:
        called = time.perf_counter()
        add_frame(self, frame)
        if len(timed) in SLOW_CALLS:
            time.sleep(SLOW_CALLS[len(timed)])
        timed.append(time.perf_counter() - called)

    monkeypatch.setattr(StreamEncoder, "add_frame", slow_add_frame)
    options = BenchOptions(modes=[BenchMode.stream_cpu], episodes=1, seconds=2, cameras=2, size=(64, 48), keep=tmp_path)
    (row,) = run_bench(options, ffmpeg_binary, EncodeOptions()).results

    assert row.mode is BenchMode.stream_cpu and row.available and row.failed == 0
    # Every frame the simulated recorder produced was handed over once, encoded and is in a video.
    assert row.add_frame_calls == len(timed) == row.frames_encoded == 1 * 2 * 60  # 1 episode x 2 cameras x 2 s
    videos = sorted((tmp_path / "stream-cpu" / "videos").glob("*/*.mp4"))
    assert len(videos) == 2 and sum(decoded(video).frames for video in videos) == row.frames_encoded
    assert row.quality is not None and row.quality.psnr_db > 30
    # The bench's time of a call includes the time measured here: its order statistics are at least ours.
    timed.sort()
    assert row.add_frame_p99_ms is not None and row.add_frame_max_ms is not None
    assert row.add_frame_max_ms >= timed[-1] * 1000 >= SLOW_CALLS[10] * 1000
    assert timed[-2] * 1000 <= row.add_frame_p99_ms <= row.add_frame_max_ms
    # ...and it is the 119th call of 120, not the slowest: another call would need a 0.5-s stall to pass it.
    assert SLOW_CALLS[20] * 1000 <= row.add_frame_p99_ms < SLOW_CALLS[10] * 1000


def test_a_mode_that_failed_before_measuring_does_not_cost_the_others_their_table():
    from datetime import UTC, datetime

    from rich.console import Console

    from encodectl.benchmarking.measures import BenchMode, BenchOptions, BenchReport, EpisodeMeasure, ModeResult
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
