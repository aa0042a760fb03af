"""Build the ffmpeg command lines that read a finished video, or its frames, back: the timestamps of every
packet or frame (framecrc), the hashes of every decoded frame (framemd5; for a lossless encode's check,
FRAME_HASH's murmur3), which frames cannot be decoded, and the picture quality against the source frames
(PSNR, SSIM).

No ffprobe: the embedded ffmpeg has none, so every question is a decode to a text muxer on stdout.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import ffmpeg

from ..models import EncodeJob, FFmpegBinary, FrameSequence
from .command import (
    FRAME_HASH,
    demuxer_time_base,
    image2_input,
    image2_pattern,
    passthrough_timing,
    pixel_pipeline,
    strict_decoding,
)
from .command_line import FRAMES, INPUT, OUTPUT, command_line, flags, graph_args

_READ_ARGS = ("-hide_banner", "-nostdin")


def build_hash_command(ffmpeg_binary: FFmpegBinary, path: Path, pix_fmt: str) -> list[str]:
    """Every decoded frame of the first video stream, in `pix_fmt`, hashed (framemd5): to compare with frames
    hashed as they were given."""
    output = ffmpeg.input(INPUT)["v:0"].output(
        OUTPUT, f="framemd5", pix_fmt=pix_fmt, **passthrough_timing(ffmpeg_binary)
    )
    arguments = graph_args(output, {INPUT: str(path.absolute()), OUTPUT: "-"})
    return command_line(ffmpeg_binary, _READ_ARGS, ["-xerror"], arguments)


def build_video_hash_command(ffmpeg_binary: FFmpegBinary, video: Path, pix_fmt: str) -> list[str]:
    """The depth check when the source frames were hashed during the encode: the video's frames decoded and
    hashed as the encode hashed them (FRAME_HASH lines of stream 0, with their timestamps in the file's own
    time base), nothing else."""
    options = {**passthrough_timing(ffmpeg_binary), "enc_time_base": demuxer_time_base(ffmpeg_binary)}
    output = ffmpeg.input(INPUT)["v:0"].output(OUTPUT, **FRAME_HASH, pix_fmt=pix_fmt, **options)
    arguments = graph_args(output, {INPUT: str(video.absolute()), OUTPUT: "-"})
    return command_line(ffmpeg_binary, _READ_ARGS, ["-xerror"], arguments)


def build_read_command(ffmpeg_binary: FFmpegBinary, path: Path, decode: bool) -> list[str]:
    """List every frame of the first video stream with its timestamp in the file's own time base.

    Packets only (no decoding) unless `decode`: then every frame is decoded, and the
    first decode error fails the command."""
    stream = ffmpeg.input(INPUT)["v:0"]
    if decode:
        options = {**passthrough_timing(ffmpeg_binary), "enc_time_base": demuxer_time_base(ffmpeg_binary)}
    else:
        options = {"c": "copy"}
    output = stream.output(OUTPUT, f="framecrc", **options)
    arguments = graph_args(output, {INPUT: str(path.absolute()), OUTPUT: "-"})
    return command_line(ffmpeg_binary, _READ_ARGS, ["-xerror"] if decode else [], arguments)


def build_depth_check_command(
    ffmpeg_binary: FFmpegBinary, job: EncodeJob, video: Path, staging_dir: Path | None
) -> list[str]:
    """The video's frames and the source frames, each decoded (the source through the job's own pipeline) and
    hashed in one pass: framemd5 lines of stream 0 (the video, with its timestamps in its own time base) and
    of stream 1 (the frames, as many as the video must hold)."""
    pattern, start = image2_input(job, staging_dir)
    settings = job.encoder
    decoded = ffmpeg.input(INPUT)["v:0"]
    frames = ffmpeg.input(FRAMES, f="image2", framerate=str(job.fps), start_number=str(start))
    source = pixel_pipeline(frames.video, job.frames.width, job.frames.height, settings)
    options = {**passthrough_timing(ffmpeg_binary), "enc_time_base": demuxer_time_base(ffmpeg_binary)}
    output = ffmpeg.output(
        decoded, source, OUTPUT, f="framemd5", pix_fmt=settings.pix_fmt, **{"frames:1": str(job.frame_count)},
        **options,
    )  # fmt: skip
    arguments = graph_args(output, {INPUT: str(video.absolute()), FRAMES: pattern, OUTPUT: "-"})
    return command_line(ffmpeg_binary, _READ_ARGS, ["-xerror"], arguments)


def build_decodable_frames_command(
    ffmpeg_binary: FFmpegBinary, pattern: str, start: int, fps: Fraction, extension: str
) -> list[str]:
    """Decode every frame of an image sequence once, going on past errors (no -xerror): the framecrc lines
    name the frames that did decode.

    Written with flags: the decoding options come before the input's -f, which ffmpeg-python writes first."""
    frames = flags({**strict_decoding(extension), "f": "image2", "framerate": str(fps), "start_number": str(start)})
    return command_line(
        ffmpeg_binary,
        _READ_ARGS,
        ["-loglevel", "error"],
        [*frames, "-i", pattern],
        ["-map", "0:v:0", "-f", "framecrc", "-"],
    )


# Scale and pad the source as the encode did, then compare only frames both sides have.
_QUALITY_GRAPH = (
    "[1:v]scale=out_range=tv,format=yuv420p,pad=ceil(iw/2)*2:ceil(ih/2)*2,split[r1][r2];"
    "[0:v][r1]psnr=shortest=1[m];[m][r2]ssim=shortest=1"
)


def build_quality_command(ffmpeg_binary: FFmpegBinary, video: str, frames: FrameSequence, fps: Fraction) -> list[str]:
    """Every frame of `video` against its source frame, PSNR then SSIM, logged to stderr (null output).

    Written with flags: the graph is given as text to -lavfi, which ffmpeg-python cannot place before the
    output's -f."""
    pattern = image2_pattern(frames.directory, frames.prefix, frames.padding, frames.extension)
    source = flags({"f": "image2", "framerate": str(fps), "start_number": str(frames.first)})
    return command_line(
        ffmpeg_binary,
        _READ_ARGS,
        ["-i", video],
        [*source, "-i", pattern],
        ["-lavfi", _QUALITY_GRAPH, "-f", "null", "-"],
    )
