"""LeRobot's `lerobot-record`, run in this process with its streaming encoder going through encodectl.

    encodectl lerobot-record --robot.type=so101_follower ... --dataset.repo_id=me/pick_cube
    python -m encodectl.stream.lerobot_record --robot.type=so101_follower ...

The arguments go to LeRobot as they are. LeRobot streams only with `--dataset.streaming_encoding=true`
(its default is false), so that is added unless the command says otherwise. LeRobot's own errors are
LeRobot's to show; encodectl's (LeRobot missing, a contract it was not made for) are one line, exit 2.
"""

from __future__ import annotations

import sys

from ..errors import EncodectlError
from .lerobot import INSTALL_HINT, install_streaming

STREAMING_FLAG = "--dataset.streaming_encoding"
EXIT_USAGE, EXIT_INTERRUPTED = 2, 130


def with_streaming(args: list[str]) -> tuple[list[str], str | None]:
    """LeRobot's arguments, streaming turned on unless they say; and what to tell the user about it."""
    given = [arg for arg in args if arg == STREAMING_FLAG or arg.startswith(STREAMING_FLAG + "=")]
    if not given:
        return [*args, f"{STREAMING_FLAG}=true"], None
    value = given[-1].partition("=")[2].strip().lower()
    if value in ("false", "0", "no"):
        return args, f"{given[-1]}: LeRobot writes images and encodes them itself; encodectl is not used"
    return args, None


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        install_streaming()
        from lerobot.scripts.lerobot_record import main as lerobot_record  # type: ignore[import-not-found]
    except EncodectlError as error:
        print(f"encodectl: error: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    except ImportError as error:
        print(f"encodectl: error: LeRobot's lerobot-record is not here ({error}); {INSTALL_HINT}", file=sys.stderr)
        return EXIT_USAGE
    args, note = with_streaming(args)
    if note is not None:
        print(f"encodectl: {note}", file=sys.stderr)
    sys.argv = ["lerobot-record", *args]  # LeRobot's parser reads its arguments there
    try:
        lerobot_record()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except SystemExit as ended:
        code = ended.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
