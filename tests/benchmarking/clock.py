"""A stand-in for the `time` module of encodectl/benchmarking/recorder.py: a clock that moves only when told,
so that a recording paced in real time runs at once and its deadlines are decided by the test."""

from __future__ import annotations


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
