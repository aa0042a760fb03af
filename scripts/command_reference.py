"""Write docs/commands.md, the command reference, from the CLI itself: each command's --help as encodectl
prints it, so that the reference cannot drift from the code; and docs/index.md, the site's home page, from
the README, with its links made relative to docs/ (tests/test_output.py checks that neither has drifted).

    python scripts/command_reference.py [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path

from encodectl.cli import command_help, command_names

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "commands.md"
HOME = ROOT / "docs" / "index.md"

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


def home() -> str:
    readme = (ROOT / "README.md").read_text()
    readme = readme.replace("The documentation is in [`docs/`](docs/), a small site built with MkDocs\n"
                            "(`make docs` builds it into `site/`):", "The pages of this site:")  # fmt: skip
    return readme.replace("](docs/", "](")


def main() -> int:
    pages = {REFERENCE: reference(), HOME: home()}
    if "--check" in sys.argv[1:]:
        stale = [str(path) for path, text in pages.items() if path.read_text() != text]
        if stale:
            print(f"{', '.join(stale)} out of date: run python scripts/command_reference.py", file=sys.stderr)
            return 1
        return 0
    for path, text in pages.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
