"""An MP4's packet timestamps from its own sample table, without ffmpeg, for the common case only.

Listing packets with ffmpeg reads every byte of the file (framecrc checksums each packet): 700 MB for
200 episodes x 2 cameras at 640x480. The timestamps, sizes and codec configuration are all in the
``moov`` box, a few hundred KB. This reads them for the files LeRobot writes by default (AV1 in MP4,
no composition offsets, no edit list that trims), and returns the same FrameTimes that ffmpeg's
listing gives (a test compares them); for anything else it returns None and ffmpeg reads the file.
"""

from __future__ import annotations

import itertools
import struct
from fractions import Fraction
from pathlib import Path

from ..job.verify import FrameTimes, _rate_from_timestamps
from ..models import VideoInfo

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}
_AV1_DEPTH = {(0, 0): "", (1, 0): "10le", (1, 1): "12le"}  # (high_bitdepth, twelve_bit) -> suffix


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, box end) of each box in data[start:end]; stops at the first that does not fit."""
    found = []
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            if offset + 16 > end:
                break
            size, header = struct.unpack_from(">Q", data, offset + 8)[0], 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            break
        found.append((kind, offset + header, offset + size))
        offset += size
    return found


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for found, payload, box_end in _boxes(data, start, end):
        if found == kind:
            return payload, box_end
    return None


def _moov(path: Path) -> tuple[bytes, int] | None:
    """The moov box's bytes and the file's size (reads the top-level box headers, then moov alone)."""
    size = path.stat().st_size
    with path.open("rb") as file:
        offset = 0
        while offset + 8 <= size:
            file.seek(offset)
            header = file.read(16)
            box_size, kind = struct.unpack(">I4s", header[:8])
            if box_size == 1 and len(header) == 16:
                box_size = struct.unpack(">Q", header[8:])[0]
            elif box_size == 0:
                box_size = size - offset
            if box_size < 8 or offset + box_size > size:
                return None
            if kind == b"moov":
                file.seek(offset)
                return file.read(box_size), size
            offset += box_size
    return None


def packet_times(path: Path) -> FrameTimes | None:
    """The first video track's packets as ffmpeg lists them (`-c copy -f framecrc`), or None: not a case
    this reader vouches for (ffmpeg then reads the file, and says what is wrong with it)."""
    try:
        return _packet_times(path)
    except (OSError, struct.error, ValueError, IndexError):  # a table past its box: ffmpeg will say what
        return None


def _packet_times(path: Path) -> FrameTimes | None:
    found = _moov(path)
    if found is None:
        return None
    moov, file_size = found
    top = _boxes(moov, 8, len(moov))
    if any(kind == b"mvex" for kind, _, _ in top):
        return None  # fragmented: the samples are described outside moov
    mvhd = next(((payload, end) for kind, payload, end in top if kind == b"mvhd"), None)
    if mvhd is None:
        return None
    movie_scale = struct.unpack_from(">I", moov, mvhd[0] + (20 if moov[mvhd[0]] == 1 else 12))[0]
    for kind, payload, end in top:
        if kind != b"trak":
            continue
        track = _video_track(moov, payload, end, movie_scale, file_size)
        if track is None or isinstance(track, FrameTimes):
            return track
    return None


def _video_track(data: bytes, start: int, end: int, movie_scale: int, file_size: int) -> FrameTimes | bool | None:
    """The track's packets; False if it is not a video track (look at the next); None: not vouched for."""
    mdia = _child(data, start, end, b"mdia")
    if mdia is None:
        return None
    hdlr = _child(data, *mdia, b"hdlr")
    if hdlr is None or data[hdlr[0] + 8 : hdlr[0] + 12] != b"vide":
        return False
    mdhd, minf = _child(data, *mdia, b"mdhd"), _child(data, *mdia, b"minf")
    stbl = _child(data, *minf, b"stbl") if minf is not None else None
    if mdhd is None or stbl is None:
        return None
    version = data[mdhd[0]]
    timescale = struct.unpack_from(">I", data, mdhd[0] + (20 if version == 1 else 12))[0]
    if timescale == 0 or _child(data, *stbl, b"ctts") is not None:
        return None  # composition offsets (B-frames): ffmpeg's edit-list arithmetic decides; let it
    stts, stsd, stsz = (_child(data, *stbl, kind) for kind in (b"stts", b"stsd", b"stsz"))
    if stts is None or stsd is None or stsz is None:
        return None
    (entries,) = struct.unpack_from(">I", data, stts[0] + 4)
    runs = [struct.unpack_from(">II", data, stts[0] + 8 + 8 * index) for index in range(entries)]
    sample_size, samples = struct.unpack_from(">II", data, stsz[0] + 4)
    if sum(count for count, _ in runs) != samples or samples == 0 or any(delta == 0 for _, delta in runs):
        return None  # a table that disagrees with itself (checked before anything is built from its counts)
    pts: list[int] = []
    clock = 0
    for count, delta in runs:
        pts.extend(range(clock, clock + count * delta, delta))
        clock += count * delta
    last_delta = clock - pts[-1]
    if not _edit_keeps_everything(data, start, end, movie_scale, timescale, clock):
        return None
    if not _data_inside(data, stbl, sample_size, samples, stsz, file_size):
        return None
    video = _sample_entry(data, stsd)
    if video is None:
        return None
    codec, width, height, pix_fmt = video
    deltas = [b - a for a, b in itertools.pairwise(pts)] + [last_delta]
    rate, exact = _rate_from_timestamps(list(zip(pts, deltas, strict=True)), Fraction(1, timescale))
    info = VideoInfo(
        frames=len(pts), fps=rate, width=width, height=height, pix_fmt=pix_fmt, codec=codec, timestamps_exact=exact
    )
    return FrameTimes(video=info, pts=pts, end=pts[-1] + last_delta, time_base=(1, timescale))


