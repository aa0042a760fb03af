"""Turn the paths a user names into episode folders and the videos they become.

Three shapes are understood:
- an episode folder (frames directly inside)        -> EPISODE.mp4 beside it
- a LeRobot dataset root (images/<camera>/<episode>/) -> videos/<camera>/<episode>.mp4 under the root
- any other folder: every folder below it that holds frames -> <folder>.mp4 beside it
``-o`` names the output file (one episode) or the folder that replaces the root. Depth frames
kept exactly become .mkv instead (see `with_container`), once their first frame has been read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import BaseModel

from ..errors import InputError, UsageError
from ..models import DepthQuantization
from .sequence import has_frames, not_there

VIDEO_SUFFIX = ".mp4"
DEPTH_SUFFIX = ".mkv"  # depth frames kept exactly: FFV1 in Matroska
VIDEO_SUFFIXES = (VIDEO_SUFFIX, DEPTH_SUFFIX)


class EpisodeSource(BaseModel):
    """One folder of frames and the video it should become."""

    directory: Path
    output: Path
    episode: str
    camera: str | None = None
    # A LeRobot dataset's metadata says how many frames of what size the episode has; a video
    # that differs would break its loader, so neither a count mismatch nor padding is allowed.
    expected_frames: int | None = None
    expected_size: tuple[int, int] | None = None
    # Whether the metadata says this camera records depth (None: no metadata), and how LeRobot quantizes it.
    expected_depth: bool | None = None
    depth_quantization: DepthQuantization | None = None
    named_output: bool = False  # -o named the video file itself: its suffix is the user's

    def with_container(self, matroska: bool) -> EpisodeSource:
        """This source with the video's suffix for its container (.mkv for Matroska, else .mp4)."""
        suffix = DEPTH_SUFFIX if matroska else VIDEO_SUFFIX
        if self.output.suffix.lower() == suffix:
            return self
        if self.named_output:
            if matroska:
                kind = "depth frames kept exactly go into Matroska (--depth lerobot or lossy make an MP4)"
            else:
                kind = "these frames become an MP4"
            raise InputError(f"-o {self.output}: {kind}; name a {suffix} file (or a folder)")
        return self.model_copy(update={"output": self.output.with_suffix(suffix)})


def natural_key(text: str) -> list[object]:
    """episode_2 before episode_10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def discover(paths: list[Path], output: Path | None = None) -> list[EpisodeSource]:
    """Every episode folder under `paths`, in a stable natural order."""
    if not paths:
        raise UsageError("no path given")
    if output is not None and output.suffix and output.suffix.lower() not in VIDEO_SUFFIXES and not output.is_dir():
        raise UsageError(
            f"-o {output}: encodectl writes .mp4 videos (.mkv for depth frames kept exactly); name such a file "
            "or a folder"
        )
    sources: list[EpisodeSource] = []
    for path in paths:
        sources.extend(_discover_one(path, output, several_paths=len(paths) > 1))
    if output is not None and output.suffix.lower() in VIDEO_SUFFIXES and len(sources) > 1:
        raise UsageError(f"-o {output} names one video but {len(sources)} episodes were found; give a folder")
    seen: dict[Path, Path] = {}
    for source in sources:
        if source.output in seen:
            raise UsageError(f"{source.directory} and {seen[source.output]} would both be written to {source.output}")
        seen[source.output] = source.directory
    return sources


def _discover_one(path: Path, output: Path | None, several_paths: bool) -> list[EpisodeSource]:
    if not path.exists():
        raise InputError(not_there(path))
    if not path.is_dir():
        raise InputError(f"{path} is not a folder of frames")
    path = path.absolute()
    if has_frames(path):
        target, named = _episode_output(path, output, several_paths)
        return [EpisodeSource(directory=path, output=target, episode=path.name, named_output=named)]
    if (path / "images").is_dir():
        return _dataset_episodes(path, output)
    episodes = frame_folders_below(path)
    if not episodes:
        raise InputError(f"no frames found in {path} or below it (expected .png/.jpg/.tiff files)")
    return [source_below(path, directory, output) for directory in episodes]


def source_below(root: Path, directory: Path, output: Path | None) -> EpisodeSource:
    """The source of an episode folder found below `root`, with LeRobot's layout wherever it applies:
    <dataset>/images/<camera>/<episode> -> <dataset>/videos/<camera>/<episode>.mp4, else <folder>.mp4
    beside it; with `output`, the same tree mirrored under it."""
    relative = directory.relative_to(root)
    parts = relative.parts
    out_root = output.absolute() if output is not None else root
    if len(parts) >= 3 and parts[-3] == "images":
        target = out_root / Path(*parts[:-3]) / "videos" / parts[-2] / (parts[-1] + VIDEO_SUFFIX)
        return EpisodeSource(directory=directory, output=target, episode=parts[-1], camera=parts[-2])
    mirrored = out_root / relative if output is not None else directory
    return EpisodeSource(
        directory=directory,
        output=episode_output(mirrored),
        episode=directory.name,
        camera=str(relative.parent) if relative.parent != Path() else None,
    )


def episode_output(directory: Path) -> Path:
    """The default video of an episode folder: EPISODE.mp4 beside it."""
    return directory.with_name(directory.name + VIDEO_SUFFIX)


def _episode_output(directory: Path, output: Path | None, several_paths: bool) -> tuple[Path, bool]:
    """The video of an episode folder, and whether -o named that file itself."""
    if output is None:
        return episode_output(directory), False
    if output.suffix.lower() in VIDEO_SUFFIXES and not several_paths:
        return output.absolute(), True
    return output.absolute() / (directory.name + VIDEO_SUFFIX), False


def _dataset_episodes(root: Path, output: Path | None) -> list[EpisodeSource]:
    images = root / "images"
    # Every <camera>/<episode> folder, empty ones included: an empty episode is an error to report.
    sources = [source_below(root, episode, output) for camera in _subfolders(images) for episode in _subfolders(camera)]
    if not sources:
        raise InputError(f"{images} holds no <camera>/<episode>/ folders")
    return sources


def _subfolders(directory: Path) -> list[Path]:
    try:
        entries = [Path(e.path) for e in os.scandir(directory) if e.is_dir() and not e.name.startswith(".")]
    except OSError as error:
        raise InputError(f"cannot list {directory}: {error.strerror or error}") from error
    return sorted(entries, key=lambda p: natural_key(p.name))


def frame_folders_below(root: Path) -> list[Path]:
    """Every folder below `root` that directly holds numbered frames, in natural order."""
    found = []
    for current, dirnames, _ in os.walk(root):
        dirnames[:] = sorted((d for d in dirnames if not d.startswith(".")), key=natural_key)
        directory = Path(current)
        if directory != root and has_frames(directory):
            found.append(directory)
    return sorted(found, key=lambda p: [natural_key(part) for part in p.relative_to(root).parts])
