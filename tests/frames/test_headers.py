"""encodectl.frames.headers: what a frame is, read from its first and last bytes, and every way it is not one.

Complete frames are made by ffmpeg (64x48); broken ones are those frames cut or patched, or headers built
byte by byte where ffmpeg cannot be asked for the defect (a TIFF tag out of range, a JPEG padded after its
end). Each refusal is checked word for word.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from encodectl.errors import InputError
from encodectl.frames import headers
from encodectl.frames.headers import ImageHeader, image_header_of_bytes, read_image_header
from encodectl.frames.synthetic import write_frames
from encodectl.models import FFmpegBinary
from tests.conftest import BEFORE_FFMPEG

pytestmark = BEFORE_FFMPEG

MEMORY = "<frame in memory>"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, ffmpeg_binary: FFmpegBinary) -> dict[str, bytes]:
    """One 64x48 frame of each kind ffmpeg writes, by name."""
    folder = tmp_path_factory.mktemp("made")
    kinds = {
        "png": (".png", None),
        "png_gray16": (".png", "gray16be"),
        "png_rgba": (".png", "rgba"),
        "png_ya8": (".png", "ya8"),
        "png_pal8": (".png", "pal8"),
        "jpeg": (".jpg", None),
        "tiff": (".tiff", "rgb24"),
        "tiff_gray16": (".tiff", "gray16le"),
    }
    return {
        kind: write_frames(ffmpeg_binary, folder / kind, 1, extension=ext, pix_fmt=fmt)[0].read_bytes()
        for kind, (ext, fmt) in kinds.items()
    }


def made_header(format: str, bits: int, colour: str) -> ImageHeader:
    return ImageHeader(format=format, width=64, height=48, bit_depth=bits, colour=colour)


CUT = "is truncated or still being written"
DIRECTORY_PAST_END = f"{CUT} (its TIFF directory lies past the end)"
DATA_PAST_END = f"{CUT} (its TIFF image data runs past the end)"
NO_DATA_LIST = "is a corrupt TIFF (no complete list of where its image data lies)"


def refusal(data: bytes) -> str:
    with pytest.raises(InputError) as caught:
        image_header_of_bytes(data)
    message = str(caught.value)
    assert message.startswith(f"{MEMORY} ")
    return message.removeprefix(f"{MEMORY} ")


@pytest.mark.parametrize(
    ("kind", "expected", "described", "depth"),
    [
        ("png", made_header("png", 8, "rgb"), "png rgb 8-bit", False),
        ("png_gray16", made_header("png", 16, "gray"), "png gray 16-bit", True),
        ("png_rgba", made_header("png", 8, "rgba"), "png rgba 8-bit", False),
        ("png_ya8", made_header("png", 8, "gray+alpha"), "png gray+alpha 8-bit", False),
        ("png_pal8", made_header("png", 8, "palette"), "png palette 8-bit", False),
        ("jpeg", made_header("jpeg", 8, "ycbcr"), "jpeg ycbcr 8-bit", False),
        ("tiff", made_header("tiff", 8, "rgb"), "tiff rgb 8-bit", False),
        ("tiff_gray16", made_header("tiff", 16, "gray"), "tiff gray 16-bit", True),
    ],
)  # fmt: skip
def test_frames_ffmpeg_writes(
    made: dict[str, bytes], tmp_path: Path, kind: str, expected: ImageHeader, described: str, depth: bool
) -> None:
    path = tmp_path / "frame"
    path.write_bytes(made[kind])
    header = read_image_header(path)
    assert header == expected
    assert header.describe() == described
    assert header.is_depth is depth
    assert image_header_of_bytes(made[kind]) == expected


def test_depth_is_16_bit_gray_png_or_tiff_only() -> None:
    def depth(format: str, colour: str, bits: int) -> bool:
        return ImageHeader(format=format, width=1, height=1, bit_depth=bits, colour=colour).is_depth

    assert depth("png", "gray", 16) and depth("tiff", "gray", 16)
    assert not depth("jpeg", "gray", 16)  # a 16-bit JPEG is not a depth camera's frame
    assert not depth("png", "gray", 8) and not depth("png", "rgb", 16) and not depth("tiff", "gray+alpha", 16)


def test_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read_image_header(tmp_path)
    assert str(caught.value) == f"cannot read frame {tmp_path}: Is a directory"
    with pytest.raises(InputError) as caught:
        read_image_header(tmp_path / "gone.png")
    assert str(caught.value) == f"cannot read frame {tmp_path / 'gone.png'}: No such file or directory"


def test_not_an_image() -> None:
    message = "is not a PNG, JPEG or TIFF image (its first bytes say otherwise)"
    assert refusal(b"GIF89a..........") == message
    assert refusal(b"") == message
    assert refusal(b"\x89PNG\r\n\x1a") == message  # seven bytes of the eight of PNG's signature
    for bigtiff in (b"II+\x00", b"MM\x00+"):
        assert refusal(bigtiff + b"\x00" * 12) == (
            "is a BigTIFF, which encodectl does not read; save frames as plain TIFF or PNG"
        )


# PNG


def patched(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


def test_png_defects(made: dict[str, bytes]) -> None:
    png = made["png"]
    assert refusal(png[:32]) == "is a truncated or corrupt PNG (no IHDR header)"  # 8 + 24: one byte short
    assert refusal(patched(png, 12, b"IHDX")) == "is a truncated or corrupt PNG (no IHDR header)"
    assert refusal(patched(png, 16, struct.pack(">I", 0))) == "is a corrupt PNG (size 0x48)"
    assert refusal(patched(png, 20, struct.pack(">I", 0))) == "is a corrupt PNG (size 64x0)"
    assert refusal(patched(png, 25, b"\x05")) == "is a corrupt PNG (unknown colour type 5)"
    assert refusal(png[:-1]) == "is truncated or still being written (no PNG end chunk)"
    assert refusal(png[:-12]) == "is truncated or still being written (no PNG end chunk)"
    assert image_header_of_bytes(png[:33] + headers.PNG_IEND).width == 64  # the tail is all that is checked


# JPEG, built segment by segment


def segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def sof(marker: int = 0xC0, *, precision: int = 8, height: int = 48, width: int = 64, components: int = 3) -> bytes:
    return segment(marker, struct.pack(">BHHB", precision, height, width, components) + b"\x01\x11\x00" * components)


def jpeg(*parts: bytes) -> bytes:
    return headers.JPEG_SOI + b"".join(parts) + headers.JPEG_EOI


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (jpeg(sof()), (64, 48, 8, "ycbcr")),
        (jpeg(sof(components=1)), (64, 48, 8, "gray")),
        (jpeg(sof(components=4)), (64, 48, 8, "cmyk")),
        (jpeg(sof(components=2)), (64, 48, 8, "2-component")),
        (jpeg(sof(0xC2, precision=12, height=7, width=9)), (9, 7, 12, "ycbcr")),  # progressive, 12-bit
        (jpeg(sof(0xCF, height=3, width=5)), (5, 3, 8, "ycbcr")),
        # Segments before the frame header are skipped by their length, whatever they hold.
        (jpeg(segment(0xE0, b"JFIF\x00" + b"\xff\xc0" * 4), sof()), (64, 48, 8, "ycbcr")),
        (jpeg(segment(0xC4, b"\x00" * 20), sof(width=1)), (1, 48, 8, "ycbcr")),  # DHT has no size
        (jpeg(segment(0xC8, b"\x00" * 9), sof(width=2)), (2, 48, 8, "ycbcr")),  # nor JPG
        (jpeg(segment(0xCC, b"\x00" * 9), sof(width=3)), (3, 48, 8, "ycbcr")),  # nor DAC
        # Markers without a length, fill bytes, and stray bytes between segments.
        (jpeg(b"\xff\x01\xff\xd0\xff\xd7\xff\xd8", sof()), (64, 48, 8, "ycbcr")),
        (jpeg(b"\xff\xff\xff", sof()[1:]), (64, 48, 8, "ycbcr")),
        (jpeg(b"\x00\x12", sof()), (64, 48, 8, "ycbcr")),
    ],
)
def test_jpeg_frame_header(data: bytes, expected: tuple[int, int, int, str]) -> None:
    header = image_header_of_bytes(data)
    assert (header.format, header.width, header.height, header.bit_depth, header.colour) == ("jpeg", *expected)


def test_jpeg_padded_after_its_end_marker() -> None:
    for padding in (b"\x00" * 40, b"\r\n", b"  \n\x00"):
        assert image_header_of_bytes(jpeg(sof()) + padding).width == 64
    assert refusal(jpeg(sof()) + b"\x00" * 62 + b"x") == "is truncated or still being written (no JPEG end marker)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (jpeg(sof(width=0)), "is a corrupt JPEG (size 0x48)"),
        (jpeg(sof(height=0)), "is a corrupt JPEG (size 64x0)"),
        (jpeg(), "is a truncated or corrupt JPEG (no frame header found)"),
        (jpeg(segment(0xE0, b"x" * 10)), "is a truncated or corrupt JPEG (no frame header found)"),
        (headers.JPEG_SOI + b"\xff\xe0\x00", "is a truncated or corrupt JPEG (no frame header found)"),  # length cut
        (headers.JPEG_SOI + b"\xff\xff", "is a truncated or corrupt JPEG (no frame header found)"),  # marker cut
        (headers.JPEG_SOI + sof()[:8], "is a truncated or corrupt JPEG (no frame header found)"),  # header cut
        (jpeg(sof())[:-1], "is truncated or still being written (no JPEG end marker)"),
    ],
)
def test_jpeg_defects(data: bytes, message: str) -> None:
    assert refusal(data) == message


def test_jpeg_frame_header_must_come_within_the_first_mebibyte() -> None:
    filler = segment(0xE1, b"\x00" * 65_000)
    near = (headers._JPEG_HEADER_LIMIT - 2 - 100) // len(filler)
    assert image_header_of_bytes(jpeg(*[filler] * near, sof())).width == 64
    assert refusal(jpeg(*[filler] * (near + 1), sof())) == "is a truncated or corrupt JPEG (no frame header found)"


def test_real_jpeg_defects(made: dict[str, bytes]) -> None:
    data = made["jpeg"]
    at = data.index(b"\xff\xc0")
    assert refusal(patched(data, at + 5, b"\x00\x00")) == "is a corrupt JPEG (size 64x0)"
    assert refusal(data[: len(data) // 2]) == "is truncated or still being written (no JPEG end marker)"


# TIFF, built entry by entry: ((tag, type, values), ...), its image data after the directory.

BYTE, SHORT, LONG, RATIONAL = 1, 3, 4, 5
SIZES = {BYTE: 1, SHORT: 2, LONG: 4, RATIONAL: 4}


def tiff(
    entries: list[tuple[int, int, list[int]]],
    data: bytes = b"",
    *,
    order: str = "<",
    directory_at: int | None = None,
    cut: int = 0,
) -> bytes:
    """A one-directory TIFF; offsets of strips are those given, relative to the start of `data` when negative."""
    start = 8
    table_size = 2 + 12 * len(entries) + 4
    extra_at = start + table_size
    extra = b""
    fields = []
    sizes = [len(values) * SIZES[kind] for _, kind, values in entries]
    data_at = extra_at + sum(size for size in sizes if size > 4)
    for tag, kind, values in entries:
        code = {BYTE: "B", SHORT: "H", LONG: "I", RATIONAL: "I"}[
            kind
        ]  # a RATIONAL's values: numerator, denominator, ...
        count = len(values) // 2 if kind == RATIONAL else len(values)
        resolved = [data_at + ~v if v < 0 and tag in (273, 324) else v for v in values]
        packed = struct.pack(order + code * len(resolved), *resolved)
        if len(packed) <= 4:
            fields.append(struct.pack(order + "HHI", tag, kind, count) + packed.ljust(4, b"\x00"))
        else:
            offset = struct.pack(order + "I", extra_at + len(extra))
            fields.append(struct.pack(order + "HHI", tag, kind, count) + offset)
            extra += packed
    mark = b"II*\x00" if order == "<" else b"MM\x00*"
    body = (
        mark
        + struct.pack(order + "I", start if directory_at is None else directory_at)
        + struct.pack(order + "H", len(entries))
        + b"".join(fields)
        + b"\x00\x00\x00\x00"
        + extra
        + data
    )
    return body[: len(body) - cut]


Entries = list[tuple[int, int, list[int]]]


def strips(width: int = 4, height: int = 2, samples: int = 3, bits: int = 8, **tags: int) -> Entries:
    """The entries of an uncompressed, chunky RGB (by default) image in one strip at the start of the data."""
    size = (width * samples * bits + 7) // 8 * height
    entries = {
        256: (SHORT, [width]), 257: (SHORT, [height]), 258: (SHORT, [bits] * samples), 259: (SHORT, [1]),
        262: (SHORT, [2 if samples >= 3 else 1]), 273: (LONG, [-1]), 277: (SHORT, [samples]), 279: (LONG, [size]),
    }  # fmt: skip
    for name, value in tags.items():
        tag = {"compression": 259, "photometric": 262, "sample_format": 339}[name]
        entries[tag] = (SHORT, [value])
    return [(tag, kind, values) for tag, (kind, values) in sorted(entries.items())]


def without(entries: list[tuple[int, int, list[int]]], *tags: int) -> list[tuple[int, int, list[int]]]:
    return [entry for entry in entries if entry[0] not in tags]


def test_tiff_built_here_is_read() -> None:
    for order in ("<", ">"):
        header = image_header_of_bytes(tiff(strips(), b"\x00" * 24, order=order))
        assert header == ImageHeader(format="tiff", width=4, height=2, bit_depth=8, colour="rgb")
    gray16 = image_header_of_bytes(tiff(strips(samples=1, bits=16), b"\x00" * 16))
    assert (gray16.colour, gray16.bit_depth, gray16.is_depth) == ("gray", 16, True)
    # An entry of a type not read (RATIONAL: the resolution) is passed over.
    resolution = [*strips(), (282, RATIONAL, [72, 1])]
    assert image_header_of_bytes(tiff(sorted(resolution), b"\x00" * 24)).width == 4


@pytest.mark.parametrize(
    ("photometric", "samples", "colour"),
    [
        (1, 1, "gray"),
        (2, 3, "rgb"),
        (2, 4, "rgba"),
        (3, 1, "palette"),
        (6, 3, "ycbcr"),
        (5, 4, "photometric 5, 4 samples"),
    ],
)
def test_tiff_colours(photometric: int, samples: int, colour: str) -> None:
    data = tiff(strips(samples=samples, photometric=photometric), b"\x00" * 4 * samples * 2)
    assert image_header_of_bytes(data).colour == colour


@pytest.mark.parametrize(("compression", "data_size"), [(5, 3), (8, 3), (32946, 3), (32773, 3), (1, 24)])
def test_tiff_compressions_ffmpeg_reads(compression: int, data_size: int) -> None:
    entries = strips(compression=compression)
    entries = [(279, LONG, [data_size]) if tag == 279 else (tag, kind, values) for tag, kind, values in entries]
    assert image_header_of_bytes(tiff(entries, b"\x00" * data_size)).width == 4


def test_tiled_tiff() -> None:
    entries = without(strips(), 273, 279)
    tiled = sorted([*entries, (324, LONG, [-1, -1]), (325, LONG, [10, 14])])
    assert image_header_of_bytes(tiff(tiled, b"\x00" * 14)).width == 4  # tiles are not counted against rows
    assert refusal(tiff(tiled, b"\x00" * 13)) == (DATA_PAST_END)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (tiff(strips(), b"\x00" * 23), DATA_PAST_END),
        (tiff(strips(), b"\x00" * 24, directory_at=4), DIRECTORY_PAST_END),
        (tiff(strips(), b"\x00" * 24, directory_at=7), DIRECTORY_PAST_END),
        (tiff(strips(), b"", directory_at=10_000), DIRECTORY_PAST_END),
        (tiff([])[:9], DIRECTORY_PAST_END),
        (tiff(strips())[:30], "is truncated or still being written (its TIFF directory is cut off)"),
        (b"II*\x00\x08\x00\x00\x00\x01\x10" + bytes(60_000), "is a corrupt TIFF (4097 directory entries)"),
        (tiff(strips(width=0), b"\x00" * 24), "is a corrupt TIFF (size 0x2)"),
        (tiff(strips(height=0), b"\x00" * 24), "is a corrupt TIFF (size 4x0)"),
        (tiff(without(strips(), 256), b"\x00" * 24), "is a corrupt TIFF (size 0x2)"),
        (tiff(without(strips(), 257), b"\x00" * 24), "is a corrupt TIFF (size 4x0)"),
        (tiff(strips(compression=7), b"\x00" * 24),
         "uses TIFF compression 7, which encodectl does not read (use Deflate, LZW, PackBits, uncompressed)"),
        (tiff(strips(sample_format=3), b"\x00" * 24),
         "holds signed or floating-point samples (depth in metres?); encodectl reads unsigned integer frames, such as "
         "16-bit depth in millimetres"),
        (tiff(strips(sample_format=2), b"\x00" * 24),
         "holds signed or floating-point samples (depth in metres?); encodectl reads unsigned integer frames, such as "
         "16-bit depth in millimetres"),
        (tiff(strips(samples=1, photometric=0), b"\x00" * 8),
         "is a white-is-zero TIFF, which encodectl does not read; save black-is-zero"),
        (tiff(without(strips(), 273), b"\x00" * 24), NO_DATA_LIST),
        (tiff(without(strips(), 279), b"\x00" * 24), NO_DATA_LIST),
        (tiff(sorted([*without(strips(), 279), (279, LONG, [12, 12])]), b"\x00" * 24),
         NO_DATA_LIST),
        (tiff([*without(strips(), 279), (279, LONG, [20])], b"\x00" * 24),
         "is a truncated or corrupt TIFF (20 bytes of image data, 24 needed)"),
        (tiff(strips(samples=1, bits=16), b"\x00" * 16, cut=1), DATA_PAST_END),
    ],
)  # fmt: skip
def test_tiff_defects(data: bytes, message: str) -> None:
    assert refusal(data) == message


def test_tiff_values_past_the_end() -> None:
    entries = sorted([*without(strips(), 273, 279), (273, LONG, [-1, -1]), (279, LONG, [12, 12])])
    complete = tiff(entries, b"\x00" * 24)
    assert image_header_of_bytes(complete).width == 4
    # Cut inside the two-value lists (which lie after the directory, not in it).
    assert refusal(complete[: 8 + 2 + 12 * len(entries) + 4 + 10]) == (
        "is truncated or still being written (a TIFF tag's values lie past the end)"
    )


def test_real_tiff_cut_short(made: dict[str, bytes]) -> None:
    data = made["tiff"]
    assert refusal(data[: len(data) // 2]).startswith("is truncated or still being written (")


def test_tiff_tags_left_out_take_their_defaults() -> None:
    """No bits per sample, compression, photometric or samples per pixel: 1-bit, uncompressed, gray, one sample."""
    bare = [(256, SHORT, [4]), (257, SHORT, [2]), (273, LONG, [-1]), (279, LONG, [2])]
    assert image_header_of_bytes(tiff(bare, b"\x00" * 2)) == ImageHeader(
        format="tiff", width=4, height=2, bit_depth=1, colour="gray"
    )
    assert refusal(tiff([*bare[:3], (279, LONG, [1])], b"\x00" * 2)) == (
        "is a truncated or corrupt TIFF (1 bytes of image data, 2 needed)"
    )


def test_tiff_values_that_end_the_file_exactly() -> None:
    entries = strips(compression=5)  # LZW: the strip's size is not checked against the rows
    entries = [(tag, kind, values) if tag != 279 else (279, LONG, [0]) for tag, kind, values in entries]
    assert image_header_of_bytes(tiff(entries)).bit_depth == 8  # the bits per sample are the file's last bytes
    assert refusal(tiff(entries, cut=1)) == f"{CUT} (a TIFF tag's values lie past the end)"


def test_tiff_values_of_five_bytes_lie_at_an_offset() -> None:
    entries = sorted([*strips(), (700, BYTE, [1, 2, 3, 4, 5])])  # XMP, as bytes: not read, but listed
    assert image_header_of_bytes(tiff(entries, b"\x00" * 24)).width == 4


TIFF_AT_8 = b"II*\x00\x08\x00\x00\x00"  # a little-endian TIFF whose directory starts at byte 8


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"II*\x00" + struct.pack("<I", 2**31) + bytes(8), DIRECTORY_PAST_END),  # an offset past 2 GiB
        (TIFF_AT_8 + struct.pack("<H", 40_000) + bytes(100), "is a corrupt TIFF (40000 directory entries)"),
        (TIFF_AT_8 + struct.pack("<H", 4096) + bytes(12 * 4096 + 4), "is a corrupt TIFF (size 0x0)"),  # not too many
    ],
)  # fmt: skip
def test_tiff_directory_sizes(data: bytes, message: str) -> None:
    assert refusal(data) == message


def test_tiff_tag_values_past_2_gib() -> None:
    entries = strips()
    data = bytearray(tiff(entries, b"\x00" * 24))
    # The bits per sample (three SHORTs, six bytes) lie at an offset: point it past 2 GiB.
    at = 8 + 2 + 12 * [tag for tag, _, _ in entries].index(258) + 8
    data[at : at + 4] = struct.pack("<I", 2**31)
    assert refusal(bytes(data)) == f"{CUT} (a TIFF tag's values lie past the end)"


def test_png_colour_type_past_127(made: dict[str, bytes]) -> None:
    assert refusal(patched(made["png"], 25, b"\xc8")) == "is a corrupt PNG (unknown colour type 200)"
    big = patched(made["png"], 16, struct.pack(">I", 2**31 + 1))
    assert image_header_of_bytes(big).width == 2**31 + 1  # sizes are unsigned


def test_jpeg_sizes_past_32767() -> None:
    header = image_header_of_bytes(jpeg(sof(precision=200, height=40_000, width=50_000, components=200)))
    assert (header.width, header.height, header.bit_depth, header.colour) == (50_000, 40_000, 200, "200-component")


def test_jpeg_that_ends_before_any_frame_header() -> None:
    ends = headers.JPEG_SOI + segment(0xE0, b"xx" + headers.JPEG_EOI)  # its last bytes look like an end marker
    assert refusal(ends) == "is a truncated or corrupt JPEG (no frame header found)"


def test_jpeg_tail_strips_only_padding() -> None:
    assert refusal(jpeg(sof()) + b"X") == f"{CUT} (no JPEG end marker)"


def test_jpeg_frame_header_at_exactly_one_mebibyte() -> None:
    fillers = [segment(0xE1, bytes(65_000))] * 16
    rest = headers._JPEG_HEADER_LIMIT - 2 - sum(len(f) for f in fillers)
    at_limit = jpeg(*fillers, segment(0xE1, bytes(rest - 4)), sof())
    assert at_limit.index(sof()) == headers._JPEG_HEADER_LIMIT
    assert refusal(at_limit) == "is a truncated or corrupt JPEG (no frame header found)"
    just_before = jpeg(*fillers, segment(0xE1, bytes(rest - 5)), sof())
    assert image_header_of_bytes(just_before).width == 64


def test_a_file_that_is_not_an_image_is_named(tmp_path: Path) -> None:
    path = tmp_path / "frame_1.png"
    path.write_bytes(b"not an image at all")
    with pytest.raises(InputError) as caught:
        read_image_header(path)
    assert str(caught.value) == f"{path} is not a PNG, JPEG or TIFF image (its first bytes say otherwise)"
