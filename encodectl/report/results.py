"""Render results for people (Rich tables, plain lines) and for scripts (JSON).

Only the CLI imports this module: the engine stays free of terminal concerns.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..bench.benchmark import GUIDE_CLAIMS, GUIDE_EPISODE_SECONDS, BenchReport
from ..errors import UsageError
from ..ffmpeg.encoder_choice import EncoderPlan
from ..ffmpeg.gpu_probe import ProbeReport
from ..job.progress import JobState, JobView, RunSnapshot, RunTracker
from ..models import MINIMUM_FFMPEG, FFmpegBinary, JobResult, JobStatus, RunReport, RunSummary

_STATUS_STYLE = {
    JobStatus.done: "green",
    JobStatus.skipped: "cyan",
    JobStatus.failed: "bold red",
    JobStatus.planned: "yellow",
}


def printable(text: str) -> str:
    """`text` with every byte of a name that is not UTF-8 (Linux names are bytes; Python keeps such a byte
    as a lone surrogate) shown as a replacement character, so that it can be printed or put in JSON."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        return text.encode("utf-8", "replace").decode("utf-8")


def _printable_data(data: Any) -> Any:
    if isinstance(data, str):
        return printable(data)
    if isinstance(data, list):
        return [_printable_data(item) for item in data]
    if isinstance(data, dict):
        return {printable(str(key)): _printable_data(value) for key, value in data.items()}
    return data


def to_json(data: BaseModel | Sequence[BaseModel] | dict[str, Any], indent: int | None = 2) -> str:
    """What --json prints: pydantic's JSON of `data`, with names that are not UTF-8 made printable."""
    if isinstance(data, BaseModel):
        plain: Any = data.model_dump(mode="json")
    elif isinstance(data, dict):
        plain = data
    else:
        plain = [item.model_dump(mode="json") for item in data]
    return json.dumps(_printable_data(plain), indent=indent, ensure_ascii=False)


def _replacement_for_unencodable(error: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start : error.end]
    try:  # bytes: the UTF-8 encoder takes no replacement text beyond ASCII
        replaced = printable(text).encode(error.encoding)
    except UnicodeError:  # a terminal that cannot show U+FFFD (or that character of the name) either
        replaced = b"?" * len(text)
    return replaced, error.end


codecs.register_error("encodectl.printable", _replacement_for_unencodable)


