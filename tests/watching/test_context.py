"""encodectl/watching/context.py: what every part of one watch run shares, handed around as one value.

The parts that share it at work: tests/watching/test_act.py, tests/test_watch.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from encodectl.ffmpeg.encoder_choice import plan_encoder
from encodectl.job.ledger import Ledger
from encodectl.job.progress import RunTracker
from encodectl.models import EncodeOptions, FFmpegBinary
from encodectl.watching.context import WatchRun
from encodectl.watching.ledger_gateway import LedgerGateway
from encodectl.watching.options import WatchOptions

pytestmark = pytest.mark.same_on_every_ffmpeg("a value built and read: the plan is the CPU's, no encode runs")


def test_one_value_that_no_part_can_change(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    options = EncodeOptions(device="cpu")
    said: list[str] = []
    run = WatchRun(WatchOptions(root=tmp_path), options, ffmpeg_binary, plan_encoder(options, ffmpeg_binary),
                   RunTracker(), LedgerGateway(Ledger(tmp_path / "ledger.sqlite")), said.append)  # fmt: skip
    run.say("note")
    assert said == ["note"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.options = EncodeOptions()  # type: ignore[misc]
