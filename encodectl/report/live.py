"""The live view of a run in a terminal: a row per running or queued job, and a footer for the whole run.

The table is built from column objects, as Rich's progress display is: each column says what its cell
shows for a job and how it is drawn. To add or change a column, write or edit one here and list it in
LIVE_COLUMNS. It is laid out by hand as aligned text, because a Rich Table costs about 1 ms a row per
refresh, which at four refreshes a second would spend several percent of a core on looks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Group, RenderableType
from rich.text import Text

from ..job.progress import JobState, JobView, RunSnapshot, RunTracker

_GAP = "  "  # between columns, and after the last one


class LiveColumn:
    """A column of plain text cells, as wide as its widest cell or its header."""

    def __init__(self, header: str, value: Callable[[JobView], str], right: bool = False) -> None:
        self.header = header
        self.value = value
        self.right = right

    def text(self, view: JobView) -> str:
        """The cell's text, which also sets the column's width."""
        return self.value(view)

    def width(self, texts: Sequence[str]) -> int:
        return max([len(self.header), *(len(text) for text in texts)])

    def aligned(self, text: str, width: int) -> str:
        return text.rjust(width) if self.right else text.ljust(width)

    def render(self, view: JobView, text: str, width: int) -> Text:
        return Text(self.aligned(text, width))


class BarColumn(LiveColumn):
    """The job's frames done as a bar of fixed width."""

    def __init__(self, header: str = "progress", width: int = 24) -> None:
        super().__init__(header, lambda _: "")
        self.bar_width = width

    def width(self, texts: Sequence[str]) -> int:
        return self.bar_width

    def render(self, view: JobView, text: str, width: int) -> Text:
        total = view.frames_total or 0
        done = min(view.frames_done, total)
        filled = round(self.bar_width * done / total) if total else 0
        bar = Text("━" * filled, style="cyan")
        bar.append("━" * (self.bar_width - filled), style="grey23")
        return bar


_STATE_STYLE = {
    JobState.queued: "dim",
    JobState.running: "cyan",
    JobState.verifying: "magenta",
    JobState.fallback: "yellow",
}


class StateColumn(LiveColumn):
    """What the job is doing, coloured by state; the last column, so its cells are not padded."""

    def __init__(self, header: str = "state") -> None:
        super().__init__(header, lambda view: view.state.value)

    def render(self, view: JobView, text: str, width: int) -> Text:
        return Text(text, style=_STATE_STYLE.get(view.state, ""))


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _frames(view: JobView) -> str:
    total = view.frames_total or 0
    return f"{view.frames_done}/{total}" if total else ""


LIVE_COLUMNS: tuple[LiveColumn, ...] = (
    LiveColumn("camera", lambda view: view.camera or ""),
    LiveColumn("episode", lambda view: view.episode),
    LiveColumn("encoder", lambda view: view.encoder or ""),
    BarColumn(),
    LiveColumn("frames", _frames, right=True),
    LiveColumn("fps", lambda view: f"{view.fps:.0f}" if view.fps else "", right=True),
    LiveColumn("speed", lambda view: f"{view.speed:.2f}x" if view.speed else "", right=True),
    LiveColumn("eta", lambda view: _clock(view.eta_seconds), right=True),
    StateColumn(),
)


def live_table(views: Sequence[JobView], columns: Sequence[LiveColumn] = LIVE_COLUMNS) -> Text:
    """A header line, then a line per job, each cell aligned to its column's width."""
    texts = [[column.text(view) for column in columns] for view in views]
    widths = [column.width([row[index] for row in texts]) for index, column in enumerate(columns)]
    table = Text()
    for column, width in zip(columns, widths, strict=True):
        table.append(column.aligned(column.header, width) + _GAP, style="bold")
    for view, row in zip(views, texts, strict=True):
        table.append("\n")
        for column, text, width in zip(columns, row, widths, strict=True):
            table.append_text(column.render(view, text, width))
            table.append(_GAP)
    return table


def live_footer(snapshot: RunSnapshot) -> Text:
    """The whole run in one line: counts, throughput, time, and how many queued jobs have no row."""
    hidden = snapshot.queued - sum(view.state is JobState.queued for view in snapshot.active)
    return Text(
        f"queue {snapshot.queued} · running {snapshot.running} · done {snapshot.done}"
        + (f" · skipped {snapshot.skipped}" if snapshot.skipped else "")
        + f" · failed {snapshot.failed} · {snapshot.throughput_fps:.0f} fps · {_clock(snapshot.elapsed)}"
        + (f"   (+{hidden} more queued)" if hidden > 0 else ""),
        style="bold red" if snapshot.failed else "bold",
    )


def live_view(snapshot: RunSnapshot) -> RenderableType:
    """The live table: a row per running or queued job, and a footer for the whole run."""
    return Group(live_table(snapshot.active), live_footer(snapshot))


class LiveRunView:
    """A renderable that redraws from the tracker each time Rich refreshes it."""

    def __init__(self, tracker: RunTracker, rows: int) -> None:
        self.tracker = tracker
        self.rows = rows

    def __rich__(self) -> RenderableType:
        return live_view(self.tracker.snapshot(limit=self.rows))
