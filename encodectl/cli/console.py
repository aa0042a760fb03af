"""Where the command line writes: two Rich consoles made on first use, and errors as one line each.

Every EncodectlError becomes one line on stderr and its exit code; a traceback is shown only with --debug.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, cast

import typer

from ..errors import EncodectlError, Interrupted
from ..report.text import PLAIN_LINE, plain_line, to_json

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OUTPUT_CLOSED = 141


def _make_console(**settings: Any) -> Console:
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # Rich would exit with 1 from whichever thread printed (a pool worker, say); the error instead
            # stops the run and reaches handled_errors, which exits as a program killed by SIGPIPE does.
            raise BrokenPipeError

    return _Console(**settings)


class _LazyConsole:
    """A Rich console made on first use: importing Rich costs start-up time that a run printing nothing
    before its first ffmpeg (or nothing at all) should not pay."""

    def __init__(self, **settings: Any) -> None:
        self._settings = settings
        self._console: Console | None = None
        self._making = threading.Lock()  # pool workers print too: one console, whoever asks first

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console(), name)

    def print(self, *objects: Any, **settings: Any) -> None:
        # A plain line (report.text.plain_line) to a pipe needs nothing of Rich: written as Rich would write it
        # there (control codes it drops dropped, tabs expanded), without loading it. A tab after a wide
        # character is Rich's to place (it counts cells, not characters).
        text = objects[0] if len(objects) == 1 else None
        if (
            settings == PLAIN_LINE
            and isinstance(text, str)
            and ("\t" not in text or text.isascii())
            and not self.is_terminal
        ):
            stream = self._stream()
            stream.write(text.translate(_DROPPED_BY_RICH).expandtabs(8) + "\n")
            stream.flush()
            return
        self.console().print(*objects, **settings)

    def _stream(self) -> Any:
        """Where Rich would write: the standard stream, or what a live display's proxy of it stands for."""
        stream = sys.stderr if self._settings.get("stderr") else sys.stdout
        return getattr(stream, "rich_proxied_file", stream)

    @property
    def is_terminal(self) -> bool:
        # Rich takes a pipe for a terminal only when the environment says so; without any of its variables,
        # a pipe is a pipe, and a run whose output is plain lines need not load Rich to learn it.
        if self._console is None and not any(os.environ.get(name) for name in _RICH_TERMINAL_VARIABLES):
            stream = self._stream()
            with contextlib.suppress(AttributeError, ValueError):  # not a real file, or closed: Rich decides
                if not stream.isatty():
                    return False
        return bool(self.console().is_terminal)

    def console(self) -> Console:
        """The console itself, for what takes it whole (a Live display enters it as a context manager)."""
        with self._making:
            if self._console is None:
                self._console = _make_console(**self._settings)
            return self._console


_DROPPED_BY_RICH = dict.fromkeys((0x07, 0x08, 0x0B, 0x0C, 0x0D))  # rich.control.strip_control_codes

_RICH_TERMINAL_VARIABLES = ("TTY_COMPATIBLE", "FORCE_COLOR", "FORCE_TERMINAL", "TTY_INTERACTIVE")


def real_console(console: Console) -> Console:
    return console.console() if isinstance(console, _LazyConsole) else console


stdout = cast("Console", _LazyConsole(highlight=False))
stderr = cast("Console", _LazyConsole(stderr=True, highlight=False))


class CliState:
    debug = False
    json = False  # errors become a JSON object on stdout too


def fail(error: BaseException) -> NoReturn:
    """Print one line for the user (and a JSON object with --json) and exit with the error's code."""
    if CliState.debug:
        stderr.print_exception()
    code = error.exit_code if isinstance(error, EncodectlError) else 1
    if CliState.json:
        sys.stdout.write(to_json({"error": str(error), "exit_code": code}, indent=None) + "\n")
    plain_line(stderr, f"encodectl: error: {error}")
    raise typer.Exit(code)


@contextmanager
def handled_errors(json_output: bool = False) -> Iterator[None]:
    CliState.json = json_output
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    # Started in the background by a non-interactive shell, SIGINT arrives ignored; take it back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    except (KeyboardInterrupt, Interrupted):
        stderr.print("encodectl: interrupted; running encodes stopped, no partial files left")
        raise typer.Exit(130) from None
    except BrokenPipeError:
        output_closed()
    except EncodectlError as error:
        fail(error)
    except OSError as error:  # a file system problem nobody foresaw: still one line
        where = f": {error.filename}" if error.filename else ""
        fail(EncodectlError(f"{error.strerror or error}{where}"))
    except typer.Exit:
        raise
    except Exception as error:  # noqa: BLE001 - a bug of ours: one line, the traceback with --debug
        fail(EncodectlError(f"internal error ({type(error).__name__}: {error}); --debug shows where, please report it"))
    finally:
        signal.signal(signal.SIGTERM, previous)


def output_closed() -> NoReturn:
    """stdout (or stderr) was closed under us, as by `encodectl encode DATASET | head -1`: the run has
    stopped (running encodes killed, their temporary files removed); exit quietly, as a program killed
    by SIGPIPE does (141 = 128 + SIGPIPE), with nothing more written where nobody reads."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):  # not a real file (tests' runner)
            os.dup2(devnull, stream.fileno())
    os.close(devnull)
    raise typer.Exit(EXIT_OUTPUT_CLOSED)


def note_printer(prefix: str, json_output: bool, console: Console | None = None) -> Callable[[str], None]:
    """A `say` callback for the engine: one plain line `prefix: message` on stderr (or `console`), nothing
    with --json, whose output is the JSON alone."""

    def say(message: str) -> None:
        if not json_output:
            plain_line(console if console is not None else stderr, f"{prefix}: {message}")

    return say
