"""What `encodectl encode` loads before its first ffmpeg starts: the start-up budget depends on it (the time
itself is measured by benchmarks/startup.py, not here), and one import added at the top of a module would
silently undo it. Also: the ffmpeg is identified once, and not even once when a run before has done it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from encodectl.ffmpeg import cache

# Runs in the child: record the modules loaded and the commands started, up to and including the encode.
_PROBE = r"""
import json, subprocess, sys
report_path, started = sys.argv[1], []
real_init = subprocess.Popen.__init__

def recording(self, argv, *args, **kwargs):
    command = [str(part) for part in argv]
    while command[0].rsplit("/", 1)[-1] in ("setpriv", "prlimit"):  # the tools in front of ffmpeg (child.py)
        command = command[command.index("--") + 1 :]
    started.append(command)
    if "-progress" in started[-1]:  # the encode: what is loaded now was loaded before it
        with open(report_path, "w") as report:
            json.dump({"modules": sorted(sys.modules), "commands": started}, report)
    real_init(self, argv, *args, **kwargs)

subprocess.Popen.__init__ = recording
sys.argv = ["encodectl", *sys.argv[2:]]
from encodectl.cli import main
main()
"""

NOT_BEFORE_THE_ENCODE = (
    "rich",  # rendering: output to a pipe needs none, a terminal's table is drawn after the job starts
    "numpy",
    "pyarrow",
    "dask",
    "distributed",
    "matplotlib",
    "imageio_ffmpeg",  # its search runs ffmpeg -version; the wheel's binary is found by name
    "platformdirs",
    "encodectl.benchmarking",
    "encodectl.checks",
    "encodectl.watching",
    "encodectl.stream",
    "encodectl.lerobot.finish_dataset",
    "encodectl.lerobot.place",
    "encodectl.lerobot.heal",
    "encodectl.lerobot.recorded",
    "encodectl.lerobot.stats",
    "encodectl.report.results",
    "encodectl.report.live",
)


def loaded_before_the_encode(tmp_path: Path, episode: Path, env: dict[str, str]) -> dict[str, list]:
    report = tmp_path / "report.json"
    report.unlink(missing_ok=True)
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE, str(report), "encode", str(episode), "-o", str(tmp_path / "out.mp4"),
         "--overwrite"],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return json.loads(report.read_text())


def test_encode_loads_only_what_it_needs_before_its_first_ffmpeg(tmp_path, make_frames):
    make_frames(tmp_path / "ep", 3)
    unset = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_TERMINAL", "IMAGEIO_FFMPEG_EXE")
    env = {name: value for name, value in os.environ.items() if name not in unset}
    env |= {"ENCODECTL_FFMPEG": "", "ENCODECTL_CACHE_DIR": str(tmp_path / "cache")}
    first = loaded_before_the_encode(tmp_path, tmp_path / "ep", env)
    loaded = [m for m in first["modules"] if any(m == n or m.startswith(n + ".") for n in NOT_BEFORE_THE_ENCODE)]
    assert loaded == []
    # A first run (an empty cache) asks the binary its version once, besides probing its hardware encoders;
    # the next run starts nothing before the encode.
    assert [command[1:] for command in first["commands"]].count(["-hide_banner", "-version"]) == 1
    assert "-progress" in first["commands"][-1]
    again = loaded_before_the_encode(tmp_path, tmp_path / "ep", env)
    assert len(again["commands"]) == 1 and "-progress" in again["commands"][0], [c[1:4] for c in again["commands"]]


def test_an_encode_whose_output_is_a_pipe_never_loads_rich(tmp_path, make_frames):
    """Its lines and summary are plain text: Rich would cost about 40 ms of the exit for nothing."""
    make_frames(tmp_path / "ep", 3)
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('RICH LOADED\\n' if 'rich' in sys.modules else 'NO RICH\\n'))\n"
        "sys.argv = ['encodectl', *sys.argv[1:]]\n"
        "from encodectl.cli import main\n"
        "main()\n"
    )
    unset = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_TERMINAL")
    env = {name: value for name, value in os.environ.items() if name not in unset}
    completed = subprocess.run(
        [sys.executable, "-c", probe, "encode", str(tmp_path / "ep"), "-o", str(tmp_path / "out.mp4")],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("done    ep -> ") and "3 frames" in completed.stdout
    assert completed.stdout.splitlines()[-1].startswith("1 done, 0 failed of 1 job(s) · 3 frames")
    assert completed.stderr.splitlines()[-1] == "NO RICH"


@pytest.mark.parametrize("xdg", [None, "elsewhere"])
def test_the_cache_folder_is_where_platformdirs_puts_it(monkeypatch, tmp_path, xdg):
    platformdirs = pytest.importorskip("platformdirs")
    monkeypatch.delenv("ENCODECTL_CACHE_DIR", raising=False)
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / xdg))
    assert cache.cache_dir() == Path(platformdirs.user_cache_dir("encodectl"))
