"""encodectl/report/results.py: what `encode` and `watch` print when they end: the table, a line per job,
the summary.

The report of real runs, in a terminal, a pipe and --json: tests/test_output.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from encodectl.models import FFmpegBinary, JobResult, JobStatus
from encodectl.report.results import (
    make_report,
    print_run,
    result_details,
    result_line,
    summarize,
    summary_line,
    videos_folder,
    watch_summary_line,
)
from encodectl.watching.options import WatchSummary

pytestmark = pytest.mark.same_on_every_ffmpeg("text from given results: no ffmpeg runs")

BINARY = FFmpegBinary(path=Path("/ff"), version="7.1", source="PATH")


def done(episode: str, frames: int = 30, seconds: float = 0.5, **more: object) -> JobResult:
    return JobResult(source=Path(f"/d/images/top/{episode}"), output=Path(f"/d/videos/top/{episode}.mp4"),
                     episode=episode, camera="top", status=JobStatus.done, frames=frames, seconds=seconds,
                     encoder="libx264", size_bytes=2048, **more)  # type: ignore[arg-type]  # fmt: skip


def failed(episode: str, reason: str) -> JobResult:
    return JobResult(source=Path(f"/d/{episode}"), output=Path(f"/d/{episode}.mp4"), episode=episode,
                     status=JobStatus.failed, reason=reason)  # fmt: skip


def skipped(episode: str) -> JobResult:
    return JobResult(source=Path(f"/d/{episode}"), output=Path(f"/d/{episode}.mp4"), episode=episode,
                     status=JobStatus.skipped, reason="video exists")  # fmt: skip


def test_summarize_counts_and_frames_of_done_jobs_only() -> None:
    results = [done("a", 30), done("b", 20, fallback="h264_nvenc failed"), failed("c", "boom"), skipped("d")]
    summary = summarize(results, 2.0)
    assert (summary.jobs, summary.done, summary.failed, summary.skipped, summary.fallbacks) == (4, 2, 1, 1, 1)
    assert (summary.frames, summary.bytes, summary.fps) == (50, 4096, 25.0)
    assert summary_line(summary) == (
        "2 done, 1 skipped, 1 on the CPU after a GPU fallback, 1 failed of 4 job(s) · 50 frames in 2.0 s (25 fps)"
        " · 4.0 KiB"
    )
    assert summarize([], 0).fps == 0.0
    assert make_report(results, BINARY, 2.0).summary == summary


def test_a_line_per_job() -> None:
    assert result_line(done("a", latency_s=0.25)) == (
        "done    top/a -> /d/videos/top/a.mp4 [30 frames, libx264, 0.50 s, 60 fps, verified 0.25 s after the last "
        "frame, 2.0 KiB]"
    )
    assert result_line(failed("c", "ffmpeg failed")) == "failed  c: ffmpeg failed"


def test_details_say_each_skip_reason_once() -> None:
    lines = result_details([skipped("a"), skipped("b"), failed("c", "boom"), done("d", worker="tcp://w1")])
    assert lines == ["failed c: boom", "done top/d: worker tcp://w1", "skipped 2 jobs: video exists"]
    assert videos_folder([done("a"), done("b")]) == Path("/d/videos/top")
    assert videos_folder([done("a")]) is None


def test_watch_summary_line() -> None:
    summary = WatchSummary(done=3, failed=1, redone=1, adopted=2, waiting=1, failed_in_ledger=3, done_in_ledger=7)
    assert watch_summary_line(summary) == (
        "3 done (1 redone after late frames), 2 found already encoded, 1 failed (and 2 still failed from earlier "
        "runs), 1 still being recorded; 7 verified video(s) in the ledger"
    )


def test_print_run_reports_each_failure_on_stderr_too() -> None:
    out, err = Console(record=True, width=200), Console(record=True, width=200)
    report = make_report([done("a"), failed("b", "disk full")], BINARY, 1.0)
    print_run(out, err, report, 1, several=False, verbose=False)
    assert err.export_text().splitlines() == ["encodectl: error: b: disk full"]
    assert out.export_text().splitlines()[-1].startswith("1 done, 1 failed of 2 job(s)")
    rejected = Console(record=True, width=200)
    print_run(out, rejected, make_report([failed("b", "no frames in /d/b")], BINARY, 0.1), 2, several=False,
              verbose=False)  # fmt: skip
    assert rejected.export_text().splitlines() == ["encodectl: error: no frames in /d/b"]
