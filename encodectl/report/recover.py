"""What `encodectl recover` prints: one line per stream file found."""

from __future__ import annotations

from pathlib import Path

from ..stream.recovery import RecoveredVideo


def recover_lines(results: list[RecoveredVideo], directory: Path) -> list[str]:
    if not results:
        return [f"nothing to recover under {directory}"]
    lines = []
    for result in results:
        if result.status == "recovered":
            line = f"recovered {result.output}: {result.frames} frames ({result.seconds:.2f} s)"
            line += f"; {result.reason}" if result.reason else ""
        else:
            line = f"{result.status}: {result.fragmented}: {result.reason}"
        lines.append(line)
    return lines
