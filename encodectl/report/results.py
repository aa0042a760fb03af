"""The results of a run of jobs: the closing table or plain lines, the summary, the --dry-run commands.

Lines for pipes and CI logs are plain text (one per job, never wrapped); the table is for a terminal, and only
the table loads Rich (about 40 ms of an encode's exit, for output nobody sees styled).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..models import FFmpegBinary, JobResult, JobStatus, RunReport, RunSummary
from .text import human_size, plain_line

if TYPE_CHECKING:  # only named: encode's report need not load the watcher's options, nor a pipe's Rich
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ..watching.options import WatchSummary

_STATUS_STYLE = {
    JobStatus.done: "green",
    JobStatus.skipped: "cyan",
    JobStatus.failed: "bold red",
    JobStatus.planned: "yellow",
}


def summarize(results: list[JobResult], wall_seconds: float) -> RunSummary:
    done = [r for r in results if r.status is JobStatus.done]
    frames = sum(r.frames for r in done)
    return RunSummary(
        jobs=len(results),
        done=len(done),
        skipped=sum(r.status is JobStatus.skipped for r in results),
        failed=sum(r.status is JobStatus.failed for r in results),
        planned=sum(r.status is JobStatus.planned for r in results),
        fallbacks=sum(r.fallback is not None and r.ok for r in results),
        frames=frames,
        bytes=sum(r.size_bytes for r in done),
        wall_seconds=round(wall_seconds, 3),
        fps=round(frames / wall_seconds, 1) if wall_seconds > 0 else 0.0,
    )


def make_report(results: list[JobResult], ffmpeg_binary: FFmpegBinary, wall_seconds: float) -> RunReport:
    from ..version import __version__

    return RunReport(
        encodectl=__version__,
        ffmpeg=ffmpeg_binary,
        results=results,
        summary=summarize(results, wall_seconds),
    )


def result_line(result: JobResult) -> str:
    """One plain line per finished job, for pipes and CI logs."""
    head = f"{result.status.value:<7} {result.label}"
    if result.status in (JobStatus.failed, JobStatus.skipped):
        return f"{head}: {result.reason}"
    speed = f", {result.frames / result.seconds:.0f} fps" if result.seconds > 0 else ""
    if result.latency_s is not None:
        speed += f", verified {result.latency_s:.2f} s after the last frame"
    notes = f" ({'; '.join(result.notes)})" if result.notes else ""
    if result.fallback:
        notes += f" [fallback: {result.fallback}]"
    if result.worker:
        notes += f" [worker {result.worker}]"
    return (
        f"{head} -> {result.output} [{result.frames} frames, {result.encoder}, "
        f"{result.seconds:.2f} s{speed}, {human_size(result.size_bytes)}]{notes}"
    )


def _shown_path(path: Path) -> str:
    """Relative to the current folder when below it: shorter, and what the user typed."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _time(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def results_table(results: list[JobResult], width: int = 80) -> Table:
    """The closing table: short columns, the least needed dropped when narrow, videos named from their folder.

    Why a job failed, was skipped or ran elsewhere is said under the table (result_details), not in a cell."""
    from rich.text import Text

    from .fit import Column, fitted_table, short_names

    columns = (
        Column("status"),
        Column("camera", priority=2),
        Column("episode"),
        Column("frames", priority=3, right=True),
        Column("encoder", priority=4),
        Column("time", priority=5, right=True),
        Column("size", priority=6, right=True),
        Column("fps", priority=7, right=True),
        Column("video", priority=8, path=True),
    )
    cameras = short_names([result.camera for result in results])
    folder = videos_folder(results)
    rows: list[list[str | Text]] = []
    for result, camera in zip(results, cameras, strict=True):
        video = _shown_path(result.output) if result.ok else ""
        if folder is not None and result.ok:
            video = os.path.relpath(result.output, folder)
        done = result.status is JobStatus.done
        rows.append(
            [
                Text(result.status.value, style=_STATUS_STYLE[result.status]),
                camera,
                result.episode,
                str(result.frames) if result.frames else "",
                result.encoder or "",
                _time(result.seconds) if result.seconds else "",
                human_size(result.size_bytes) if result.size_bytes else "",
                f"{result.frames / result.seconds:.0f}" if done and result.seconds > 0 else "",
                video if done else "",
            ]
        )
    return fitted_table(columns, rows, width)


def videos_folder(results: list[JobResult]) -> Path | None:
    """The folder every video of the run is under, when there are several: the table names them from it."""
    from .fit import common_folder

    done = [str(result.output) for result in results if result.status is JobStatus.done]
    folder = common_folder(done) if len(done) > 1 else None
    return Path(folder) if folder is not None else None


def result_details(results: list[JobResult]) -> list[str]:
    """What the table leaves out: why a job failed or was skipped, its notes, a fallback, a worker.

    The same reason for many skipped jobs (a rerun) is said once, with how many."""
    lines: list[str] = []
    skipped: dict[str, list[str]] = {}
    for result in results:
        if result.status is JobStatus.skipped:
            skipped.setdefault(result.reason or "", []).append(result.label)
            continue
        details = [result.reason] if result.reason else []
        details += result.notes
        if result.fallback:
            details.append(f"fallback: {result.fallback}")
        if result.worker:
            details.append(f"worker {result.worker}")
        if details:
            lines.append(f"{result.status.value} {result.label}: {'; '.join(details)}")
    for reason, labels in skipped.items():
        which = labels[0] if len(labels) == 1 else f"{len(labels)} jobs"
        lines.append(f"skipped {which}: {reason}")
    return lines


