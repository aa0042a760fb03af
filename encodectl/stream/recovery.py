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
from fractions import Fraction
from pathlib import Path

from pydantic import BaseModel

from ..errors import EncodectlError, EncodeError
from ..ffmpeg.child import start_child
from ..ffmpeg.command import build_stream_command
from ..ffmpeg.copy_command import build_join_command, build_remux_command, concat_list
from ..ffmpeg.log import encoder_failure, meaningful_error
from ..ffmpeg.process import capture
from ..frames.layout import DEPTH_SUFFIX
from ..job.verify import mp4_boxes, read_frame_times, read_video
from ..models import EncoderSettings, FFmpegBinary, FrameRate, VideoInfo
from ..outputs.names import hidden_files, temp_paths
from ..outputs.publish import commit_file
from .frame_buffer import SPILL_FILE_SUFFIX

STREAM_SUFFIX = ".stream.mp4"
MATROSKA_STREAM_SUFFIX = ".stream.mkv"  # a depth stream kept exactly (FFV1): live Matroska
STREAM_SUFFIXES = (STREAM_SUFFIX, MATROSKA_STREAM_SUFFIX)
SPILL_SUFFIX = ".spill"
SPILL_DESCRIPTION = "stream.json"  # in a spill folder: what `recover` needs to encode its frames


class SpillDescription(BaseModel):
    """How the frames in a spill folder are to be encoded, should the recorder die before they are."""

    width: int
    height: int
    fps: FrameRate
    images: bool
    settings: EncoderSettings
    raw_format: str = "rgb24"  # of the frames spilled as arrays: gray16le for depth


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
    _remux(ffmpeg_binary, fragmented, target, matroska=False)


def remux_to_matroska(ffmpeg_binary: FFmpegBinary, fragmented: Path, target: Path) -> None:
    """The same into Matroska, its index first: the container of a video named .mkv (depth kept exactly)."""
    _remux(ffmpeg_binary, fragmented, target, matroska=True)


def _remux(ffmpeg_binary: FFmpegBinary, fragmented: Path, target: Path, matroska: bool) -> None:
    completed = capture(build_remux_command(ffmpeg_binary, fragmented, target, matroska))
    if completed.returncode != 0 or not target.exists():
        raise EncodeError(f"cannot rewrite {fragmented.name}: {meaningful_error(completed.stderr.splitlines())}")


def remux_verified(
    ffmpeg_binary: FFmpegBinary,
    fragmented: Path,
    target: Path,
    check: Callable[[VideoInfo], None],
    replace: bool,
    fps: Fraction | None = None,
) -> VideoInfo:
    """Fragmented MP4 -> plain MP4 with faststart under a temporary name, read back, checked by
    `check`, and only then renamed to `target` (over a file there only with `replace`). A `target` named
    .mkv gets Matroska, whose millisecond time base is read back against the stream's own frame rate."""
    temp = temp_paths(target)[0]
    matroska = target.suffix.lower() == DEPTH_SUFFIX
    try:
        if matroska:
            rate = fps or read_video(ffmpeg_binary, fragmented).fps
            remux_to_matroska(ffmpeg_binary, fragmented, temp)
        else:
            rate = None
            remux_to_mp4(ffmpeg_binary, fragmented, temp)
        info = read_video(ffmpeg_binary, temp, fps=rate)
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
    for fragmented in sorted(path for suffix in STREAM_SUFFIXES for path in directory.rglob(f".*{suffix}")):
        with unless_in_use(fragmented) as free:
            if free:
                results.append(_recover_one(fragmented, ffmpeg_binary))
            elif fragmented.exists():
                results.append(RecoveredVideo(fragmented=fragmented, status="in use",
                                              reason="its encoder is still writing it"))  # fmt: skip
    return results


