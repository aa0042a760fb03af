"""encodectl's cache folder: what was learnt about an ffmpeg binary, kept across runs.

Everything in it is keyed by the binary's path, size and mtime (and what else decides the answer), so a
binary that changes is asked again; a cache that cannot be read or written only costs asking again.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from pathlib import Path

CACHE_ENV = "ENCODECTL_CACHE_DIR"
_VERSIONS_FORMAT = 1  # raise when what a version entry means changes


def cache_dir() -> Path:
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    if sys.platform.startswith("linux"):
        # What platformdirs.user_cache_dir says on Linux (the XDG rule), without importing it before every encode.
        base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
        return Path(base) / "encodectl"
    import platformdirs

    return Path(platformdirs.user_cache_dir("encodectl"))


def _versions_file() -> Path:
    return cache_dir() / f"ffmpeg-versions-{_VERSIONS_FORMAT}.json"


def _version_key(path: str, size: int, mtime_ns: int) -> str:
    return f"{path}|{size}|{mtime_ns}"


def cached_version(path: str, size: int, mtime_ns: int) -> str | None:
    """The version this binary (this path, size and mtime) answered before, if it was remembered."""
    try:
        known = json.loads(_versions_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = known.get(_version_key(path, size, mtime_ns)) if isinstance(known, dict) else None
    return version if isinstance(version, str) else None


def remember_version(path: str, size: int, mtime_ns: int, version: str) -> None:
    """Keep the answer for the next run (written whole under a temporary name, then renamed)."""
    target = _versions_file()
    try:
        known = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    # Entries of binaries that are gone or changed would only grow the file: keep those that still match.
    kept = {key: value for key, value in known.items() if _still_there(key)}
    kept[_version_key(path, size, mtime_ns)] = version
    with contextlib.suppress(OSError):  # a read-only cache only costs a `-version` next time
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")  # threads of one run too
        temp.write_text(json.dumps(kept, indent=1), encoding="utf-8")
        temp.replace(target)


def _still_there(key: str) -> bool:
    path = key.rsplit("|", 2)[0]
    try:
        stat = Path(path).stat()
    except OSError:
        return False
    return key == _version_key(path, stat.st_size, stat.st_mtime_ns)
