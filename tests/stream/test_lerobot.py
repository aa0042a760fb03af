"""encodectl/stream/lerobot.py: LeRobot 0.6's StreamingVideoEncoder contract, encoding with encodectl, and
install_streaming, which puts it in LeRobot's place.

Against a stand-in for LeRobot 0.6.1 (its dataset class and calls), every path of a recording:
tests/test_lerobot_streaming.py; against LeRobot itself: tests_lerobot/."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from encodectl.errors import EncodeError, UsageError
from encodectl.models import FFmpegBinary
from encodectl.stream.lerobot import (
    EncodectlStreamingEncoder,
    check_contract,
    install_streaming,
    installed,
    uninstall_streaming,
)
from tests.conftest import decode

NO_FFMPEG = pytest.mark.same_on_every_ffmpeg("signatures compared and a builder swapped: no encode runs")


class Encoder:
    """LeRobot 0.6.1's StreamingVideoEncoder, its calls' signatures only."""

    def start_episode(self, video_keys: Any, temp_dir: Any, depth_video_keys: Any = None) -> None: ...
    def feed_frame(self, video_key: Any, image: Any) -> None: ...
    def finish_episode(self) -> None: ...
    def cancel_episode(self) -> None: ...
    def close(self) -> None: ...


class Dataset:
    @staticmethod
    def _build_streaming_encoder(
        fps: Any, rgb_encoder: Any, depth_encoder: Any, encoder_queue_maxsize: Any, encoder_threads: Any
    ) -> Encoder:
        return Encoder()


@NO_FFMPEG
def test_only_lerobot_06s_contract_is_accepted() -> None:
    check_contract(Dataset, Encoder, "0.6.1")
    check_contract(Dataset, Encoder, "0.6.2rc1")
    refused = "LeRobot {} is not supported by encodectl's streaming (made for LeRobot 0.6's contract): "
    with pytest.raises(UsageError) as caught:
        check_contract(Dataset, Encoder, "0.5.1")
    assert str(caught.value) == refused.format("0.5.1") + "use LeRobot 0.6.x, or record without encodectl"

    class Renamed(Encoder):
        def feed_frame(self, key: Any, image: Any) -> None: ...  # type: ignore[override]

    with pytest.raises(UsageError) as caught:
        check_contract(Dataset, Renamed, "0.6.1")
    assert str(caught.value) == refused.format("0.6.1") + (
        "StreamingVideoEncoder.feed_frame is (self, key, image), not (self, video_key, image)"
    )

    class NotStatic:
        def _build_streaming_encoder(self) -> None: ...

    with pytest.raises(UsageError, match=r"NotStatic\._build_streaming_encoder is not the static method it patches"):
        check_contract(NotStatic, Encoder, "0.6.1")


@NO_FFMPEG
def test_install_swaps_the_builder_and_uninstall_puts_it_back(ffmpeg_binary: FFmpegBinary) -> None:
    class Patched(Dataset):
        pass

    Patched._build_streaming_encoder = Dataset.__dict__["_build_streaming_encoder"]  # type: ignore[method-assign]
    install_streaming(Patched, encoder_class=Encoder, version="0.6.1", ffmpeg_binary=ffmpeg_binary)
    try:
        assert installed(Patched) and not installed(Dataset)
        built = Patched._build_streaming_encoder(30, None, None, 30, None)
        assert isinstance(built, EncodectlStreamingEncoder) and built.fps == 30 and built.binary == ffmpeg_binary
        built.close()
    finally:
        uninstall_streaming(Patched)
    assert not installed(Patched)
    assert isinstance(Patched._build_streaming_encoder(30, None, None, 30, None), Encoder)
    with pytest.raises(UsageError, match="needs encoder_class and version too"):
        install_streaming(Patched)  # type: ignore[call-arg]


def test_an_episode_through_the_contract(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    config = SimpleNamespace(vcodec="h264", pix_fmt="yuv420p", g=2, crf=30, preset="ultrafast")
    encoder = EncodectlStreamingEncoder(10, config, None, 30, None, ffmpeg_binary=ffmpeg_binary)
    with pytest.raises(EncodeError, match="no active episode for top: call start_episode"):
        encoder.feed_frame("top", np.zeros((48, 64, 3), dtype=np.uint8))
    encoder.start_episode(["top", "wrist"], tmp_path)
    for index in range(4):
        encoder.feed_frame("top", np.full((48, 64, 3), 50 * index, dtype=np.uint8))
        encoder.feed_frame("wrist", np.full((16, 32, 3), 50 * index, dtype=np.uint8))
    finished = encoder.finish_episode()
    assert set(finished) == {"top", "wrist"}
    top, stats = finished["top"]
    assert top.name == "top_streaming.mp4" and top.parent.parent == tmp_path
    video = decode(top)
    assert (video.frames, video.timestamps[-1], video.keyframes) == (4, Fraction(3, 10), [0, 2])
    assert stats is not None and stats["count"].tolist() == [4 * 64 * 48]
    assert decode(finished["wrist"][0]).width == 32
    with pytest.raises(EncodeError, match="no active episode to finish"):
        encoder.finish_episode()
    encoder.close()
    with pytest.raises(EncodeError, match=r"start_episode after close\(\)"):
        encoder.start_episode(["top"], tmp_path)