def _recover_one(fragmented: Path, ffmpeg_binary: FFmpegBinary) -> RecoveredVideo:
    stem = _without_stream_suffix(fragmented.name)[1:]  # "<video name>.<pid>-<hex>" or "<name>.failed-<hex>"
    name = stem.rpartition(".")[0]
    spill = _spill_of(fragmented)
    description = _description(spill)
    fps = description.fps if description is not None else None
    readable_frames = _readable_frames(ffmpeg_binary, fragmented, fps)
    if readable_frames == 0 and not _spilled_frames(spill):
        _remove_with_spill(fragmented)
        return RecoveredVideo(fragmented=fragmented, status="empty",
                              reason="cut off before its first fragment was complete; removed")  # fmt: skip

    def readable(info: VideoInfo) -> None:
        if info.frames == 0 or not info.timestamps_exact:
            raise EncodeError(f"{fragmented.name} holds no complete fragment with evenly timed frames")

    target: Path | None = None
    frames = 0
    if readable_frames > 0:
        while True:
            target = _free_name(fragmented.with_name(name))
            try:
                info = remux_verified(ffmpeg_binary, fragmented, target, readable, replace=False, fps=fps)
                frames, fps = info.frames, info.fps
                break
            except FileExistsError:
                continue  # a video took that name meanwhile: never over it, the next free one
            except EncodectlError as error:
                return RecoveredVideo(fragmented=fragmented, status="nothing to recover", reason=error.message)
    try:
        target, frames, notes = finish_spilled(ffmpeg_binary, spill, fragmented.with_name(name), target, frames)
    except EncodectlError as error:
        return RecoveredVideo(fragmented=fragmented, output=target, frames=frames, status="nothing to recover",
                              reason=f"its spilled frames could not be encoded: {error.message}")  # fmt: skip
    _remove_with_spill(fragmented)
    return RecoveredVideo(
        fragmented=fragmented, output=target, frames=frames, seconds=frames / float(fps or 30),
        status="recovered", reason="; ".join(notes) or None,
    )  # fmt: skip


def _without_stream_suffix(name: str) -> str:
    return next((name.removesuffix(suffix) for suffix in STREAM_SUFFIXES if name.endswith(suffix)), name)


def _readable_frames(ffmpeg_binary: FFmpegBinary, fragmented: Path, fps: Fraction | None) -> int:
    """Frames a cut-off stream file still gives: MP4, those of its whole fragments; Matroska (a depth
    stream), what reading it gives (a cut-off cluster ends it)."""
    if fragmented.name.endswith(STREAM_SUFFIX):
        return complete_fragments(fragmented)
    try:
        return read_video(ffmpeg_binary, fragmented, fps=fps).frames
    except EncodectlError:
        return 0


def _spill_of(fragmented: Path) -> Path:
    return fragmented.with_name(_without_stream_suffix(fragmented.name) + SPILL_SUFFIX)


def _spilled_frames(spill: Path) -> dict[int, Path]:
    """The frames a recorder spilled and its encoder never took, by number."""
    if not spill.is_dir():
        return {}
    return {int(path.stem): path for path in spill.glob(f"*{SPILL_FILE_SUFFIX}") if path.stem.isdigit()}


def _description(spill: Path) -> SpillDescription | None:
    try:
        return SpillDescription.model_validate_json((spill / SPILL_DESCRIPTION).read_text())
    except (OSError, ValueError):
        return None


def finish_spilled(
    ffmpeg_binary: FFmpegBinary, spill: Path, video: Path, recovered: Path | None, frames: int
) -> tuple[Path | None, int, list[str]]:
    """Encode the frames a dead recorder had spilled and join them after the recovered video, so the
    episode is one video again. Frames lost with the recorder (the ones it still held in memory,
    or an encoder's unfinished fragment) are held: the frame before them repeated (the first
    spilled frame, before the first), so every later frame keeps its time and the cameras of an
    episode stay aligned; the result says which. Returns the video, its frames and notes."""
    spilled = _spilled_frames(spill)
    description = _description(spill)
    # A frame the encoder took just before the recorder died is still on disk: it is in the video already.
    numbers = sorted(n for n in spilled if recovered is None or n >= frames)
    if not numbers:
        return recovered, frames, []
    if description is None:
        return recovered, frames, [f"{len(numbers)} spilled frame(s) were never encoded (no {SPILL_DESCRIPTION})"]
    start = frames if recovered is not None else 0
    sequence, held, previous = [], [], spilled[numbers[0]]
    for number in range(start, numbers[-1] + 1):
        if number in spilled:
            previous = spilled[number]
        else:
            held.append(number)
        sequence.append(previous)
    part = temp_paths(video)[0].with_suffix(".spilled" + video.suffix)
    try:
        _encode_spilled(ffmpeg_binary, description, sequence, part)
        if recovered is not None:
            _join_after(ffmpeg_binary, recovered, part, description.fps)
        else:
            recovered = _free_name(video)
            commit_file(part, recovered, replace=False)
    finally:
        part.unlink(missing_ok=True)
    notes = [f"{len(numbers)} spilled frame(s) encoded and joined after it"]
    if held:
        notes.append(f"frame(s) {_ranges(held)} were lost with the recorder and are held (a neighbour repeated)")
    return recovered, start + len(sequence), notes


