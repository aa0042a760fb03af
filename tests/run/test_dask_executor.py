"""encodectl/run/dask_executor.py: `--executor dask`, each episode a task on a Dask worker.

Runs on a local Dask cluster (a worker killed, GPU resources): tests/test_dask.py."""

from __future__ import annotations

import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from encodectl.errors import UsageError
from encodectl.frames.layout import discover
from encodectl.models import EncodeOptions, FFmpegBinary, JobResult, JobStatus
from encodectl.run.dask_executor import options_for_workers, parse_executor, run_on_worker
from tests.conftest import decode


@pytest.mark.same_on_every_ffmpeg("text parsed and options dumped: no ffmpeg runs")
def test_parse_executor() -> None:
    assert parse_executor("local") == ("local", None)
    assert parse_executor("dask") == ("dask", None)
    assert parse_executor("dask:tcp://scheduler:8786") == ("dask", "tcp://scheduler:8786")
    for wrong in ("local:x", "ray", "dask-ish"):
        with pytest.raises(UsageError, match="use local, dask, or dask:ADDRESS"):
            parse_executor(wrong)


@pytest.mark.same_on_every_ffmpeg("text parsed and options dumped: no ffmpeg runs")
def test_workers_get_only_the_options_given() -> None:
    options = EncodeOptions(fps=Fraction(30000, 1001), quality=28)
    sent = options_for_workers(options)
    assert sent == {"fps": "30000/1001", "quality": 28}
    assert EncodeOptions.model_validate(sent) == options


def test_a_task_encodes_and_returns_its_result_as_json(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # not on a worker either way; its import takes 2 s
    make_frames(tmp_path / "ep", count=3)
    (source,) = discover([tmp_path / "ep"])
    options = options_for_workers(EncodeOptions(device="cpu", fps=10, ffmpeg=str(ffmpeg_binary.path)))
    returned = run_on_worker(source.model_dump(mode="json"), options)
    result = JobResult.model_validate(returned)
    assert result.status is JobStatus.done and result.frames == 3 and result.worker is None  # not on a worker
    assert decode(tmp_path / "ep.mp4").frames == 3
