"""Read what a frame file is from its header and tail, without decoding it.

Validation must cost a small fraction of the encode, so each file is opened once
and only its first bytes (size, bit depth, colour type) and last bytes (is the
file complete?) are read.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel

from .errors import InputError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
JPEG_SOI = b"\xff\xd8"
JPEG_EOI = b"\xff\xd9"

_PNG_COLOUR_TYPES = {0: "gray", 2: "rgb", 3: "palette", 4: "gray+alpha", 6: "rgba"}
# Start-of-frame markers carry the image size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_JPEG_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_HEADER_LIMIT = 1 << 20


class ImageHeader(BaseModel):
    """What one frame's header says about it."""

    format: str  # "png" or "jpeg"
    width: int
    height: int
    bit_depth: int
    colour: str  # e.g. "rgb", "rgba", "gray", "ycbcr"

    def describe(self) -> str:
        return f"{self.format} {self.colour} {self.bit_depth}-bit"


def read_image_header(path: Path) -> ImageHeader:
    """Return the header of a PNG or JPEG frame; raise InputError if it is not a complete one."""
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
    raise InputError(f"{path} is not a PNG or JPEG image (its first bytes say otherwise)")


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
