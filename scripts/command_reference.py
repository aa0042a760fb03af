"""Write docs/commands.md, the command reference, from the CLI itself: each command's --help as encodectl
prints it, so that the reference cannot drift from the code (tests/test_output.py checks that it has not).

    python scripts/command_reference.py [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path

from encodectl.cli import command_help, command_names

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "commands.md"

# One example per command, shown above its help.
EXAMPLES = {
    "encode": "encodectl encode ~/.cache/huggingface/lerobot/me/pick_cube   # a dataset's missing videos, verified",
    "watch": "encodectl watch datasets/ --marker DONE   # each episode as soon as the recorder has finished it",
    "bench": "encodectl bench --quick   # the four modes side by side, in under a minute",
    "recover": "encodectl recover videos/   # what interrupted StreamEncoders left, as verified videos",
    "probe-gpu": "encodectl probe-gpu   # which hardware encoders this ffmpeg has, and which really work",
    "version": "encodectl version   # the version, and which ffmpeg it uses and why",
}


def reference() -> str:
    parts = [
        "# Command reference",
        "",
        "Generated from the command line itself by `scripts/command_reference.py` (`make docs` runs it): what",
        "follows is each command's `--help`. Options placed before the command (`--debug`, `--version`) belong to",
        "`encodectl` itself.",
        "",
        "```text",
        command_help().rstrip(),
        "```",
    ]
    for name in command_names():  # every command, a new one included, in the order of `encodectl --help`
        example = ["```bash", EXAMPLES[name], "```", ""] if name in EXAMPLES else []
        parts += ["", f"## encodectl {name}", "", *example, "```text", command_help(name).rstrip(), "```"]
    return "\n".join(parts) + "\n"


def main() -> int:
    text = reference()
    if "--check" in sys.argv[1:]:
        if REFERENCE.read_text() != text:
            print(f"{REFERENCE} is out of date: run python scripts/command_reference.py", file=sys.stderr)
            return 1
        return 0
    REFERENCE.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
