"""What `check` found, for people: one line per path checked, then a table of the problems, at most 80
columns wide (short columns; files relative to the checked root, in the problem's cell)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..checks.models import CheckReport, PathCheck, Problem
from .text import plain_line, printable, short_seconds

TABLE_WIDTH = 80
_CAMERA_PREFIX = "observation.images."  # LeRobot's camera keys all start so: the rest tells them apart


def episodes_text(episodes: list[int]) -> str:
    """3, 5-9, 12: consecutive episodes as ranges."""
    parts: list[str] = []
    ordered = sorted(set(episodes))
    start = previous = None
    for number in [*ordered, None]:
        if number is not None and previous is not None and number == previous + 1:
            previous = number
            continue
        if start is not None and previous is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = number
    return ", ".join(parts)


def summary_line(result: PathCheck) -> str:
    shape = f"{len(result.cameras)} camera(s) x {result.episodes} episode(s)"
    if result.layout == "folder":
        shape = f"{result.episodes} frame folder(s)"
    read = f"{result.videos_read} video(s), {result.frames_read} frames read ({result.mode.value})"
    verdict = "clean" if result.ok else f"{len(result.problems)} problem(s)"
    took = short_seconds(result.seconds)
    return f"{printable(str(result.path))}: {result.layout}, {shape}; {read} in {took}: {verdict}"


def _camera(problem: Problem) -> str:
    return printable(problem.camera.removeprefix(_CAMERA_PREFIX)) if problem.camera else "-"


def _episode(problem: Problem) -> str:
    if problem.episode is not None:
        return printable(problem.episode)
    return episodes_text(problem.episodes) or "-"


def problems_table(result: PathCheck, width: int) -> Table:
    table = Table(
        title=f"problems in {printable(result.path.name or str(result.path))}",
        title_justify="left",
        width=width,
        show_lines=True,
    )
    table.add_column("camera", max_width=16, overflow="fold")
    table.add_column("episode", max_width=12, overflow="fold")
    table.add_column("problem", max_width=13, overflow="fold")
    table.add_column("detail", overflow="fold", ratio=1)
    for problem in result.problems:
        detail = printable(problem.detail)
        if problem.file:
            detail = f"{printable(problem.file)}: {detail}"
        table.add_row(_camera(problem), _episode(problem), problem.kind.value, detail, style=None)
    return table


def print_check(console: Console, report: CheckReport) -> None:
    width = min(console.width, TABLE_WIDTH)
    for result in report.checks:
        plain_line(console, summary_line(result))
        if result.problems:
            console.print(problems_table(result, width), markup=False, highlight=False)
        for line in result.repaired:
            plain_line(console, f"repaired: {printable(line)}")
    cameras = [problem.camera for result in report.checks for problem in result.problems if problem.camera]
    if any(camera.startswith(_CAMERA_PREFIX) for camera in cameras):
        plain_line(console, f"(camera: its key less {_CAMERA_PREFIX!r}; files: relative to the path)")
