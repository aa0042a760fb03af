"""Which ffmpeg encodectl drives, why that one, and whether it is new enough.

Order: an explicit path (``--ffmpeg``, then ``ENCODECTL_FFMPEG``); else the static
build shipped in the ``imageio-ffmpeg`` wheel; else ``ffmpeg`` on PATH. The bundled
build comes before PATH's because it is the one encodectl is tested against and
the same on every machine, while distributions ship older ones that behave
differently (Debian 12's ffmpeg 5.1 has an SVT-AV1 that encodes the LeRobot
profile about 2.4x slower and refuses frames under 64 pixels high). PATH's is
used when no bundled build exists for the platform or it does not run. Nothing
here downloads anything.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from ..errors import FFmpegNotFoundError
from ..models import MINIMUM_FFMPEG, FFmpegBinary
from .cache import cached_version, remember_version
from .command_line import version_command
from .process import capture

ENV_VAR = "ENCODECTL_FFMPEG"
BUNDLED = "imageio-ffmpeg"
_VERSION_RE = re.compile(r"ffmpeg version (\S+)")
_HOW_TO_CHOOSE = f"--ffmpeg PATH or {ENV_VAR}=PATH picks another"


def find_ffmpeg(explicit: str | os.PathLike[str] | None = None) -> FFmpegBinary:
    """Return the ffmpeg to use, with why it was chosen; raise FFmpegNotFoundError in one line."""
    if explicit:
        return _supported(_checked(Path(explicit), "--ffmpeg", "given with --ffmpeg"))
    from_env = os.environ.get(ENV_VAR)  # set but empty counts as unset
    if from_env:
        return _supported(_checked(Path(from_env), ENV_VAR, f"set in {ENV_VAR}"))
    bundled = bundled_ffmpeg()
    trouble = "no bundled build is installed (pip install imageio-ffmpeg)"
    if bundled is not None:
        try:
            return _supported(
                _checked(bundled, BUNDLED, "the bundled build (imageio-ffmpeg), the one encodectl is tested against")
            )
        except FFmpegNotFoundError as error:
            trouble = f"the bundled build cannot be used ({error.message})"
    on_path = shutil.which("ffmpeg")
    if on_path:
        return _supported(_checked(Path(on_path), "PATH", f"ffmpeg on PATH, since {trouble}"))
    raise FFmpegNotFoundError(f"no ffmpeg found: {trouble}, and PATH has none; {_HOW_TO_CHOOSE}")


def bundled_ffmpeg() -> Path | None:
    """The static ffmpeg inside the imageio-ffmpeg wheel, if it is installed and has one for this platform."""
    # The wheel's own file, found without importing imageio-ffmpeg nor running its search: that runs the
    # binary with -version first, a process start before every encode (_checked runs it once per binary,
    # remembered across runs).
    wheel = _wheel_ffmpeg()
    if wheel is not None:
        return wheel
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return Path(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:
        return None


def _wheel_ffmpeg() -> Path | None:
    """The one binary an imageio-ffmpeg wheel ships (a wheel is made for one platform), unless its
    IMAGEIO_FFMPEG_EXE overrides it; None when there is not exactly one: imageio-ffmpeg's search decides."""
    if os.environ.get("IMAGEIO_FFMPEG_EXE"):
        return None
    try:
        spec = importlib.util.find_spec("imageio_ffmpeg")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    binaries = Path(next(iter(spec.submodule_search_locations))) / "binaries"
    found = [path for path in binaries.glob("ffmpeg-*") if path.is_file()]
    return found[0] if len(found) == 1 else None


def other_ffmpegs(chosen: FFmpegBinary) -> Iterator[FFmpegBinary]:
    """The bundled build and PATH's ffmpeg, when they run and are not the one chosen: what else there is."""
    seen = {chosen.path.resolve()}
    for path, source in ((bundled_ffmpeg(), BUNDLED), (shutil.which("ffmpeg"), "PATH")):
        if path is None or Path(path).resolve() in seen:
            continue
        seen.add(Path(path).resolve())
        try:
            yield _checked(Path(path), source, "")
        except FFmpegNotFoundError:
            continue  # one that does not run is no alternative; choosing it would say why


def _checked(path: Path, source: str, reason: str) -> FFmpegBinary:
    resolved = path if path.is_absolute() else Path(shutil.which(str(path)) or path).absolute()
    if not resolved.is_file():
        raise FFmpegNotFoundError(f"ffmpeg from {source} does not exist: {path}")
    if not os.access(resolved, os.X_OK):
        raise FFmpegNotFoundError(f"ffmpeg from {source} is not executable: {path}")
    stat = resolved.stat()
    version = _version(str(resolved), stat.st_size, stat.st_mtime_ns)
    return FFmpegBinary(path=resolved, version=version, source=source, reason=reason)


def _supported(binary: FFmpegBinary) -> FFmpegBinary:
    if binary.supported:
        return binary
    oldest = ".".join(map(str, MINIMUM_FFMPEG))
    bundled_hint = ", or pip install imageio-ffmpeg for the bundled one" if binary.source == "PATH" else ""
    raise FFmpegNotFoundError(
        f"ffmpeg {binary.version} at {binary.path} ({binary.source}) is older than {oldest}, the oldest encodectl "
        f"supports; {_HOW_TO_CHOOSE}{bundled_hint}"
    )


@functools.cache
def _version(path: str, size: int, mtime_ns: int) -> str:
    # Cached per binary identity, in this process and across runs: every job, and every run, would otherwise
    # pay a process start before its first encode.
    known = cached_version(path, size, mtime_ns)
    if known is not None:
        return known
    try:
        completed = capture(version_command(path), timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise FFmpegNotFoundError(f"ffmpeg at {path} does not run: {error}") from error
    match = _VERSION_RE.search(completed.stdout)
    if completed.returncode != 0 or match is None:
        raise FFmpegNotFoundError(f"{path} does not answer like ffmpeg (exit {completed.returncode})")
    remember_version(path, size, mtime_ns, match.group(1))
    return match.group(1)