def summary_line(summary: RunSummary) -> str:
    parts = [f"{summary.done} done"]
    if summary.skipped:
        parts.append(f"{summary.skipped} skipped")
    if summary.planned:
        parts.append(f"{summary.planned} planned")
    if summary.fallbacks:
        parts.append(f"{summary.fallbacks} on the CPU after a GPU fallback")
    parts.append(f"{summary.failed} failed")
    line = ", ".join(parts) + f" of {summary.jobs} job(s)"
    if summary.done:
        line += (
            f" · {summary.frames} frames in {summary.wall_seconds:.1f} s ({summary.fps:.0f} fps)"
            f" · {human_size(summary.bytes)}"
        )
    return line


def watch_summary_line(summary: WatchSummary) -> str:
    """What `watch` says when it stops: this run's counts, then what its ledger holds (a rerun included)."""
    earlier = summary.failed_in_ledger - summary.failed
    still = f" (and {earlier} still failed from earlier runs)" if earlier > 0 else ""
    line = (
        f"{summary.done} done ({summary.redone} redone after late frames), {summary.adopted} found already "
        f"encoded, {summary.failed} failed{still}, {summary.waiting} still being recorded"
    )
    if summary.done_in_ledger:
        line += f"; {summary.done_in_ledger} verified video(s) in the ledger"
    return line


def print_report(console: Console, report: RunReport, table: bool, lines: bool = False, verbose: bool = False) -> None:
    """The closing report: a table in a terminal (every job's full line with verbose), else (when not
    already shown live) a line per job; then the summary."""
    if table:
        _print_table(console, report, verbose)
    elif lines:
        for result in report.results:
            plain_line(console, result_line(result))
    summary = summary_line(report.summary) + f" · ffmpeg {report.ffmpeg.version} ({report.ffmpeg.source})"
    if not console.is_terminal:  # a pipe gets it on one line, as it is
        plain_line(console, summary)
        return
    from rich.text import Text

    # A terminal gets it wrapped between words.
    console.print(Text(summary, style="red" if report.summary.failed else "green"))


def _print_table(console: Console, report: RunReport, verbose: bool) -> None:
    from rich.text import Text

    if verbose:
        for result in report.results:
            console.print(Text(result_line(result), style=_STATUS_STYLE[result.status]))
        return
    console.print(results_table(report.results, console.width))
    folder = videos_folder(report.results)
    if folder is not None:
        console.print(Text(f"videos under {_shown_path(folder)}", style="dim"))
    for line in result_details(report.results):
        console.print(line, markup=False, highlight=False)


def print_commands(console: Console, results: list[JobResult]) -> None:
    """What --dry-run prints: each job's ffmpeg command, shell-quoted, under a comment naming the job."""
    from ..ffmpeg.command import shell_quote

    for result in results:
        if result.command:
            plain_line(console, f"# {result.label}")
            if result.held_frames:
                console.print(  # not plain_line: this comment has always wrapped at the console's width
                    "# (reads a staging folder of links, created at run time, that fills the gaps)",
                    markup=False,
                    highlight=False,
                )
            for note in result.notes:  # what happens to depth, padding, held frames
                plain_line(console, f"# {note}")
            plain_line(console, shell_quote(result.command))
            if result.dataset is not None:
                plain_line(
                    console, f"# then placed in {result.dataset} as LeRobot reads it (v3.0: joined by stream copy)"
                )
        elif result.status is JobStatus.failed:
            plain_line(console, f"# {result.label}: {result.reason}")


def print_watch_summary(console: Console, summary: WatchSummary) -> None:
    """The line `watch` ends with: wrapped between words in a terminal, as the tables are; whole elsewhere."""
    if console.is_terminal:
        console.print(watch_summary_line(summary), markup=False, highlight=False)
    else:
        plain_line(console, watch_summary_line(summary))


def print_run(out: Console, err: Console, report: RunReport, code: int, *, several: bool, verbose: bool) -> None:
    """What `encode` prints when it ends, after the live table or lines (not --json, not --dry-run)."""
    if several and not out.is_terminal:
        for result in report.results:
            if result.dataset is not None:  # placed in their dataset only after the run: listed now
                plain_line(out, result_line(result))
    if code == 2:
        # Nothing could be encoded because the input was rejected: just say why, one line each.
        for result in report.results:
            plain_line(err, f"encodectl: error: {result.reason}")
        return
    print_report(out, report, table=out.is_terminal, lines=not several, verbose=verbose)
    # The report is output; why a job failed is an error as well, where scripts and logs look for one.
    for result in report.results:
        if result.status is JobStatus.failed:
            plain_line(err, f"encodectl: error: {result.label}: {result.reason}")
