"""The live table of a run in a terminal, and one plain line per finished job elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..models import JobResult
from ..report.text import plain_line
from .console import real_console, stdout

if TYPE_CHECKING:
    from ..job.progress import RunTracker


@contextmanager
def run_display(enabled: bool, several: bool, lines_in_terminal: bool = False) -> Iterator[RunTracker]:
    """A live table in a terminal; elsewhere one plain line per finished job (when there are several).

    With lines_in_terminal (watch, which has no closing table), finished jobs are listed above
    the live table too."""
    from ..job.progress import RunTracker

    if not enabled:
        yield RunTracker()
        return

    def print_result(result: JobResult) -> None:  # in a terminal, above the live table
        from ..lerobot.commit import is_staged
        from ..report.results import result_line

        if not is_staged(result.output):  # a dataset's episodes are listed once placed
            plain_line(stdout, result_line(result))

    if not stdout.is_terminal:
        yield RunTracker(on_finished=print_result if several else None)
        return
    from rich.live import Live

    from ..report.live import LiveRunView

    tracker = RunTracker(on_finished=print_result if lines_in_terminal else None)
    rows = max(3, min(20, stdout.size.height - 6))
    with Live(LiveRunView(tracker, rows), console=real_console(stdout), refresh_per_second=4, transient=True):
        yield tracker
