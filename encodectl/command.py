"""Build the ffmpeg command line for one job (with ffmpeg-python).

The command reads the validated frames with the image2 demuxer at an exact
frame rate, encodes exactly the validated number of frames, and writes an MP4
whose time base is a multiple of the frame rate, so frame i has timestamp
i/fps exactly.
"""

from __future__ import annotations

import shlex
from fractions import Fraction
from pathlib import Path

import ffmpeg

from .models import EncodeJob, FFmpegBinary

# -xerror: ffmpeg logs a corrupt frame and keeps going; encodectl must fail instead.
GLOBAL_ARGS = ("-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-xerror")
PROGRESS_ARGS = ("-progress", "pipe:1", "-nostats")


def image2_pattern(directory: Path, prefix: str, padding: int, extension: str) -> str:
    """An image2 pattern for the frames; '%' in names is escaped as image2 expects."""
    number = f"%0{padding}d" if padding else "%d"
    escaped_dir = str(directory.absolute()).replace("%", "%%")
    return f"{escaped_dir}/{prefix.replace('%', '%%')}{number}{extension}"


def mp4_timescale(fps: Fraction) -> int:
    """A track time base in which every frame lasts a whole number of ticks."""
    if 15360 % fps.numerator == 0:
        return 15360
    return fps.numerator * -(-10000 // fps.numerator)


def build_encode_command(
    job: EncodeJob,
    ffmpeg_binary: FFmpegBinary,
    temp_output: Path,
    staging_dir: Path | None = None,
    progress: bool = True,
) -> list[str]:
    """The full argv that encodes `job` into `temp_output`.

    With a staging folder (gaps filled by holding frames), the frames are read
    from its contiguous links instead of the episode folder.
    """
    frames = job.frames
    if staging_dir is not None:
        pattern = image2_pattern(staging_dir, "", 6, frames.extension)
        start = 0
    else:
        pattern = image2_pattern(frames.directory, frames.prefix, frames.padding, frames.extension)
        start = frames.first
    stream = ffmpeg.input(pattern, f="image2", framerate=str(job.fps), start_number=str(start))
    video = stream.video
    width, height = job.output_size
    if (width, height) != (frames.width, frames.height):
        video = video.filter("pad", width, height, 0, 0)
    settings = job.encoder
    # Limited ("tv") range as players and LeRobot expect; JPEG frames are full range and would
    # otherwise come out as yuvj420p.
    video = video.filter("scale", out_range="tv").filter("format", settings.pix_fmt)
    output_options: dict[str, str] = {
        "c:v": settings.encoder,
        "g": str(settings.gop),
        "frames:v": str(job.frame_count),
        "movflags": "+faststart",
        "video_track_timescale": str(mp4_timescale(job.fps)),
        "f": "mp4",
        **_passthrough_timing(ffmpeg_binary),
        **settings.arguments,
    }
    output = video.output(str(temp_output.absolute()), an=None, **output_options)
    arguments: list[str] = ffmpeg.get_args(output)
    return [str(ffmpeg_binary.path), *GLOBAL_ARGS, *(PROGRESS_ARGS if progress else ()), *arguments]


def _passthrough_timing(ffmpeg_binary: FFmpegBinary) -> dict[str, str]:
    # Never let ffmpeg duplicate or drop frames to "fix" the rate; -fps_mode is 5.1+.
    major = ffmpeg_binary.major_version
    if major is not None and major < 5:
        return {"vsync": "passthrough"}
    return {"fps_mode": "passthrough"}


def shell_quote(argv: list[str]) -> str:
    return shlex.join(argv)
