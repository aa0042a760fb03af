"""What a StreamEncoder is set up with before its first frame: the encoder plan (the depth route for depth
frames, whose video is named for its container) and how many frames it keeps in memory."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..ffmpeg.encoder_choice import EncoderPlan, plan_encoder
from ..ffmpeg.encoders import depth_settings
from ..frames.layout import DEPTH_SUFFIX, VIDEO_SUFFIX
from ..models import EncodeOptions, EncoderSettings, FFmpegBinary, options_from
from ..outputs.names import temp_stem
from .recovery import MATROSKA_STREAM_SUFFIX, SPILL_SUFFIX, STREAM_SUFFIX


def stream_options(
    fps: float | str | Fraction, device: str | None, depth: bool | str, options: dict[str, Any]
) -> tuple[EncodeOptions, bool]:
    """StreamEncoder's arguments as EncodeOptions, and whether the frames are depth (`depth` may name the
    route, as `encode --depth` does)."""
    given: dict[str, Any] = {"device": device} if device is not None else {}  # else as encode: auto (or a profile's)
    if isinstance(depth, str):
        given["depth"], depth = depth, True
    return options_from({**given, "fps": fps, **options}), depth


def stream_paths(output: Path, settings: EncoderSettings) -> tuple[Path, Path]:
    """The hidden stream file (fragmented MP4, or Matroska for depth kept exactly) and spill folder beside
    `output`, unique to this stream."""
    stem = temp_stem(output).name
    suffix = MATROSKA_STREAM_SUFFIX if settings.container == "matroska" else STREAM_SUFFIX
    return output.with_name(stem + suffix), output.with_name(stem + SPILL_SUFFIX)


def stream_plan(
    output: Path, options: EncodeOptions, ffmpeg: FFmpegBinary, given: EncoderPlan | None, depth: bool
) -> EncoderPlan:
    """The plan given, else the one `options` make; depth frames take the depth route (no hardware encoder,
    so no fallback), unless the plan given was made for depth (a quantizer of its own)."""
    plan = given or plan_encoder(options, ffmpeg)
    if depth:
        if given is None or given.primary.depth is None:
            settings = depth_settings(options.depth, plan.primary, options, None)
            plan = EncoderPlan(primary=settings, reason=f"depth frames: {settings.encoder}")
        check_depth_output(output, plan.primary)
    return plan


def check_depth_output(output: Path, settings: EncoderSettings) -> None:
    """A depth stream's video is named for its container, as encode names it (.mkv for depth kept exactly)."""
    wanted = DEPTH_SUFFIX if settings.container == "matroska" else VIDEO_SUFFIX
    if output.suffix.lower() != wanted:
        how = "depth kept exactly is FFV1 in Matroska" if wanted == DEPTH_SUFFIX else "this depth route writes MP4"
        raise UsageError(f"{output.name}: {how}; name the video {output.stem}{wanted}")


def frame_size(width: int, height: int, depth: bool) -> int:
    """Bytes of one raw frame: RGB24, or a depth stream's 16-bit values."""
    return width * height * (2 if depth else 3)


def buffer_capacity(buffer_frames: int | None, buffer_mib: float, frame_bytes: int) -> int:
    """Frames kept in memory before they spill: as many as asked, else as many as `buffer_mib` holds (at least 2)."""
    return buffer_frames or max(2, int(buffer_mib * 2**20 // frame_bytes))
