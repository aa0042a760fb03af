"""What encodes a batch of episodes, as the callers that choose how see it.

`encode` (local pool, sync or Dask), `watch`, `check --repair` and the finishing of a LeRobot dataset
each receive a runner and call it; none of them needs to know which one it was given. It lives here,
below all of them, so that none imports another's room for a type.
"""

from __future__ import annotations

from collections.abc import Callable

from ..frames.layout import EpisodeSource
from ..models import EncodeOptions, JobResult

SourceRunner = Callable[[list[EpisodeSource], EncodeOptions], list[JobResult]]
"""Encodes the episodes with the options and returns one result per episode, in their order."""
