"""The live view of a run in a terminal: a row per running or queued job, and a footer for the whole run.

The table is built from column objects, as Rich's progress display is: each column says what its cell
shows for a job, how it is drawn and how soon it goes when the terminal is narrow (its priority; the bar
first shrinks to BarColumn.min_width), so that the view fits the terminal and never wraps. To add or
change a column, write or edit one here and list it in LIVE_COLUMNS. It is laid out by hand as aligned
text, because a Rich Table costs about 1 ms a row per refresh, which at four refreshes a second would
spend several percent of a core on looks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.text import Text

from ..job.progress import JobState, JobView, RunSnapshot, RunTracker
from .fit import short_names

_GAP = "  "  # between columns


class LiveColumn:
    """A column of plain text cells, as wide as its widest cell or its header. Priority 0 is always shown;
    the highest priority goes first when the terminal is too narrow for all."""

    def __init__(self, header: str, value: Callable[[JobView], str], right: bool = False, priority: int = 0) -> None:
        self.header = header
        self.value = value
        self.right = right
        self.priority = priority

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

    min_width = 10

    def __init__(self, header: str = "progress", width: int = 24, priority: int = 0) -> None:
        super().__init__(header, lambda _: "", priority=priority)
        self.bar_width = width

    def width(self, texts: Sequence[str]) -> int:
        return self.bar_width

    def render(self, view: JobView, text: str, width: int) -> Text:
        total = view.frames_total or 0
        done = min(view.frames_done, total)
        filled = round(width * done / total) if total else 0
        bar = Text("━" * filled, style="cyan")
        bar.append("━" * (width - filled), style="grey23")
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
    LiveColumn("camera", lambda view: view.camera or "", priority=4),
    LiveColumn("episode", lambda view: view.episode),
    LiveColumn("encoder", lambda view: view.encoder or "", priority=5),
    BarColumn(priority=3),
    LiveColumn("frames", _frames, right=True),
    LiveColumn("fps", lambda view: f"{view.fps:.0f}" if view.fps else "", right=True, priority=2),
    LiveColumn("speed", lambda view: f"{view.speed:.2f}x" if view.speed else "", right=True, priority=7),
    LiveColumn("eta", lambda view: _clock(view.eta_seconds), right=True, priority=6),
    StateColumn(),
)


def _fitted(columns: Sequence[LiveColumn], widths: list[int], width: int | None) -> tuple[list[LiveColumn], list[int]]:
    """The columns that fit in `width`: the bar shrinks to its minimum first, then the highest priority goes."""
    kept = list(range(len(columns)))
    widths = list(widths)
    while width is not None:
        fixed = sum(widths[i] for i in kept if not isinstance(columns[i], BarColumn)) + len(_GAP) * (len(kept) - 1)
        bars = [i for i in kept if isinstance(columns[i], BarColumn)]
        room = width - fixed
        if room >= max(0, BarColumn.min_width * len(bars)):
            for i in bars:
                widths[i] = min(widths[i], room // len(bars))
            break
        droppable = [i for i in kept if columns[i].priority > 0]
        if not droppable:
            break
        kept.remove(max(droppable, key=lambda i: columns[i].priority))
    return [columns[i] for i in kept], [widths[i] for i in kept]


def live_table(
    views: Sequence[JobView], columns: Sequence[LiveColumn] = LIVE_COLUMNS, width: int | None = None
) -> Text:
    """A header line, then a line per job, each cell aligned to its column's width; at most `width` wide."""
    cameras = short_names([view.camera for view in views])
    views = [view.model_copy(update={"camera": camera or None}) for view, camera in zip(views, cameras, strict=True)]
    texts = [[column.text(view) for column in columns] for view in views]
    widths = [column.width([row[index] for row in texts]) for index, column in enumerate(columns)]
    shown, widths = _fitted(columns, widths, width)
    texts = [[column.text(view) for column in shown] for view in views]
    table = Text()
    table.append(_GAP.join(column.aligned(column.header, w) for column, w in zip(shown, widths, strict=True)).rstrip(),
                 style="bold")  # fmt: skip
    for view, row in zip(views, texts, strict=True):
        table.append("\n")
        for index, (column, text, w) in enumerate(zip(shown, row, widths, strict=True)):
            if index:
                table.append(_GAP)
            table.append_text(column.render(view, text, w))
        table.rstrip()
    table.no_wrap = True
    table.overflow = "ellipsis"
    return table


def live_footer(snapshot: RunSnapshot) -> Text:
    """The whole run in one line: counts, live throughput (frames encoded per second, from ffmpeg's
    progress), time, and how many queued jobs have no row."""
    hidden = snapshot.queued - sum(view.state is JobState.queued for view in snapshot.active)
    return Text(
        f"queue {snapshot.queued} · running {snapshot.running} · done {snapshot.done}"
        + (f" · skipped {snapshot.skipped}" if snapshot.skipped else "")
        + f" · failed {snapshot.failed} · {snapshot.live_fps:.0f} fps · {_clock(snapshot.elapsed)}"
        + (f" (+{hidden} queued)" if hidden > 0 else ""),
        style="bold red" if snapshot.failed else "bold",
    )


def live_view(snapshot: RunSnapshot, width: int | None = None) -> RenderableType:
    """The live table: a row per running or queued job, and a footer for the whole run; at most `width` wide."""
    return Group(live_table(snapshot.active, width=width), live_footer(snapshot))


class LiveRunView:
    """A renderable that redraws from the tracker each time Rich refreshes it, as wide as the terminal is then."""

    def __init__(self, tracker: RunTracker, rows: int) -> None:
        self.tracker = tracker
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield live_view(self.tracker.snapshot(limit=self.rows), width=options.max_width)
