"""Read a video back and check it is what the job asked for (no ffprobe: the embedded ffmpeg has none).

``ffmpeg -i FILE -map 0:v:0 -c copy -f framecrc -`` lists every packet with its
timestamp without decoding anything, which gives the exact frame count and frame
timing for the cost of reading the file; ``decode`` mode drops ``-c copy`` and
decodes every frame as well. An MP4 whose sample table mp4_table.py vouches for
(AV1, and encodectl's H.264) is read from that table instead, without starting
ffmpeg: the same listing (tests compare them).
"""

from __future__ import annotations

import bisect
import itertools
import re
import struct
import subprocess
from fractions import Fraction
from pathlib import Path
from stat import S_ISREG

from pydantic import BaseModel

from ..errors import VerificationError
from ..ffmpeg.log import meaningful_error
from ..ffmpeg.process import capture
from ..ffmpeg.readback_command import (
    build_decodable_frames_command,
    build_depth_check_command,
    build_hash_command,
    build_read_command,
    build_video_hash_command,
)
from ..models import EncodeJob, EncoderSettings, FFmpegBinary, FileIdentity, VerifyMode, VideoInfo

_STREAM_RE = re.compile(r"Stream #0:\d+.*?: Video: (?P<codec>\w+).*?, (?P<pix_fmt>[a-z0-9_]+)[(,]")
_TB_RE = re.compile(r"^#tb 0: (\d+)/(\d+)$", re.MULTILINE)
_DIM_RE = re.compile(r"^#dimensions 0: (\d+)x(\d+)$", re.MULTILINE)
_EXTRADATA_RE = re.compile(r"^#extradata 0:\s*(.+)$", re.MULTILINE)
VERIFY_TIMEOUT_S = 600


class FrameTimes(BaseModel):
    """Every frame of a video's first stream: its timestamp, in the file's own time base."""

    video: VideoInfo
    pts: list[int]  # ascending
    end: int  # where a frame appended after the last would start: last pts + its duration
    time_base: tuple[int, int]  # (numerator, denominator) of one tick, in seconds
    extradata: str | None = None  # size and checksum of the codec configuration (packet reads only)

    def seconds(self, ticks: int) -> Fraction:
        return Fraction(ticks * self.time_base[0], self.time_base[1])


def mp4_boxes(path: Path) -> list[bytes]:
    """The types of the top-level boxes that lie wholly inside an MP4 file, in order (reads only their headers).

    A writer cut off mid-write leaves a partial last box: its type is not listed. Not a regular file (a FIFO,
    which opening would wait on for ever): OSError."""
    stat = path.stat()
    if not S_ISREG(stat.st_mode):
        raise OSError(f"{path} is not a regular file")
    size = stat.st_size
    kinds, offset = [], 0
    with path.open("rb") as file:
        while offset + 8 <= size:
            file.seek(offset)
            header = file.read(16)
            box_size, kind = struct.unpack(">I4s", header[:8])
            if box_size == 1 and len(header) == 16:
                box_size = struct.unpack(">Q", header[8:])[0]  # a 64-bit size follows the type
            elif box_size == 0:
                box_size = size - offset  # the box runs to the end of the file
            if box_size < 8 or offset + box_size > size:
                break
            kinds.append(kind)
            offset += box_size
    return kinds


def mp4_complete(path: Path) -> bool:
    """An MP4 whose writer finished it: every box whole, and the moov box (the index of its frames) there."""
    try:
        kinds = mp4_boxes(path)
    except OSError:
        return False
    return b"moov" in kinds and b"mdat" in kinds


def decoded_frame_hashes(ffmpeg_binary: FFmpegBinary, path: Path, pix_fmt: str) -> list[str]:
    """The md5 of every decoded frame of `path`'s first video stream, in `pix_fmt`, in order."""
    completed = _read_back(build_hash_command(ffmpeg_binary, path, pix_fmt), path)
    return [line.rsplit(",", 1)[1].strip() for line in completed.stdout.splitlines() if line and line[0] != "#"]


