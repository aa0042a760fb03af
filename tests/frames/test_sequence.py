"""encodectl.frames.sequence: which files are an episode's frames, and every reason to refuse them.

The frames are real images made by ffmpeg once per module (64x48 and 32x48 PNGs, a 16-bit gray PNG, a
JPEG), copied under the names each case needs; each refusal is checked word for word, since the message is
what the user acts on.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from encodectl.errors import InputError
from encodectl.frames import sequence as seq
from encodectl.frames.synthetic import write_frames
from encodectl.models import FFmpegBinary, FileIdentity
from tests.conftest import BEFORE_FFMPEG

pytestmark = BEFORE_FFMPEG


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory, ffmpeg_binary: FFmpegBinary) -> dict[str, bytes]:
    """The bytes of one frame of each kind, by name: rgb (64x48), small (32x48), depth (gray16), jpeg."""
    folder = tmp_path_factory.mktemp("images")
    kinds = {
        "rgb": ((64, 48), ".png", None, 0),
        "rgb2": ((64, 48), ".png", None, 1),  # the same size and kind, other pixels
        "small": ((32, 48), ".png", None, 0),
        "depth": ((64, 48), ".png", "gray16be", 0),
        "jpeg": ((64, 48), ".jpg", None, 0),
    }
    return {
        kind: write_frames(ffmpeg_binary, folder / kind, 1, size, extension=ext, pix_fmt=fmt, seed=seed)[0].read_bytes()
        for kind, (size, ext, fmt, seed) in kinds.items()
    }


Put = Callable[..., Path]


@pytest.fixture
def put(tmp_path: Path, images: dict[str, bytes]) -> Put:
    """put("frame_1.png", "frame_2.png", kind="rgb"): frames of one kind in tmp_path/ep."""
    folder = tmp_path / "ep"
    folder.mkdir(exist_ok=True)

    def write(*names: str, kind: str = "rgb") -> Path:
        for name in names:
            (folder / name).write_bytes(images[kind])
        return folder

    return write


def refusal(directory: Path) -> str:
    with pytest.raises(InputError) as caught:
        seq.scan_frames(directory)
    return str(caught.value)


def test_a_valid_folder_is_described_exactly(put: Put, images: dict[str, bytes]) -> None:
    folder = put("frame_0001.png", "frame_0002.png", "frame_0005.png", "frame_0006.png", "frame_0010.png")
    (folder / "notes.txt").write_text("not an image: ignored")
    (folder / ".frame_0003.png").write_bytes(images["rgb"])  # hidden: not a frame
    found = seq.scan_frames(folder)
    assert (found.prefix, found.extension, found.padding) == ("frame_", ".png", 4)
    assert found.numbers == [1, 2, 5, 6, 10]
    assert found.gaps == [(3, 4), (7, 9)]
    assert found.missing_count == 5
    assert (found.width, found.height, found.source_format, found.depth) == (64, 48, "png rgb 8-bit", False)
    assert found.identities == {n: FileIdentity.of_path(folder / f"frame_{n:04d}.png") for n in found.numbers}


def test_unpadded_numbers_and_depth_frames(put: Put) -> None:
    folder = put("d0.png", "d1.png", "d3.png", "d10.png", "d11.png", kind="depth")
    found = seq.scan_frames(folder)
    # "0" alone is no padding; a gap of one frame is a gap.
    assert (found.prefix, found.padding, found.numbers, found.gaps) == ("d", 0, [0, 1, 3, 10, 11], [(2, 2), (4, 9)])
    assert (found.source_format, found.depth) == ("png gray 16-bit", True)


def test_a_link_to_a_frame_is_a_frame(put: Put, images: dict[str, bytes]) -> None:
    folder = put("frame_1.png")
    (folder.parent / "elsewhere.png").write_bytes(images["rgb"])
    (folder / "frame_2.png").symlink_to(folder.parent / "elsewhere.png")
    assert seq.scan_frames(folder).numbers == [1, 2]


def test_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert refusal(tmp_path / "file") == f"{tmp_path / 'file'} is not a folder"
    assert refusal(tmp_path / "absent") == f"{tmp_path / 'absent'} is not a folder"


def test_no_frames(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x")
    assert refusal(tmp_path) == f"no frames in {tmp_path} (expected .png, .jpg, .jpeg or .tiff files)"


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (lambda p: p.mkdir(), "a folder"),
        (lambda p: os.mkfifo(p), "a FIFO"),
        (lambda p: p.symlink_to("/dev/null"), "a device"),
        (lambda p: p.symlink_to(p.parent / "gone.png"), "a broken link (to {parent}/gone.png)"),
    ],
)
def test_something_else_where_a_frame_should_be(put: Put, make: Callable[[Path], object], what: str) -> None:
    folder = put("frame_1.png", "frame_3.png")
    make(folder / "frame_2.png")
    expected = what.format(parent=folder)
    assert refusal(folder) == f"{folder / 'frame_2.png'} is {expected}, not a frame file"


def test_a_link_that_loops_where_a_frame_should_be(put: Put) -> None:
    folder = put("frame_1.png")
    (folder / "frame_2.png").symlink_to(folder / "frame_2.png")
    # Named, as a broken link is, not the folder's listing said to fail.
    assert refusal(folder) == f"{folder / 'frame_2.png'} is a symbolic link that loops, not a frame file"


def test_a_socket_where_a_frame_should_be(put: Put) -> None:
    folder = put("frame_1.png")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(folder / "frame_2.png"))
        assert refusal(folder) == f"{folder / 'frame_2.png'} is a socket, not a frame file"


OWN = "give each its own folder"
MIXED = "(mixed zero-padding)"
LARGE = "are too large"


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["frame_1.png", "cover.png"], "{d}/cover.png has no frame number in its name"),
        (["a_1.png", "b_1.png", "b_2.png"], "{d} mixes several frame sequences (a_*.png, b_*.png); " + OWN),
        (["frame_1.png", "frame_1.jpg"], "{d} mixes several frame sequences (frame_*.jpg, frame_*.png); " + OWN),
        (["frame_01.png", "frame_1.png"], "frame number 1 appears twice in {d}: frame_01.png, frame_1.png"),
        (["frame_01.png", "frame_002.png"], "{d} mixes zero-paddings of [2, 3] digits"),
        (["frame_005.png", "frame_5.png"], "frame number 5 appears twice in {d}: frame_005.png, frame_5.png"),
        (["frame_010.png", "frame_7.png"], "{d}/frame_7.png is numbered differently from the other frames " + MIXED),
        (["f_2147483647.png"], None),  # the largest number ffmpeg's image2 reader counts to
        (["f_1.png", "f_2.png", "f_2147483648.png"], "{d}/f_2147483648.png: frame numbers above 2147483647 " + LARGE),
    ],
)  # fmt: skip
def test_names_ffmpeg_would_read_wrongly(put: Put, names: list[str], message: str | None) -> None:
    folder = put(*names)
    if message is None:
        assert seq.scan_frames(folder).numbers == [2147483647]
    else:
        assert refusal(folder) == message.format(d=folder)


def test_a_frame_of_another_size(put: Put) -> None:
    folder = put("frame_1.png", "frame_3.png")
    put("frame_2.png", kind="small")
    assert refusal(folder) == (
        f"{folder / 'frame_2.png'} is 32x48 but the first frame is 64x48 (ffmpeg would silently rescale it)"
    )


def test_a_frame_of_another_height(put: Put, images: dict[str, bytes], ffmpeg_binary: FFmpegBinary) -> None:
    folder = put("frame_1.png")
    tall = write_frames(ffmpeg_binary, folder.parent / "tall", 1, (64, 64))[0]
    (folder / "frame_2.png").write_bytes(tall.read_bytes())
    assert refusal(folder) == (
        f"{folder / 'frame_2.png'} is 64x64 but the first frame is 64x48 (ffmpeg would silently rescale it)"
    )


def test_a_frame_of_another_format(put: Put) -> None:
    folder = put("frame_1.png", "frame_3.png")
    put("frame_2.png", kind="jpeg")  # a JPEG under a .png name
    assert refusal(folder) == f"{folder / 'frame_2.png'} is a jpeg but the first frame is a png"


@pytest.mark.parametrize(
    ("first", "other", "message"),
    [
        ("depth", "rgb", "is an image (png rgb 8-bit) but the first frame is a 16-bit single-channel (depth) frame "
         "(png gray 16-bit); not encoded"),
        ("rgb", "depth", "is a 16-bit single-channel (depth) frame (png gray 16-bit) but the first frame is an image "
         "(png rgb 8-bit); not encoded"),
    ],
)  # fmt: skip
def test_depth_and_pictures_are_never_mixed(put: Put, first: str, other: str, message: str) -> None:
    folder = put("frame_1.png", kind=first)
    put("frame_2.png", kind=other)
    assert refusal(folder) == f"{folder / 'frame_2.png'} {message}"


def test_frame_names_and_listing(put: Put, tmp_path: Path) -> None:
    folder = put("frame_1.png", "frame_02.PNG", "x7.jpeg", "cover.png", ".frame_3.png")
    (folder / "frame_4.png.part").write_text("being written")
    (folder / "frame_5.png").mkdir()
    frames = {folder / "frame_1.png", folder / "frame_02.PNG", folder / "x7.jpeg"}
    assert set(seq.frame_files(folder)) == frames
    by_number = {1: folder / "frame_1.png", 2: folder / "frame_02.PNG", 7: folder / "x7.jpeg"}
    assert seq.frames_by_number(folder) == by_number
    assert seq.has_frames(folder)
    assert seq.frame_files(tmp_path / "gone") == []
    assert not seq.has_frames(tmp_path / "gone")
    only_others = tmp_path / "others"
    only_others.mkdir()
    (only_others / "cover.png").write_text("x")
    (only_others / ".frame_1.png").write_text("x")
    (only_others / "frame_2.png").mkdir()
    assert not seq.has_frames(only_others)
    assert seq.frame_files(only_others) == []


def test_is_frame_name() -> None:
    assert seq.is_frame_name("frame_000001.png")
    assert seq.is_frame_name("1.TIFF")
    assert not seq.is_frame_name(".frame_1.png")
    assert not seq.is_frame_name("preview.png")
    assert not seq.is_frame_name("frame_1.png.tmp")


@pytest.mark.parametrize(
    ("lowest", "higher", "expected"),
    [("depth", "rgb", True), ("rgb", "depth", False), ("jpeg", "depth", False)],
)
def test_first_frame_is_depth(put: Put, lowest: str, higher: str, expected: bool) -> None:
    folder = put("f_10.png", kind=higher)
    put("f_9.png", kind=lowest)
    assert seq.first_frame_is_depth(folder) is expected


def test_first_frame_is_depth_without_a_readable_frame(tmp_path: Path) -> None:
    assert seq.first_frame_is_depth(tmp_path) is False  # no frame yet
    (tmp_path / "f_1.png").write_bytes(b"not a png")
    assert seq.first_frame_is_depth(tmp_path) is False
    assert seq.first_frame_is_depth(tmp_path / "gone") is False


def test_frames_unchanged_after_the_encode(put: Put) -> None:
    folder = put("frame_1.png", "frame_2.png", "frame_3.png")
    seq.check_frames_unchanged(seq.scan_frames(folder))  # nothing changed: no error


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ("small", ": it is now 32x48, the other frames 64x48 (ffmpeg would silently rescale it)"),
        ("rgb2", " (rewritten after encodectl checked it; the video may hold either picture)"),
        ("garbage", " (rewritten after encodectl checked it; the video may hold either picture)"),
        ("removed", ": it was removed"),
    ],
)
def test_a_frame_changed_while_it_was_encoded(put: Put, images: dict[str, bytes], change: str, what: str) -> None:
    folder = put("frame_1.png", "frame_2.png", "frame_3.png")
    checked = seq.scan_frames(folder)
    frame = folder / "frame_2.png"
    if change == "removed":
        frame.unlink()
    else:
        replacement = folder.parent / "replacement"
        replacement.write_bytes(images.get(change, b"garbage"))
        replacement.replace(frame)  # another file under the name, as a recorder rewriting a frame does
    with pytest.raises(InputError) as caught:
        seq.check_frames_unchanged(checked)
    assert str(caught.value) == f"{frame} changed while it was encoded{what}; no video kept"


def test_identity_digest() -> None:
    one = FileIdentity(1, 2, 3, 4, 5)
    other = FileIdentity(1, 2, 3, 4, 6)  # only the change time differs
    digest = seq.identity_digest([("a.png", one), ("b.png", other)])
    assert len(digest) == 16
    assert digest == seq.identity_digest([("b.png", other), ("a.png", one)])  # order does not matter
    assert digest != seq.identity_digest([("a.png", one), ("b.png", one)])
    assert digest != seq.identity_digest([("a.png", one)])
    assert digest != seq.identity_digest([("a.png", other), ("b.png", one)])  # which file is which matters
    assert seq.identity_digest([("ab", one)]) != seq.identity_digest([("a", one)])
    # A name that is not UTF-8 on disk (os.fsdecode's surrogates) is hashed as its bytes.
    assert seq.identity_digest([("frame_\udcff.png", one)]) != seq.identity_digest([("frame_\udcfe.png", one)])


def test_sequence_digest_follows_the_files(put: Put, images: dict[str, bytes]) -> None:
    folder = put("frame_1.png", "frame_2.png")
    scanned = seq.scan_frames(folder)
    files = [(name, FileIdentity.of_path(folder / name)) for name in ("frame_1.png", "frame_2.png")]
    assert seq.sequence_digest(scanned) == seq.identity_digest(files)  # type: ignore[arg-type]
    before = seq.sequence_digest(scanned)
    assert before == seq.sequence_digest(seq.scan_frames(folder))
    (folder / "frame_2.png").write_bytes(images["rgb2"])
    assert seq.sequence_digest(seq.scan_frames(folder)) != before


@pytest.mark.parametrize(
    ("ranges", "limit", "shown"),
    [
        ([(5, 9), (14, 14)], 8, "5-9, 14"),
        ([(n, n) for n in range(8)], 8, "0, 1, 2, 3, 4, 5, 6, 7"),
        ([(n, n + 1) for n in range(0, 30, 3)], 8,
         "0-1, 3-4, 6-7, 9-10, 12-13, 15-16, 18-19, 21-22, … (2 more ranges)"),
        ([(1, 1), (3, 4), (6, 6)], 2, "1, 3-4, … (1 more ranges)"),
    ],
)  # fmt: skip
def test_describe_ranges(ranges: list[tuple[int, int]], limit: int, shown: str) -> None:
    assert seq.describe_ranges(ranges, limit) == shown
    if limit == 8:
        assert seq.describe_ranges(ranges) == shown


def numbered(tmp_path: Path, numbers: list[int], gaps: list[tuple[int, int]]) -> seq.FrameSequence:
    return seq.FrameSequence(
        directory=tmp_path, prefix="f_", extension=".png", padding=0, numbers=numbers, gaps=gaps,
        width=64, height=48, source_format="png rgb 8-bit",
    )  # fmt: skip


def test_check_gaps(tmp_path: Path) -> None:
    seq.check_gaps(numbered(tmp_path, [1, 2, 3], []), hold=False)  # no gap: nothing to say
    gapped = numbered(tmp_path, [1, 4, 5, 9], [(2, 3), (6, 8)])
    with pytest.raises(InputError) as caught:
        seq.check_gaps(gapped, hold=False)
    assert str(caught.value) == (
        f"{tmp_path}: 5 frame(s) missing from the numbering (2-3, 6-8); use --on-gap hold to repeat the previous frame"
    )
    seq.check_gaps(gapped, hold=True)  # held: no error


def test_holding_has_a_limit(tmp_path: Path) -> None:
    seq.check_gaps(numbered(tmp_path, [0, 10_001], [(1, 10_000)]), hold=True)  # exactly the limit: held
    with pytest.raises(InputError) as caught:
        seq.check_gaps(numbered(tmp_path, [0, 10_002], [(1, 10_001)]), hold=True)
    assert str(caught.value) == (
        f"{tmp_path}: 10001 frame(s) missing (1-10001) is too many to hold (limit 10000); "
        "are these frames numbered by timestamp?"
    )
    # With many frames the limit is ten missing per frame present.
    many = list(range(1999))  # and one more after the gap: 2000 frames
    seq.check_gaps(numbered(tmp_path, [*many, 21_999], [(1999, 21_998)]), hold=True)
    with pytest.raises(InputError, match=r"^.*: 20001 frame\(s\) missing \(1999-21999\) .* \(limit 20000\);"):
        seq.check_gaps(numbered(tmp_path, [*many, 22_000], [(1999, 21_999)]), hold=True)
