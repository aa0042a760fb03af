"""encodectl/cli/console.py: where the command line writes, and every error as one line with its exit code.

Errors as a user meets them, command by command (and tracebacks never): tests/test_bad_input.py,
tests/test_cli_behaviour.py; Ctrl-C and a closed pipe: tests/test_interrupt.py, tests/test_output.py."""

from __future__ import annotations

import json

import pytest
import typer

from encodectl.cli.console import CliState, handled_errors, note_printer
from encodectl.errors import InputError, Interrupted

pytestmark = pytest.mark.same_on_every_ffmpeg("errors mapped to exit codes: no ffmpeg runs")


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (InputError("frame 3 is missing"), 2, "encodectl: error: frame 3 is missing"),
        (FileNotFoundError(2, "No such file or directory", "/d/x"), 1,
         "encodectl: error: No such file or directory: /d/x"),
        (Interrupted(), 130, "encodectl: interrupted; running encodes stopped, no partial files left"),
        (KeyboardInterrupt(), 130, "encodectl: interrupted; running encodes stopped, no partial files left"),
        (ZeroDivisionError("division by zero"), 1, "encodectl: error: internal error (ZeroDivisionError: division "
                                                   "by zero); --debug shows where, please report it"),
    ],
)  # fmt: skip
def test_each_error_is_one_line_and_its_code(
    error: BaseException, code: int, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as ended, handled_errors():
        raise error
    assert ended.value.exit_code == code
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [line] and captured.out == ""


def test_with_json_the_error_is_an_object_on_stdout_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CliState, "json", False)
    with pytest.raises(typer.Exit), handled_errors(json_output=True):
        raise InputError("bad")
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"error": "bad", "exit_code": 2}
    assert captured.err.strip() == "encodectl: error: bad"


def test_notes_go_to_stderr_except_with_json(capsys: pytest.CaptureFixture[str]) -> None:
    note_printer("encodectl", json_output=False)("no working GPU encoder")
    note_printer("encodectl", json_output=True)("said to nobody")
    captured = capsys.readouterr()
    assert captured.err == "encodectl: no working GPU encoder\n" and captured.out == ""


TRICKY_LINES = ["a\tb\tc", "x\ry", "bell\x07 back\x08 vt\x0b ff\x0c", "esc\x1b[31mred", "emoji :thumbs_up:",
                "[bold]x[/]", "  spaced  ", "ü ✓ 日本", "日本\tx", "é\tz"]  # fmt: skip


@pytest.mark.parametrize("text", TRICKY_LINES)
def test_a_plain_line_to_a_pipe_is_what_rich_writes_without_loading_it(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from rich.console import Console

    from encodectl.cli.console import _LazyConsole
    from encodectl.report.text import plain_line

    console = _LazyConsole(highlight=False)
    plain_line(console, text)  # type: ignore[arg-type]
    # No Rich console made: a pipe's line needs none, unless a tab follows a character Rich counts otherwise.
    assert (console._console is None) is ("\t" not in text or text.isascii())
    rich_wrote = io.StringIO()
    plain_line(Console(file=rich_wrote, highlight=False, width=20), text)
    assert capsys.readouterr().out == rich_wrote.getvalue()


def test_plain_line_asks_what_the_lazy_console_writes_without_rich() -> None:
    from encodectl.report.text import PLAIN_LINE, plain_line

    class Recording:
        def print(self, *objects: object, **settings: object) -> None:
            self.settings = settings

    recording = Recording()
    plain_line(recording, "x")  # type: ignore[arg-type]
    assert recording.settings == PLAIN_LINE


def test_a_plain_line_under_a_live_display_goes_where_its_stream_goes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live table in a terminal replaces sys.stderr with Rich's proxy: a note printed then must still reach
    the real stderr (a log, with `2>log`), as Rich itself would send it, not the terminal's table."""
    import io
    import sys

    from encodectl.cli.console import _LazyConsole
    from encodectl.report.text import plain_line

    class Proxy(io.StringIO):  # what rich.file_proxy.FileProxy shows of itself
        rich_proxied_file = sys.stderr

    proxy = Proxy()
    monkeypatch.setattr(sys, "stderr", proxy)
    plain_line(_LazyConsole(stderr=True, highlight=False), "encodectl: a note")  # type: ignore[arg-type]
    assert proxy.getvalue() == ""
    assert capsys.readouterr().err == "encodectl: a note\n"
