"""What every part of one watch run shares, handed around as one value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..ffmpeg.encoder_choice import EncoderPlan
from ..job.progress import RunTracker
from ..models import EncodeOptions, FFmpegBinary
from .ledger_gateway import LedgerGateway
from .options import WatchOptions


@dataclass(frozen=True)
class WatchRun:
    """What the watcher was asked (`watch`, `options`), the encoder plan, the ledger's one door, and where
    progress (`tracker`) and notes (`say`) go."""

    watch: WatchOptions
    options: EncodeOptions
    ffmpeg: FFmpegBinary
    plan: EncoderPlan
    tracker: RunTracker
    gateway: LedgerGateway
    say: Callable[[str], None]
