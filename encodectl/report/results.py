"""The results of a run of jobs: the closing table or plain lines, the summary, the --dry-run commands.

Lines for pipes and CI logs are plain text (one per job, never wrapped); the table is for a terminal.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..models import FFmpegBinary, JobResult, JobStatus, RunReport, RunSummary
from .text import human_size, plain_line

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


def _status_cell(result: JobResult) -> Text:
    status = Text(result.status.value, style=_STATUS_STYLE[result.status])
    detail = result.reason or "; ".join(result.notes)
    if detail:
        status.append(f" {detail}", style="dim" if result.ok else "red")
    if result.fallback and result.ok:
        status.append(f" fallback: {result.fallback}", style="yellow")
    return status


def results_table(results: list[JobResult]) -> Table:
    table = Table(title="encodectl encode", title_justify="left", expand=False)
    for column, justify in [
        ("camera", "left"),
        ("episode", "left"),
        ("frames", "right"),
        ("encoder", "left"),
        ("seconds", "right"),
        ("fps", "right"),
        ("size", "right"),
        ("output", "left"),
        ("status", "left"),
    ]:
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for result in results:
        speed = f"{result.frames / result.seconds:.0f}" if result.seconds > 0 and result.ok else ""
        table.add_row(
            result.camera or "",
            result.episode,
            str(result.frames) if result.frames else "",
            result.encoder or "",
            f"{result.seconds:.2f}" if result.seconds else "",
            speed,
            human_size(result.size_bytes) if result.size_bytes else "",
            _shown_path(result.output) if result.ok else "",
            _status_cell(result),
        )
    return table


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


def print_report(console: Console, report: RunReport, table: bool, lines: bool = False) -> None:
    """The closing report: a table in a terminal, else (when not already shown live) a line per job."""
    if table:
        console.print(results_table(report.results))
    elif lines:
        for result in report.results:
            plain_line(console, result_line(result))
    style = "red" if report.summary.failed else "green"
    ffmpeg = f" · ffmpeg {report.ffmpeg.version} ({report.ffmpeg.source})"
    console.print(Text(summary_line(report.summary) + ffmpeg, style=style), soft_wrap=True)


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
