"""What ``encodectl watch`` is asked to do (WatchOptions) and what it did (WatchSummary)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class WatchOptions(BaseModel):
    root: Path
    output: Path | None = None
    marker: str | None = None
    settle: float = Field(5.0, ge=0)  # seconds without change after which an episode is complete
    sibling_settle: float = Field(0.5, ge=0)  # … once the same camera has started a later episode
    rescan: float = Field(2.0, gt=0)  # rescans, the safety net under filesystem events
    deep_rescan: float = Field(30.0, gt=0)  # also re-read finished episodes (frames rewritten in place)
    poll: bool = False  # no filesystem events: rescans only
    once: bool = False
    delete_frames: bool = False
    drain: bool = True  # on Ctrl-C, let running encodes finish
    stream: bool = False  # encode each episode's frames as they appear


class WatchSummary(BaseModel):
    done: int = 0
    failed: int = 0
    redone: int = 0  # of `done`: episodes encoded again after late frames
    adopted: int = 0  # videos found already made and verified
    waiting: int = 0  # episodes still being recorded when the watcher stopped
    failed_in_ledger: int = 0  # episodes in a failed state at the end, from this run or earlier ones
    done_in_ledger: int = 0  # episodes whose verified video the ledger holds at the end, from this run or earlier
    interrupted: bool = False
