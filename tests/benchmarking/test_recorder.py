"""encodectl/benchmarking/recorder.py: the simulated recorder, frames written or handed over one every 1/fps,
counting the deadlines it missed.

The recorder inside whole bench runs: tests/test_bench.py, tests/benchmarking/test_benchmark.py."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from encodectl.benchmarking import recorder
from encodectl.benchmarking.measures import BenchOptions
from encodectl.benchmarking.recorder import camera_names, frame_loops, in_real_time, record_episode
from encodectl.frames.synthetic import FrameLoop
from encodectl.models import FFmpegBinary
from tests.benchmarking.clock import FakeClock

pytestmark = pytest.mark.same_on_every_ffmpeg("a clock of the test's own and frame files copied: no ffmpeg runs")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(recorder, "time", fake)
    return fake


def test_each_frame_at_its_due_time_and_the_episode_lasts_its_length(clock: FakeClock) -> None:
    due: list[tuple[int, float]] = []
    assert in_real_time(4, Fraction(10), lambda index: due.append((index, clock.now))) == 0
    assert due == [(0, 0.0), (1, pytest.approx(0.1)), (2, pytest.approx(0.2)), (3, pytest.approx(0.3))]
    assert clock.now == pytest.approx(0.4)


def test_a_frame_later_than_a_whole_period_is_a_missed_deadline(clock: FakeClock) -> None:
    def slow_first(index: int) -> None:
        if index == 0:
            clock.now += 0.35  # frames 1 and 2 come over a period late, frame 3 less than one

    assert in_real_time(4, Fraction(10), slow_first) == 2
    assert clock.slept == [pytest.approx(0.05)]  # only the rest of the episode's length


def test_an_episode_is_written_as_lerobots_recorder_lays_it_out(
    clock: FakeClock, tmp_path: Path, make_frames: Callable[..., list[Path]], ffmpeg_binary: FFmpegBinary
) -> None:
    mine = make_frames(tmp_path / "mine", 2)
    loops = frame_loops(BenchOptions(frames=tmp_path / "mine", cameras=2), ffmpeg_binary, tmp_path / "loops")
    assert len(loops) == 2 and loops[0] is loops[1] and loops[0].frames == [p.read_bytes() for p in mine]
    cameras = camera_names(2)
    assert cameras == ["observation.images.top", "observation.images.wrist"]
    assert camera_names(4)[3] == "observation.images.cam3"
    assert record_episode(tmp_path / "rec", 7, cameras, [loops[0], FrameLoop([b"w"])], 3, Fraction(30)) == 0
    top = tmp_path / "rec" / "images" / cameras[0] / "episode_000007"
    assert sorted(p.name for p in top.iterdir()) == ["frame_000000.png", "frame_000001.png", "frame_000002.png"]
    assert (top / "frame_000002.png").read_bytes() == mine[0].read_bytes()  # the loop starts again
    assert (tmp_path / "rec" / "images" / cameras[1] / "episode_000007" / "frame_000001.png").read_bytes() == b"w"
    assert clock.now == pytest.approx(0.1)
