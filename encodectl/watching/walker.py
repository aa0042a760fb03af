"""Finding episode folders below the watched root, pass after pass, without re-listing what did not change."""

from __future__ import annotations

import os
from pathlib import Path

from ..frames.layout import natural_key
from ..frames.sequence import is_frame_name


class FolderWalker:
    """Finds episode folders again and again, re-listing only the folders whose contents changed.

    A folder's modification time changes when entries are added, removed or renamed in it,
    so an unchanged folder's sub-folders and whether it holds frames are taken from the cache.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[Path, tuple[int, list[Path], bool]] = {}

    def episode_folders(self) -> list[Path]:
        found: list[Path] = []
        self._visit(self.root, found)
        return sorted(found, key=lambda p: [natural_key(part) for part in p.relative_to(self.root).parts])

    def mtime_of(self, folder: Path) -> int:
        """The modification time `folder` had in the last walk (no second stat per folder and pass)."""
        cached = self._cache.get(folder)
        return cached[0] if cached is not None else dir_mtime(folder)

    def _visit(self, folder: Path, found: list[Path]) -> None:
        mtime = dir_mtime(folder)
        cached = self._cache.get(folder)
        if cached is None or cached[0] != mtime:
            try:
                with os.scandir(folder) as entries:
                    names = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
            except OSError:
                self._cache.pop(folder, None)
                return
            subfolders = [folder / name for name, is_dir in names if is_dir and not name.startswith(".")]
            holds_frames = any(not is_dir and is_frame_name(name) for name, is_dir in names)
            cached = self._cache[folder] = (mtime, subfolders, holds_frames)
        _, subfolders, holds_frames = cached
        if holds_frames and folder != self.root:
            found.append(folder)
        for sub in subfolders:  # symbolic links are not followed, so the folders form a tree: no cycles
            self._visit(sub, found)


def dir_mtime(directory: Path) -> int:
    try:
        return directory.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def later_siblings(folders: list[Path]) -> dict[Path, bool]:
    """For each episode folder: has the same camera (same parent) started a later episode?"""
    by_parent: dict[Path, list[Path]] = {}
    for folder in folders:
        by_parent.setdefault(folder.parent, []).append(folder)
    result: dict[Path, bool] = {}
    for siblings in by_parent.values():
        ordered = sorted(siblings, key=lambda p: natural_key(p.name))
        for index, folder in enumerate(ordered):
            result[folder] = index < len(ordered) - 1
    return result
