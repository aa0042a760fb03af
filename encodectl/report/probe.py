"""Which ffmpeg encodectl uses and why (`version`, `probe-gpu`), and the probe-gpu table of hardware encoders
with what `encode --codec` would choose on each codec.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..ffmpeg.encoder_choice import HardwareReport
from ..ffmpeg.gpu_probe import ProbeReport
from ..models import MINIMUM_FFMPEG, FFmpegBinary
from .fit import Column, fitted_table
from .text import plain_line


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


def print_probe(console: Console, report: HardwareReport, table: bool = True) -> None:
    """The probe as a Rich table in a terminal, as one tab-separated line per encoder elsewhere."""
    if table:
        console.print(f"hardware encoders in ffmpeg {report.ffmpeg.version}", style="bold", markup=False)
        console.print(_probe_table(report, console.width))
    else:
        _write_probe_lines(console, report)
    when = "cached " + report.probed_at.strftime("%Y-%m-%d %H:%M UTC") if report.cached else "probed now"
    lines = [f"{when} (--refresh to probe again)", *ffmpeg_choice(report.ffmpeg, report.other_ffmpeg, uses="probes it")]
    for codec, choice_of in report.auto_choice.items():
        if choice_of.encoder is None:
            choice = f"would refuse: {choice_of.reason}"
        else:
            choice = f"would use {choice_of.encoder}: {choice_of.reason}"
        lines.append(f"encode --codec {codec} {choice}")
    for line in lines:
        if table:  # a terminal: wrapped between words
            console.print(line, markup=False, highlight=False)
        else:
            plain_line(console, line)


def _write_probe_lines(console: Console, report: ProbeReport) -> None:
    for probe in report.encoders:
        seconds = f"{probe.seconds:.2f}s" if probe.seconds is not None else "-"
        listed, works = ("listed" if probe.listed else "unlisted"), ("works" if probe.works else "fails")
        # Written directly: Rich would expand the tabs that make this easy to cut.
        console.file.write(
            f"{probe.encoder}\t{probe.vendor}\t{probe.codec.value}\t{listed}\t{works}\t{seconds}\t{probe.reason}\n"
        )


PROBE_COLUMNS = (
    Column("encoder"),
    Column("vendor", priority=3),
    Column("codec", priority=2),
    Column("listed", priority=4),
    Column("works"),
    Column("time", priority=5, right=True),
    Column("reason", priority=1, wrap=True),
)


def _probe_table(report: ProbeReport, width: int) -> Table:
    rows: list[list[str | Text]] = [
        [
            probe.encoder,
            probe.vendor,
            probe.codec.value,
            Text("yes", style="green") if probe.listed else Text("no", style="dim"),
            Text("yes", style="bold green") if probe.works else Text("no", style="red" if probe.listed else "dim"),
            f"{probe.seconds:.2f} s" if probe.seconds is not None else "",
            Text(probe.reason, style="dim" if not probe.listed else ""),
        ]
        for probe in report.encoders
    ]
    return fitted_table(PROBE_COLUMNS, rows, width)
