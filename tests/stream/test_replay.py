"""encodectl/stream/replay.py: the frames a hardware encoder was given, kept until it has proved itself.

A stream whose hardware encoder fails, replayed on the CPU: tests/stream/test_writer.py, tests/test_gpu.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from encodectl.ffmpeg.encoders import encoder_settings, get_spec
from encodectl.models import EncodeOptions
from encodectl.stream.replay import FIRST_FRAGMENT_BYTES, Replay

pytestmark = pytest.mark.same_on_every_ffmpeg("frames kept in a list: no ffmpeg runs")

CPU = encoder_settings(get_spec("libx264"), EncodeOptions())


def test_proved_after_two_gops_and_a_first_fragment(tmp_path: Path) -> None:
    stream = tmp_path / "x.stream.mp4"
    replay = Replay(CPU, gop=5, capacity=100, stream_file=stream)
    for n in range(10):
        replay.keep(bytes([n]))
    assert replay.frames == [bytes([n]) for n in range(10)]
    assert not replay.no_longer_needed(10)  # no file yet
    stream.write_bytes(b"\0" * FIRST_FRAGMENT_BYTES)
    assert not replay.no_longer_needed(10)  # only its header
    stream.write_bytes(b"\0" * (FIRST_FRAGMENT_BYTES + 1))
    assert not replay.no_longer_needed(9)  # fewer than two GOPs
    assert replay.no_longer_needed(10)


def test_given_up_at_its_capacity(tmp_path: Path) -> None:
    replay = Replay(CPU, gop=30, capacity=3, stream_file=tmp_path / "absent.mp4")
    replay.keep(b"a")
    replay.keep(b"b")
    assert not replay.no_longer_needed(2)
    replay.keep(b"c")
    assert replay.no_longer_needed(3)
    assert replay.fallback is CPU
