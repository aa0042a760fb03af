"""Build the ffmpeg command lines that copy finished packets into another file without re-encoding: several
videos joined one after the other (concat), and a fragmented stream's packets rewritten as a plain file
(remux)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import ffmpeg

from ..errors import InputError
from ..models import FFmpegBinary
from .command import GLOBAL_ARGS
from .command_line import INPUT, OUTPUT, command_line, flags, graph_args


def concat_list(parts: list[tuple[Path, Fraction]]) -> str:
    """An ffconcat list of (file, exact duration in seconds), quoted as the concat demuxer reads them.

    Each file's duration is given, because ffmpeg 5.1 otherwise starts the next file at the
    container's duration, rounded to a millisecond (a 10-tick gap at 30 fps). The list
    takes microseconds; each duration is the difference of the rounded exact starts, so
    the rounding never adds up across files (every start stays within 0.5 us)."""
    lines = ["ffconcat version 1.0"]
    start = Fraction(0)
    for path, duration in parts:
        if any(character in str(path) for character in "\n\r\0"):
            # A line break would end the quoted name and begin a directive of the list's own.
            raise InputError(f"{path!r}: a file name with a line break cannot be listed for ffmpeg's concat")
        begin_us, end_us = round(start * 1_000_000), round((start + duration) * 1_000_000)
        start += duration
        microseconds = end_us - begin_us
        lines.append("file '" + str(path.absolute()).replace("'", "'\\''") + "'")
        lines.append(f"duration {microseconds // 1_000_000}.{microseconds % 1_000_000:06d}")
    return "\n".join(lines) + "\n"


def build_join_command(
    ffmpeg_binary: FFmpegBinary, list_file: Path, target: Path, timescale: int, matroska: bool = False
) -> list[str]:
    """Join the videos named in `list_file` one after the other by stream copy (no re-encode)."""
    stream = ffmpeg.input(INPUT, f="concat", safe="0")["v:0"]
    if matroska:  # Matroska keeps its own millisecond time base
        output = stream.output(OUTPUT, c="copy", cues_to_front="1", f="matroska")
    else:
        output = stream.output(OUTPUT, c="copy", movflags="+faststart", video_track_timescale=str(timescale), f="mp4")
    arguments = graph_args(output, {INPUT: str(list_file.absolute()), OUTPUT: str(target.absolute())})
    return command_line(ffmpeg_binary, GLOBAL_ARGS, arguments)


# Index first, so a reader over the network seeks without the tail.
_MP4 = {"movflags": "+faststart", "f": "mp4"}
_MATROSKA = {"cues_to_front": "1", "f": "matroska"}


def build_remux_command(ffmpeg_binary: FFmpegBinary, fragmented: Path, target: Path, matroska: bool) -> list[str]:
    """The packets of a (possibly cut-off) fragmented MP4 copied into a plain MP4, or Matroska.

    Written with flags: the container's options come before its -f, which ffmpeg-python writes first."""
    container = _MATROSKA if matroska else _MP4
    return command_line(
        ffmpeg_binary,
        ["-hide_banner", "-nostdin", "-y", "-loglevel", "error"],
        ["-i", str(fragmented), "-map", "0:v:0", "-c", "copy"],
        flags(container),
        [str(target)],
    )