def read_video(
    ffmpeg_binary: FFmpegBinary, path: Path, mode: VerifyMode = VerifyMode.packets, fps: Fraction | None = None
) -> VideoInfo:
    """Frame count, timing, size and pixel format of the first video stream of `path` (see parse_frame_times
    for `fps`): from an MP4's sample table where mp4_table vouches for it (what ffmpeg's packet listing would
    say, without starting ffmpeg: about 50 ms of every encode's end), else as ffmpeg lists it."""
    if mode is VerifyMode.packets:
        from .mp4_table import packet_times  # which builds on this module's FrameTimes

        table = packet_times(path)
        if table is not None and table.video.timestamps_exact:
            return table.video
    return read_frame_times(ffmpeg_binary, path, decode=mode is VerifyMode.decode, fps=fps).video


def read_frame_times(
    ffmpeg_binary: FFmpegBinary, path: Path, decode: bool = False, fps: Fraction | None = None
) -> FrameTimes:
    """Read `path` back (its packets, or with `decode` every decoded frame) with ffmpeg alone."""
    completed = _read_back(build_read_command(ffmpeg_binary, path, decode), path)
    return parse_frame_times(completed.stdout, completed.stderr, path, fps)


def _read_back(argv: list[str], path: Path) -> subprocess.CompletedProcess[str]:
    try:
        completed = capture(argv, timeout=VERIFY_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise VerificationError(f"reading back {path} took over {VERIFY_TIMEOUT_S} s") from error
    if completed.returncode != 0:
        raise VerificationError(f"ffmpeg cannot read back {path}: {meaningful_error(completed.stderr.splitlines())}")
    return completed


def parse_framecrc(stdout: str, stderr: str, path: Path) -> VideoInfo:
    return parse_frame_times(stdout, stderr, path).video


def parse_frame_times(stdout: str, stderr: str, path: Path, fps: Fraction | None = None) -> FrameTimes:
    """The frames of a framecrc/framemd5 listing of stream 0. With the `fps` the video should have, a time
    base too coarse to hold i/fps exactly (Matroska's millisecond) passes when every frame sits on the
    tick nearest to i/fps: VideoInfo.fps is then `fps`, and timestamp_tolerance_s half a tick."""
    stream = _STREAM_RE.search(stderr)
    timebase = _TB_RE.search(stdout)
    dimensions = _DIM_RE.search(stdout)
    if stream is None or timebase is None or dimensions is None:
        raise VerificationError(f"{path} has no readable video stream")
    tb = Fraction(int(timebase.group(1)), int(timebase.group(2)))
    packets: list[tuple[int, int]] = []  # (pts, duration) in the stream's time base
    for line in stdout.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = [field.strip() for field in line.split(",")]
        packets.append((int(fields[2]), int(fields[3])))
    packets.sort()
    rate, exact = _rate_from_timestamps(packets, tb)
    tolerance = 0.0
    if not exact and fps is not None and _on_nearest_ticks([pts for pts, _ in packets], tb, fps):
        rate, exact, tolerance = fps, True, float(tb / 2)
    extradata = _EXTRADATA_RE.search(stdout)
    video = VideoInfo(
        frames=len(packets),
        fps=rate,
        width=int(dimensions.group(1)),
        height=int(dimensions.group(2)),
        pix_fmt=stream.group("pix_fmt"),
        codec=stream.group("codec"),  # the input stream's line: the same in packet and decode modes
        timestamps_exact=exact,
        timestamp_tolerance_s=tolerance,
    )
    return FrameTimes(
        video=video,
        pts=[pts for pts, _ in packets],
        end=packets[-1][0] + packets[-1][1] if packets else 0,
        time_base=(int(timebase.group(1)), int(timebase.group(2))),
        extradata=" ".join(extradata.group(1).split()) if extradata else None,
    )


class EpisodeSpan(BaseModel):
    """An episode's frames within a video file: frame i belongs at start + i/fps."""

    label: str
    start: Fraction
    frames: int

    model_config = {"arbitrary_types_allowed": True}


def check_episode_spans(
    times: FrameTimes, spans: list[EpisodeSpan], fps: Fraction, frames: int, tolerance_s: float, path: Path
) -> None:
    """Every frame of every span is found where a reader asks for it (LeRobot: within 1e-4 s), and no more frames.

    LeRobot reads frame i of an episode at from_timestamp + i/fps and refuses a decoded
    frame further away than its tolerance; this is that check, for every frame at once."""
    problems: list[str] = []
    if times.video.frames != frames:
        problems.append(f"{times.video.frames} frames instead of {frames}")
    seconds = [times.seconds(pts) for pts in times.pts]
    tolerance = Fraction(tolerance_s)
    for span in spans:
        for index in range(span.frames):
            wanted = span.start + index / fps
            position = bisect.bisect_right(seconds, wanted - tolerance)
            if position == len(seconds) or abs(seconds[position] - wanted) >= tolerance:  # LeRobot: within, strictly
                problems.append(f"{span.label} frame {index} is not at {float(wanted):.6f} s")
                break
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise VerificationError(f"{path.name} failed verification: {'; '.join(problems[:3])}{more}")


def _rate_from_timestamps(packets: list[tuple[int, int]], tb: Fraction) -> tuple[Fraction | None, bool]:
    """The frame rate the timestamps imply, and whether frame i sits exactly at i/fps from the start."""
    if not packets:
        return None, False
    if len(packets) == 1:  # a one-frame video: its duration is all there is to go on
        start, duration = packets[0]
        return (1 / (duration * tb) if duration > 0 else None), start == 0
    pts = [p for p, _ in packets]
    step = pts[1] - pts[0]
    if step <= 0:
        return None, False
    exact = pts[0] == 0 and all(b - a == step for a, b in itertools.pairwise(pts))
    if exact:
        return 1 / (step * tb), True
    # Uneven steps: report the mean rate so the error message can say what was found.
    mean_step = Fraction(pts[-1] - pts[0], len(pts) - 1)
    return 1 / (mean_step * tb), False


def _on_nearest_ticks(pts: list[int], tb: Fraction, fps: Fraction) -> bool:
    """Frame i at i/fps rounded to the nearest tick, for every i (ties may go either way)."""
    return bool(pts) and all(abs(ticks * tb - index / fps) <= tb / 2 for index, ticks in enumerate(pts))


def verify_output(
    ffmpeg_binary: FFmpegBinary,
    job: EncodeJob,
    video: Path,
    staging_dir: Path | None = None,
    source_hashes: Path | None = None,
) -> tuple[VideoInfo, int]:
    """Read `video` back and check it is exactly what `job` asked for; raise VerificationError otherwise.

    Depth frames kept exactly are decoded and hashed against the source frames as well (`staging_dir`:
    the links that fill held gaps); the count of frames found identical comes back (0 for colour).
    `source_hashes`: the source frames' hashes the encode wrote (build_encode_command), used instead of
    reading the frames again when every frame file is still the one that was encoded."""
    if job.encoder.keeps_depth:
        held = staging_dir if job.held_frames else None
        info, hashed = _check_depth_frames(ffmpeg_binary, job, video, held, _hashes_of_encode(job, source_hashes))
    else:
        info, hashed = read_video(ffmpeg_binary, video, job.verify, fps=job.fps), 0
    check_video(info, job, job.output)
    return info, hashed


def _hashes_of_encode(job: EncodeJob, source_hashes: Path | None) -> list[str] | None:
    """The hash of every frame as the encode read it, when they can stand for the frames on disk: all there,
    and no frame file rewritten, replaced or removed since it was checked (then the files are read again, so
    that a frame that differs is named as before)."""
    if source_hashes is None:
        return None
    try:
        listing = source_hashes.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    hashes = [
        line.rsplit(",", 1)[1].strip()
        for line in listing.splitlines()
        if line.strip() and not line.startswith("#") and line.split(",", 1)[0].strip() == "0"
    ]
    frames = job.frames
    if len(hashes) != job.frame_count:
        return None
    if any(FileIdentity.of_path(frames.path(n)) != frames.identities.get(n) for n in frames.numbers):
        return None
    return hashes


def _check_depth_frames(
    ffmpeg_binary: FFmpegBinary,
    job: EncodeJob,
    video: Path,
    staging_dir: Path | None,
    hashed_while_encoding: list[str] | None = None,
) -> tuple[VideoInfo, int]:
    if hashed_while_encoding is None:  # decode the video and the source frames again, side by side
        argv = build_depth_check_command(ffmpeg_binary, job, video, staging_dir)
    else:  # only the video: its source frames were hashed by the encode itself
        argv = build_video_hash_command(ffmpeg_binary, video, job.encoder.pix_fmt)
    completed = _read_back(argv, video)
    listing: list[str] = []
    decoded: list[str] = []
    source: list[str] = list(hashed_while_encoding or [])
    for line in completed.stdout.splitlines():
        stream = line.split(",", 1)[0]
        if line.startswith("#") or stream == "0":
            listing.append(line)
        if stream in ("0", "1"):
            (decoded if stream == "0" else source).append(line.rsplit(",", 1)[1].strip())
    info = parse_frame_times("\n".join(listing), completed.stderr, video, job.fps).video
    if len(source) != job.frame_count:
        raise VerificationError(
            f"{job.output.name} failed verification: only {len(source)} of its {job.frame_count} source frames "
            "could be read again to compare it with"
        )
    for index, (got, wanted) in enumerate(zip(decoded, source, strict=False)):
        if got != wanted:
            what = "its quantized codes" if job.encoder.quantization is not None else "its values"
            raise VerificationError(
                f"{job.output.name} failed verification: frame {index} does not decode to {what} in "
                f"{source_frame(job, index).name}"
            )
    return info, min(len(decoded), len(source))


def source_frame(job: EncodeJob, index: int) -> Path:
    """The file frame `index` of the job's video is made from (a held frame repeats the one before its gap)."""
    present = job.frames.numbers  # ascending
    return job.frames.path(present[bisect.bisect_right(present, job.frames.first + index) - 1])


def check_video(info: VideoInfo, job: EncodeJob, path: Path) -> None:
    """Raise VerificationError unless the video is exactly what the job asked for."""
    width, height = job.output_size
    check_expected(info, job.frame_count, job.fps, width, height, job.encoder, path)


def check_expected(
    info: VideoInfo, frames: int, fps: Fraction, width: int, height: int, settings: EncoderSettings, path: Path
) -> None:
    """The checks themselves: frame count, exact timing, size, codec and pixel format."""
    problems: list[str] = []
    if info.frames != frames:
        problems.append(f"{info.frames} frames instead of {frames}")
    if info.fps != fps:
        problems.append(f"frame rate {info.fps} instead of {fps}")
    elif not info.timestamps_exact:
        problems.append("frame timestamps are not evenly spaced from 0")
    if (info.width, info.height) != (width, height):
        problems.append(f"size {info.width}x{info.height} instead of {width}x{height}")
    if info.codec != settings.codec:
        problems.append(f"codec {info.codec} instead of {settings.codec}")
    if info.pix_fmt != settings.pix_fmt:
        problems.append(f"pixel format {info.pix_fmt} instead of {settings.pix_fmt}")
    if problems:
        raise VerificationError(f"{path.name} failed verification: {'; '.join(problems)}")


def undecodable_frames(ffmpeg_binary: FFmpegBinary, job: EncodeJob, pattern: str, start: int) -> list[int]:
    """Frame numbers that ffmpeg cannot decode, found by decoding them all once without -xerror.

    Only run after an encode failed on a decoder error, to name the culprit: ffmpeg
    itself does not say which file of an image sequence was bad.
    """
    argv = build_decodable_frames_command(ffmpeg_binary, pattern, start, job.fps, job.frames.extension)
    try:
        completed = capture(argv, timeout=VERIFY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return []
    decoded = {
        int(line.split(",")[2]) for line in completed.stdout.splitlines() if line.strip() and not line.startswith("#")
    }
    first = job.frames.first
    return [first + index for index in range(job.frame_count) if index not in decoded]
