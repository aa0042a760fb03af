"""Build the ffmpeg command lines that encode frames into a video (with ffmpeg-python): a job's, a stream's,
a hardware probe's; and the pixel pipeline and timing options the read-back commands share.

A job's command reads the validated frames with the image2 demuxer at an exact
frame rate, encodes exactly the validated number of frames, and writes an MP4
whose time base is a multiple of the frame rate, so frame i has timestamp
i/fps exactly. Depth frames kept exactly go into Matroska, whose time base is
a millisecond: frame i is at i/fps rounded to the nearest millisecond there.
"""

from __future__ import annotations

import math
import shlex
import struct
from fractions import Fraction
from pathlib import Path
from typing import Any

import ffmpeg

from ..models import DepthQuantization, EncodeJob, EncoderSettings, FFmpegBinary, even_size
from .command_line import HASHES, INPUT, OUTPUT, command_line, graph_args

# -xerror: ffmpeg logs a corrupt frame and keeps going; encodectl must fail instead.
GLOBAL_ARGS = ("-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-xerror")
# Frames are decoded strictly: the JPEG decoder hides damaged scan data (grey or smeared blocks, exit 0,
# on every ffmpeg from 4.2 to 9.0) unless told that an error is an error.
STRICT_DECODING = {"err_detect": "explode"}
# Not for TIFF: its decoder treats a tag it does not know (DateTime, ResolutionUnit...) as an error then.
_LENIENT_EXTENSIONS = (".tif", ".tiff")


def strict_decoding(extension: str) -> dict[str, str]:
    """The decoding options for frames of `extension`."""
    return {} if extension.lower() in _LENIENT_EXTENSIONS else STRICT_DECODING


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
    source_hashes: Path | None = None,
) -> list[str]:
    """The full argv that encodes `job` into `temp_output` (frames from `staging_dir` when gaps are held).

    With `source_hashes`, the same ffmpeg also writes there the hash (FRAME_HASH) of every frame it encodes, as
    the encoder receives it: the check after the encode then only has to decode the video, instead of reading
    and decoding every source frame a second time."""
    pattern, start = image2_input(job, staging_dir)
    # Thread budgets keep N parallel jobs from oversubscribing the cores: the decoder
    # always, the encoder when it runs on the CPU.
    decoder_threads = {"threads": str(job.threads)} if job.threads else {}
    encoder_threads = {"threads": str(job.threads)} if job.threads and not job.encoder.hardware else {}
    stream = ffmpeg.input(
        INPUT,
        f="image2",
        framerate=str(job.fps),
        start_number=str(start),
        **strict_decoding(job.frames.extension),
        **decoder_threads,
    )
    settings = job.encoder
    video = pixel_pipeline(stream.video, job.frames.width, job.frames.height, settings)
    output_options = _video_options(
        settings,
        **{"frames:v": str(job.frame_count)},
        **_container_options(ffmpeg_binary, settings, job.fps),
        **encoder_threads,
    )
    paths = {INPUT: pattern, OUTPUT: str(temp_output.absolute())}
    if source_hashes is None:
        output = video.output(OUTPUT, an=None, **output_options)
    else:
        split = video.filter_multi_output("split")
        hashes = split[1].output(
            HASHES, **FRAME_HASH, pix_fmt=settings.pix_fmt, **{"frames:v": str(job.frame_count)},
            **passthrough_timing(ffmpeg_binary),
        )  # fmt: skip
        output = ffmpeg.merge_outputs(split[0].output(OUTPUT, an=None, **output_options), hashes)
        paths[HASHES] = str(source_hashes.absolute())
    return command_line(
        ffmpeg_binary,
        GLOBAL_ARGS,
        PROGRESS_ARGS if progress else (),
        settings.global_args,
        graph_args(output, paths),
    )


def image2_input(job: EncodeJob, staging_dir: Path | None) -> tuple[str, int]:
    """The image2 pattern and start number that read the job's frames in order.

    With a staging folder (gaps filled by holding frames), the frames are read
    from its contiguous links instead of the episode folder.
    """
    frames = job.frames
    if staging_dir is not None:
        return image2_pattern(staging_dir, "", 6, frames.extension), 0
    return image2_pattern(frames.directory, frames.prefix, frames.padding, frames.extension), frames.first


