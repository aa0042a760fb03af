"""encodectl/errors.py: the exception family and the exit code each kind declares.

How the CLI turns them into one line and an exit status, command by command: tests/test_bad_input.py and
tests/test_cli_behaviour.py."""

from __future__ import annotations

import pytest

from encodectl import errors

pytestmark = pytest.mark.same_on_every_ffmpeg("the exception classes run no ffmpeg")


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (errors.EncodectlError, 1),
        (errors.UsageError, 2),
        (errors.DatasetBusy, 2),
        (errors.StreamStateError, 2),
        (errors.InputError, 2),
        (errors.FFmpegNotFoundError, 2),
        (errors.EncodeError, 1),
        (errors.VerificationError, 1),
        (errors.StateError, 2),
        (errors.LedgerStateError, 1),
        (errors.QueueFullError, 1),
        (errors.Interrupted, 130),
    ],
)
def test_each_kind_has_its_exit_code(kind: type[errors.EncodectlError], code: int) -> None:
    assert kind.exit_code == code
    assert kind("x").exit_code == code
    assert issubclass(kind, errors.EncodectlError)


def test_a_kind_without_its_own_code_inherits_its_bases_and_does_not_change_it() -> None:
    class Narrower(errors.InputError):
        pass

    class Declared(errors.InputError, exit_code=7):
        pass

    assert Narrower.exit_code == 2
    assert Declared.exit_code == 7
    assert errors.InputError.exit_code == 2


def test_the_message_is_the_string_and_interrupted_has_a_default() -> None:
    error = errors.EncodeError("ffmpeg failed on episode_000001")
    assert str(error) == error.message == "ffmpeg failed on episode_000001"
    assert str(errors.Interrupted()) == "interrupted"
    assert isinstance(errors.DatasetBusy("busy"), errors.UsageError)
