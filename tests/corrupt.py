"""Frames damaged in the ways that only decoding can tell: header and tail intact, the rest not.

Each function rewrites one frame in place. PNG chunks keep valid lengths and CRCs
where the damage is meant to be inside the image data, so that it is the decoder,
not a chunk reader, that has to notice.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path


def _scrambled(data: bytes | bytearray, start: int, end: int, avoid_ff: bool = False) -> bytearray:
    out = bytearray(data)
    for offset in range(start, end):
        value = (out[offset] * 7 + 13) % 256
        out[offset] = 0xFE if avoid_ff and value == 0xFF else value  # 0xFF would start a JPEG marker
    return out


def garble_after_header(path: Path) -> None:
    """Everything between the first 60 bytes and the last 20 garbled (PNG: chunk lengths too)."""
    data = path.read_bytes()
    path.write_bytes(bytes(_scrambled(data, 60, len(data) - 20)))


def _png_chunks(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(offset, length, type) of each chunk after the signature."""
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        yield offset, length, data[offset + 4 : offset + 8]
        offset += 12 + length


def _fix_crc(data: bytearray, offset: int, length: int) -> None:
    crc = zlib.crc32(bytes(data[offset + 4 : offset + 8 + length])) & 0xFFFFFFFF
    data[offset + 8 + length : offset + 12 + length] = struct.pack(">I", crc)


def garble_png_image_data(path: Path) -> None:
    """The compressed image data garbled; chunk lengths and CRCs valid."""
    data = bytearray(path.read_bytes())
    for offset, length, kind in list(_png_chunks(bytes(data))):
        if kind == b"IDAT":
            data[:] = _scrambled(data, offset + 18, offset + 8 + length - 4)
            _fix_crc(data, offset, length)
    path.write_bytes(bytes(data))


def png_bad_bit_depth(path: Path) -> None:
    """An IHDR that claims 3 bits per sample (PNG allows 1, 2, 4, 8, 16), with a valid CRC."""
    data = bytearray(path.read_bytes())
    data[24] = 3  # signature (8) + length (4) + "IHDR" (4) + width (4) + height (4)
    _fix_crc(data, 8, 13)
    path.write_bytes(bytes(data))


def garble_jpeg_scan(path: Path) -> None:
    """The entropy-coded scan data garbled; markers, tables and the end marker intact."""
    data = path.read_bytes()
    sos = data.index(b"\xff\xda")
    (header,) = struct.unpack(">H", data[sos + 2 : sos + 4])
    path.write_bytes(bytes(_scrambled(data, sos + 2 + header, len(data) - 2, avoid_ff=True)))


def damage_jpeg_huffman_table(path: Path) -> None:
    """A Huffman table (DHT segment) whose code counts make no valid code."""
    data = bytearray(path.read_bytes())
    table = data.index(b"\xff\xc4")
    for offset in range(table + 5, table + 40):
        data[offset] = 0xFF if offset % 2 else 0x00
    path.write_bytes(bytes(data))