def pixel_pipeline(video: Any, width: int, height: int, settings: EncoderSettings) -> Any:
    """Pad odd sizes to even (never rescale), convert to limited range and the encoder's input format.

    Limited ("tv") range is what players and LeRobot expect; JPEG frames are full range
    and would otherwise come out as yuvj420p. Depth frames kept exactly are only brought to
    little-endian 16 bits (PNG stores them big-endian), or quantized as LeRobot does.
    """
    if settings.quantization is not None:
        return quantize_depth(video.filter("format", "gray16le"), settings.quantization)
    if settings.keeps_depth:
        return video.filter("format", settings.input_pix_fmt)
    even_width, even_height = even_size(width, height)
    if (even_width, even_height) != (width, height):
        video = video.filter("pad", even_width, even_height, 0, 0)
    video = video.filter("scale", out_range="tv").filter("format", settings.input_pix_fmt)
    if settings.upload_filter:
        video = video.filter(settings.upload_filter)
    return video


def _video_options(settings: EncoderSettings, **between: str) -> dict[str, str]:
    """The encoder and its keyframe interval, then `between`, then the encoder's own arguments (last: they win)."""
    return {"c:v": settings.encoder, "g": str(settings.gop), **between, **settings.arguments}


def _mp4_timing(ffmpeg_binary: FFmpegBinary, fps: Fraction) -> dict[str, str]:
    """MP4 with a timescale in which frame i lands exactly on i/fps, and no frame duplicated or dropped."""
    return {"video_track_timescale": str(mp4_timescale(fps)), "f": "mp4", **passthrough_timing(ffmpeg_binary)}


def _container_options(ffmpeg_binary: FFmpegBinary, settings: EncoderSettings, fps: Fraction) -> dict[str, str]:
    """The finished file's container, its index first (a reader over the network seeks without the tail)."""
    if settings.container == "matroska":
        return {"cues_to_front": "1", "f": "matroska", **passthrough_timing(ffmpeg_binary)}
    return {"movflags": "+faststart", **_mp4_timing(ffmpeg_binary, fps)}


DEPTH_CODES = 4095  # LeRobot's 12-bit depth codes: 0..4095
# ffmpeg's lut filter clips 16-bit results at 65280 (255 << 8), 5.1 and 9.0 alike: codes above this one, times
# 16, would be cut short, so they are added by a second lut.
_LUT_CODE_LIMIT = 4080


def _float32(value: float) -> float:
    """`value` as a float32 holds it: LeRobot works out its millimetre bounds in float32."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


def depth_code_expression(quantization: DepthQuantization) -> str:
    """The ffmpeg expression of LeRobot's quantize_depth (lerobot/datasets/depth_utils.py) for a value `val`
    in millimetres: its code, rint(norm * 4095) clipped to 0..4095, worked out in double precision."""
    low, high = _float32(quantization.depth_min * 1000), _float32(quantization.depth_max * 1000)
    if quantization.use_log:
        shift = _float32(quantization.shift * 1000)
        log_low = math.log(_float32(low + shift))
        span = math.log(_float32(high + shift)) - log_low
        norm = f"(log(val+{shift!r})-{log_low!r})/{span!r}"
    else:
        norm = f"(val-{low!r})/{high - low!r}"
    return f"clip(round({norm}*{DEPTH_CODES}),0,{DEPTH_CODES})"


def quantize_depth(video: Any, quantization: DepthQuantization) -> Any:
    """gray16le millimetres -> gray12le holding LeRobot's codes, bit for bit.

    lut computes code*16 (in 16 bits), and swscale without dithering turns a multiple of 16 into 12 bits
    exactly (measured on every code, 5.1 and 9.0); a second lut adds what lut's 65280 limit cuts off."""
    code = depth_code_expression(quantization)
    parts = video.filter_multi_output("split")
    below = parts[0].filter("lut", c0=f"{code}*16")
    above = parts[1].filter("lut", c0=f"max({code}-{_LUT_CODE_LIMIT},0)*16")
    merged = ffmpeg.filter([below, above], "blend", all_mode="addition")
    return merged.filter("scale", sws_dither="none").filter("format", "gray12le")