def _ranges(numbers: list[int]) -> str:
    """[3, 4, 5, 9] -> "3-5, 9"."""
    parts = []
    for run in (list(run) for run in _runs(numbers)):
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ", ".join(parts)


def _runs(numbers: list[int]) -> Iterator[Iterator[int]]:
    """[3, 4, 5, 9, 10] -> (3, 4, 5), (9, 10)."""
    for _, group in itertools.groupby(enumerate(numbers), key=lambda pair: pair[1] - pair[0]):
        yield (number for _, number in group)


def _encode_spilled(
    ffmpeg_binary: FFmpegBinary, description: SpillDescription, frames: list[Path], target: Path
) -> None:
    """The spilled frames, in order, through the encoder the stream used, into a verified MP4 at `target`."""
    matroska = description.settings.container == "matroska"
    fragmented = target.with_suffix(MATROSKA_STREAM_SUFFIX if matroska else STREAM_SUFFIX)
    argv = build_stream_command(
        ffmpeg_binary, description.settings, description.width, description.height, description.fps, fragmented,
        images=description.images, raw_format=description.raw_format,
    )  # fmt: skip
    log = target.with_suffix(".log")
    try:
        with log.open("w+b") as errors:
            process = start_child(argv, stdin="pipe", stderr=errors)
            assert process.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                for frame in frames:
                    process.stdin.write(frame.read_bytes())
                process.stdin.close()
            returncode = process.wait()
            errors.seek(0)
            lines = errors.read().decode(errors="replace").splitlines()
        if returncode != 0:
            raise EncodeError(encoder_failure(description.settings.encoder, returncode, lines))

        def complete(info: VideoInfo) -> None:
            if info.frames != len(frames) or not info.timestamps_exact:
                raise EncodeError(f"{info.frames} of {len(frames)} spilled frames came out of the encoder")

        remux_verified(ffmpeg_binary, fragmented, target, complete, replace=True, fps=description.fps)
    finally:
        fragmented.unlink(missing_ok=True)
        log.unlink(missing_ok=True)


def _join_after(ffmpeg_binary: FFmpegBinary, video: Path, part: Path, fps: Fraction) -> None:
    """`video` then `part` by stream copy, verified (every frame, exactly timed), in place of `video`."""
    matroska = video.suffix.lower() == DEPTH_SUFFIX
    first, second = read_frame_times(ffmpeg_binary, video, fps=fps), read_frame_times(ffmpeg_binary, part, fps=fps)
    if first.extradata != second.extradata:
        raise EncodeError(f"{part.name} was encoded with another codec configuration than {video.name}")
    joined = temp_paths(video)[0]
    listing = joined.with_suffix(".ffconcat")
    parts = [(video, first.seconds(first.end)), (part, second.seconds(second.end))]
    listing.write_bytes(concat_list(parts).encode(errors="surrogateescape"))
    try:
        timescale = first.time_base[1] // first.time_base[0]
        completed = capture(build_join_command(ffmpeg_binary, listing, joined, timescale, matroska=matroska))
        if completed.returncode != 0:
            raise EncodeError(f"cannot join {part.name}: {meaningful_error(completed.stderr.splitlines())}")
        info = read_video(ffmpeg_binary, joined, fps=fps)
        if info.frames != first.video.frames + second.video.frames or info.fps != fps or not info.timestamps_exact:
            raise EncodeError(f"joining the spilled frames after {video.name} did not give evenly timed frames")
        commit_file(joined, video, replace=True)
    finally:
        joined.unlink(missing_ok=True)
        listing.unlink(missing_ok=True)


def _remove_with_spill(fragmented: Path) -> int:
    """Remove a stream file and its spill folder; return how many spilled (never encoded) frames went with it."""
    fragmented.unlink(missing_ok=True)
    spill = _spill_of(fragmented)
    lost = len(_spilled_frames(spill))
    shutil.rmtree(spill, ignore_errors=True)
    return lost


def discard_abandoned_streams(output: Path) -> list[Path]:
    """Remove the stream files of `output` that no encoder holds (watch --stream: its frames are on disk)."""
    removed = []
    for fragmented in (path for path in hidden_files(output) if path.name.endswith(STREAM_SUFFIXES)):
        with unless_in_use(fragmented) as free:
            if free:
                _remove_with_spill(fragmented)
                removed.append(fragmented)
    return removed
