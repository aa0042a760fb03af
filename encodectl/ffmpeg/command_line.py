"""The one way an ffmpeg command line is put together: the binary, then groups of arguments in order.

Every builder in this package returns ``command_line(binary, group, ...)``. The global options come first as
a group of their own (ffmpeg-python would put them after the outputs). The inputs and outputs are what
ffmpeg-python made of a filter graph (``graph_args``) or, where it cannot say the command, options written
in the order given (``flags``): ffmpeg-python writes each input's and output's -f first and sorts the other
options by name, so the commands encodectl wrote by hand before (kept byte for byte) and a ``-lavfi`` graph
given as text are written with flags. Also here: the two questions asked of a binary before anything else
(its version, its encoders).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import ffmpeg

from ..models import FFmpegBinary

# Stand-ins for paths while ffmpeg-python builds a command: it hashes every argument as UTF-8, and a Linux
# path need not be UTF-8 (a folder named with other bytes would fail the whole run). graph_args puts the
# real paths back.
INPUT, OUTPUT, FRAMES = "<encodectl-input>", "<encodectl-output>", "<encodectl-frames>"
HASHES = "<encodectl-hashes>"


def command_line(binary: FFmpegBinary | str, *groups: Iterable[str]) -> list[str]:
    """The argv: the binary (an FFmpegBinary, or a path not yet known to be ffmpeg), then every group."""
    path = str(binary.path) if isinstance(binary, FFmpegBinary) else binary
    return [path, *itertools.chain.from_iterable(groups)]


def flags(options: Mapping[str, str]) -> list[str]:
    """``-name value`` for each option, in the mapping's order (ffmpeg-python would reorder them)."""
    return [argument for name, value in options.items() for argument in (f"-{name}", value)]


def graph_args(output: Any, real_paths: Mapping[str, str]) -> list[str]:
    """ffmpeg-python's arguments for `output` (an output node), each placeholder replaced by its real path."""
    return [real_paths.get(argument, argument) for argument in ffmpeg.get_args(output)]


def version_command(path: str) -> list[str]:
    """Asks a binary its version (`path`: not yet known to be ffmpeg)."""
    return command_line(path, ["-hide_banner", "-version"])


def encoders_command(path: str) -> list[str]:
    """Asks a binary the encoders compiled into it."""
    return command_line(path, ["-hide_banner", "-nostdin", "-encoders"])
