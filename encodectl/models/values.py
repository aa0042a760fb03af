"""Small values every model uses: an exact frame rate, the even size yuv420p needs, an episode's label, and
a pydantic error in one line."""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, PlainSerializer, ValidationError

# What people type for the NTSC rates, and the exact rates they mean.
_NTSC = {"23.976": Fraction(24000, 1001), "29.97": Fraction(30000, 1001), "59.94": Fraction(60000, 1001)}


def _parse_rate(value: Any) -> Fraction:
    """Accept 30, 29.97, "30000/1001" or "29.97"; keep the rate exact (29.97 means 30000/1001)."""
    if str(value).strip() in _NTSC:
        return _NTSC[str(value).strip()]
    if isinstance(value, Fraction):
        rate = value
    else:
        try:
            rate = Fraction(str(value).strip())
        except (ValueError, ZeroDivisionError) as error:
            raise ValueError(f"not a frame rate: {value!r} (use e.g. 30, 29.97 or 30000/1001)") from error
    if rate <= 0 or rate > 1000:
        raise ValueError(f"frame rate must be above 0 and at most 1000, not {value}")
    if rate.numerator > 1_000_000 or rate.denominator > 1_000_000:
        # MP4 stores time in 32-bit ticks: frame i at exactly i/fps needs a small exact fraction.
        raise ValueError(f"frame rate {value} cannot be stored exactly; give a fraction such as 30000/1001")
    return rate


FrameRate = Annotated[Fraction, BeforeValidator(_parse_rate), PlainSerializer(str, return_type=str)]


def even_size(width: int, height: int) -> tuple[int, int]:
    """Odd sizes are padded to even by one pixel (yuv420p needs even sizes); never rescaled."""
    return width + width % 2, height + height % 2


def episode_label(camera: str | None, episode: str) -> str:
    return f"{camera}/{episode}" if camera else episode


def one_line(error: ValidationError, prefix: str = "", as_option: bool = True, suffix: str = ": ") -> str:
    """The first problem of a pydantic error as '<where><suffix><message>', and how many more there are.

    With as_option, a field name is written as the CLI option (quality_x -> --quality-x)."""
    first = error.errors()[0]
    parts = [str(part) for part in first["loc"]]
    where = prefix + ("-".join(parts).replace("_", "-") if as_option else ".".join(parts)) if parts else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}{suffix if where else ''}{message}{more}"


Model = TypeVar("Model", bound=BaseModel)


def from_user(model: type[Model], values: dict[str, Any]) -> Model:
    """`model` from values a user gave (an option, a keyword of the Python API); a bad one is one UsageError
    line naming it as the option it is (--quality: ...), never pydantic's multi-line report."""
    from ..errors import UsageError

    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise UsageError(f"invalid {one_line(error, prefix='--')}") from None
