"""Read what a frame file is from its header and tail, without decoding it.

Validation must cost a small fraction of the encode, so each file is opened once
and only its first bytes (size, bit depth, colour type) and last bytes (is the
file complete?) are read. A TIFF has no end marker: it is complete when every
strip (or tile) its directory lists lies inside the file.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel

from ..errors import InputError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
JPEG_SOI = b"\xff\xd8"
JPEG_EOI = b"\xff\xd9"
TIFF_LITTLE, TIFF_BIG = b"II*\x00", b"MM\x00*"
BIGTIFF = (b"II+\x00", b"MM\x00+")

_PNG_COLOUR_TYPES = {0: "gray", 2: "rgb", 3: "palette", 4: "gray+alpha", 6: "rgba"}
# Start-of-frame markers carry the image size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_JPEG_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_HEADER_LIMIT = 1 << 20


class ImageHeader(BaseModel):
    """What one frame's header says about it."""

    format: str  # "png", "jpeg" or "tiff"
    width: int
    height: int
    bit_depth: int  # bits per sample
    colour: str  # e.g. "rgb", "rgba", "gray", "ycbcr"

    def describe(self) -> str:
        return f"{self.format} {self.colour} {self.bit_depth}-bit"

    @property
    def is_depth(self) -> bool:
        """A depth camera's frame: one 16-bit sample per pixel (PNG gray16, or a 16-bit grayscale TIFF)."""
        return self.format in ("png", "tiff") and self.colour == "gray" and self.bit_depth == 16


def read_image_header(path: Path) -> ImageHeader:
    """Return the header of a PNG, JPEG or TIFF frame; raise InputError if it is not a complete one."""
    try:
        with path.open("rb") as handle:
            return _header_of(handle, path)
    except OSError as error:
        raise InputError(f"cannot read frame {path}: {error.strerror or error}") from error


def image_header_of_bytes(data: bytes) -> ImageHeader:
    """The same, for a frame already in memory."""
    return _header_of(io.BytesIO(data), Path("<frame in memory>"))


def _header_of(handle: BinaryIO, path: Path) -> ImageHeader:
    start = handle.read(8)
    if start == PNG_SIGNATURE:
        header = _read_png(handle, path)
        _check_tail(handle, path, PNG_IEND, "PNG end chunk")
        return header
    if start[:2] == JPEG_SOI:
        handle.seek(2)
        header = _read_jpeg(handle, path)
        _check_jpeg_tail(handle, path)
        return header
    if start[:4] in (TIFF_LITTLE, TIFF_BIG):
        return _read_tiff(handle, path, "<" if start[:4] == TIFF_LITTLE else ">")
    if start[:4] in BIGTIFF:
        raise InputError(f"{path} is a BigTIFF, which encodectl does not read; save frames as plain TIFF or PNG")
    raise InputError(f"{path} is not a PNG, JPEG or TIFF image (its first bytes say otherwise)")


def _read_png(handle: BinaryIO, path: Path) -> ImageHeader:
    chunk = handle.read(25)
    if len(chunk) < 25 or chunk[4:8] != b"IHDR":
        raise InputError(f"{path} is a truncated or corrupt PNG (no IHDR header)")
    width, height, bit_depth, colour_type = struct.unpack(">IIBB", chunk[8:18])
    if width == 0 or height == 0:
        raise InputError(f"{path} is a corrupt PNG (size {width}x{height})")
    colour = _PNG_COLOUR_TYPES.get(colour_type)
    if colour is None:
        raise InputError(f"{path} is a corrupt PNG (unknown colour type {colour_type})")
    return ImageHeader(format="png", width=width, height=height, bit_depth=bit_depth, colour=colour)


def _read_jpeg(handle: BinaryIO, path: Path) -> ImageHeader:
    # Walk the marker segments up to the start-of-frame; it sits within the first
    # few KiB unless a huge EXIF thumbnail precedes it.
    while handle.tell() < _JPEG_HEADER_LIMIT:
        byte = handle.read(1)
        if not byte:
            break
        if byte != b"\xff":
            continue
        marker = handle.read(1)
        while marker == b"\xff":  # fill bytes
            marker = handle.read(1)
        if not marker:
            break
        code = marker[0]
        if code in (0x01, 0xD8) or 0xD0 <= code <= 0xD7:
            continue  # markers without a length
        length_bytes = handle.read(2)
        if len(length_bytes) < 2:
            break
        (length,) = struct.unpack(">H", length_bytes)
        if code in _JPEG_SOF_MARKERS:
            segment = handle.read(6)
            if len(segment) < 6:
                break
            precision, height, width, components = struct.unpack(">BHHB", segment)
            if width == 0 or height == 0:
                raise InputError(f"{path} is a corrupt JPEG (size {width}x{height})")
            colour = {1: "gray", 3: "ycbcr", 4: "cmyk"}.get(components, f"{components}-component")
            return ImageHeader(format="jpeg", width=width, height=height, bit_depth=precision, colour=colour)
        handle.seek(length - 2, 1)
    raise InputError(f"{path} is a truncated or corrupt JPEG (no frame header found)")


def _check_tail(handle: BinaryIO, path: Path, expected: bytes, what: str) -> None:
    handle.seek(0, 2)
    size = handle.tell()
    handle.seek(max(0, size - len(expected)))
    if handle.read(len(expected)) != expected:
        raise InputError(f"{path} is truncated or still being written (no {what})")


def _check_jpeg_tail(handle: BinaryIO, path: Path) -> None:
    # Some cameras pad a JPEG after its end marker; look at the last bytes once
    # trailing padding is removed.
    handle.seek(0, 2)
    size = handle.tell()
    handle.seek(max(0, size - 64))
    tail = handle.read(64).rstrip(b"\x00\r\n ")
    if not tail.endswith(JPEG_EOI):
        raise InputError(f"{path} is truncated or still being written (no JPEG end marker)")


