"""`encodectl bench` for people: the measurements per mode, the table of LeRobot's video-encoding guide with
its claims beside the numbers measured here, and notes that say in full why a mode was unavailable or ran
on the CPU. Tables in a terminal (fitted to its width), one plain line per mode in a pipe.
"""

from __future__ import annotations

from rich.console import Console, RenderableType
from rich.text import Text

from ..benchmarking.measures import GUIDE_CLAIMS, GUIDE_EPISODE_SECONDS, BenchReport, ModeResult
from .fit import Column, fitted_table
from .text import plain_line, short_seconds

MEASURED_COLUMNS = (
    Column("mode"),
    Column("encoder", priority=2),
    Column("blocked", right=True),
    Column("encode", right=True),
    Column("verified", priority=3, right=True),
    Column("fps", priority=1, right=True),
    Column("speed", priority=4, right=True),
    Column("kb/s", priority=5, right=True),
    Column("PSNR", priority=6, right=True),
    Column("SSIM", priority=7, right=True),
    Column("missed", priority=3, right=True),
)
GUIDE_COLUMNS = (
    Column("mode"),
    Column("encoding time", wrap=True),
    Column("recording impact", wrap=True, priority=2),
    Column("total episode time", wrap=True, priority=3),
    Column("the guide claims", wrap=True, priority=1),
)


def bench_title(report: BenchReport) -> str:
    options = report.options
    return (
        f"encodectl bench: {options.episodes} episode(s) x {options.seconds:g} s x {options.cameras} camera(s), "
        f"{options.size[0]}x{options.size[1]} @ {options.fps} fps; {report.machine}; ffmpeg {report.ffmpeg}; "
        f"{report.date:%Y-%m-%d}"
    )


def _guide_title(report: BenchReport) -> str:
    scale = GUIDE_EPISODE_SECONDS / report.options.seconds
    return (
        f"The table of LeRobot's video-encoding guide, measured here (per episode; encoding time also scaled "
        f"x{scale:g} to the guide's {GUIDE_EPISODE_SECONDS}-s episode):"
    )


def bench_tables(report: BenchReport, terminal: bool = True, width: int = 80) -> list[RenderableType]:
    """The measurements, then the guide's own table shape with its claims beside the measured numbers,
    each with its title as a paragraph above it, fitted to `width` (terminal=False: as wide as they need)."""
    if not terminal:
        width = 1000
    legend = (
        "per episode: recording blocked by encoding, and encode time; verified: every video, after the "
        "recording ended; missed: the recorder's frame deadlines"
    )
    return [
        Text(bench_title(report)),
        Text(legend, style="dim"),
        fitted_table(MEASURED_COLUMNS, [_measured_row(result) for result in report.results], width),
        Text(""),
        Text(_guide_title(report)),
        fitted_table(GUIDE_COLUMNS, [_guide_row(report, result) for result in report.results], width),
    ]


def mode_label(result: ModeResult) -> str:
    """The mode's name, and whether its GPU mode ran on the CPU: every number of it is labelled so."""
    return result.mode.value + (" (CPU fallback)" if result.fallback else "")


def _measured_row(result: ModeResult) -> list[str | Text]:
    if not result.available:
        return [result.mode.value, Text("unavailable", style="yellow"), *[""] * 9]
    return [
        mode_label(result),
        result.encoder or "",
        short_seconds(result.blocked_per_episode_s),
        short_seconds(result.encode_per_episode_s),
        short_seconds(result.until_verified_s),
        f"{result.encode_fps:.0f}",
        f"{result.speed_x:.2f}x",
        f"{result.bitrate_kbps:.0f}",
        f"{result.quality.psnr_db:.1f} dB" if result.quality else "",
        f"{result.quality.ssim:.3f}" if result.quality else "",
        f"{result.missed_deadlines}/{result.frames_due}",
    ]


def _claim(result: ModeResult) -> str:
    return " · ".join(part for part in GUIDE_CLAIMS[result.mode] if part)


def _guide_row(report: BenchReport, result: ModeResult) -> list[str | Text]:
    if not result.available:
        return [result.mode.value, Text("unavailable", style="yellow"), "", "", _claim(result)]
    scale = GUIDE_EPISODE_SECONDS / report.options.seconds
    encode = result.encode_per_episode_s
    return [
        mode_label(result),
        f"{short_seconds(encode)} (~{encode * scale:.0f} s / {GUIDE_EPISODE_SECONDS} s)",
        f"{_impact(result)} ({short_seconds(result.blocked_per_episode_s)})",
        f"{result.total_episode_s:.1f} s" + (" + background" if result.mode.is_async else ""),
        _claim(result),
    ]


def bench_lines(report: BenchReport) -> list[str]:
    """The same for a pipe or a log: one plain line per mode and table, nothing padded."""
    lines = [bench_title(report)]
    for result in report.results:
        if not result.available:
            lines.append(f"{result.mode.value}: unavailable (see below)")
            continue
        quality = f"; PSNR {result.quality.psnr_db:.1f} dB, SSIM {result.quality.ssim:.3f}" if result.quality else ""
        lines.append(
            f"{mode_label(result)}: {result.encoder}; per episode blocked {short_seconds(result.blocked_per_episode_s)}"
            f", encode {short_seconds(result.encode_per_episode_s)}; all verified "
            f"{short_seconds(result.until_verified_s)} after the recording; {result.encode_fps:.0f} fps, "
            f"{result.speed_x:.2f}x real time, {result.bitrate_kbps:.0f} kb/s{quality}; missed deadlines "
            f"{result.missed_deadlines} of {result.frames_due}"
        )
    lines.append(_guide_title(report))
    for result in report.results:
        row = [cell.plain if isinstance(cell, Text) else cell for cell in _guide_row(report, result)]
        if result.available:
            lines.append(f"{row[0]}: encoding {row[1]}; {row[2]}; total {row[3]}; the guide claims {row[4]}")
        else:
            lines.append(f"{row[0]}: unavailable; the guide claims {row[4]}")
    return lines


def _impact(result: ModeResult) -> str:
    """The guide's "Recording impact" of the mode, in its words."""
    if result.mode.is_async:
        return "non-blocking"
    return "waits for close()" if result.mode.is_stream else "blocks recording"


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


def print_bench(console: Console, report: BenchReport) -> None:
    """Tables in a terminal; in a pipe or a log, plain lines, nothing padded."""
    if console.is_terminal:
        for part in bench_tables(report, width=console.width):
            console.print(part)
        for note in bench_notes(report):
            console.print(note, markup=False, highlight=False)
    else:
        for line in bench_lines(report) + bench_notes(report):
            plain_line(console, line)
