"""Read many videos back quickly: an MP4's sample table where it says all (see mp4_table), else several
files to one ffmpeg run, runs side by side.

The bundled ffmpeg has no ffprobe, and starting ffmpeg costs about as much as listing a short
episode's packets; so files are read in batches (one framecrc listing of many inputs), one batch per
core at a time. A batch that fails (a file that does not open, a frame that does not decode) is read
again file by file, to say which file and why.
"""

from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

from pydantic import BaseModel

from ..errors import VerificationError
from ..ffmpeg.batch_read_command import build_batch_read_command
from ..ffmpeg.log import meaningful_error, strip_context
from ..ffmpeg.process import capture
from ..job.mp4_table import packet_times
from ..job.verify import VERIFY_TIMEOUT_S, FrameTimes, mp4_boxes, parse_frame_times
from ..models import FFmpegBinary

BATCH_FILES = 32  # inputs per ffmpeg run: enough to hide its start-up, few enough to share the cores
_INPUT_RE = re.compile(r"^Input #(\d+), ", re.MULTILINE)
_HEADER_RE = re.compile(r"^#(\w+) (\d+): ?(.*)$")


class FileRead(BaseModel):
    """What reading one file found: its frames (packets, or decoded frames), or why it could not be read."""

    path: Path
    times: FrameTimes | None = None
    truncated: str | None = None  # an MP4 cut off: what is missing
    unreadable: str | None = None  # why it cannot be opened or read (ffmpeg's reason, or the system's)
    decode_error: str | None = None  # --decode: the first frame that did not decode, in ffmpeg's words

    model_config = {"arbitrary_types_allowed": True}


def mp4_cut_off(path: Path) -> str | None:
    """Why an MP4 is not whole (reading only its box headers), or None. Not for other containers."""
    if path.suffix.lower() != ".mp4":
        return None
    size = path.stat().st_size
    kinds = mp4_boxes(path)
    if b"moov" in kinds and b"mdat" in kinds:
        return None
    if size == 0:
        return "the file is empty"
    if not kinds:
        return "not an MP4 (no box fits in the file)"
    lacking = " and ".join(name for name in ("moov", "mdat") if name.encode() not in kinds)
    return f"truncated: its {lacking} box is not whole ({size} bytes; an encode or copy cut off?)"


