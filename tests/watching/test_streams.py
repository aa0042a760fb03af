"""encodectl/watching/streams.py: `watch --stream`, each episode encoded while it is recorded.

watch --stream under a recorder (late, odd and out-of-order frames; restarts): tests/test_watch.py; the stream
encoder itself: tests/test_stream.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from encodectl.ffmpeg.encoder_choice import plan_encoder
from encodectl.job.ledger import Ledger, LedgerState
from encodectl.job.progress import RunTracker
from encodectl.models import EncodeOptions, FFmpegBinary, JobStatus
from encodectl.watching.context import WatchRun
from encodectl.watching.ledger_gateway import LedgerGateway
from encodectl.watching.observe import Observation, Observer
from encodectl.watching.options import WatchOptions
from encodectl.watching.streams import LiveStreams
from tests.conftest import decode


class Setup:
    def __init__(self, root: Path, ffmpeg_binary: FFmpegBinary) -> None:
        self.said: list[str] = []
        options = EncodeOptions(device="cpu", fps=10)
        self.watch = WatchOptions(root=root, stream=True)
        self.observer = Observer(root, self.watch, self.said.append)
        self.gateway = LedgerGateway(Ledger(root.parent / "state.sqlite"))
        run = WatchRun(self.watch, options, ffmpeg_binary, plan_encoder(options, ffmpeg_binary), RunTracker(),
                       self.gateway, self.said.append)  # fmt: skip
        self.streams = LiveStreams(run)

    def look(self) -> Observation:
        (observation,) = self.observer.observe(self.gateway.get, 0.0, set(), self.streams.live, self.streams.off)
        return observation


@pytest.fixture
def setup(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> Setup:
    (tmp_path / "rec").mkdir()
    return Setup(tmp_path / "rec", ffmpeg_binary)


def test_frames_fed_as_they_come_then_a_verified_video(setup: Setup, make_frames: Callable[..., list[Path]]) -> None:
    folder = setup.watch.root / "ep"
    make_frames(folder, count=2)
    setup.streams.feed(setup.look())
    assert folder in setup.streams.live and setup.gateway.is_streaming(folder)
    make_frames(folder, count=2, start_number=2)
    result = setup.streams.finish(setup.look())
    assert result is not None and result.status is JobStatus.done and result.frames == 4
    assert folder not in setup.streams.live and decode(setup.watch.root / "ep.mp4").frames == 4
    assert setup.said == []


def test_a_frame_of_another_size_leaves_the_episode_to_its_files(
    setup: Setup, make_frames: Callable[..., list[Path]]
) -> None:
    folder = setup.watch.root / "ep"
    make_frames(folder, count=2)
    setup.streams.feed(setup.look())
    make_frames(folder, count=1, start_number=2, size=(32, 24))
    setup.streams.feed(setup.look())
    assert folder not in setup.streams.live and folder in setup.streams.off
    assert setup.gateway.get(folder).state is LedgerState.encoding  # type: ignore[union-attr]  # redone from files
    assert not setup.gateway.is_streaming(folder)
    assert len(setup.said) == 1 and "encoding it from its files when it is complete" in setup.said[0]
    assert not (setup.watch.root / "ep.mp4").exists()
