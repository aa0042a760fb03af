"""The encodectl command line: parse options, call the library (encodectl/api.py), render through report/.

commands.py holds the commands, options.py the options `encode` and `watch` share, console.py where
output goes and how an error becomes one line, display.py the live table, usage.py help, usage errors
and the entry point.
"""

from .commands import app
from .usage import cli_command, command_help, command_names, main

__all__ = ["app", "cli_command", "command_help", "command_names", "main"]
