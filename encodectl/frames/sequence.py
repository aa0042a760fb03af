"""Find the numbered frames in one episode folder and check them before encoding.

ffmpeg's image2 reader stops silently at a numbering gap and rescales a frame of
another size without a word; these checks turn both into clear errors, reading
only each file's header and tail.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError
from ..models import FileIdentity, FrameSequence
from .headers import ImageHeader, read_image_header

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
MAX_FRAME_NUMBER = 2**31 - 1  # ffmpeg's image2 reader counts in a signed 32-bit int
MAX_HELD_FRAMES = 10_000
_FRAME_NAME = re.compile(r"^(?P<prefix>.*?)(?P<digits>\d+)(?P<ext>\.(?:png|jpe?g|tiff?))$", re.IGNORECASE)


def has_frames(directory: Path) -> bool:
    """True when the folder directly holds at least one numbered image file."""
    try:
        with os.scandir(directory) as entries:
            return any(is_frame_name(entry.name) and entry.is_file() for entry in entries)
    except OSError:
        return False


def _is_image_name(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def frames_by_number(directory: Path) -> dict[int, Path]:
    """The numbered frames in `directory` by number (for streaming them in order as they appear)."""
    return numbered(frame_files(directory))


def numbered(frames: Iterable[Path]) -> dict[int, Path]:
    """Frame files already listed, by the number in their names (those without one left out)."""
    found = {}
    for path in frames:
        match = _FRAME_NAME.match(path.name)
        if match is not None:
            found[int(match["digits"])] = path
    return found


def is_frame_name(name: str) -> bool:
    """A numbered image: a stray preview.png does not make a folder an episode."""
    return not name.startswith(".") and _FRAME_NAME.match(name) is not None


def frame_files(directory: Path) -> list[Path]:
    """The numbered image files directly in `directory` (no validation; for watching and cleaning up).

    A folder that has gone is empty; one that cannot be read raises OSError."""
    try:
        with os.scandir(directory) as entries:
            return [Path(entry.path) for entry in entries if is_frame_name(entry.name) and entry.is_file()]
    except FileNotFoundError:
        return []


def scan_frames(directory: Path) -> FrameSequence:
    """Read a folder of frames into a FrameSequence; raise InputError on anything ffmpeg would get wrong."""
    names = _frame_file_names(directory)
    prefix, extension, by_number, padding = _numbered(directory, names)
    numbers = sorted(by_number)
    if numbers[-1] > MAX_FRAME_NUMBER:
        raise InputError(f"{directory / by_number[numbers[-1]]}: frame numbers above {MAX_FRAME_NUMBER} are too large")
    # From neighbours, not by walking every number: timestamp-named frames leave huge gaps.
    gaps = [(a + 1, b - 1) for a, b in itertools.pairwise(numbers) if b - a > 1]
    sequence = FrameSequence(
        directory=directory,
        prefix=prefix,
        extension=extension,
        padding=padding,
        numbers=numbers,
        gaps=gaps,
        width=0,
        height=0,
        source_format="",
    )
    # Every name must be reproducible from the pattern ffmpeg is given.
    for number in numbers:
        if sequence.filename(number) != by_number[number]:
            raise InputError(
                f"{directory / by_number[number]} is numbered differently from the other frames (mixed zero-padding)"
            )
    _check_headers(sequence)
    return sequence


def _frame_file_names(directory: Path) -> list[str]:
    """The names of the image files in `directory`, sorted; InputError if there are none, or if something
    else than a file stands under an image name."""
    if not directory.is_dir():
        raise InputError(f"{directory} is not a folder")
    try:
        with os.scandir(directory) as entries:
            listed = sorted((entry.name, _is_file(entry)) for entry in entries if _is_image_name(entry.name))
    except OSError as error:
        raise InputError(f"cannot list {directory}: {error.strerror or error}") from error
    for name, is_file in listed:
        # Skipped, it would be reported as a missing number, and --on-gap hold would fill it in silently.
        what = None if is_file else _what_instead_of_a_file(directory / name)
        if what is not None:
            raise InputError(f"{directory / name} is {what}, not a frame file")
    names = [name for name, is_file in listed if is_file]
    if not names:
        raise InputError(f"no frames in {directory} (expected .png, .jpg, .jpeg or .tiff files)")
    return names


def _numbered(directory: Path, names: list[str]) -> tuple[str, str, dict[int, str], int]:
    """One sequence's prefix, extension, names by number and zero-padding (0: none); InputError for a name
    without a number, several sequences, a number twice or mixed paddings."""
    parsed: list[tuple[str, re.Match[str]]] = []
    for name in names:
        match = _FRAME_NAME.match(name)
        if match is None:
            raise InputError(f"{directory / name} has no frame number in its name")
        parsed.append((name, match))
    sequences = {(match["prefix"], match["ext"]) for _, match in parsed}
    if len(sequences) > 1:
        shown = ", ".join(sorted(f"{prefix}*{ext}" for prefix, ext in sequences))
        raise InputError(f"{directory} mixes several frame sequences ({shown}); give each its own folder")
    (prefix, extension) = sequences.pop()
    by_number: dict[int, str] = {}
    paddings: set[int] = set()
    for name, match in parsed:
        digits = match["digits"]
        number = int(digits)
        if number in by_number:
            raise InputError(f"frame number {number} appears twice in {directory}: {by_number[number]}, {name}")
        by_number[number] = name
        if digits.startswith("0") and len(digits) > 1:
            paddings.add(len(digits))
    if len(paddings) > 1:
        raise InputError(f"{directory} mixes zero-paddings of {sorted(paddings)} digits")
    return prefix, extension, by_number, paddings.pop() if paddings else 0


def _is_file(entry: os.DirEntry[str]) -> bool:
    """Whether the entry is a regular file, through links; False where the link cannot be followed (a loop),
    which _what_instead_of_a_file then names."""
    try:
        return entry.is_file()
    except OSError:
        return False


def what_the_link_is(path: Path) -> str | None:
    """What a link that cannot be followed is ("a broken link (to X)", "a symbolic link that loops"); None if
    `path` is no such link."""
    try:
        path.stat()
    except FileNotFoundError:
        try:
            return f"a broken link (to {path.readlink()})"
        except OSError:
            return None  # not a link: nothing there
    except OSError as error:
        return "a symbolic link that loops" if error.errno == errno.ELOOP else None
    return None


def not_there(path: Path) -> str:
    """Why a path given on the command line is not there: a link that cannot be followed, or nothing at all."""
    link = what_the_link_is(path)
    return f"{path} is {link}" if link is not None else f"{path} does not exist"


def _what_instead_of_a_file(path: Path) -> str | None:
    """What stands at `path` where a frame file should be (a folder, a broken link, a FIFO, …);
    None if it is a regular file after all, or has gone since it was listed."""
    try:
        mode = path.stat().st_mode  # through links: a link to a frame is a frame
    except OSError as error:
        link = what_the_link_is(path)
        if link is not None or isinstance(error, FileNotFoundError):
            return link  # None: not a link, it has gone since it was listed
        return f"unreadable ({error.strerror or error})"
    kinds = [(stat.S_ISREG, None), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")]
    return next((kind for test, kind in kinds if test(mode)), "a device")


def _check_headers(sequence: FrameSequence) -> None:
    identities = {}
    first = None
    for number in sequence.numbers:
        path = sequence.path(number)
        # Taken before the header is read: a rewrite from here on changes the identity (ctime at least).
        identity = FileIdentity.of_path(path)
        header = read_image_header(path)
        if identity is None:
            raise InputError(f"{path} was removed while encodectl read the frames")
        identities[number] = identity
        if first is None:
            first = header
            continue
        if (header.width, header.height) != (first.width, first.height):
            raise InputError(
                f"{path} is {header.width}x{header.height} but the first frame is "
                f"{first.width}x{first.height} (ffmpeg would silently rescale it)"
            )
        if header.format != first.format:
            raise InputError(f"{path} is a {header.format} but the first frame is a {first.format}")
        if header.is_depth != first.is_depth:
            # One video holds either depth values or pictures: encoded together, one kind would be ruined.
            raise InputError(f"{path} is {_kind(header)} but the first frame is {_kind(first)}; not encoded")
    assert first is not None  # scan_frames found at least one frame
    sequence.width, sequence.height = first.width, first.height
    sequence.source_format = first.describe()
    sequence.depth = first.is_depth
    sequence.identities = identities


def _kind(header: ImageHeader) -> str:
    what = "a 16-bit single-channel (depth) frame" if header.is_depth else "an image"
    return f"{what} ({header.describe()})"


def first_frame_is_depth(directory: Path) -> bool:
    """Whether the lowest-numbered frame in `directory` is a depth frame (read from its header alone);
    False when there is none yet or it cannot be read: validating the episode then says why."""
    try:
        numbered = frames_by_number(directory)
        return bool(numbered) and read_image_header(numbered[min(numbered)]).is_depth
    except (OSError, InputError):
        return False


def check_frames_unchanged(sequence: FrameSequence) -> None:
    """After the video is read back: raise InputError naming a frame that is no longer the file that was
    checked (rewritten, replaced or removed while ffmpeg read the frames), so that no video is ever called
    done with pictures other than those on disk. ffmpeg would also rescale a frame of another size without
    a word (with -reinit_filter 0 too: 5.1 and 9.0 only log a warning)."""
    for number in sequence.numbers:
        path = sequence.path(number)
        if FileIdentity.of_path(path) == sequence.identities.get(number):
            continue
        try:
            header = read_image_header(path)
            size = (header.width, header.height)
        except InputError:
            size = None
        if size is not None and size != (sequence.width, sequence.height):
            what = (f": it is now {size[0]}x{size[1]}, the other frames {sequence.width}x{sequence.height} "
                    "(ffmpeg would silently rescale it)")  # fmt: skip
        elif not path.exists():
            what = ": it was removed"
        else:
            what = " (rewritten after encodectl checked it; the video may hold either picture)"
        raise InputError(f"{path} changed while it was encoded{what}; no video kept")


def identity_digest(identities: Iterable[tuple[str, FileIdentity]]) -> str:
    """One value for a set of frame files, each as it is (name and identity): a frame rewritten, added or
    removed changes it, whatever the sizes and modification times say."""
    digest = hashlib.sha256()
    for name, identity in sorted(identities):
        digest.update(f"{name}\0{identity}\n".encode(errors="surrogateescape"))
    return digest.hexdigest()[:16]


def sequence_digest(sequence: FrameSequence) -> str:
    return identity_digest((sequence.filename(n), identity) for n, identity in sequence.identities.items())


def describe_ranges(ranges: list[tuple[int, int]], limit: int = 8) -> str:
    """'5-9, 14' for [(5, 9), (14, 14)]; long lists are cut with a count."""
    shown = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges[:limit])
    return shown + (f", … ({len(ranges) - limit} more ranges)" if len(ranges) > limit else "")


def check_gaps(sequence: FrameSequence, hold: bool) -> None:
    """Raise InputError for a numbering gap unless the gap is to be filled by holding frames."""
    if not sequence.gaps:
        return
    count, ranges = sequence.missing_count, describe_ranges(sequence.gaps)
    if not hold:
        raise InputError(
            f"{sequence.directory}: {count} frame(s) missing from the numbering "
            f"({ranges}); use --on-gap hold to repeat the previous frame"
        )
    limit = max(MAX_HELD_FRAMES, 10 * len(sequence.numbers))
    if count > limit:
        raise InputError(
            f"{sequence.directory}: {count} frame(s) missing ({ranges}) is too many to hold "
            f"(limit {limit}); are these frames numbered by timestamp?"
        )
