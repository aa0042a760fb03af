"""The last step of a stream's file: the final video, verified and given its name; or, when the stream
failed or was detached, a name of its own beside it for `encodectl recover`.
"""

from __future__ import annotations

import secrets
from fractions import Fraction
from pathlib import Path

from ..errors import EncodeError, VerificationError
from ..job.verify import check_expected, decoded_frame_hashes
from ..models import DepthMode, EncoderSettings, FFmpegBinary, VideoInfo
from ..outputs.names import hidden_prefix
from .recovery import MATROSKA_STREAM_SUFFIX, STREAM_SUFFIX, remux_verified


def finish_video(
    ffmpeg: FFmpegBinary,
    stream_file: Path,
    output: Path,
    *,
    added: int,
    written: int,
    fps: Fraction,
    size: tuple[int, int],
    settings: EncoderSettings,
    hashes: list[str],
) -> None:
    """Stream file -> final video with the index up front, verified, then renamed into place. `hashes`:
    for depth kept exactly, the md5 of every frame given, which every decoded frame must match."""
    if written != added:
        raise EncodeError(f"only {written} of {added} frames reached ffmpeg")

    def check(info: VideoInfo) -> None:
        check_expected(info, added, fps, *size, settings, output)
        if settings.depth is DepthMode.lossless:
            check_hashes(ffmpeg, stream_file, output, settings, hashes)

    remux_verified(ffmpeg, stream_file, output, check, replace=True, fps=fps)


def check_hashes(
    ffmpeg: FFmpegBinary, stream_file: Path, output: Path, settings: EncoderSettings, hashes: list[str]
) -> None:
    """Every decoded frame of the stream file, hashed, equals the frame given: depth kept exactly."""
    decoded = decoded_frame_hashes(ffmpeg, stream_file, settings.pix_fmt)
    for index, (given, got) in enumerate(zip(hashes, decoded, strict=False)):
        if given != got:
            raise VerificationError(f"{output.name}: frame {index} does not decode to the values given")
    if len(decoded) != len(hashes):
        raise VerificationError(f"{output.name}: {len(decoded)} frames decode, {len(hashes)} were given")


def keep_for_recovery(stream_file: Path, output: Path, why: str) -> Path | None:
    """Called once the encoder has ended: its file gets a name of its own for `recover`, which
    takes it at once (nobody holds it any more); None when nothing was written."""
    if not stream_file.exists() or stream_file.stat().st_size == 0:
        stream_file.unlink(missing_ok=True)
        return None
    suffix = MATROSKA_STREAM_SUFFIX if stream_file.name.endswith(MATROSKA_STREAM_SUFFIX) else STREAM_SUFFIX
    kept = output.with_name(f"{hidden_prefix(output)}{why}-{secrets.token_hex(3)}{suffix}")
    stream_file.replace(kept)
    return kept
