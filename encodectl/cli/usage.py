"""The command line as users meet it before any command runs: usage lines and help that name values, not
types; a usage error as one line (and, for an option another command has, why this one lacks it); the
entry point.
"""

from __future__ import annotations

import atexit
import gc
import sys
from typing import Any

import typer

from ..report.text import plain_line
from .commands import app
from .console import stderr

# click's UsageError, whether typer vendors click or depends on it: the base of BadParameter.
_CLICK_USAGE_ERROR: type[Exception] = typer.BadParameter.__mro__[1]

# What an option of `encode` means to `watch`, which lacks it: said instead of a guess at another option.
_NOT_IN_WATCH = {
    "--overwrite": "watch redoes a video itself when its frames change or it fails its checks; delete a video "
    "to have it made again",
    "--dry-run": "`encodectl encode DIRECTORY --dry-run` prints the commands",
    "--async": "watch always encodes in the background pool (--workers)",
    "--sync": "watch always encodes in the background pool (--workers 1 for one at a time)",
    "--executor": "watch encodes on this machine",
    "--gpu-resource": "watch encodes on this machine",
    "--verbose": "watch prints a line per video",
    "-v": "watch prints a line per video",
}
# Help texts name values, never Python types (typer shows <str>, <list[Path]> otherwise).
_METAVARS = {
    "fps": "RATE", "encoder": "NAME", "encoder_config": "JSON|@FILE", "preset": "NAME", "workers": "N|auto",
    "size": "WxH", "modes": "MODES", "executor": "local|dask|dask:ADDRESS", "gpu_resource": "NAME",
    "marker": "NAME", "ffmpeg": "PATH", "settle": "SECONDS", "seconds": "SECONDS",
}  # fmt: skip


def cli_command() -> Any:
    """The click command typer builds from `app`, with usage lines and help that name values, not types:
    `encode PATH...`, `--quality N`, `--fps RATE`. The command reference in the docs is generated from it."""
    command = typer.main.get_command(app)
    for sub in getattr(command, "commands", {}).values():
        for param in sub.params:
            if param.param_type_name == "argument":
                name = param.metavar = param.metavar or param.name.upper()
                shown = name if param.required else f"[{name}]"
                param.get_usage_pieces = lambda ctx, shown=shown: [shown]
                param.display_type_rich = lambda ctx: None  # help's name column: PATH..., not PATH... <list[Path]>
            elif not getattr(param, "is_flag", False) and param.metavar is None and not _is_choice(param):
                param.metavar = _METAVARS.get(param.name, "N" if _is_number(param) else "PATH")
    return command


def command_names() -> list[str]:
    """Every command, in the order `encodectl --help` lists them."""
    return list(getattr(cli_command(), "commands", {}))


def command_help(name: str | None = None, width: int = 80) -> str:
    """`encodectl [NAME] --help` as text, `width` columns wide: the docs' command reference is made of it."""
    root = cli_command()
    context = root.context_class(root, info_name="encodectl", terminal_width=width, max_content_width=width)
    if name is None:
        return str(root.get_help(context))
    sub = root.commands[name]
    sub_context = sub.context_class(sub, info_name=name, parent=context, terminal_width=width, max_content_width=width)
    return str(sub.get_help(sub_context))


def _is_choice(param: Any) -> bool:
    """An option of a few values (shown as they are: <h264|hevc|av1>), in typer's newer or older model."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:
        return bool(descriptor.is_choice)
    return hasattr(getattr(param, "type", None), "choices")


def _is_number(param: Any) -> bool:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:
        return descriptor.annotation in (int, float, int | None, float | None)
    return getattr(getattr(param, "type", None), "name", "") in ("integer", "float")


def _unknown_option_hint(error: Exception, command: str) -> str | None:
    """Why a command lacks an option that another command has, or None when no other command has it."""
    option = getattr(error, "option_name", None)
    if not option:
        return None
    root = typer.main.get_command(app)
    having = [
        name
        for name, sub in getattr(root, "commands", {}).items()
        if any(option in (*param.opts, *param.secondary_opts) for param in sub.params)
    ]
    if not having:
        return None
    which = command.rsplit(" ", 1)[-1]
    reason = _NOT_IN_WATCH.get(option) if which == "watch" else None
    also = f"; {reason}" if reason else f" ({', '.join(having)} has)"
    return f"No such option: {option}: `{which}` has none{also}"


def main(argv: list[str] | None = None) -> None:
    """The console entry point (`argv`: the arguments after the program's name, sys.argv's by default):
    every usage error is one line too, not a help panel."""
    # The interpreter's last garbage collections, over all that typer, pydantic and Rich built, took 50-80 ms
    # of an encode's exit here (2 cores, an exit_group trace), and under 10 ms with everything frozen first:
    # frozen objects are only left uncollected (encodectl's cleanup is in finally blocks, not finalizers),
    # while atexit callbacks, thread joins and flushes run as before. Once, however often main() runs.
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    try:
        code = cli_command()(args=argv, standalone_mode=False, prog_name="encodectl")
    except _CLICK_USAGE_ERROR as error:
        message = str(error.format_message()).replace("Value error, ", "")  # type: ignore[attr-defined]
        if type(error).__name__ == "NoArgsIsHelpError":
            sys.stdout.write(message + "\n")
            sys.exit(0)
        context = getattr(error, "ctx", None)
        command = context.command_path if context is not None else "encodectl"
        hint = _unknown_option_hint(error, command)
        if hint is not None:
            message = hint
        elif message.startswith("No such option: -"):
            message += " (a path that starts with '-' goes after `--`)"
        plain_line(stderr, f"encodectl: error: {message} (see `{command} --help`)")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
