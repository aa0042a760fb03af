"""A verified file under its final name: made durable first, then renamed in one atomic step, so that
the final name never holds a half-written video, whatever stops the machine."""

from __future__ import annotations

import os
from pathlib import Path

from ..syscalls import rename_noreplace


def commit_file(temp_output: Path, output: Path, replace: bool = True) -> None:
    """Make the verified file durable, then give it its final name in one atomic step. Without `replace`,
    a file that took the name meanwhile (another run's video) stays, and FileExistsError says so."""
    with temp_output.open("rb") as handle:
        os.fsync(handle.fileno())
    if replace:
        temp_output.replace(output)
    else:
        rename_noreplace(temp_output, output)
    directory = os.open(output.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
