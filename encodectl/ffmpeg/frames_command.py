"""Build the ffmpeg command lines that make frames rather than videos: camera-like test frames (a moving
pattern with sensor noise), 16-bit depth frames from raw values on stdin, and image files decoded to raw RGB.

The two writers are written with flags: their options come before the -f of their input or output, in an
order ffmpeg-python (which writes -f first and sorts the rest) would change.
"""

from __future__ import annotations

from pathlib import Path

import ffmpeg

from ..models import FFmpegBinary
from .command import image2_pattern
from .command_line import command_line, flags, graph_args

_WRITE_ARGS = ("-hide_banner", "-nostdin", "-loglevel", "error", "-y")


def camera_pattern(size: tuple[int, int], seed: int, noise: int) -> str:
    """A moving test pattern, a per-seed hue so cameras and episodes differ, and temporal noise."""
    width, height = size
    source = f"testsrc2=size={width + width % 2}x{height + height % 2}:rate=30,hue=h={(seed * 47) % 360}"
    if noise:
        source += f",noise=alls={noise}:allf=t+u:all_seed={seed + 1}"
    # testsrc2 makes even sizes only; crop in RGB to get odd ones exactly.
    return source + f",format=rgb24,crop={width}:{height}:0:0"


def build_test_frames_command(
    ffmpeg_binary: FFmpegBinary,
    directory: Path,
    count: int,
    size: tuple[int, int],
    *,
    start_number: int,
    prefix: str,
    padding: int,
    extension: str,
    pix_fmt: str | None,
    seed: int,
    noise: int,
) -> list[str]:
    """`count` numbered test frames (see camera_pattern) written into `directory`."""
    output = {"frames:v": str(count), "start_number": str(start_number)}
    if pix_fmt:
        output["pix_fmt"] = pix_fmt
    if extension.lower() in (".jpg", ".jpeg"):
        output["q:v"] = "3"
    return command_line(
        ffmpeg_binary,
        _WRITE_ARGS,
        ["-f", "lavfi", "-i", camera_pattern(size, seed, noise)],
        flags(output),
        ["-f", "image2", image2_pattern(directory, prefix, padding, extension)],
    )


def build_depth_frames_command(
    ffmpeg_binary: FFmpegBinary,
    directory: Path,
    size: tuple[int, int],
    *,
    prefix: str,
    padding: int,
    extension: str,
    tiff_compression: str,
) -> list[str]:
    """Raw little-endian 16-bit frames on stdin -> numbered PNG (big-endian gray16, as PNG stores it) or TIFF
    (compressed with `tiff_compression`) files from 0."""
    width, height = size
    tiff = extension.lower() in (".tif", ".tiff")
    raw = {"f": "rawvideo", "pix_fmt": "gray16le", "s": f"{width}x{height}", "framerate": "30"}
    output = {"pix_fmt": "gray16le" if tiff else "gray16be", **({"compression_algo": tiff_compression} if tiff else {})}
    return command_line(
        ffmpeg_binary,
        _WRITE_ARGS,
        flags(raw),
        ["-i", "pipe:0"],
        flags(output),
        ["-start_number", "0", "-f", "image2", image2_pattern(directory, prefix, padding, extension)],
    )


def build_decode_images_command(ffmpeg_binary: FFmpegBinary) -> list[str]:
    """Whole image files one after the other on stdin -> their pixels as raw RGB on stdout."""
    output = ffmpeg.input("pipe:0", f="image2pipe").output("pipe:1", f="rawvideo", pix_fmt="rgb24")
    return command_line(ffmpeg_binary, ["-v", "error"], graph_args(output, {}))


def build_decode_frame_files_command(ffmpeg_binary: FFmpegBinary, list_file: Path, pix_fmt: str) -> list[str]:
    """The image files an ffconcat list names, each one frame -> their pixels as raw `pix_fmt` on stdout,
    every file exactly once (no frame dropped or repeated for timing: the list's durations do not matter)."""
    version = ffmpeg_binary.version_tuple
    passthrough = ["-fps_mode", "passthrough"] if version is None or version >= (5, 1) else ["-vsync", "passthrough"]
    return command_line(
        ffmpeg_binary,
        ["-nostdin", "-v", "fatal", "-f", "concat", "-safe", "0", "-i", str(list_file)],
        passthrough,
        ["-f", "rawvideo", "-pix_fmt", pix_fmt, "pipe:1"],
    )
