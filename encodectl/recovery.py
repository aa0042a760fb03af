"""What a stream leaves on disk while it runs, and how `encodectl recover` finishes it after a crash.

A StreamEncoder's ffmpeg writes a fragmented MP4 under a hidden name beside the
video (``.NAME.mp4.<pid>-<id>.stream.mp4``). The file is locked (flock) by a
descriptor that both the recorder and its ffmpeg hold, so the lock lasts exactly
as long as anyone may still write to it: a recorder that dies leaves its ffmpeg
running until it has written out every frame it was given, and `recover` must
not take the file from under it. A lock, unlike a process id or a scan of open
files, also holds across bind mounts, containers and reused process ids.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import BaseModel

from .errors import EncodectlError, EncodeError
from .ffmpeg_log import meaningful_error
from .ffmpeg_process import capture
from .models import FFmpegBinary, VideoInfo
from .runner import commit_file, hidden_files, temp_paths
from .verify import mp4_boxes, read_video

STREAM_SUFFIX = ".stream.mp4"
SPILL_SUFFIX = ".spill"


def hold_stream_file(path: Path) -> int:
    """Create `path` empty and lock it; the lock lasts while this descriptor is open in any process."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)  # not inherited unless passed on
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        raise
    return descriptor


@contextlib.contextmanager
def unless_in_use(path: Path) -> Iterator[bool]:
    """True (and the file is ours until the block ends) when no encoder holds `path`."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(descriptor)


def complete_fragments(path: Path) -> int:
    """How many fragments (a moof box, then its mdat) lie wholly inside the file.

    A stream cut off mid-write ends in a partial box; one cut off before its first
    fragment has only its header, and no frame in it can be read."""
    kinds = mp4_boxes(path)
    return sum(kind == b"mdat" and previous == b"moof" for previous, kind in itertools.pairwise(kinds))


def remux_to_mp4(ffmpeg_binary: FFmpegBinary, fragmented: Path, target: Path) -> None:
    """Copy the packets of a (possibly cut-off) fragmented MP4 into a plain MP4 with faststart."""
    argv = [
        str(ffmpeg_binary.path), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-i", str(fragmented), "-map", "0:v:0", "-c", "copy", "-movflags", "+faststart", "-f", "mp4", str(target),
    ]  # fmt: skip
    completed = capture(argv)
    if completed.returncode != 0 or not target.exists():
        raise EncodeError(f"cannot rewrite {fragmented.name}: {meaningful_error(completed.stderr.splitlines())}")


def remux_verified(
    ffmpeg_binary: FFmpegBinary, fragmented: Path, target: Path, check: Callable[[VideoInfo], None], replace: bool
) -> VideoInfo:
    """Fragmented MP4 -> plain MP4 with faststart under a temporary name, read back, checked by
    `check`, and only then renamed to `target` (over a file there only with `replace`)."""
    temp = temp_paths(target)[0]
    try:
        remux_to_mp4(ffmpeg_binary, fragmented, temp)
        info = read_video(ffmpeg_binary, temp)
        check(info)
        commit_file(temp, target, replace=replace)
    finally:
        temp.unlink(missing_ok=True)
    return info


def _free_name(video: Path) -> Path:
    """`video`, or beside it the first of NAME.recovered.mp4, NAME.recovered-2.mp4, ... not yet taken."""
    numbered = (f"{video.stem}.recovered-{n}{video.suffix}" for n in itertools.count(2))
    names = itertools.chain([video.name, f"{video.stem}.recovered{video.suffix}"], numbered)
    candidates = (video.with_name(name) for name in names)
    return next(path for path in candidates if not path.exists())


class RecoveredVideo(BaseModel):
    fragmented: Path
    output: Path | None = None
    frames: int = 0
    seconds: float = 0.0
    status: str  # "recovered", "in use", "empty" (removed: nothing in it could be read), "nothing to recover"
    reason: str | None = None


def recover(directory: Path, ffmpeg_binary: FFmpegBinary) -> list[RecoveredVideo]:
    """Turn what interrupted streams left under `directory` into verified MP4s, every complete fragment of it."""
    results = []
    for fragmented in sorted(directory.rglob(f".*{STREAM_SUFFIX}")):
        with unless_in_use(fragmented) as free:
            if free:
                results.append(_recover_one(fragmented, ffmpeg_binary))
            elif fragmented.exists():
                results.append(RecoveredVideo(fragmented=fragmented, status="in use",
                                              reason="its encoder is still writing it"))  # fmt: skip
    return results


def _recover_one(fragmented: Path, ffmpeg_binary: FFmpegBinary) -> RecoveredVideo:
    stem = fragmented.name[1:].removesuffix(STREAM_SUFFIX)  # "<video name>.<pid>-<hex>" or "<name>.failed-<hex>"
    name = stem.rpartition(".")[0]
    if complete_fragments(fragmented) == 0:
        lost = _remove_with_spill(fragmented)
        spilled = f", and {lost} spilled frame(s) never encoded" if lost else ""
        return RecoveredVideo(fragmented=fragmented, status="empty",
                              reason=f"cut off before its first fragment was complete{spilled}; removed")  # fmt: skip

    def readable(info: VideoInfo) -> None:
        if info.frames == 0 or not info.timestamps_exact:
            raise EncodeError(f"{fragmented.name} holds no complete fragment with evenly timed frames")

    while True:
        target = _free_name(fragmented.with_name(name))
        try:
            info = remux_verified(ffmpeg_binary, fragmented, target, readable, replace=False)
            break
        except FileExistsError:
            continue  # a video took that name meanwhile: never over it, the next free one
        except EncodectlError as error:
            return RecoveredVideo(fragmented=fragmented, status="nothing to recover", reason=error.message)
    lost = _remove_with_spill(fragmented)
    return RecoveredVideo(
        fragmented=fragmented, output=target, frames=info.frames, seconds=info.frames / float(info.fps or 1),
        status="recovered", reason=f"{lost} spilled frame(s) after it were never encoded" if lost else None,
    )  # fmt: skip


def _remove_with_spill(fragmented: Path) -> int:
    """Remove a stream file and its spill folder; return how many spilled (never encoded) frames went with it."""
    fragmented.unlink(missing_ok=True)
    spill = fragmented.with_name(fragmented.name.removesuffix(STREAM_SUFFIX) + SPILL_SUFFIX)
    lost = len(list(spill.glob("*.frame"))) if spill.is_dir() else 0
    shutil.rmtree(spill, ignore_errors=True)
    return lost


def discard_abandoned_streams(output: Path) -> list[Path]:
    """Remove the stream files of `output` that no encoder holds (watch --stream: its frames are on disk)."""
    removed = []
    for fragmented in (path for path in hidden_files(output) if path.name.endswith(STREAM_SUFFIX)):
        with unless_in_use(fragmented) as free:
            if free:
                _remove_with_spill(fragmented)
                removed.append(fragmented)
    return removed
