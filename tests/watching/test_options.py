"""encodectl/watching/options.py: what `watch` is asked (WatchOptions) and what it did (WatchSummary).

The options from the command line, bad values refused: tests/test_bad_input.py, tests/test_watch.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from encodectl.watching.options import WatchOptions, WatchSummary

pytestmark = pytest.mark.same_on_every_ffmpeg("option models: no ffmpeg runs")


def test_defaults_a_recorder_can_live_with() -> None:
    options = WatchOptions(root=Path("/data"))
    assert (options.settle, options.sibling_settle, options.rescan, options.deep_rescan) == (5.0, 0.5, 2.0, 30.0)
    assert options.drain and not options.once and not options.stream and options.output is None


@pytest.mark.parametrize(("field", "value"), [("settle", -1), ("sibling_settle", -0.1), ("rescan", 0),
                                              ("deep_rescan", 0)])  # fmt: skip
def test_times_out_of_range_are_refused(field: str, value: float) -> None:
    with pytest.raises(ValidationError, match=field):
        WatchOptions(root=Path("/data"), **{field: value})


def test_a_summary_starts_at_zero() -> None:
    assert WatchSummary().model_dump() == {
        "done": 0, "failed": 0, "redone": 0, "adopted": 0, "waiting": 0, "failed_in_ledger": 0, "done_in_ledger": 0,
        "interrupted": False,
    }  # fmt: skip
