"""Build the ffmpeg command line that reads several videos back in one run (for `check`).

Starting ffmpeg costs more than reading a small episode's packets, so a dataset of one video per
episode (LeRobot v2.1) is read many files to a run: every input's first video stream is mapped to
one framecrc output, whose lines carry the output stream index, which is the input's position.
"""

from __future__ import annotations

from pathlib import Path

from ..models import FFmpegBinary
from .command import demuxer_time_base, passthrough_timing
from .command_line import command_line, flags

_READ_ARGS = ("-hide_banner", "-nostdin")


def build_batch_read_command(ffmpeg_binary: FFmpegBinary, paths: list[Path], decode: bool) -> list[str]:
    """List every packet (or, with `decode`, every decoded frame) of the first video stream of each of
    `paths`, with its timestamp in its file's own time base; stream k of the listing is paths[k].

    Written with flags: ffmpeg-python cannot say several -map of several inputs in this order. With
    `decode`, the first frame that does not decode fails the whole run (-xerror); the caller then reads
    the files one by one to name it."""
    # Listing packets decodes nothing but the probe's first frame: one decoder thread per input saves
    # starting a thread pool for each of many inputs (measured: a third of the CPU time of a batch of 32).
    threads = [] if decode else ["-threads", "1"]
    inputs = [argument for path in paths for argument in (*threads, "-i", str(path.absolute()))]
    maps = [argument for index in range(len(paths)) for argument in ("-map", f"{index}:v:0")]
    if decode:
        options = {**passthrough_timing(ffmpeg_binary), "enc_time_base": demuxer_time_base(ffmpeg_binary)}
    else:
        options = {"c": "copy"}
    return command_line(
        ffmpeg_binary,
        _READ_ARGS,
        ["-xerror"] if decode else [],
        inputs,
        maps,
        flags(options),
        ["-f", "framecrc", "-"],
    )
