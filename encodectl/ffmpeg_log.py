"""Make sense of ffmpeg's error log: the one line that says what went wrong.

ffmpeg follows the real cause ("Cannot load libcuda.so.1", "chunk too big") with
several generic lines ("Error while opening encoder", "Task finished with error
code …"); users need the cause, with the component that raised it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# "[h264_nvenc @ 0x5564…] " or "[vost#0:0/h264_nvenc @ 0x…] [enc:h264_nvenc @ 0x…] "
_CONTEXT = re.compile(r"^(?:\[(?:[^\]@]*/)?(?P<name>[^\]@/]+?) @ 0x[0-9a-f]+\]\s*)+")
_GENERIC = (
    "error while opening encoder",
    "error sending frames to consumers",
    "task finished with error code",
    "terminating thread with return code",
    "conversion failed",
    "nothing was written into output file",
    "could not open encoder before eof",
    "error initializing output stream",
    "error submitting packet to decoder",
    "error processing packet in decoder",
    "error while filtering",
    "error while processing the decoded data",
    "error marking filters as finished",
    "failed to inject frame into filter network",
    "error sending packet to decoder",
    "exiting normally",
)
_DECODER_FAILURE = ("submitting packet to decoder", "processing packet in decoder", "error while decoding")


def strip_context(line: str) -> tuple[str | None, str]:
    """('h264_nvenc', 'Cannot load libcuda.so.1') from a line with ffmpeg's [ctx @ 0x…] prefixes."""
    match = _CONTEXT.match(line)
    if match is None:
        return None, line.strip()
    return match.group("name").split(":")[-1], line[match.end() :].strip()


def meaningful_error(log: Iterable[str]) -> str:
    """The first line of the log that names a cause, prefixed with its component."""
    lines = [line.strip() for line in log if line.strip()]
    for line in lines:
        component, message = strip_context(line)
        if not message or message.lower().startswith(_GENERIC):
            continue
        return f"{component}: {message}" if component else message
    if lines:
        component, message = strip_context(lines[-1])
        return f"{component}: {message}" if component else message
    return "no output from ffmpeg"


def is_decoder_failure(log: Iterable[str]) -> bool:
    """True when ffmpeg failed because an input frame could not be decoded."""
    return any(marker in line.lower() for line in log for marker in _DECODER_FAILURE)


def encoder_failure(encoder: str, returncode: int, log: Iterable[str]) -> str:
    """'<encoder> failed (exit N): <cause>', the cause without the encoder's name a second time."""
    return f"{encoder} failed (exit {returncode}): {meaningful_error(log).removeprefix(encoder + ': ')}"
