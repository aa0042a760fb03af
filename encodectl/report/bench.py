"""`encodectl bench` for people: the measurements per mode, the guide's table with its claims beside
the numbers measured here, and notes that say in full why a mode was unavailable or ran on the CPU.
"""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text

from ..bench.benchmark import GUIDE_CLAIMS, GUIDE_EPISODE_SECONDS, BenchReport, ModeResult
from .text import short_seconds


def bench_tables(report: BenchReport, terminal: bool) -> list[Table]:
    """The measurements, then the guide's own table shape with its claims beside the measured numbers."""
    box_style = box.HEAVY_HEAD if terminal else box.SIMPLE
    return [_measured_table(report, box_style), _guide_table(report, box_style)]


def mode_label(result: ModeResult) -> str:
    """The mode's name, and whether its GPU mode ran on the CPU: every number of it is labelled so."""
    return result.mode.value + (" (CPU fallback)" if result.fallback else "")


def _measured_table(report: BenchReport, box_style: box.Box) -> Table:
    options = report.options
    table = Table(
        title=f"encodectl bench: {options.episodes} episode(s) x {options.seconds:g} s x {options.cameras} camera(s), "
        f"{options.size[0]}x{options.size[1]} @ {options.fps} fps; {report.machine}; ffmpeg {report.ffmpeg}; "
        f"{report.date:%Y-%m-%d}",
        title_justify="left",
        box=box_style,
    )
    for column in ("mode", "encoder", "blocked / episode", "encode / episode", "all verified after",
                   "encode fps", "speed", "bitrate", "PSNR / SSIM", "missed deadlines"):  # fmt: skip
        table.add_column(column, no_wrap=True, min_width=len(column) if column != "mode" else 12)
    for result in report.results:
        if not result.available:
            table.add_row(result.mode.value, Text("unavailable (see below)", style="yellow"), *[""] * 8)
            continue
        quality = f"{result.quality.psnr_db:.1f} dB / {result.quality.ssim:.3f}" if result.quality else ""
        table.add_row(
            mode_label(result),
            result.encoder or "",
            short_seconds(result.blocked_per_episode_s),
            short_seconds(result.encode_per_episode_s),
            short_seconds(result.until_verified_s),
            f"{result.encode_fps:.0f}",
            f"{result.speed_x:.2f}x real time",
            f"{result.bitrate_kbps:.0f} kb/s",
            quality,
            f"{result.missed_deadlines} of {result.frames_due}",
        )
    return table


def _guide_table(report: BenchReport, box_style: box.Box) -> Table:
    scale = GUIDE_EPISODE_SECONDS / report.options.seconds
    table = Table(
        title=f"The guide's table, measured here (encoding time also scaled x{scale:g} to the guide's 90-s episode)",
        title_justify="left",
        box=box_style,
    )
    for column in ("Mode", "Encoding time", "Recording impact", "Total episode time", "Guide claims (90-s episode)"):
        table.add_column(column, no_wrap=True, min_width=12 if column == "Mode" else None)
    for result in report.results:
        claim = " · ".join(part for part in GUIDE_CLAIMS[result.mode] if part)
        if not result.available:
            table.add_row(result.mode.value, Text("unavailable", style="yellow"), "", "", claim)
            continue
        encode = result.encode_per_episode_s
        table.add_row(
            mode_label(result),
            f"{short_seconds(encode)} (~{encode * scale:.0f} s per 90 s)",
            f"{_impact(result)}: {short_seconds(result.blocked_per_episode_s)} / episode",
            f"{result.total_episode_s:.1f} s" + (" + background" if result.mode.is_async else ""),
            claim,
        )
    return table


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
