"""encodectl/cli/usage.py: usage lines and help that name values, usage errors as one line, the entry point.

Usage errors as a user meets them: tests/test_bad_input.py, tests/test_cli_behaviour.py; the docs' command
reference made of the help: scripts/command_reference.py."""

from __future__ import annotations

import sys

import pytest

from encodectl.cli.usage import command_help, command_names, main

pytestmark = pytest.mark.same_on_every_ffmpeg("the command line parsed: no ffmpeg runs")


def test_every_command_and_help_that_names_values() -> None:
    assert {"encode", "watch", "check", "recover", "probe-gpu", "bench", "version"} <= set(command_names())
    help_text = command_help("encode", width=100)
    assert "Usage: encodectl encode [OPTIONS] PATH..." in help_text
    assert "--fps RATE" in help_text and "--quality N" in help_text
    assert "<str>" not in help_text and "list[Path]" not in help_text


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["encodectl", *argv])
    with pytest.raises(SystemExit) as ended:
        main()
    return int(ended.value.code or 0), capsys.readouterr().err


def test_an_option_of_another_command_says_why_this_one_lacks_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    code, err = run(monkeypatch, capsys, "watch", str(tmp_path), "--overwrite")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("encodectl: error: No such option: --overwrite: `watch` has none; watch redoes a video")
    code, err = run(monkeypatch, capsys, "encode", "--nonsense", str(tmp_path))
    assert code == 2 and err.startswith("encodectl: error: No such option: --nonsense") and "(see `" in err
