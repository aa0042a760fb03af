"""Read a video back with ffmpeg alone (no ffprobe: the embedded ffmpeg has none).

``ffmpeg -i FILE -map 0:v:0 -c copy -f framecrc -`` lists every packet with its
timestamp without decoding anything, which gives the exact frame count and frame
timing for the cost of reading the file; ``decode`` mode drops ``-c copy`` and
decodes every frame as well.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from fractions import Fraction
from pathlib import Path

from .command import STRICT_DECODING
from .errors import VerificationError
from .ffmpeg_log import meaningful_error
from .models import EncodeJob, EncoderSettings, FFmpegBinary, VerifyMode, VideoInfo

_STREAM_RE = re.compile(r"Stream #0:\d+.*?: Video: (?P<codec>\w+).*?, (?P<pix_fmt>[a-z0-9_]+)[(,]")
_TB_RE = re.compile(r"^#tb 0: (\d+)/(\d+)$", re.MULTILINE)
_DIM_RE = re.compile(r"^#dimensions 0: (\d+)x(\d+)$", re.MULTILINE)
VERIFY_TIMEOUT_S = 600


def read_video(ffmpeg_binary: FFmpegBinary, path: Path, mode: VerifyMode = VerifyMode.packets) -> VideoInfo:
    """Frame count, timing, size and pixel format of the first video stream of `path`."""
    argv = [str(ffmpeg_binary.path), "-hide_banner", "-nostdin", "-i", str(path.absolute()), "-map", "0:v:0"]
    if mode is VerifyMode.packets:
        argv += ["-c", "copy"]
    else:
        argv += ["-xerror"]
    argv += ["-f", "framecrc", "-"]
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=VERIFY_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as error:
        raise VerificationError(f"reading back {path} took over {VERIFY_TIMEOUT_S} s") from error
    if completed.returncode != 0:
        raise VerificationError(f"ffmpeg cannot read back {path}: {meaningful_error(completed.stderr.splitlines())}")
    return parse_framecrc(completed.stdout, completed.stderr, path)


def parse_framecrc(stdout: str, stderr: str, path: Path) -> VideoInfo:
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
    fps, exact = _rate_from_timestamps(packets, tb)
    return VideoInfo(
        frames=len(packets),
        fps=fps,
        width=int(dimensions.group(1)),
        height=int(dimensions.group(2)),
        pix_fmt=stream.group("pix_fmt"),
        codec=stream.group("codec"),  # the input stream's line: the same in packet and decode modes
        timestamps_exact=exact,
    )


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
    if info.codec != settings.codec.value:
        problems.append(f"codec {info.codec} instead of {settings.codec.value}")
    if info.pix_fmt != settings.pix_fmt:
        problems.append(f"pixel format {info.pix_fmt} instead of {settings.pix_fmt}")
    if problems:
        raise VerificationError(f"{path.name} failed verification: {'; '.join(problems)}")


def undecodable_frames(ffmpeg_binary: FFmpegBinary, job: EncodeJob, pattern: str, start: int) -> list[int]:
    """Frame numbers that ffmpeg cannot decode, found by decoding them all once without -xerror.

    Only run after an encode failed on a decoder error, to name the culprit: ffmpeg
    itself does not say which file of an image sequence was bad.
    """
    argv = [
        str(ffmpeg_binary.path), "-hide_banner", "-nostdin", "-loglevel", "error",
        *(arg for name, value in STRICT_DECODING.items() for arg in (f"-{name}", value)),
        "-f", "image2", "-framerate", str(job.fps), "-start_number", str(start), "-i", pattern,
        "-map", "0:v:0", "-f", "framecrc", "-",
    ]  # fmt: skip
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=VERIFY_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return []
    decoded = {
        int(line.split(",")[2]) for line in completed.stdout.splitlines() if line.strip() and not line.startswith("#")
    }
    first = job.frames.first
    return [first + index for index in range(job.frame_count) if index not in decoded]
