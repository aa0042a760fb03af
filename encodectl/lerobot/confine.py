"""Every path that a dataset's metadata names stays inside the dataset.

A dataset's ``meta/`` is untrusted input: datasets are downloaded from strangers and then
finished or checked here. So the names it supplies are refused unless they are plain names
(camera keys), its path template is refused unless it is LeRobot's kind (known fields, plain
format specs, relative, no ``..``), and every path built from them is resolved, symlinks
included, and must lie inside the dataset's root; a one-line InputError names the field.
"""

from __future__ import annotations

import re
import string
from pathlib import Path, PurePosixPath

from ..errors import InputError

# A format spec LeRobot's templates use ({chunk_index:03d}); anything else (nested fields, fills) is not.
_PLAIN_SPEC = re.compile(r"0?\d{0,3}d?")
_MAX_INDEX = 10**9  # an index past this makes names no file system takes


def check_camera_key(key: str, where: Path) -> None:
    """A video feature's key becomes a folder name: refuse one that could be anything else."""
    bad = (
        not key
        or key in {".", ".."}
        or key.startswith("/")
        or any(character in key for character in ("/", "\\"))
        or has_control_characters(key)
        or len(key.encode(errors="surrogateescape")) > 200
    )
    if bad:
        raise InputError(
            f"{where}: the video feature {key!r} is not a plain name (a separator, '..', a control character or a "
            "leading '/' would put its files outside the dataset, or forge lines of output); not touched"
        )


def check_path_template(template: str, fields: tuple[str, ...], where: Path, name: str = "video_path") -> None:
    """LeRobot's kind of template: only `fields`, plain integer specs, relative, no '..'."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise InputError(f"{where}: {name} {template!r} is not a path template ({error})") from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in fields or conversion is not None or not _PLAIN_SPEC.fullmatch(spec or ""):
            shown = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise InputError(
                f"{where}: {name} {template!r} uses {shown}; LeRobot's templates use only "
                f"{', '.join('{' + f + '}' for f in fields)} with plain number formats"
            )
    path = PurePosixPath(template)
    if path.is_absolute() or ".." in path.parts or "\\" in template or has_control_characters(template):
        raise InputError(
            f"{where}: {name} {template!r} leads outside the dataset (absolute, '..' or a control character); "
            "not touched"
        )


def regular_file(path: Path) -> Path:
    """`path`, if it is absent or a regular file: reading a FIFO in its place would wait for ever."""
    if path.exists() and not path.is_file():
        raise InputError(f"{path} is not a regular file (a FIFO, a device or a folder); not read")
    return path


def has_control_characters(text: str) -> bool:
    """NUL, line breaks, escapes: nothing a path of LeRobot's has, and each can forge a line elsewhere."""
    return any(ord(character) < 32 or ord(character) == 127 for character in text)


def check_index(value: int, what: str, where: Path) -> None:
    if not 0 <= value < _MAX_INDEX:
        raise InputError(f"{where}: {what} {value} is out of range (0 to {_MAX_INDEX - 1})")


def inside(root: Path, relative: str | Path, what: str) -> Path:
    """`root / relative`, if it lies inside `root` once every symlink on the way is followed."""
    path = root / relative
    real_root = root.resolve()
    try:
        real = path.resolve()
    except (OSError, RuntimeError) as error:  # a symlink loop
        raise InputError(f"{path}: {what} cannot be resolved ({error})") from None
    if real == real_root or not real.is_relative_to(real_root):
        raise InputError(
            f"{path}: {what} leads to {real}, outside the dataset ({real_root}), through a symlink or '..'; not touched"
        )
    return path
