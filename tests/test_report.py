"""The live view's columns: each cell under its header, the bar in proportion, other columns composable."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.text import Text

from encodectl.job.progress import JobState, JobView
from encodectl.report.live import LIVE_COLUMNS, BarColumn, LiveColumn, StateColumn, live_table

pytestmark = pytest.mark.same_on_every_ffmpeg("the live view is rendered from fixed values: no ffmpeg runs")

VIEWS = [
    JobView(camera="observation.images.top", episode="episode_000001", state=JobState.running, encoder="libx264",
            frames_done=37, frames_total=120, fps=123.4, speed=4.12),
    JobView(camera="wrist", episode="ep2", state=JobState.verifying, encoder="h264_nvenc", frames_done=120,
            frames_total=120, fps=9.0, speed=10.0),
    JobView(episode="episode_000010"),
]  # fmt: skip


def plain_lines(table: object) -> list[str]:
    console = Console(record=True, width=300, color_system=None)
    console.print(table)
    return console.export_text().splitlines()


def test_every_cell_is_aligned_under_its_header():
    header, *rows = plain_lines(live_table(VIEWS))
    assert len(rows) == len(VIEWS)
    top, wrist, queued = rows
    # Left-aligned columns start where their header does; right-aligned ones end where it does.
    episode = header.index("episode")
    assert top.index("episode_000001") == wrist.index("ep2") == queued.index("episode_000010") == episode
    assert wrist.index("h264_nvenc") == header.index("encoder")
    frames_end = header.index("frames") + len("frames")
    assert top.index("37/120") + len("37/120") == wrist.index("120/120") + len("120/120") == frames_end
    assert top.index("4.12x") + len("4.12x") == wrist.index("10.00x") + len("10.00x") == header.index("speed") + 5
    assert top.index("running") == wrist.index("verifying") == queued.index("queued") == header.index("state")
    # The widest cell sets the width: the camera name is longer than its header.
    assert episode == len("observation.images.top") + 2


def drawn(text: Text) -> str:
    """The text as a terminal gets it: cyan is ESC[36m, grey23 ESC[38;5;237m."""
    console = Console(record=True, color_system="256", force_terminal=True, width=80)
    console.print(text, end="")
    return console.export_text(styles=True)


CYAN, GREY, RESET = "\x1b[36m", "\x1b[38;5;237m", "\x1b[0m"


def test_the_bar_is_filled_in_proportion_to_the_frames_done():
    column = BarColumn(width=10)
    bar = column.render(JobView(episode="e", frames_done=3, frames_total=10), "", column.width([]))
    assert drawn(bar) == f"{CYAN}━━━{RESET}{GREY}━━━━━━━{RESET}"
    more_than_announced = column.render(JobView(episode="e", frames_done=12, frames_total=10), "", 10)
    assert drawn(more_than_announced) == f"{CYAN}{'━' * 10}{RESET}"
    unknown_total = column.render(JobView(episode="e", frames_done=5), "", 10)
    assert drawn(unknown_total) == f"{GREY}{'━' * 10}{RESET}"


def test_a_table_of_other_columns():
    columns = [
        LiveColumn("ep", lambda view: view.episode),
        LiveColumn("n", lambda view: str(view.frames_done), right=True),
        StateColumn(),
    ]
    header, *rows = plain_lines(live_table(VIEWS, columns))
    assert header.split() == ["ep", "n", "state"]
    assert rows[0].split() == ["episode_000001", "37", "running"]
    assert rows[1].index("120") + 3 == header.index("n") + 1  # right-aligned under "n"
    assert [column.header for column in LIVE_COLUMNS] == [
        "camera", "episode", "encoder", "progress", "frames", "fps", "speed", "eta", "state"
    ]  # fmt: skip
