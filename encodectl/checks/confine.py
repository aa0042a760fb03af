"""The checked root, and every path check reads kept inside it (by lerobot.confine, the one confinement rule).

Metadata is input like any other: a camera key of ``../../etc``, a ``video_path`` of ``/tmp/{video_key}``
or a video that is a symbolic link to elsewhere must not make check read outside the dataset.
"""

from __future__ import annotations

from pathlib import Path

from ..lerobot.confine import inside


class RootGuard:
    """Paths under one root: refused in one line if one lands outside it; named relative to it in tables."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()

    def inside(self, path: Path, what: str) -> Path:
        """`path` itself (as given, under the root), once its resolved form (links followed) lies inside the root."""
        return inside(self.root, path, what)

    def relative(self, path: Path) -> str:
        """How a table names a file: relative to the root when it is under it."""
        absolute = self.root / path
        return str(absolute.relative_to(self.root)) if absolute.is_relative_to(self.root) else str(absolute)
