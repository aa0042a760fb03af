"""encodectl/job/source_runner.py: what encodes a batch of episodes, as the callers that choose how see it.

Runners given to check --repair and to the finishing of a dataset, at work: tests/test_check.py,
tests/test_lerobot.py."""

from __future__ import annotations

from typing import get_args

import pytest

from encodectl.frames.layout import EpisodeSource
from encodectl.job.source_runner import SourceRunner
from encodectl.models import EncodeOptions, JobResult

pytestmark = pytest.mark.same_on_every_ffmpeg("a type read: no ffmpeg runs")


def test_a_runner_takes_episodes_and_options_and_gives_one_result_each() -> None:
    assert get_args(SourceRunner) == ([list[EpisodeSource], EncodeOptions], list[JobResult])
