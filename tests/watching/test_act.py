"""encodectl/watching/act.py: the act step of a watch pass: hand episodes to the pool, adopt videos already made,
record results, reconcile the ledger after a restart.

The watcher's behaviour end to end (late frames, restarts, --delete-frames): tests/test_watch.py; the rules the
actor follows: tests/watching/test_rules.py."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from encodectl.ffmpeg.encoder_choice import plan_encoder
from encodectl.job.ledger import Ledger, LedgerState
from encodectl.job.progress import RunTracker
from encodectl.models import EncodeOptions, FFmpegBinary
from encodectl.run.pool import EncoderPool
from encodectl.watching.act import Actor
from encodectl.watching.context import WatchRun
from encodectl.watching.ledger_gateway import LedgerGateway
from encodectl.watching.observe import Observer
from encodectl.watching.options import WatchOptions
from tests.conftest import decode


def actor_for(root: Path, ledger: Path, ffmpeg_binary: FFmpegBinary, said: list[str]) -> Actor:
    watch = WatchOptions(root=root, settle=0, sibling_settle=0, once=True)
    options = EncodeOptions(device="cpu", fps=10, overwrite=True)
    run = WatchRun(watch, options, ffmpeg_binary, plan_encoder(options, ffmpeg_binary), RunTracker(),
                   LedgerGateway(Ledger(ledger)), said.append)  # fmt: skip
    return Actor(run, Observer(root, watch, said.append), threading.Event())


def test_encode_then_a_new_ledger_adopts_the_video(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    root = tmp_path / "rec"
    make_frames(root / "ep1", count=3)
    said: list[str] = []
    actor = actor_for(root, tmp_path / "one.sqlite", ffmpeg_binary, said)
    ready, waiting = actor.scan()
    assert [o.directory for o in ready] == [root / "ep1"] and waiting == 0
    with EncoderPool(encode_options=actor.run.options, ffmpeg_binary=ffmpeg_binary, plan=actor.run.plan) as pool:
        actor.submit(ready[0], pool)
        assert not actor.idle
        assert actor.run.gateway.get(root / "ep1").state is LedgerState.encoding  # type: ignore[union-attr]
    actor.collect_all()
    assert actor.idle
    record = actor.run.gateway.get(root / "ep1")
    assert record is not None and record.state is LedgerState.done and record.signature.frames == 3
    assert decode(root / "ep1.mp4").frames == 3

    # A watcher without that ledger finds the video: checked against the frames, kept, not encoded again.
    again = actor_for(root, tmp_path / "two.sqlite", ffmpeg_binary, said)
    (observation,), _ = again.scan()
    made = (root / "ep1.mp4").stat().st_mtime_ns
    with EncoderPool(encode_options=again.run.options, ffmpeg_binary=ffmpeg_binary, plan=again.run.plan) as pool:
        again.submit(observation, pool)
    assert again.idle and again.run.gateway.summary.adopted == 1
    assert again.run.gateway.get(root / "ep1").state is LedgerState.done  # type: ignore[union-attr]
    assert (root / "ep1.mp4").stat().st_mtime_ns == made
    assert said == []


@pytest.mark.same_on_every_ffmpeg("the ledger reconciled with the disk: no encode runs")
def test_reconcile_after_a_restart(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    root = tmp_path / "rec"
    for name in ("cut", "gone", "missing"):
        (root / name).mkdir(parents=True)
        (root / name / "frame_000000.png").write_bytes(b"x")
    said: list[str] = []
    actor = actor_for(root, tmp_path / "state.sqlite", ffmpeg_binary, said)
    observations = {o.directory.name: o for o in actor.scan()[0]}
    # As a watcher killed mid-encode left them: one encoding; two done whose videos are not there.
    actor.run.gateway.start_encode(observations["cut"].source, observations["cut"].signature)
    for name in ("gone", "missing"):
        actor.run.gateway.adopt(observations[name].source, observations[name].signature)
    (root / "gone" / "frame_000000.png").unlink()
    actor.reconcile()
    states = {name: actor.run.gateway.get(root / name).state for name in observations}  # type: ignore[union-attr]
    assert states == {"cut": LedgerState.pending, "gone": LedgerState.failed, "missing": LedgerState.pending}
    assert any("cut: was queued or encoding when the last watcher stopped; redoing it" in line for line in said)
    assert f"{root}/missing.mp4 is missing; redoing it" in said
    lost = actor.run.gateway.get(root / "gone")
    assert lost is not None and "no frames are left" in (lost.reason or "")