def tolerant_output() -> None:
    """Let stdout and stderr print what they cannot encode as replacement characters, instead of raising
    (a strict UTF-8 locale) or writing the raw bytes back (the C locale's surrogateescape)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):  # not a text file we may reconfigure
            stream.reconfigure(errors="encodectl.printable")  # type: ignore[union-attr]


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


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
        status = Text(result.status.value, style=_STATUS_STYLE[result.status])
        detail = result.reason or "; ".join(result.notes)
        if detail:
            status.append(f" {detail}", style="dim" if result.ok else "red")
        if result.fallback and result.ok:
            status.append(f" fallback: {result.fallback}", style="yellow")
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
            status,
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
            console.print(result_line(result), markup=False, highlight=False, soft_wrap=True)
    style = "red" if report.summary.failed else "green"
    ffmpeg = f" · ffmpeg {report.ffmpeg.version} ({report.ffmpeg.source})"
    console.print(Text(summary_line(report.summary) + ffmpeg, style=style), soft_wrap=True)


def print_commands(console: Console, results: list[JobResult]) -> None:
    from ..ffmpeg.command import shell_quote

    for result in results:
        if result.command:
            console.print(f"# {result.label}", markup=False, highlight=False, soft_wrap=True)
            if result.held_frames:
                console.print(
                    "# (reads a staging folder of links, created at run time, that fills the gaps)",
                    markup=False,
                    highlight=False,
                )
            for note in result.notes:  # what happens to depth, padding, held frames
                console.print(f"# {note}", markup=False, highlight=False, soft_wrap=True)
            console.print(shell_quote(result.command), markup=False, highlight=False, soft_wrap=True)
            if result.dataset is not None:
                console.print(
                    f"# then placed in {result.dataset} as LeRobot reads it (v3.0: joined by stream copy)",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
        elif result.status is JobStatus.failed:
            console.print(f"# {result.label}: {result.reason}", markup=False, highlight=False, soft_wrap=True)


def ffmpeg_choice(binary: FFmpegBinary, others: list[FFmpegBinary], uses: str = "uses it") -> list[str]:
    """Which ffmpeg, why, and what else is installed (and how to pick it): for `version` and `probe-gpu`."""
    lines = [f"ffmpeg {binary.version} at {binary.path} (found via {binary.source})"]
    if binary.reason:
        lines.append(f"  chosen: {binary.reason}")
    for other in others:
        where = "PATH also has" if other.source == "PATH" else "the bundled build is"
        if other.supported:
            lines.append(f"  {where} ffmpeg {other.version} at {other.path}; --ffmpeg {other.path} {uses}")
        else:
            lines.append(f"  {where} ffmpeg {other.version} at {other.path}, older than encodectl supports")
    return lines


def supported_ffmpeg() -> str:
    return f"encodectl supports ffmpeg {'.'.join(map(str, MINIMUM_FFMPEG))} and newer, and git builds"


def print_probe(
    console: Console,
    report: ProbeReport,
    choices: dict[str, EncoderPlan | str],
    table: bool = True,
    others: list[FFmpegBinary] | None = None,
) -> None:
    """The probe as a Rich table in a terminal, as one tab-separated line per encoder elsewhere."""
    if table:
        console.print(_probe_table(report))
    else:
        for probe in report.encoders:
            seconds = f"{probe.seconds:.2f}s" if probe.seconds is not None else "-"
            listed, works = ("listed" if probe.listed else "unlisted"), ("works" if probe.works else "fails")
            # Written directly: Rich would expand the tabs that make this easy to cut.
            console.file.write(
                f"{probe.encoder}\t{probe.vendor}\t{probe.codec.value}\t{listed}\t{works}\t{seconds}\t{probe.reason}\n"
            )
    when = "cached " + report.probed_at.strftime("%Y-%m-%d %H:%M UTC") if report.cached else "probed now"
    console.print(f"{when} (--refresh to probe again)", markup=False, highlight=False, soft_wrap=True)
    for line in ffmpeg_choice(report.ffmpeg, others or [], uses="probes it"):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    for codec, plan in choices.items():
        if isinstance(plan, str):
            choice = f"would refuse: {plan}"
        else:
            choice = f"would use {plan.primary.encoder}: {plan.reason}"
        console.print(f"encode --codec {codec} {choice}", markup=False, highlight=False, soft_wrap=True)


def _probe_table(report: ProbeReport) -> Table:
    table = Table(title=f"hardware encoders in ffmpeg {report.ffmpeg.version}", title_justify="left")
    for column in ("encoder", "vendor", "codec", "listed", "works", "test time"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason", overflow="fold")
    for probe in report.encoders:
        table.add_row(
            probe.encoder,
            probe.vendor,
            probe.codec.value,
            Text("yes", style="green") if probe.listed else Text("no", style="dim"),
            Text("yes", style="bold green") if probe.works else Text("no", style="red" if probe.listed else "dim"),
            f"{probe.seconds:.2f} s" if probe.seconds is not None else "",
            Text(probe.reason, style="dim" if not probe.listed else ""),
        )
    return table


_STATE_STYLE = {
    JobState.queued: "dim",
    JobState.running: "cyan",
    JobState.verifying: "magenta",
    JobState.fallback: "yellow",
}


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


_BAR_WIDTH = 24
_LIVE_COLUMNS = ("camera", "episode", "encoder", "progress", "frames", "fps", "speed", "eta", "state")
_RIGHT_ALIGNED = {"frames", "fps", "speed", "eta"}


def _aligned(column: str, value: str, width: int) -> str:
    return value.rjust(width) if column in _RIGHT_ALIGNED else value.ljust(width)


def _bar(done: int, total: int) -> Text:
    filled = round(_BAR_WIDTH * done / total) if total else 0
    bar = Text("━" * filled, style="cyan")
    bar.append("━" * (_BAR_WIDTH - filled), style="grey23")
    return bar


def live_view(snapshot: RunSnapshot) -> RenderableType:
    """The live table: a row per running or queued job, and a footer for the whole run.

    Laid out by hand as aligned text: a Rich Table costs about 1 ms a row per refresh,
    which at four refreshes a second would spend several percent of a core on looks.
    """
    rows: list[tuple[dict[str, str], JobView]] = []
    for view in snapshot.active:
        total = view.frames_total or 0
        cells = {
            "camera": view.camera or "",
            "episode": view.episode,
            "encoder": view.encoder or "",
            "frames": f"{view.frames_done}/{total}" if total else "",
            "fps": f"{view.fps:.0f}" if view.fps else "",
            "speed": f"{view.speed:.2f}x" if view.speed else "",
            "eta": _clock(view.eta_seconds),
            "state": view.state.value,
        }
        rows.append((cells, view))
    widths = {
        column: _BAR_WIDTH if column == "progress" else max([len(column), *(len(cells[column]) for cells, _ in rows)])
        for column in _LIVE_COLUMNS
    }
    text = Text()
    for column in _LIVE_COLUMNS:
        text.append(_aligned(column, column, widths[column]) + "  ", style="bold")
    for cells, view in rows:
        text.append("\n")
        for column in _LIVE_COLUMNS:
            if column == "progress":
                total = view.frames_total or 0
                text.append_text(_bar(min(view.frames_done, total), total))
            elif column == "state":
                text.append(cells[column], style=_STATE_STYLE.get(view.state, ""))
            else:
                text.append(_aligned(column, cells[column], widths[column]))
            text.append("  ")
    hidden = snapshot.queued - sum(view.state is JobState.queued for view in snapshot.active)
    footer = Text(
        f"queue {snapshot.queued} · running {snapshot.running} · done {snapshot.done}"
        + (f" · skipped {snapshot.skipped}" if snapshot.skipped else "")
        + f" · failed {snapshot.failed} · {snapshot.throughput_fps:.0f} fps · {_clock(snapshot.elapsed)}"
        + (f"   (+{hidden} more queued)" if hidden > 0 else ""),
        style="bold red" if snapshot.failed else "bold",
    )
    return Group(text, footer)


class LiveRunView:
    """A renderable that redraws from the tracker each time Rich refreshes it."""

    def __init__(self, tracker: RunTracker, rows: int) -> None:
        self.tracker = tracker
        self.rows = rows

    def __rich__(self) -> RenderableType:
        return live_view(self.tracker.snapshot(limit=self.rows))


def _seconds(value: float) -> str:
    if value < 0.01:
        return f"{value * 1000:.2f} ms"
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def bench_tables(report: BenchReport, terminal: bool) -> list[Table]:
    """The measurements, then the guide's own table shape with its claims beside the measured numbers."""
    box_style = box.HEAVY_HEAD if terminal else box.SIMPLE
    options = report.options
    scale = GUIDE_EPISODE_SECONDS / options.seconds
    measured = Table(
        title=f"encodectl bench: {options.episodes} episode(s) x {options.seconds:g} s x {options.cameras} camera(s), "
        f"{options.size[0]}x{options.size[1]} @ {options.fps} fps; {report.machine}; ffmpeg {report.ffmpeg}; "
        f"{report.date:%Y-%m-%d}",
        title_justify="left",
        box=box_style,
    )
    for column in ("mode", "encoder", "blocked / episode", "encode / episode", "all verified after",
                   "encode fps", "speed", "bitrate", "PSNR / SSIM", "missed deadlines"):  # fmt: skip
        measured.add_column(column, no_wrap=True, min_width=len(column) if column != "mode" else 12)
    guide = Table(
        title=f"The guide's table, measured here (encoding time also scaled x{scale:g} to the guide's 90-s episode)",
        title_justify="left",
        box=box_style,
    )
    for column in ("Mode", "Encoding time", "Recording impact", "Total episode time", "Guide claims (90-s episode)"):
        guide.add_column(column, no_wrap=True, min_width=12 if column == "Mode" else None)
    for result in report.results:
        claim = " · ".join(part for part in GUIDE_CLAIMS[result.mode] if part)
        if not result.available:
            measured.add_row(result.mode.value, Text("unavailable (see below)", style="yellow"), *[""] * 8)
            guide.add_row(result.mode.value, Text("unavailable", style="yellow"), "", "", claim)
            continue
        label = result.mode.value + (" (CPU fallback)" if result.fallback else "")
        blocked = result.blocked_per_episode_s
        quality = f"{result.quality.psnr_db:.1f} dB / {result.quality.ssim:.3f}" if result.quality else ""
        measured.add_row(
            label,
            result.encoder or "",
            _seconds(blocked),
            _seconds(result.encode_per_episode_s),
            _seconds(result.until_verified_s),
            f"{result.encode_fps:.0f}",
            f"{result.speed_x:.2f}x real time",
            f"{result.bitrate_kbps:.0f} kb/s",
            quality,
            f"{result.missed_deadlines} of {result.frames_due}",
        )
        impact = (
            "non-blocking"
            if result.mode.is_async
            else "waits for close()"
            if result.mode.is_stream
            else ("blocks recording")
        )
        guide.add_row(
            label,
            f"{_seconds(result.encode_per_episode_s)} (~{result.encode_per_episode_s * scale:.0f} s per 90 s)",
            f"{impact}: {_seconds(blocked)} / episode",
            f"{result.total_episode_s:.1f} s" + (" + background" if result.mode.is_async else ""),
            claim,
        )
    return [measured, guide]