def read_files(
    binary: FFmpegBinary, paths: list[Path], decode: bool, fps: Fraction | None = None, workers: int | None = None
) -> list[FileRead]:
    """Read every file (each must exist), in the order given; `fps` as parse_frame_times takes it."""
    reads = {path: FileRead(path=path) for path in paths}
    readable = []
    for path in paths:
        try:
            reads[path].truncated = mp4_cut_off(path)
        except OSError as error:  # a file this user may not read: a problem of the dataset, not of the run
            reads[path].unreadable = f"cannot open it: {error.strerror or error}"
            continue
        if reads[path].truncated is not None:
            continue
        # Packets only: the MP4's own sample table says what ffmpeg's listing would, without reading the data.
        reads[path].times = None if decode else packet_times(path)
        if reads[path].times is None:
            readable.append(path)
    workers = max(1, workers or os.cpu_count() or 1)
    # As many batches as there are workers at least, so that two files on two cores take two runs.
    count = max(min(workers, len(readable)), -(-len(readable) // BATCH_FILES))
    batches = [readable[index::count] for index in range(count)] if readable else []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        failed = [path for found in pool.map(lambda batch: _read_batch(binary, batch, decode, fps, reads), batches)
                  for path in found]  # fmt: skip
        list(pool.map(lambda path: _read_alone(binary, path, decode, fps, reads[path]), failed))
    return [reads[path] for path in paths]


def _read_batch(
    binary: FFmpegBinary, batch: list[Path], decode: bool, fps: Fraction | None, reads: dict[Path, FileRead]
) -> list[Path]:
    """Read `batch` in one run; the files to read again alone if that run failed."""
    if len(batch) == 1:
        _read_alone(binary, batch[0], decode, fps, reads[batch[0]])
        return []
    try:
        completed = capture(build_batch_read_command(binary, batch, decode), timeout=VERIFY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return batch
    if completed.returncode != 0 or (decode and decoder_complaint(completed.stderr) is not None):
        return batch
    try:
        listings = split_listing(completed.stdout, completed.stderr, batch, fps)
    except VerificationError:
        return batch
    for path, times in zip(batch, listings, strict=True):
        reads[path].times = times
    return []


def _read_alone(binary: FFmpegBinary, path: Path, decode: bool, fps: Fraction | None, read: FileRead) -> None:
    """One file: its reason if it does not read; with `decode`, its packets still, for the timing checks."""
    try:
        completed = capture(build_batch_read_command(binary, [path], decode), timeout=VERIFY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        read.unreadable = f"reading it took over {VERIFY_TIMEOUT_S} s"
        return
    complaint = decoder_complaint(completed.stderr) if decode else None
    if completed.returncode == 0 and complaint is None:
        try:
            read.times = split_listing(completed.stdout, completed.stderr, [path], fps)[0]
        except VerificationError as error:
            read.unreadable = f"ffmpeg cannot read it: {error.message}"
        return
    reason = complaint if completed.returncode == 0 and complaint is not None else _failure(completed.stderr)
    if not decode:
        read.unreadable = f"ffmpeg cannot read it: {reason}"
        return
    _read_alone(binary, path, False, fps, read)
    if read.unreadable is None:  # its packets list: the damage is in what they hold
        read.decode_error = reason


# Decoders (and the AV1 parser, which ffmpeg logs as NULL) that name damaged data in their own lines.
_DECODERS = {"libdav1d", "libaom-av1", "av1", "NULL", "h264", "hevc", "ffv1", "vp9", "libvpx-vp9"}
_LOG_LINE = re.compile(r"^\[(?P<component>[^\s@\]]+) @ 0x[0-9a-f]+\] (?P<message>.+)$")


def decoder_complaint(stderr: str) -> str | None:
    """A decoder's own line about damaged data, even when ffmpeg went on: Debian 12's ffmpeg 5.1 logs libdav1d's
    errors ("zero_bit out of range") and exits 0 despite -xerror, where 9.0 stops. None when no decoder spoke."""
    for line in stderr.splitlines():
        match = _LOG_LINE.match(line.strip())
        if match is None or match["component"] not in _DECODERS:
            continue
        if re.match(rf"{re.escape(match['component'])} v?\d", match["message"]):
            continue  # its version, said when it opens ("libdav1d 1.0.0"), not a complaint
        return f"{match['component']}: {match['message']}"
    return None


def _failure(stderr: str) -> str:
    """ffmpeg's reason, without the description of the inputs and outputs a read prints first and the
    statistics it prints last. A decoder that only says "Invalid data" is named with the generic line
    that carries it ("libdav1d: Error submitting packet to decoder: Invalid data found ...")."""
    described = ("Input #", "Output #", "Stream mapping:", " ", "frame=")
    lines = [line for line in stderr.splitlines() if not line.startswith(described) and "muxing overhead" not in line]
    reason = meaningful_error(lines)
    if reason.lower().startswith("conversion failed"):
        for line in lines:
            component, message = strip_context(line)
            if component is not None and "decoder" in message:
                return f"{component}: {message}"
    return reason


def split_listing(stdout: str, stderr: str, paths: list[Path], fps: Fraction | None = None) -> list[FrameTimes]:
    """The framecrc listing of several inputs, as one listing per input, each parsed as a single file's is.

    Output stream k is input k's first video stream: its header and packet lines are renumbered 0, and its
    input's "Stream #k:" line (ffmpeg's description, before "Stream mapping") becomes "Stream #0:"."""
    listings: list[list[str]] = [[] for _ in paths]
    for line in stdout.splitlines():
        if line.startswith("#"):
            header = _HEADER_RE.match(line)
            if header is not None and int(header.group(2)) < len(paths):
                listings[int(header.group(2))].append(f"#{header.group(1)} 0: {header.group(3)}")
            continue
        stream, _, rest = line.partition(",")
        if rest and stream.strip().isdigit() and int(stream) < len(paths):
            listings[int(stream)].append(f"0,{rest}")
    described = stderr.split("\nStream mapping:", 1)[0]
    blocks: dict[int, str] = {}
    starts = list(_INPUT_RE.finditer(described))
    for position, start in enumerate(starts):
        end = starts[position + 1].start() if position + 1 < len(starts) else len(described)
        blocks[int(start.group(1))] = described[start.start() : end]
    found = []
    for index, path in enumerate(paths):
        block = blocks.get(index, "").replace(f"Stream #{index}:", "Stream #0:")
        times = parse_frame_times("\n".join(listings[index]), block, path, fps)
        found.append(times)
    return found
