"""A local guard: every path check builds from metadata, or reads, stays inside the checked root.

Metadata is input like any other: a camera key of ``../../etc``, a ``video_path`` of ``/tmp/{video_key}``
or a video that is a symbolic link to elsewhere must not make check read outside the dataset. A shared
confinement helper is being written for the whole package; this one is named so it can be swapped for it.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError


class LocalRootGuard:
    """Resolves paths under one root and refuses, in one line, any that lands outside it."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.real_root = self.root.resolve()

    def inside(self, path: Path, what: str) -> Path:
        """`path` itself (as given), once its resolved form (links followed) is known to lie inside the root."""
        try:
            resolved = (self.root / path).resolve()
        except (OSError, RuntimeError) as error:  # a link loop
            raise InputError(f"{what} {path} cannot be resolved ({error}); refusing to read it") from None
        if not resolved.is_relative_to(self.real_root):
            raise InputError(f"{what} {path} lies outside {self.root} (it resolves to {resolved}); refusing to read it")
        return self.root / path

    def relative(self, path: Path) -> str:
        """How a table names a file: relative to the root when it is under it."""
        absolute = self.root / path
        return str(absolute.relative_to(self.root)) if absolute.is_relative_to(self.root) else str(absolute)
