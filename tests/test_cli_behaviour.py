"""CLI behaviour a user meets: one-line usage errors, --json errors, option clashes, reruns."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from fractions import Fraction

import pytest

from encodectl import EncoderPool, UsageError, encode
from encodectl.frames.synthetic import write_dataset
from encodectl.models import EncodeOptions

from .conftest import BEFORE_FFMPEG, assert_one_line_error, files_in, run_encodectl


@BEFORE_FFMPEG
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["encode", "x", "--codec", "vp9"], "Invalid value for '--codec': 'vp9' is not one of 'h264', 'hevc', 'av1'"),
        (["encode", "-dash"], "No such option: -d (a path that starts with '-' goes after `--`)"),
        (["bogus"], "No such command 'bogus'"),
        (["encode"], "Missing argument 'PATH...'"),
    ],
)
def test_usage_errors_are_one_line_too(args, fragment):
    outcome = run_encodectl(*args)
    assert_one_line_error(outcome, fragment)
    assert "╭" not in outcome.stderr


@BEFORE_FFMPEG
def test_json_mode_reports_errors_as_json(tmp_path):
    outcome = run_encodectl("encode", tmp_path / "nope", "--json")
    assert outcome.exit_code == 2
    assert json.loads(outcome.stdout) == {"error": f"{tmp_path / 'nope'} does not exist", "exit_code": 2}


@BEFORE_FFMPEG
def test_ntsc_rates_mean_what_people_mean():
    assert EncodeOptions(fps="29.97").fps == Fraction(30000, 1001)
    assert EncodeOptions(fps=59.94).fps == Fraction(60000, 1001)
    assert EncodeOptions(fps="12.5").fps == Fraction(25, 2)


@BEFORE_FFMPEG
def test_rerun_skips_existing_videos_before_reading_any_frame(tmp_path, make_frames):
    frames = make_frames(tmp_path / "ep", 8)
    first = run_encodectl("encode", tmp_path / "ep", "--on-gap", "hold")
    assert first.exit_code == 0
    frames[4].unlink()  # a gap appears after the video was made; the rerun must not care
    frames[5].unlink()
    again = run_encodectl("encode", tmp_path / "ep", "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["results"][0]["status"] == "skipped"
    dry = run_encodectl("encode", tmp_path / "ep", "--dry-run")
    assert dry.exit_code == 0 and "-c:v" not in dry.stdout  # nothing planned for a finished episode


@BEFORE_FFMPEG
def test_python_api_raises_one_line_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="invalid --quality: Input should be less than or equal to 51"):
        encode(tmp_path, quality=99)
    with pytest.raises(UsageError, match="invalid --codec"):
        EncoderPool(codec="vp9")


def test_probe_gpu_in_a_pipe_prints_plain_lines():
    outcome = run_encodectl("probe-gpu")
    assert outcome.exit_code == 0
    lines = outcome.stdout.splitlines()
    assert any(line.startswith("h264_nvenc\tnvidia\th264\t") for line in lines)
    assert any(line.startswith("ffmpeg ") and "(found via " in line for line in lines)
    assert any(line.startswith("  chosen: ") for line in lines)  # which ffmpeg was probed, and why that one
    assert "┃" not in outcome.stdout


@BEFORE_FFMPEG
@pytest.mark.parametrize("command", [["encode", "--async"], ["encode", "--sync"], ["watch", "--once", "--settle", "0"]])
def test_a_closed_stdout_ends_the_run_quietly(tmp_path, ffmpeg_binary, command):
    # `encodectl encode DATASET | true`: the first result line meets a closed pipe. It used to kill the
    # worker that printed it, and the run waited for ever on that job.
    write_dataset(ffmpeg_binary, tmp_path, cameras=1, episodes=4, frames=3)
    process = subprocess.Popen(
        [sys.executable, "-m", "encodectl.cli", command[0], str(tmp_path), *command[1:]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    process.stdout.close()
    _, stderr = process.communicate(timeout=60)
    assert (process.returncode, stderr) == (141, b"")  # as a program killed by SIGPIPE, and no traceback
    assert [name for name in files_in(tmp_path) if "/." in f"/{name}" and ".encodectl/" not in name] == []


@BEFORE_FFMPEG
def test_the_shared_options_are_exactly_what_encode_and_watch_share():
    # SharedOptions is filled from a command's parameters: a field that one command lacks would fail at
    # run time, and an option both commands gained but SharedOptions lacks would be silently dropped.
    from encodectl.cli import commands as cli
    from encodectl.cli import options as cli_options

    fields = set(cli_options.SharedOptions.model_fields)
    encode_params, watch_params = (set(inspect.signature(command).parameters) for command in (cli.encode, cli.watch))
    assert fields <= encode_params and fields <= watch_params
    # Each command passes these itself: their meaning differs between the two (a file or a folder; a run's
    # JSON or a watcher's lines; a dataset's frames after the commit or each episode's after its video).
    assert (encode_params & watch_params) - fields == {"output", "json_output", "delete_frames"}
