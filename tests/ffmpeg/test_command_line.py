"""encodectl/ffmpeg/command_line.py: how every argv is put together. The commands it makes run in every
behaviour-level suite; their exact text is pinned in tests/test_command.py."""

from __future__ import annotations

from pathlib import Path

import ffmpeg
import pytest

from encodectl.ffmpeg.command_line import (
    INPUT,
    OUTPUT,
    command_line,
    encoders_command,
    flags,
    graph_args,
    version_command,
)
from encodectl.models import FFmpegBinary

pytestmark = pytest.mark.same_on_every_ffmpeg("argv built as text: no ffmpeg runs")


def test_command_line_is_the_binary_then_the_groups_in_order() -> None:
    binary = FFmpegBinary(path=Path("/opt/ff/ffmpeg"), version="7.1", source="PATH")
    assert command_line(binary, ["-a"], (), ["-b", "c"]) == ["/opt/ff/ffmpeg", "-a", "-b", "c"]
    assert command_line("./maybe-ffmpeg", ["-x"]) == ["./maybe-ffmpeg", "-x"]


def test_flags_keep_the_order_given() -> None:
    assert flags({"movflags": "+faststart", "f": "mp4", "c": "copy"}) == [
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        "-c",
        "copy",
    ]


def test_graph_args_put_the_real_paths_back_even_when_not_utf8() -> None:
    odd = "/data/caméra/\udcff/ep.mp4"  # a Linux name that is not UTF-8 (surrogate escape)
    output = ffmpeg.input(INPUT, f="image2").output(OUTPUT, c="copy")
    args = graph_args(output, {INPUT: "/frames/%06d.png", OUTPUT: odd})
    assert args[args.index("-i") + 1] == "/frames/%06d.png"
    assert args[-1] == odd
    assert INPUT not in args and OUTPUT not in args


def test_the_two_questions_asked_of_a_binary() -> None:
    assert version_command("ff") == ["ff", "-hide_banner", "-version"]
    assert encoders_command("ff") == ["ff", "-hide_banner", "-nostdin", "-encoders"]
