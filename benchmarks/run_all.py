"""Every performance figure of docs/performance.md in one run, as a table: what, figure, command.

    python benchmarks/run_all.py [--quick] [--lerobot-python /path/to/venv-with-lerobot/bin/python]

Sections (each a script of this folder, run as it would be by hand, its summary lines kept):
  overhead  `encodectl encode` against the bare ffmpeg command it prints with --dry-run (300 frames 1280x720)
  start-up  exec of `encodectl encode` -> exec of its first ffmpeg (strace), same frames
  depth     lossless depth (FFV1, every frame hashed) against bare ffmpeg's FFV1 encode (300 frames 640x480)
  check     `encodectl check` on a LeRobot dataset of 200 episodes x 2 cameras
  spawn     starting ffmpeg in a process of 800 MiB: the old preexec_fn (a fork) against ffmpeg/child.py (vfork)
  lerobot   `--profile lerobot` against LeRobot's encode_video_frames: only with --lerobot-python (a virtualenv
            where LeRobot is installed; encodectl never imports it), skipped with a line saying so otherwise

Whole-process wall-clock times on a machine that may be shared: the header prints the date, the machine and
its load average before and after, so that a figure is read with the load it was measured under. --quick runs
each side fewer times (for a try, not for the docs). Frames and datasets are made once and kept in the
system's temporary folder.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass
class Section:
    name: str
    argv: list[str]
    keep: str  # lines of the script's output that carry its figures


def sections(args: argparse.Namespace) -> list[Section]:
    runs = "2" if args.quick else "4"
    script = [sys.executable]
    found = [
        Section(
            "overhead", [*script, str(HERE / "overhead.py"), "--runs", runs], r"^(bare ffmpeg|encodectl encode|ratio)"
        ),
        Section(
            "start-up",
            [*script, str(HERE / "startup.py"), "--runs", "3" if args.quick else "7"],
            r"^(exec|floor|budget)",
        ),
        Section("depth", [*script, str(HERE / "depth.py"), "--runs", runs], r"^(bare ffmpeg|encodectl encode|ratio)"),
        Section(
            "check",
            [*script, str(HERE / "check.py"), "--episodes", "200", "--runs", "2" if args.quick else "3"],
            r"median",
        ),
        Section(
            "spawn",
            [*script, str(HERE / "spawn.py"), "--starts", "10" if args.quick else "30"],
            r"^(Python|route|preexec_fn|child|bare)",
        ),
    ]
    if args.lerobot_python:
        found.append(
            Section(
                "lerobot",
                [*script, str(HERE / "lerobot.py"), "--lerobot-python", args.lerobot_python, "--runs", "3"],
                r"(encode_video_frames|encodectl|ratio|PSNR)",
            )
        )
    return found


def machine() -> str:
    cores = os.cpu_count() or 0
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        memory = 0.0
    return (
        f"{platform.system()} {platform.machine()}, {cores} cores, {memory:.0f} GiB, Python {platform.python_version()}"
    )


def load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer runs per side: a try, not figures for the docs")
    parser.add_argument("--lerobot-python", help="a Python where LeRobot is installed (its side runs there)")
    parser.add_argument("--only", help="comma list of sections to run (overhead,start-up,depth,check,lerobot)")
    args = parser.parse_args()
    chosen = sections(args)
    if args.only:
        wanted = set(args.only.split(","))
        chosen = [section for section in chosen if section.name in wanted]

    print(f"date     : {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine  : {machine()}")
    print(f"load avg : {load()} (1, 5, 15 min) at the start; a shared machine's load moves every figure")
    rows: list[tuple[str, list[str], str]] = []
    for section in chosen:
        shown = " ".join(["python", *section.argv[1:]]).replace(str(HERE) + "/", "benchmarks/")
        print(f"\n== {section.name}: {shown}", flush=True)
        started = time.perf_counter()
        completed = subprocess.run(section.argv, capture_output=True, text=True, check=False, cwd=HERE)
        output = completed.stdout + completed.stderr
        print(output.rstrip())
        kept = [line.strip() for line in output.splitlines() if re.search(section.keep, line.strip())]
        if completed.returncode != 0:
            kept.append(f"FAILED (exit {completed.returncode})")
        kept.append(f"({time.perf_counter() - started:.0f} s for the section)")
        rows.append((section.name, kept, shown))
    if not args.lerobot_python and (not args.only or "lerobot" in args.only):
        rows.append(("lerobot", ["skipped: LeRobot is not installed here (give --lerobot-python)"], "-"))

    print(f"\nload avg : {load()} at the end\n")
    print(f"{'section':<9} | figures")
    print(f"{'-' * 9}-+-{'-' * 70}")
    for name, kept, shown in rows:
        for index, line in enumerate(kept):
            print(f"{name if index == 0 else '':<9} | {line}")
        print(f"{'':<9} | command: {shown}")


if __name__ == "__main__":
    main()
