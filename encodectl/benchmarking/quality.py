"""Picture quality of a video against the frames it was made from: PSNR and SSIM, computed by ffmpeg."""

from __future__ import annotations

import re
from fractions import Fraction

from pydantic import BaseModel

from ..errors import EncodeError
from ..ffmpeg.log import meaningful_error
from ..ffmpeg.process import capture
from ..ffmpeg.readback_command import build_quality_command
from ..models import FFmpegBinary, FrameSequence

_PSNR = re.compile(r"PSNR .*?average:([\d.]+|inf)")
_SSIM = re.compile(r"SSIM .*?All:([\d.]+)")


class QualityScore(BaseModel):
    psnr_db: float
    ssim: float


def measure_quality(ffmpeg_binary: FFmpegBinary, video: str, frames: FrameSequence, fps: Fraction) -> QualityScore:
    """Compare every frame of `video` with its source frame, in the video's pixel format (yuv420p)."""
    completed = capture(build_quality_command(ffmpeg_binary, video, frames, fps))
    psnr, ssim = _PSNR.search(completed.stderr), _SSIM.search(completed.stderr)
    if completed.returncode != 0 or psnr is None or ssim is None:
        raise EncodeError(f"could not measure quality of {video}: {meaningful_error(completed.stderr.splitlines())}")
    return QualityScore(psnr_db=float(psnr.group(1)) if psnr.group(1) != "inf" else 99.0, ssim=float(ssim.group(1)))
