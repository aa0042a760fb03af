"""watch --stream: each episode encoded while it is recorded, from its frame files as they appear.

A stream takes the frames in numeric order, each once it is complete; whatever a stream cannot
take (a frame out of order or of another size, a gap, an encoder that died, a depth or TIFF
episode) hands the episode back to the batch path, which encodes it from its files once it is
complete. The ledger hears of it through the gateway only.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EncodectlError, InputError
from ..frames.headers import image_header_of_bytes
from ..models import JobResult, JobStatus
from . import rules
from .context import WatchRun
from .observe import Observation

if TYPE_CHECKING:  # numpy loads only for watch --stream
    from ..stream.encoder import StreamEncoder


class _Live:
    """An episode being encoded while it is recorded."""

    def __init__(self, encoder: StreamEncoder, next_number: int, job_id: int) -> None:
        self.encoder = encoder
        self.start = next_number  # the first frame number it took; nothing below may appear later
        self.next_number = next_number
        self.job_id = job_id


class LiveStreams:
    def __init__(self, run: WatchRun) -> None:
        self.run = run
        self.live: dict[Path, _Live] = {}
        self.off: set[Path] = set()  # folders that fell back to the batch path this run

    def refreshed(self, observation: Observation) -> Observation:
        """`observation` with what this pass's streaming changed (a stream started, or given up)."""
        directory = observation.directory
        return observation.model_copy(update={"live": directory in self.live, "stream_off": directory in self.off})

    def leave_to_files(self, directory: Path) -> None:
        self.off.add(directory)

    def feed(self, observation: Observation) -> None:
        """Feed the episode's next frames, in numeric order and only once each is complete."""
        directory, numbered = observation.directory, observation.numbered
        live = self.live.get(directory)
        if live is None:
            live = self._start(observation, numbered)
            if live is None:
                return
        if why := rules.out_of_order(numbered, live.start):
            self._fall_back(directory, why)
            return
        while live.next_number in numbered:
            try:
                data = numbered[live.next_number].read_bytes()
                header = image_header_of_bytes(data)
            except (InputError, OSError):
                return  # not complete yet: next time
            if why := rules.wrong_size(live.next_number, header, (live.encoder.width, live.encoder.height)):
                self._fall_back(directory, why)
                return
            try:
                live.encoder.add_image(data)
            except EncodectlError as error:  # its encoder died: this episode only, from its files
                self._fall_back(directory, f"streaming failed ({error.message})")
                return
            live.next_number += 1

    def finish(self, observation: Observation) -> JobResult | None:
        """The episode is complete: its stream's verified result, or None if the batch path must take it
        (a frame the stream did not take, or a stream that failed)."""
        directory = observation.directory
        self.feed(observation)
        live = self.live.get(directory)
        if live is None:  # feed fell back
            return None
        if why := rules.incomplete(observation.numbered, live.start, live.next_number):
            self._fall_back(directory, why)
            return None
        del self.live[directory]
        last_frame_written = observation.signature.newest_mtime_ns / 1e9  # no second stat per frame
        result = live.encoder.close()
        # From the last frame file, not from close(): the time the episode took to be known complete counts.
        result.latency_s = max(0.0, time.time() - last_frame_written)
        self.run.tracker.finish(live.job_id, result)
        if result.status is not JobStatus.done:
            self.off.add(directory)
            self.run.gateway.abandon_stream(directory)
            self.run.say(f"{directory}: streaming failed ({result.reason}); encoding it from its files instead")
            return None
        return result

    def abort_all(self) -> None:
        """The watcher stops: every stream is dropped, its episode redone next time (its frames are on disk)."""
        for directory, live in list(self.live.items()):
            live.encoder.abort()
            self.run.tracker.forget(live.job_id)
            if self.run.gateway.is_streaming(directory):
                self.run.gateway.requeue(directory)
        self.live.clear()

    def _start(self, observation: Observation, numbered: dict[int, Path]) -> _Live | None:
        directory, source = observation.directory, observation.source
        if not numbered:
            return None
        first = min(numbered)
        try:
            header = image_header_of_bytes(numbered[first].read_bytes())
        except (InputError, OSError):
            return None  # the first frame is still being written
        if not rules.streamable(header):
            self.off.add(directory)
            self.run.say(f"{directory}: {header.describe()} frames are encoded from their files when it is complete")
            return None
        from ..stream.encoder import StreamEncoder

        same_as_encode = self.run.options.model_dump(include={"quality", "preset", "codec", "gop", "priority"})
        try:
            encoder = StreamEncoder(
                source.output, header.width, header.height, self.run.options.fps, images=True,
                camera=source.camera, episode=source.episode, ffmpeg_binary=self.run.ffmpeg,
                plan=self.run.plan, on_warning=self.run.say, die_with_parent=True, **same_as_encode,
            )  # fmt: skip
        except (EncodectlError, OSError) as error:
            self.off.add(directory)
            why = error.message if isinstance(error, EncodectlError) else error.strerror or str(error)
            self.run.say(f"{directory}: cannot start a stream ({why}); encoding it from its files when it is complete")
            return None
        live = self.live[directory] = _Live(encoder, first, self.run.tracker.add(source.episode, source.camera))
        self.run.gateway.start_stream(source, observation.signature)
        return live

    def _fall_back(self, directory: Path, why: str) -> None:
        live = self.live.pop(directory)
        live.encoder.abort()
        self.run.tracker.forget(live.job_id)
        self.off.add(directory)
        self.run.gateway.abandon_stream(directory)
        self.run.say(f"{directory}: {why}; encoding it from its files when it is complete")
