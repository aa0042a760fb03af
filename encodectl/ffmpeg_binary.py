"""Find the ffmpeg binary to drive, in a fixed order, and learn its version.

Order: an explicit path (``--ffmpeg`` or ``ENCODECTL_FFMPEG``), then ``ffmpeg``
on PATH, then the static binary shipped inside the ``imageio-ffmpeg`` wheel, so
that a fresh machine works without installing anything by hand. Nothing here
downloads anything.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

from .errors import FFmpegNotFoundError
from .ffmpeg_process import capture
from .models import FFmpegBinary

ENV_VAR = "ENCODECTL_FFMPEG"
_VERSION_RE = re.compile(r"ffmpeg version (\S+)")


def find_ffmpeg(explicit: str | os.PathLike[str] | None = None) -> FFmpegBinary:
    """Return the ffmpeg to use; raise FFmpegNotFoundError with what was tried."""
    if explicit:
        return _checked(Path(explicit), "--ffmpeg")
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return _checked(Path(from_env), ENV_VAR)
    on_path = shutil.which("ffmpeg")
    if on_path:
        return _checked(Path(on_path), "PATH")
    wheel_binary = _imageio_ffmpeg_binary()
    if wheel_binary is not None:
        return _checked(wheel_binary, "imageio-ffmpeg")
    raise FFmpegNotFoundError(
        f"no ffmpeg found: set --ffmpeg or {ENV_VAR}, put ffmpeg on PATH, or `pip install imageio-ffmpeg`"
    )


def _imageio_ffmpeg_binary() -> Path | None:
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return Path(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:
        return None


def _checked(path: Path, source: str) -> FFmpegBinary:
    resolved = path if path.is_absolute() else Path(shutil.which(str(path)) or path).absolute()
    if not resolved.is_file():
        raise FFmpegNotFoundError(f"ffmpeg from {source} does not exist: {path}")
    if not os.access(resolved, os.X_OK):
        raise FFmpegNotFoundError(f"ffmpeg from {source} is not executable: {path}")
    stat = resolved.stat()
    version = _version(str(resolved), stat.st_size, stat.st_mtime_ns)
    return FFmpegBinary(path=resolved, version=version, source=source)


@functools.cache
def _version(path: str, size: int, mtime_ns: int) -> str:
    # Cached per binary identity: every job would otherwise pay a process start.
    try:
        completed = capture([path, "-hide_banner", "-version"], timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise FFmpegNotFoundError(f"ffmpeg at {path} does not run: {error}") from error
    match = _VERSION_RE.search(completed.stdout)
    if completed.returncode != 0 or match is None:
        raise FFmpegNotFoundError(f"{path} does not answer like ffmpeg (exit {completed.returncode})")
    return match.group(1)