def _edit_keeps_everything(data: bytes, start: int, end: int, movie_scale: int, timescale: int, duration: int) -> bool:
    """No edit list, or one edit that starts at the media's start and covers all of it."""
    edts = _child(data, start, end, b"edts")
    if edts is None:
        return True
    elst = _child(data, *edts, b"elst")
    if elst is None:
        return True
    version = data[elst[0]]
    (entries,) = struct.unpack_from(">I", data, elst[0] + 4)
    if entries != 1:
        return False
    if version == 1:
        segment, media_time = struct.unpack_from(">Qq", data, elst[0] + 8)
        rate = struct.unpack_from(">h", data, elst[0] + 24)[0]
    else:
        segment, media_time = struct.unpack_from(">Ii", data, elst[0] + 8)
        rate = struct.unpack_from(">h", data, elst[0] + 16)[0]
    if media_time != 0 or rate != 1 or movie_scale == 0:
        return False
    # A segment shorter than the media makes ffmpeg drop the samples past it; 0 means "all of it".
    return bool(segment == 0 or segment * timescale >= (duration * movie_scale) - timescale)


def _data_inside(
    data: bytes, stbl: tuple[int, int], sample_size: int, samples: int, stsz: tuple[int, int], file_size: int
) -> bool:
    """Every chunk starts inside the file and the samples' bytes could fit after the first: a table that
    points past the data (a file cut off and patched) is left to ffmpeg."""
    stco, co64 = _child(data, *stbl, b"stco"), _child(data, *stbl, b"co64")
    if stco is not None:
        (count,) = struct.unpack_from(">I", data, stco[0] + 4)
        offsets = struct.unpack_from(f">{count}I", data, stco[0] + 8)
    elif co64 is not None:
        (count,) = struct.unpack_from(">I", data, co64[0] + 4)
        offsets = struct.unpack_from(f">{count}Q", data, co64[0] + 8)
    else:
        return False
    total = sample_size * samples if sample_size else sum(struct.unpack_from(f">{samples}I", data, stsz[0] + 12))
    return bool(offsets) and max(offsets) < file_size and min(offsets) + total <= file_size


def _sample_entry(data: bytes, stsd: tuple[int, int]) -> tuple[str, int, int, str] | None:
    """(codec, width, height, pixel format) of the first sample description, for AV1 only."""
    entries = _boxes(data, stsd[0] + 8, stsd[1])
    if not entries:
        return None
    kind, payload, end = entries[0]
    if kind != b"av01" or payload + 78 > end:
        return None
    width, height = struct.unpack_from(">HH", data, payload + 24)
    config = _child(data, payload + 78, end, b"av1C")
    if config is None or config[1] - config[0] < 4 or data[config[0]] != 0x81:
        return None
    flags = data[config[0] + 2]
    high, twelve, mono = (flags >> 6) & 1, (flags >> 5) & 1, (flags >> 4) & 1
    x, y = (flags >> 3) & 1, (flags >> 2) & 1
    depth = _AV1_DEPTH.get((high, twelve))
    if depth is None:
        return None
    if mono:
        return "av1", width, height, "gray" + depth
    layout = {(1, 1): "yuv420p", (1, 0): "yuv422p", (0, 0): "yuv444p"}.get((x, y))
    return ("av1", width, height, layout + depth) if layout is not None else None
