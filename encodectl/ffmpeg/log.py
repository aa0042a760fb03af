"""Make sense of ffmpeg's error log: the one line that says what went wrong.

ffmpeg follows the real cause ("Cannot load libcuda.so.1", "chunk too big") with
several generic lines ("Error while opening encoder", "Task finished with error
code …"); users need the cause, with the component that raised it. Encoder
libraries also write to the log on their own, banner first ("Svt[info]: ----",
"x265 [info]: …"): those lines are never the cause. Versions differ in what they
print around the cause (ffmpeg 6 and later add "Error submitting packet to
decoder" to a decode error; 4.x and 5.x print only the decoder's own line), so
nothing here depends on the generic lines being there.
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
# "Svt[error]: Instance 1: Source Height must be at least 64", "x265 [warning]: …"
_LIBRARY_LINE = re.compile(r"^(?P<library>[A-Za-z][\w-]*) ?\[(?P<level>[a-z]+)\]: ?(?P<message>.*)$")
_LIBRARY_NAMES = {"Svt": "SVT-AV1"}
_LIBRARY_CAUSE_LEVELS = ("error", "fatal")
_SVT_INSTANCE = re.compile(r"^Instance \d+: ")


def strip_context(line: str) -> tuple[str | None, str]:
    """('h264_nvenc', 'Cannot load libcuda.so.1') from a line with ffmpeg's [ctx @ 0x…] prefixes."""
    match = _CONTEXT.match(line)
    if match is None:
        return None, line.strip()
    return match.group("name").split(":")[-1], line[match.end() :].strip()


def _described(line: str) -> tuple[str | None, str]:
    """(component, message) of one log line: ffmpeg's [ctx @ 0x…] prefix, or a library's own "Name[level]:"."""
    library = _LIBRARY_LINE.match(line)
    if library is None:
        return strip_context(line)
    name = _LIBRARY_NAMES.get(library.group("library"), library.group("library"))
    return name, _SVT_INSTANCE.sub("", library.group("message").strip())


def _is_chatter(line: str) -> bool:
    """A library's banner, settings or warnings: working encodes print them too, so they are never the cause."""
    library = _LIBRARY_LINE.match(line)
    return library is not None and library.group("level") not in _LIBRARY_CAUSE_LEVELS


def meaningful_error(log: Iterable[str]) -> str:
    """The first line of the log that names a cause, prefixed with its component."""
    lines = [line.strip() for line in log if line.strip() and not _is_chatter(line.strip())]
    for line in lines:
        component, message = _described(line)
        if not message or message.lower().startswith(_GENERIC):
            continue
        return f"{component}: {message}" if component else message
    if lines:
        component, message = _described(lines[-1])
        return f"{component}: {message}" if component else message
    return "no error message from ffmpeg"


def is_decoder_failure(log: Iterable[str], decoder: str | None = None) -> bool:
    """True when ffmpeg failed because an input frame could not be decoded.

    ffmpeg 6 and later say so in words; 4.x and 5.x print only the complaint of the
    frames' `decoder` ("[png @ 0x…] chunk too big"), so any line of that decoder counts.
    """
    for line in log:
        if any(marker in line.lower() for marker in _DECODER_FAILURE):
            return True
        if decoder is not None and strip_context(line.strip())[0] == decoder:
            return True
    return False


def encoder_failure(encoder: str, returncode: int, log: Iterable[str]) -> str:
    """'<encoder> failed (exit N): <cause>', the cause without the encoder's name a second time."""
    return f"{encoder} failed (exit {returncode}): {meaningful_error(log).removeprefix(encoder + ': ')}"