# TIFF tags encodectl reads, and the value types whose sizes it knows.
_WIDTH, _HEIGHT, _BITS, _COMPRESSION, _PHOTOMETRIC = 256, 257, 258, 259, 262
_STRIP_OFFSETS, _SAMPLES, _STRIP_COUNTS = 273, 277, 279
_TILE_OFFSETS, _TILE_COUNTS, _SAMPLE_FORMAT = 324, 325, 339
_TIFF_TYPES = {1: "B", 3: "H", 4: "I"}  # BYTE, SHORT, LONG
# Compressions ffmpeg's TIFF decoder reads: none, LZW, Deflate (both codes), PackBits.
_TIFF_COMPRESSIONS = {1: "uncompressed", 5: "LZW", 8: "Deflate", 32946: "Deflate", 32773: "PackBits"}
_TIFF_COLOURS = {(1, 1): "gray", (2, 3): "rgb", (2, 4): "rgba", (3, 1): "palette", (6, 3): "ycbcr"}
_TIFF_MAX_ENTRIES = 4096


def _read_tiff(handle: BinaryIO, path: Path, order: str) -> ImageHeader:
    """A TIFF's first directory: size, samples and bits per pixel, compression, and where its data lies.

    The file is complete when every strip or tile lies inside it (and, uncompressed, holds the bytes
    its rows need): a frame cut off while written ends before its last strip."""
    handle.seek(0, 2)
    size = handle.tell()
    handle.seek(4)
    (directory,) = struct.unpack(order + "I", handle.read(4))
    handle.seek(directory)
    count_bytes = handle.read(2)
    if directory < 8 or len(count_bytes) < 2:
        raise InputError(f"{path} is truncated or still being written (its TIFF directory lies past the end)")
    (entries,) = struct.unpack(order + "H", count_bytes)
    if entries > _TIFF_MAX_ENTRIES:
        raise InputError(f"{path} is a corrupt TIFF ({entries} directory entries)")
    table = handle.read(12 * entries)
    if len(table) < 12 * entries:
        raise InputError(f"{path} is truncated or still being written (its TIFF directory is cut off)")
    tags: dict[int, list[int]] = {}
    for index in range(entries):
        tag, kind, count = struct.unpack(order + "HHI", table[12 * index : 12 * index + 8])
        if kind in _TIFF_TYPES:
            tags[tag] = _tiff_values(handle, path, order, kind, count, table[12 * index + 8 : 12 * index + 12], size)
    return _tiff_header(tags, path, size)


def _tiff_values(handle: BinaryIO, path: Path, order: str, kind: int, count: int, field: bytes, size: int) -> list[int]:
    """The values of one directory entry: in the entry itself when they fit in its 4 bytes, else at an offset."""
    code = _TIFF_TYPES[kind]
    length = struct.calcsize(code) * count
    if length <= 4:
        return list(struct.unpack(order + code * count, field[:length]))
    (offset,) = struct.unpack(order + "I", field)
    if offset + length > size:
        raise InputError(f"{path} is truncated or still being written (a TIFF tag's values lie past the end)")
    handle.seek(offset)
    return list(struct.unpack(f"{order}{count}{code}", handle.read(length)))


def _tiff_header(tags: dict[int, list[int]], path: Path, size: int) -> ImageHeader:
    width, height = tags.get(_WIDTH, [0])[0], tags.get(_HEIGHT, [0])[0]
    if width == 0 or height == 0:
        raise InputError(f"{path} is a corrupt TIFF (size {width}x{height})")
    samples = tags.get(_SAMPLES, [1])[0]
    bits = tags.get(_BITS, [1])
    compression = tags.get(_COMPRESSION, [1])[0]
    if compression not in _TIFF_COMPRESSIONS:
        raise InputError(f"{path} uses TIFF compression {compression}, which encodectl does not read "
                         f"(use {', '.join(sorted(set(_TIFF_COMPRESSIONS.values())))})")  # fmt: skip
    if any(value != 1 for value in tags.get(_SAMPLE_FORMAT, [1])):
        raise InputError(f"{path} holds signed or floating-point samples (depth in metres?); encodectl reads "
                         "unsigned integer frames, such as 16-bit depth in millimetres")  # fmt: skip
    photometric = tags.get(_PHOTOMETRIC, [1])[0]
    if photometric == 0:
        raise InputError(f"{path} is a white-is-zero TIFF, which encodectl does not read; save black-is-zero")
    colour = _TIFF_COLOURS.get((photometric, samples), f"photometric {photometric}, {samples} samples")
    tiled = _TILE_OFFSETS in tags
    offsets = tags.get(_TILE_OFFSETS if tiled else _STRIP_OFFSETS)
    counts = tags.get(_TILE_COUNTS if tiled else _STRIP_COUNTS)
    if not offsets or not counts or len(offsets) != len(counts):
        raise InputError(f"{path} is a corrupt TIFF (no complete list of where its image data lies)")
    if max(offset + count for offset, count in zip(offsets, counts, strict=True)) > size:
        raise InputError(f"{path} is truncated or still being written (its TIFF image data runs past the end)")
    row_bytes = (width * samples * max(bits) + 7) // 8
    if compression == 1 and not tiled and sum(counts) < row_bytes * height:
        raise InputError(f"{path} is a truncated or corrupt TIFF ({sum(counts)} bytes of image data, "
                         f"{row_bytes * height} needed)")  # fmt: skip
    return ImageHeader(format="tiff", width=width, height=height, bit_depth=max(bits), colour=colour)
