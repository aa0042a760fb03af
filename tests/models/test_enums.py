"""encodectl/models/enums.py: the fixed choices (codec, device, LeRobot release, ...) and what a result may say.

The choices as the CLI takes them: tests/cli/test_options.py; the releases in datasets:
tests/test_lerobot_versions.py."""

from __future__ import annotations

import pytest

from encodectl.models.enums import FailureKind, LeRobotRelease, Mode

pytestmark = pytest.mark.same_on_every_ffmpeg("names parsed: no ffmpeg runs")


@pytest.mark.parametrize(
    ("given", "release"),
    [("0.3.3", "0.3"), ("v0.4", "0.4"), ("0.5.1", "0.4"), (" 0.6.1 ", "0.6"), ("0.6", "0.6")],
)
def test_a_lerobot_version_names_the_release_that_writes_like_it(given: str, release: str) -> None:
    assert LeRobotRelease(LeRobotRelease.parse(given)) is LeRobotRelease(release)


@pytest.mark.parametrize("given", ["0.7.0", "1.0", "latest", 6])
def test_an_unknown_version_is_left_for_the_enum_to_refuse(given: object) -> None:
    assert LeRobotRelease.parse(given) == given
    with pytest.raises(ValueError):
        LeRobotRelease(given)


def test_the_values_users_and_json_see() -> None:
    assert Mode.async_ == "async"
    assert FailureKind.encoding == "encode"