# How the frames of a lossless encode and of its video are hashed to be compared: murmur3 (128 bits), which
# ffmpeg 5.1 and 9.0 both have, rather than framemd5's MD5, whose cost was 6-7% of the check of 300 depth
# frames of 640x480 (decoding the video to hashes, 6 runs each way: 2.64 s against 2.89 s). The check looks for
# frames that differ, not for an adversary who forges them: a 128-bit hash of either kind serves.
FRAME_HASH = {"f": "framehash", "hash": "murmur3"}


def passthrough_timing(ffmpeg_binary: FFmpegBinary) -> dict[str, str]:
    # Never let ffmpeg duplicate or drop frames to "fix" the rate; -fps_mode is 5.1+.
    version = ffmpeg_binary.version_tuple
    if version is not None and version < (5, 1):
        return {"vsync": "passthrough"}
    return {"fps_mode": "passthrough"}


def demuxer_time_base(ffmpeg_binary: FFmpegBinary) -> str:
    # Decoded frames keep the file's own timestamps (not rounded to 1/fps); 7.0 renamed -1 to "demux".
    version = ffmpeg_binary.version_tuple
    return "-1" if version is not None and version < (7, 0) else "demux"


def shell_quote(argv: list[str]) -> str:
    return shlex.join(argv)


PROBE_SIZE = (256, 256)  # above every hardware encoder's minimum, a multiple of 16 for QSV
PROBE_FRAMES = 10


def build_probe_command(ffmpeg_binary: FFmpegBinary, settings: EncoderSettings) -> list[str]:
    """A short test encode of generated frames to the null muxer, with the same options a real job uses."""
    width, height = PROBE_SIZE
    stream = ffmpeg.input(f"testsrc2=size={width}x{height}:rate=30", f="lavfi")
    video = pixel_pipeline(stream.video, width, height, settings)
    output = video.output("-", f="null", **_video_options(settings, **{"frames:v": str(PROBE_FRAMES)}))
    return command_line(ffmpeg_binary, GLOBAL_ARGS, settings.global_args, graph_args(output, {}))


def build_stream_command(
    ffmpeg_binary: FFmpegBinary,
    settings: EncoderSettings,
    width: int,
    height: int,
    fps: Fraction,
    target: Path,
    images: bool = False,
    raw_format: str = "rgb24",
) -> list[str]:
    """Frames on stdin -> a fragmented MP4 (a fragment a keyframe), readable even when cut off; for depth
    kept exactly, live Matroska (a cluster a second), which ffmpeg 5.1 takes FFV1 into and MP4 it does not.

    The frames are raw (`raw_format`: RGB, or gray16le for depth), or with `images` whole PNG/JPEG files
    one after the other."""
    if images:
        stream = ffmpeg.input("pipe:0", f="image2pipe", framerate=str(fps), **STRICT_DECODING)
    else:
        stream = ffmpeg.input("pipe:0", f="rawvideo", pix_fmt=raw_format, s=f"{width}x{height}", framerate=str(fps))
    video = pixel_pipeline(stream.video, width, height, settings)
    flush = {"flush_packets": "1"}  # each finished fragment reaches the file at once, not when a buffer fills
    if settings.container == "matroska":
        container = {"f": "matroska", "live": "1", "cluster_time_limit": "1000", **passthrough_timing(ffmpeg_binary)}
    else:
        container = {"movflags": "+frag_keyframe+empty_moov+default_base_moof", **_mp4_timing(ffmpeg_binary, fps)}
    output_options = _video_options(settings, **flush, **container)
    if settings.encoder == "libx264":
        # A crash loses what the encoder still holds as well as the open fragment: keep its lookahead
        # within half a keyframe interval (x264's presets hold up to 60 frames back).
        output_options["rc-lookahead"] = str(max(1, settings.gop // 2))
    output = video.output(OUTPUT, an=None, **output_options)
    return command_line(
        ffmpeg_binary, GLOBAL_ARGS, settings.global_args, graph_args(output, {OUTPUT: str(target.absolute())})
    )
