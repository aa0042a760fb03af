"""encodectl/stream/frame_input.py: a recorder's frame, checked before a StreamEncoder takes it.

Frames refused by a running stream, colour and depth: tests/test_stream.py."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from encodectl.errors import InputError
from encodectl.stream.frame_input import array_bytes, check_image

pytestmark = pytest.mark.same_on_every_ffmpeg("arrays and headers checked in Python: no ffmpeg runs")


def seven() -> int:
    return 7


def test_an_rgb_frame_is_copied_as_it_is() -> None:
    frame = np.arange(48 * 64 * 3, dtype=np.uint8).reshape(48, 64, 3)
    data = array_bytes(frame, 64, 48, depth=False, index=seven)
    assert data == frame.tobytes()
    frame[0, 0, 0] = 255
    assert data[0] == 0  # a copy: the caller may reuse its buffer


def test_a_depth_frame_is_sent_little_endian_whatever_its_byte_order() -> None:
    values = np.array([[1, 258], [65535, 0]], dtype=">u2")
    expected = bytes([1, 0, 2, 1, 255, 255, 0, 0])
    assert array_bytes(values, 2, 2, depth=True, index=seven) == expected
    assert array_bytes(values.astype("<u2").reshape(2, 2, 1), 2, 2, depth=True, index=seven) == expected


@pytest.mark.parametrize(
    ("frame", "depth", "message"),
    [
        ([[0]], False, "add_frame takes a numpy array (HxWx3 uint8 RGB), not list"),
        (np.zeros((48, 64, 4), np.uint8), False, "frame 7 is 48x64x4 uint8; this stream takes 48x64x3 uint8 (RGB)"),
        (np.zeros((48, 64, 3), np.float32), False, "frame 7 is 48x64x3 float32; this stream takes 48x64x3 uint8"),
        (np.zeros((48, 64), np.int16), True, "frame 7 is 48x64 int16; this depth stream takes 48x64 uint16"),
        (np.zeros((64, 48), np.uint16), True, "frame 7 is 64x48 uint16; this depth stream takes 48x64 uint16"),
    ],
)
def test_a_wrong_frame_is_named_in_one_line(frame: object, depth: bool, message: str) -> None:
    with pytest.raises(InputError) as caught:
        array_bytes(frame, 64, 48, depth=depth, index=seven)
    assert str(caught.value).startswith(message)


def png(width: int, height: int) -> bytes:
    """A complete RGB PNG, made here: no ffmpeg needed for a header check."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + bytes(width * 3) for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_an_image_of_another_size_is_refused() -> None:
    with pytest.raises(InputError, match=r"^frame 7 is 32x16; this stream takes 64x48$"):
        check_image(png(32, 16), 64, 48, seven)
    check_image(png(64, 48), 64, 48, seven)
    with pytest.raises(InputError, match="not a PNG, JPEG or TIFF"):
        check_image(b"GIF89a" + bytes(20), 64, 48, seven)
