"""An MP4's packet timestamps from its own sample table, without ffmpeg, for the common case only.

Listing packets with ffmpeg reads every byte of the file (framecrc checksums each packet): 700 MB for
200 episodes x 2 cameras at 640x480. The timestamps, sizes and codec configuration are all in the
``moov`` box, a few hundred KB. This reads them for the files LeRobot writes by default (AV1 in MP4)
and those encodectl writes by default (H.264 with B-frames: composition offsets, and one edit that
starts the media where its first frame shows; avc_config.py reads the format), and returns the same
FrameTimes that ffmpeg's listing gives (tests compare them on both ffmpeg builds); for anything else it
returns None and ffmpeg reads the file. The encode's own read-back uses it too (job/verify.py): it saves
starting ffmpeg (about 50 ms) at the end of every encode.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

from ..models import VideoInfo
from .avc_config import avc_format
from .verify import FrameTimes, _rate_from_timestamps

MAX_SAMPLES = 1 << 20

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
    stts, stsd, stsz = (_child(data, *stbl, kind) for kind in (b"stts", b"stsd", b"stsz"))
    if timescale == 0 or stts is None or stsd is None or stsz is None:
        return None
    video = _sample_entry(data, stsd)  # first: a codec this reader does not know costs no lists of timestamps
    if video is None:
        return None
    (entries,) = struct.unpack_from(">I", data, stts[0] + 4)
    runs = [struct.unpack_from(">II", data, stts[0] + 8 + 8 * index) for index in range(entries)]
    sample_size, samples = struct.unpack_from(">II", data, stsz[0] + 4)
    if sum(count for count, _ in runs) != samples or samples == 0 or any(delta == 0 for _, delta in runs):
        return None  # a table that disagrees with itself (checked before anything is built from its counts)
    # A count the index cannot hold (a hostile or damaged one saying 4 billion samples) is refused before a
    # list of that many timestamps is built: a size entry each in the box, or (one size for all, as for a
    # single frame) a byte each in the file; and more than MAX_SAMPLES (9.7 hours at 30 fps) go to ffmpeg.
    listed = 12 + 4 * samples <= stsz[1] - stsz[0] if sample_size == 0 else sample_size * samples <= file_size
    if samples > MAX_SAMPLES or not listed:
        return None
    decode_times: list[int] = []
    durations: list[int] = []
    clock = 0
    for count, delta in runs:
        decode_times.extend(range(clock, clock + count * delta, delta))
        durations.extend([delta] * count)
        clock += count * delta
    offsets = _composition_offsets(data, stbl, samples)
    shift = _edit_shift(data, start, end, movie_scale, timescale, clock)
    if offsets is None or shift is None:
        return None
    # As ffmpeg's demuxer lists them: decode time plus composition offset, less where the edit starts.
    packets = sorted(
        (time + offset - shift, duration)
        for time, offset, duration in zip(decode_times, offsets, durations, strict=True)
    )
    if packets[0][0] != 0:  # before the edit's start, ffmpeg drops or trims; after it, ffmpeg's listing
        return None  # starts at 0 all the same (the file's start time is subtracted): let it
    if not _data_inside(data, stbl, sample_size, samples, stsz, file_size):
        return None
    codec, width, height, pix_fmt = video
    rate, exact = _rate_from_timestamps(packets, Fraction(1, timescale))
    if not exact and any(offsets):  # B-frames at uneven times: ffmpeg 5.1 and 9.0 end the last frame apart
        return None
    info = VideoInfo(
        frames=len(packets), fps=rate, width=width, height=height, pix_fmt=pix_fmt, codec=codec, timestamps_exact=exact
    )
    return FrameTimes(video=info, pts=[pts for pts, _ in packets], end=sum(packets[-1]), time_base=(1, timescale))


def _composition_offsets(data: bytes, stbl: tuple[int, int], samples: int) -> list[int] | None:
    """Each sample's composition offset (ctts; B-frames show later than they decode), zeros without one;
    None for a table that does not cover the samples, or negative offsets (ffmpeg shifts those)."""
    ctts = _child(data, *stbl, b"ctts")
    if ctts is None:
        return [0] * samples
    (entries,) = struct.unpack_from(">I", data, ctts[0] + 4)
    if 8 + 8 * entries > ctts[1] - ctts[0]:
        return None
    offsets: list[int] = []
    for index in range(entries):
        count, offset = struct.unpack_from(">Ii", data, ctts[0] + 8 + 8 * index)
        if offset < 0 or len(offsets) + count > samples:
            return None
        offsets.extend([offset] * count)
    return offsets if len(offsets) == samples else None


def _edit_shift(data: bytes, start: int, end: int, movie_scale: int, timescale: int, duration: int) -> int | None:
    """Where the media starts showing (the edit's media time; 0 without an edit list): ffmpeg subtracts it
    from every timestamp. None for an edit list other than one edit that shows the media to its end."""
    edts = _child(data, start, end, b"edts")
    if edts is None:
        return 0
    elst = _child(data, *edts, b"elst")
    if elst is None:
        return 0
    version = data[elst[0]]
    (entries,) = struct.unpack_from(">I", data, elst[0] + 4)
    if entries != 1:
        return None
    if version == 1:
        segment, media_time = struct.unpack_from(">Qq", data, elst[0] + 8)
        rate = struct.unpack_from(">h", data, elst[0] + 24)[0]
    else:
        segment, media_time = struct.unpack_from(">Ii", data, elst[0] + 8)
        rate = struct.unpack_from(">h", data, elst[0] + 16)[0]
    if media_time < 0 or rate != 1 or movie_scale == 0:
        return None
    # A segment shorter than the media makes ffmpeg drop the samples past it; a segment of 0, which the
    # standard reads as "all of it", ffmpeg reads as an empty edit (it lists other frames): left to it.
    shown = duration - media_time
    return media_time if segment > 0 and segment * timescale >= (shown * movie_scale) - timescale else None


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
    """(codec, width, height, pixel format) of the first sample description, for AV1 and H.264 only."""
    entries = _boxes(data, stsd[0] + 8, stsd[1])
    if not entries:
        return None
    kind, payload, end = entries[0]
    if kind not in (b"av01", b"avc1") or payload + 78 > end:
        return None
    width, height = struct.unpack_from(">HH", data, payload + 24)
    read = _avc_format if kind == b"avc1" else _av1_format
    pix_fmt = read(data, payload + 78, end, width, height)
    return ("h264" if kind == b"avc1" else "av1", width, height, pix_fmt) if pix_fmt is not None else None


def _avc_format(data: bytes, start: int, end: int, width: int, height: int) -> str | None:
    """The pixel format of an avc1 entry's configuration (avc_config.py); None where ffmpeg could name it
    otherwise: a colr box (ffmpeg takes range and matrix from it too), or an SPS of another size than the
    entry's (ffmpeg takes the SPS's)."""
    if _child(data, start, end, b"colr") is not None:
        return None
    config = _child(data, start, end, b"avcC")
    found = avc_format(data[config[0] : config[1]]) if config is not None else None
    return found[2] if found is not None and found[:2] == (width, height) else None


def _av1_format(data: bytes, start: int, end: int, width: int, height: int) -> str | None:
    """The pixel format of an av01 entry's configuration (av1C: depth, monochrome, chroma subsampling)."""
    config = _child(data, start, end, b"av1C")
    if config is None or config[1] - config[0] < 4 or data[config[0]] != 0x81:
        return None
    flags = data[config[0] + 2]
    high, twelve, mono = (flags >> 6) & 1, (flags >> 5) & 1, (flags >> 4) & 1
    x, y = (flags >> 3) & 1, (flags >> 2) & 1
    depth = _AV1_DEPTH.get((high, twelve))
    if depth is None:
        return None
    if mono:
        return "gray" + depth
    layout = {(1, 1): "yuv420p", (1, 0): "yuv422p", (0, 0): "yuv444p"}.get((x, y))
    return layout + depth if layout is not None else None