def bench_notes(report: BenchReport) -> list[str]:
    """Why a mode was unavailable or ran on the CPU, and any failed video: said in full, once."""
    by_reason: dict[str, list[str]] = {}
    for r in report.results:
        if not r.available:
            by_reason.setdefault(r.reason or "", []).append(r.mode.value)
    notes = [f"{', '.join(modes)}: unavailable: {reason}" for reason, modes in by_reason.items()]
    notes += [f"{r.mode.value}: {r.reason}" for r in report.results if r.available and r.reason]
    notes += [
        f"{r.mode.value}: add_frame p99 {r.add_frame_p99_ms:.2f} ms, max {r.add_frame_max_ms or 0:.2f} ms over "
        f"{r.add_frame_calls} calls; recorder ticks missed {r.missed_deadlines} of {r.frames_due}"
        + (f"; {r.spilled_bytes / 1e6:.0f} MB spilled to disk while the encoder was behind" if r.spilled_bytes else "")
        for r in report.results
        if r.add_frame_p99_ms is not None
    ]
    return notes + [f"{r.mode.value}: {r.failed} video(s) failed" for r in report.results if r.failed]


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

    modes = [r.mode.value + (" (CPU fallback)" if r.fallback else "") for r in report.results]
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
        axes.bar_label(group, labels=[_seconds(v) if v else "" for v in values], fontsize=8, padding=2)
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
