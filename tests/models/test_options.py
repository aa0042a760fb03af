"""encodectl/models/options.py: what a user can say about how to encode, and user values made into options.

Every option as the CLI takes it, a bad one in one line: tests/cli/test_options.py, tests/test_bad_input.py."""

from __future__ import annotations

from fractions import Fraction

import pytest
from pydantic import ValidationError

from encodectl.errors import UsageError
from encodectl.models.enums import LeRobotRelease, Mode, Priority, Profile
from encodectl.models.options import MAX_WORKERS, EncodeOptions, options_from

pytestmark = pytest.mark.same_on_every_ffmpeg("options validated: no ffmpeg runs")


def test_defaults_and_values_as_typed() -> None:
    options = options_from({"fps": "29.97", "workers": " auto ", "lerobot_version": "0.5.1"})
    assert options.fps == Fraction(30000, 1001)
    assert options.workers == "auto"
    assert options.lerobot_version is LeRobotRelease.v04
    assert options_from({"workers": "8"}).workers == 8


@pytest.mark.parametrize(
    ("values", "message"),
    [({"workers": 0}, f"invalid --workers: must be auto or a number from 1 to {MAX_WORKERS}, not 0"),
     ({"workers": "many"}, "invalid --workers: must be auto or a number from 1 to 256, not 'many'"),
     ({"quality": 52}, "invalid --quality: Input should be less than or equal to 51"),
     ({"gpu_sessions": 0}, "invalid --gpu-sessions: Input should be greater than or equal to 1"),
     ({"colour": "red"}, "invalid --colour: Extra inputs are not permitted")],
)  # fmt: skip
def test_a_bad_value_is_one_usage_line_naming_the_option(values: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        options_from(values)
    assert str(caught.value) == message


def test_the_lerobot_profile_refuses_the_settings_it_fixes() -> None:
    assert EncodeOptions(profile=Profile.lerobot, codec="hevc", fps=30).profile is Profile.lerobot
    with pytest.raises(ValidationError, match="drop --device, --quality or the profile"):
        EncodeOptions(profile=Profile.lerobot, quality=20, device="cpu")


def test_ffmpeg_runs_lower_in_the_background_unless_asked() -> None:
    assert EncodeOptions().nice == 10  # async: a recorder may run beside it
    assert EncodeOptions(mode=Mode.sync).nice == 0
    assert EncodeOptions(mode=Mode.sync, priority=Priority.low).nice == 10
    assert EncodeOptions(priority=Priority.normal).nice == 0
