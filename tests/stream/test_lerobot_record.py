"""encodectl/stream/lerobot_record.py: `encodectl lerobot-record`, LeRobot's recorder streaming through
encodectl.

Against LeRobot 0.6.1 itself: tests_lerobot/ (make test-lerobot); against a stand-in of its recorder:
tests/test_lerobot_streaming.py."""

from __future__ import annotations

import importlib.util

import pytest

from encodectl.stream.lerobot_record import EXIT_USAGE, STREAMING_FLAG, main, with_streaming

pytestmark = pytest.mark.same_on_every_ffmpeg("arguments rewritten, LeRobot looked for: no ffmpeg runs")


def test_streaming_is_turned_on_unless_the_command_says() -> None:
    assert with_streaming(["--robot.type=so101"]) == (["--robot.type=so101", f"{STREAMING_FLAG}=true"], None)
    assert with_streaming([f"{STREAMING_FLAG}=True"]) == ([f"{STREAMING_FLAG}=True"], None)
    args, note = with_streaming([f"{STREAMING_FLAG}=true", f"{STREAMING_FLAG}=false"])
    assert args == [f"{STREAMING_FLAG}=true", f"{STREAMING_FLAG}=false"]
    assert note == f"{STREAMING_FLAG}=false: LeRobot writes images and encodes them itself; encodectl is not used"


@pytest.mark.skipif(importlib.util.find_spec("lerobot") is not None, reason="LeRobot is installed here")
def test_without_lerobot_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--robot.type=so101"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("encodectl: error: ") and err.count("\n") == 1
    assert "pip install 'lerobot[dataset]==0.6.1'" in err
