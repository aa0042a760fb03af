"""encodectl/models/values.py: an exact frame rate, the even size yuv420p needs, an episode's label, a
pydantic error in one line.

Rates and sizes as the CLI takes them, and the videos they make: tests/cli/test_options.py,
tests/test_bad_input.py, tests/test_encode.py."""

from __future__ import annotations

from fractions import Fraction

import pytest
from pydantic import BaseModel, ValidationError

from encodectl.models.values import FrameRate, episode_label, even_size, one_line

pytestmark = pytest.mark.same_on_every_ffmpeg("values parsed and formatted: no ffmpeg runs")


class Rated(BaseModel):
    fps: FrameRate
    quality_x: int = 0


@pytest.mark.parametrize(
    ("given", "rate"),
    [(30, Fraction(30)), ("29.97", Fraction(30000, 1001)), (" 59.94 ", Fraction(60000, 1001)),
     ("30000/1001", Fraction(30000, 1001)), (12.5, Fraction(25, 2)), (Fraction(7, 3), Fraction(7, 3))],
)  # fmt: skip
def test_a_rate_is_kept_exact(given: object, rate: Fraction) -> None:
    assert Rated(fps=given).fps == rate
    assert Rated(fps=given).model_dump(mode="json")["fps"] == str(rate)


@pytest.mark.parametrize(
    ("given", "message"),
    [("fast", "not a frame rate: 'fast' (use e.g. 30, 29.97 or 30000/1001)"),
     ("1/0", "not a frame rate: '1/0'"), (0, "frame rate must be above 0 and at most 1000, not 0"),
     (1001, "frame rate must be above 0 and at most 1000, not 1001"),
     ("1000001/1000000", "frame rate 1000001/1000000 cannot be stored exactly")],
)  # fmt: skip
def test_a_bad_rate_is_one_line(given: object, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Rated(fps=given)
    assert one_line(caught.value, prefix="--").startswith(f"--fps: {message}")


def test_one_line_counts_the_other_problems_and_names_the_option() -> None:
    with pytest.raises(ValidationError) as caught:
        Rated(fps="x", quality_x="y")
    assert one_line(caught.value, prefix="--").endswith(" (and 1 more)")
    with pytest.raises(ValidationError) as caught:
        Rated(fps=30, quality_x="y")
    assert one_line(caught.value, prefix="--").startswith("--quality-x: Input should be a valid integer")
    assert one_line(caught.value, as_option=False, suffix=" ").startswith("quality_x Input should")


def test_even_size_pads_odd_sides_by_one() -> None:
    assert even_size(64, 48) == (64, 48)
    assert even_size(63, 47) == (64, 48)
    assert episode_label("top", "ep1") == "top/ep1"
    assert episode_label(None, "ep1") == episode_label("", "ep1") == "ep1"
