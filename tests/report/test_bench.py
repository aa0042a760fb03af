"""encodectl/report/bench.py: the bench's tables (measured, and the guide's table beside its claims) and lines.

`bench` run for real, and its printed report: tests/test_bench.py, tests/test_output.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rich.console import Console

from encodectl.benchmarking.measures import BenchMode, BenchOptions, BenchReport, EpisodeMeasure, ModeResult
from encodectl.report.bench import bench_lines, bench_notes, bench_tables, mode_label, print_bench

pytestmark = pytest.mark.same_on_every_ffmpeg("text from a given bench report: no ffmpeg runs")


def report() -> BenchReport:
    episodes = [EpisodeMeasure(episode=n, blocked_s=0.0, encode_s=2.0, missed_deadlines=0) for n in range(2)]
    measured = ModeResult(
        mode=BenchMode.sync_cpu,
        available=True,
        encoder="libx264",
        episodes=episodes,
        blocked_total_s=3.0,
        encode_per_episode_s=1.5,
        until_verified_s=0.25,
        episode_seconds=10.0,
        encode_fps=200.0,
        speed_x=6.67,
        bitrate_kbps=512.0,
        missed_deadlines=1,
        frames_due=600,
    )
    fallback = ModeResult(
        mode=BenchMode.async_gpu,
        available=True,
        encoder="libx264",
        fallback=True,
        reason="no working GPU encoder: ran on the CPU",
        episodes=episodes,
        episode_seconds=10.0,
    )
    missing = ModeResult(mode=BenchMode.sync_gpu, available=False, reason="no working GPU encoder for h264")
    stream = ModeResult(mode=BenchMode.stream_cpu, available=True, encoder="libx264", episodes=episodes,
                        add_frame_p99_ms=1.234, add_frame_max_ms=5.0, add_frame_calls=600, spilled_bytes=12_000_000,
                        failed=1)  # fmt: skip
    return BenchReport(date=datetime(2026, 12, 1, tzinfo=UTC), machine="Linux x86_64, 2 cores", cores=2,
                       ffmpeg="9.0", options=BenchOptions(episodes=2, seconds=10, size=(64, 48)),
                       results=[measured, fallback, missing, stream])  # fmt: skip


def test_lines_for_a_log() -> None:
    lines = bench_lines(report())
    assert lines[0] == (
        "encodectl bench: 2 episode(s) x 10 s x 2 camera(s), 64x48 @ 30 fps; Linux x86_64, 2 cores; ffmpeg 9.0; "
        "2026-12-01"
    )
    assert lines[1].startswith("sync-cpu: libx264; per episode blocked 1.50 s, encode 1.50 s;")
    assert lines[1].endswith("200 fps, 6.67x real time, 512 kb/s; missed deadlines 1 of 600")
    assert "async-gpu (CPU fallback): libx264" in lines[2]
    assert lines[3] == "sync-gpu: unavailable (see below)"
    guide = lines[lines.index(next(line for line in lines if line.startswith("The table of"))) + 1 :]
    assert guide[0].startswith("sync-cpu: encoding 1.50 s (~14 s / 90 s); blocks recording (1.50 s); total 11.5 s")
    assert guide[1].startswith("async-gpu (CPU fallback): encoding") and "+ background" in guide[1]
    assert guide[2].startswith("sync-gpu: unavailable; the guide claims")


def test_notes_say_each_reason_once() -> None:
    assert bench_notes(report()) == [
        "sync-gpu: unavailable: no working GPU encoder for h264",
        "async-gpu: no working GPU encoder: ran on the CPU",
        "stream-cpu: add_frame p99 1.23 ms, max 5.00 ms over 600 calls; recorder ticks missed 0 of 0; 12 MB spilled "
        "to disk while the encoder was behind",
        "stream-cpu: 1 video(s) failed",
    ]
    assert mode_label(report().results[1]) == "async-gpu (CPU fallback)"


@pytest.mark.parametrize("width", [60, 120])
def test_tables_fit_a_terminal(width: int) -> None:
    console = Console(width=width, record=True, color_system=None, force_terminal=True)
    print_bench(console, report())
    lines = console.export_text().splitlines()
    assert all(len(line) <= width for line in lines)
    assert any(line.startswith("sync-gpu") and "unavailable" in line for line in lines)
    assert len(bench_tables(report(), width=width)) == 6
