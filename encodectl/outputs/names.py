"""Hidden names beside a video: unique per attempt, saying which video they belong to and which process
wrote them, and short enough to fit wherever the video's own name fits."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

TEMP_SUFFIX = ".partial"
STAGING_SUFFIX = ".frames"
# What an interrupted encode may leave beside a video. Not a stream's files: they may hold the
# only copy of a recording, and only `recover` (or watch, whose frames are on disk) removes them.
LEFTOVER_SUFFIXES = (TEMP_SUFFIX, STAGING_SUFFIX)

# A file name holds at most 255 bytes on Linux's file systems. A hidden name adds, around the video's
# name, a dot, then ".<tag>" (at most 15 bytes: "<pid>-<6 hex>" or "detached-<6 hex>"), then a suffix
# (at most 11: ".stream.mp4"). A longer video name is shortened in the hidden ones, so that they fit
# whenever the video's own name does.
NAME_MAX = 255
_HIDDEN_EXTRA = len(".") + len(".detached-000000") + len(".stream.mp4")
_HIDDEN_ROOM = NAME_MAX - _HIDDEN_EXTRA
_DIGEST = 8


def hidden_prefix(output: Path) -> str:
    """ ".NAME.", which begins every hidden file beside `output`; a NAME too long for the hidden names to
    fit becomes its start, "~", 8 hex digits of a hash of the whole name, and its suffix (".mp4"), the
    same on every call so the stale-file sweep and `recover` recognise it."""
    name = os.fsencode(output.name)
    if len(name) <= _HIDDEN_ROOM:
        return f".{output.name}."
    suffix = os.fsencode(output.suffix)
    digest = hashlib.sha256(name).hexdigest()[:_DIGEST]
    cut = _HIDDEN_ROOM - len(suffix) - 1 - _DIGEST
    while cut > 0 and name[cut] & 0xC0 == 0x80:  # never half a UTF-8 character
        cut -= 1
    return f".{os.fsdecode(name[:cut])}~{digest}{output.suffix}."


def temp_stem(output: Path) -> Path:
    """A hidden name beside the output, unique per attempt, that says what it belongs to and which
    process wrote it (".NAME.mp4.<pid>-<id>"); suffixes tell its files apart."""
    return output.with_name(f"{hidden_prefix(output)}{os.getpid()}-{secrets.token_hex(3)}")


def temp_paths(output: Path) -> tuple[Path, Path]:
    stem = temp_stem(output).name
    return output.with_name(stem + TEMP_SUFFIX), output.with_name(stem + STAGING_SUFFIX)


def hidden_files(output: Path) -> list[Path]:
    """Every hidden file beside `output` (listed, not globbed: a name may hold '[' or '*')."""
    prefix = hidden_prefix(output)
    try:
        with os.scandir(output.parent) as entries:
            return [Path(entry.path) for entry in entries if entry.name.startswith(prefix)]
    except FileNotFoundError:
        return []
