"""The one exception family of encodectl.

Every message is written for the person at the terminal: one line, naming the
file or option at fault. The CLI maps ``exit_code`` to the process exit status.
"""

from __future__ import annotations


class EncodectlError(Exception):
    """Base of every error encodectl raises on purpose. A kind of error names its exit code where it is
    declared (`class InputError(EncodectlError, exit_code=2)`); without one it has its base's."""

    exit_code = 1

    def __init_subclass__(cls, exit_code: int | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if exit_code is not None:
            cls.exit_code = exit_code

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(EncodectlError, exit_code=2):
    """The command line or configuration is wrong."""


class DatasetBusy(UsageError):
    """A dataset is being written by another program (or another encodectl); try again once it is done."""


class StreamStateError(UsageError):
    """A StreamEncoder was asked for what its state does not allow (close() twice, close() after abort())."""


class InputError(EncodectlError, exit_code=2):
    """The frames given cannot become a correct video as they are."""


class FFmpegNotFoundError(EncodectlError, exit_code=2):
    """No usable ffmpeg binary could be found."""


class EncodeError(EncodectlError, exit_code=1):
    """ffmpeg failed, or reported a problem while encoding."""


class VerificationError(EncodectlError, exit_code=1):
    """The written video does not match what was asked for."""


class StateError(EncodectlError, exit_code=2):
    """encodectl's own record of its work (the watch ledger) cannot be read or written."""


class LedgerStateError(EncodectlError, exit_code=1):
    """An episode's ledger record was asked for a change its state does not allow: a bug in the watcher."""


class QueueFullError(EncodectlError, exit_code=1):
    """submit() found the encode queue full and was told not to wait (longer)."""


class Interrupted(EncodectlError, exit_code=130):
    """The user pressed Ctrl-C or the process received SIGTERM."""

    def __init__(self, message: str = "interrupted") -> None:
        super().__init__(message)
