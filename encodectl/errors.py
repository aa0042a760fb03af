"""The one exception family of encodectl.

Every message is written for the person at the terminal: one line, naming the
file or option at fault. The CLI maps ``exit_code`` to the process exit status.
"""

from __future__ import annotations


class EncodectlError(Exception):
    """Base of every error encodectl raises on purpose."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(EncodectlError):
    """The command line or configuration is wrong."""

    exit_code = 2


class DatasetBusy(UsageError):
    """A dataset is being written by another program (or another encodectl); try again once it is done."""


class StreamStateError(UsageError):
    """A StreamEncoder was asked for what its state does not allow (close() twice, close() after abort())."""


class InputError(EncodectlError):
    """The frames given cannot become a correct video as they are."""

    exit_code = 2


class FFmpegNotFoundError(EncodectlError):
    """No usable ffmpeg binary could be found."""

    exit_code = 2


class EncodeError(EncodectlError):
    """ffmpeg failed, or reported a problem while encoding."""

    exit_code = 1


class VerificationError(EncodectlError):
    """The written video does not match what was asked for."""

    exit_code = 1


class StateError(EncodectlError):
    """encodectl's own record of its work (the watch ledger) cannot be read or written."""

    exit_code = 2


class LedgerStateError(EncodectlError):
    """An episode's ledger record was asked for a change its state does not allow: a bug in the watcher."""

    exit_code = 1


class QueueFullError(EncodectlError):
    """submit() found the encode queue full and was told not to wait (longer)."""

    exit_code = 1


class Interrupted(EncodectlError):
    """The user pressed Ctrl-C or the process received SIGTERM."""

    exit_code = 130

    def __init__(self, message: str = "interrupted") -> None:
        super().__init__(message)
