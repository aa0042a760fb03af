"""A recorder's frame, checked before a StreamEncoder takes it: a numpy array of the stream's shape and
type (RGB, or depth values), or a whole PNG/JPEG file of the stream's size. One line names what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InputError
from ..frames.headers import image_header_of_bytes


def array_bytes(frame: object, width: int, height: int, depth: bool, index: Callable[[], int]) -> bytes:
    """The bytes ffmpeg is fed for one HxWx3 uint8 RGB frame (a depth stream: HxW uint16), a copy (the
    caller may reuse its buffer at once). `index`: the frame's number, asked only to say what is wrong."""
    if not isinstance(frame, np.ndarray):
        raise InputError(f"add_frame takes a numpy array (HxWx3 uint8 RGB), not {type(frame).__name__}")
    if depth:
        shapes = ((height, width), (height, width, 1))
        if frame.shape not in shapes or frame.dtype.kind != "u" or frame.dtype.itemsize != 2:  # either byte order
            raise InputError(
                f"frame {index()} is {_shape(frame)} {frame.dtype}; this depth stream takes {height}x{width} uint16"
            )
        # Little-endian, as ffmpeg is told: a big-endian array would otherwise be read as other values.
        return np.ascontiguousarray(frame.reshape(height, width), dtype="<u2").tobytes()
    if frame.shape != (height, width, 3) or frame.dtype != np.uint8:
        raise InputError(
            f"frame {index()} is {_shape(frame)} {frame.dtype}; this stream takes {height}x{width}x3 uint8 (RGB)"
        )
    return frame.tobytes()


def check_image(data: bytes, width: int, height: int, index: Callable[[], int]) -> None:
    """A whole PNG/JPEG file's bytes, checked to be a complete image of the stream's size."""
    header = image_header_of_bytes(data)
    if (header.width, header.height) != (width, height):
        raise InputError(f"frame {index()} is {header.width}x{header.height}; this stream takes {width}x{height}")


def _shape(frame: np.ndarray[Any, Any]) -> str:
    return "x".join(map(str, frame.shape))
