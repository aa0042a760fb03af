"""Picture quality of a video against the frames it was made from: PSNR and SSIM, computed by ffmpeg."""

from __future__ import annotations

import re
from fractions import Fraction

from pydantic import BaseModel

from ..errors import EncodeError
from ..ffmpeg.command import image2_pattern
from ..ffmpeg.log import meaningful_error
from ..ffmpeg.process import capture
from ..models import FFmpegBinary, FrameSequence

_PSNR = re.compile(r"PSNR .*?average:([\d.]+|inf)")
_SSIM = re.compile(r"SSIM .*?All:([\d.]+)")


class QualityScore(BaseModel):
    psnr_db: float
    ssim: float


def measure_quality(ffmpeg_binary: FFmpegBinary, video: str, frames: FrameSequence, fps: Fraction) -> QualityScore:
    """Compare every frame of `video` with its source frame, in the video's pixel format (yuv420p)."""
    pattern = image2_pattern(frames.directory, frames.prefix, frames.padding, frames.extension)
    graph = (
        "[1:v]scale=out_range=tv,format=yuv420p,pad=ceil(iw/2)*2:ceil(ih/2)*2,split[r1][r2];"
        "[0:v][r1]psnr=shortest=1[m];[m][r2]ssim=shortest=1"  # compare only frames both sides have
    )
    argv = [
        str(ffmpeg_binary.path), "-hide_banner", "-nostdin", "-i", video,
        "-f", "image2", "-framerate", str(fps), "-start_number", str(frames.first), "-i", pattern,
        "-lavfi", graph, "-f", "null", "-",
    ]  # fmt: skip
    completed = capture(argv)
    psnr, ssim = _PSNR.search(completed.stderr), _SSIM.search(completed.stderr)
    if completed.returncode != 0 or psnr is None or ssim is None:
        raise EncodeError(f"could not measure quality of {video}: {meaningful_error(completed.stderr.splitlines())}")
    return QualityScore(psnr_db=float(psnr.group(1)) if psnr.group(1) != "inf" else 99.0, ssim=float(ssim.group(1)))
