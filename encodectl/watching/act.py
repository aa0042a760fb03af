"""The act step of a watch pass: carry out what the rules decide for each observed episode.

One pass: observe each folder (observe.py), decide (rules.py), act: refuse, stream, wait,
close a stream, or hand the episode to the pool. Jobs of the pool are collected as they end,
and a restarted watcher first reconciles the ledger with the disk. Every ledger change goes
through the gateway.
"""

from __future__ import annotations

import functools
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from ..errors import EncodectlError, Interrupted
from ..job.ledger import FrameSignature
from ..job.planning import plan_job, with_output_container
from ..job.verify import verify_output
from ..models import JobResult, JobStatus
from ..outputs.sweep import remove_stale_temp_files
from ..run.pool import EncoderPool
from ..stream.recovery import discard_abandoned_streams
from . import rules
from .context import WatchRun
from .observe import Observation, Observer
from .rules import Reconcile, Step, StreamStep, Verdict
from .signature import delete_encoded_frames
from .streams import LiveStreams


class Actor:
    """Carries out what the rules decide for each observed episode: refuse, stream, wait, hand to the pool."""

    def __init__(self, run: WatchRun, observer: Observer, wake: threading.Event) -> None:
        self.run = run
        self.observer = observer
        self.wake = wake
        self.streams = LiveStreams(run)
        self.running: dict[Path, tuple[Future[JobResult], FrameSignature]] = {}

    # -- a pass ------------------------------------------------------------------------------

    def scan(self) -> tuple[list[Observation], int]:
        """Observe, decide and act on every episode folder; return those ready to encode and how many
        are still being recorded."""
        now = time.monotonic()
        ready: list[Observation] = []
        waiting = 0
        observations = self.observer.observe(
            self.run.gateway.get, now, busy=self.running, live=self.streams.live, stream_off=self.streams.off
        )
        for observation in observations:
            step = self._act(observation, now)
            if step is Step.wait:
                waiting += 1
            elif step is Step.submit:
                ready.append(observation)
        self.run.gateway.note_waiting(waiting)
        return ready, waiting

    def _act(self, observation: Observation, now: float) -> Step | None:
        """What became of the episode this pass: None if nothing more is to be done with it."""
        judged = rules.verdict(observation)
        if judged is Verdict.unchanged:
            return None
        if judged is Verdict.refuse:
            self._refuse(observation)
            return None
        self._stream(observation)
        observation = self.streams.refreshed(observation)
        step = rules.next_step(observation, self.run.watch, now)
        if step is Step.finish_stream:
            result = self.streams.finish(observation)
            if result is not None:
                self._record_result(observation.directory, result, observation.signature)
                return None
            step = Step.submit  # the stream was given up: its files decide
        if step is Step.submit and rules.is_redo(observation) and observation.record is not None:
            self.run.say(
                f"frames changed in {observation.directory} after it was encoded ({observation.record.signature.frames}"
                f" frames then, {observation.signature.frames} now); redoing its video"
            )
        return step

    def _stream(self, observation: Observation) -> None:
        step = rules.stream_step(observation, self.run.watch, time.time())
        if step is StreamStep.leave_to_files:
            self.streams.leave_to_files(observation.directory)
        elif step is StreamStep.feed:
            self.streams.feed(observation)

    def _refuse(self, observation: Observation) -> None:
        """New frames in an episode whose encoded frames were deleted: redoing would lose the first part."""
        signature = observation.signature
        reason = (
            f"{signature.frames} frame(s) arrived after this episode was encoded and its frames deleted; "
            f"its video is kept as it was, the new frames are left alone"
        )
        if self.run.gateway.refuse(observation.directory, signature, reason):
            self.run.say(f"{observation.directory}: {reason}")

    # -- handing episodes to the pool, and taking results back -------------------------------

    def submit(self, observation: Observation, pool: EncoderPool) -> None:
        source = with_output_container(observation.source, self.run.options)  # depth kept exactly: EPISODE.mkv
        self.observer.remember_source(source)
        signature = observation.signature
        if rules.try_adopt(
            self.run.gateway.get(source.directory), self.observer.video_exists(source.output)
        ) and self._adopt(observation.model_copy(update={"source": source})):
            return
        self.run.gateway.start_encode(source, signature)
        future = pool.submit_source(source)
        future.add_done_callback(lambda _: self.wake.set())
        self.running[source.directory] = (future, signature)

    def _adopt(self, observation: Observation) -> bool:
        """A video made before the ledger knew of it (by `encode`, or a lost ledger): kept if it passes the
        checks a new encode of these frames with these options would (frames, rate, size, pixels, codec)."""
        source = observation.source
        try:
            job = plan_job(source, self.run.options, self.run.plan.primary)
        except EncodectlError:
            return False  # the frames themselves are refused: the encode that follows says why
        try:
            verify_output(self.run.ffmpeg, job, source.output)  # depth: its frames hashed against the files
        except EncodectlError as error:
            self.run.say(f"{source.output} is there but is not this episode's video ({error.message}); redoing it")
            return False
        self.run.gateway.adopt(source, observation.signature)
        return True

    def collect(self) -> None:
        """Record the jobs that have ended."""
        for directory, (future, signature) in list(self.running.items()):
            if future.done():
                del self.running[directory]
                self._record(directory, future, signature)

    def collect_all(self) -> None:
        """Record every job, ended or not (the pool has been closed: those not ended were cancelled)."""
        for directory, (future, signature) in list(self.running.items()):
            del self.running[directory]
            self._record(directory, future, signature)

    def _record(self, directory: Path, future: Future[JobResult], signature: FrameSignature) -> None:
        if future.cancelled() or isinstance(future.exception(), Interrupted):
            self.run.gateway.requeue(directory)  # redone from scratch next time
            return
        error = future.exception()
        if error is not None:
            self.run.gateway.fail(directory, str(error))
            return
        self._record_result(directory, future.result(), signature)

    def _record_result(self, directory: Path, result: JobResult, signature: FrameSignature) -> None:
        deleted = None
        if result.status is JobStatus.done and self.run.watch.delete_frames:
            # Only after the video is verified, only if no frame arrived since it was made.
            deleted = delete_encoded_frames(directory, signature, result.frames_digest)
            if not deleted:
                self.run.say(f"not deleting frames in {directory}: frames arrived or changed while it was encoded")
        self.run.gateway.finish(directory, result, signature, frames_deleted=deleted)

    # -- what the loop asks ---------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """No job in the pool."""
        return not self.running

    def encodes_running(self) -> int:
        return sum(future.running() for future, _ in self.running.values())

    def queued(self) -> tuple[int, int]:
        """Episodes waiting in the pool's queue, and their frames."""
        waiting = [signature for future, signature in self.running.values() if not future.running()]
        return len(waiting), sum(signature.frames for signature in waiting)

    def settle_deadlines(self) -> list[float]:
        """When each episode not in the pool last changed: the times the loop may wake for."""
        return self.observer.changed_times(self.running)

    def abort_streams(self) -> None:
        self.streams.abort_all()

    # -- after a restart -----------------------------------------------------------------------

    def reconcile(self) -> None:
        """Redo interrupted encodes from scratch, redo videos that went missing."""
        for record in self.run.gateway.all():
            source = record.source
            video_exists = self.observer.video_exists(record.output)
            action = rules.reconcile(record, video_exists, functools.partial(self.observer.frames_left, source))
            if action is Reconcile.redo_interrupted:
                removed = remove_stale_temp_files(record.output) + discard_abandoned_streams(record.output)
                extra = f" ({len(removed)} temporary file(s) removed)" if removed else ""
                self.run.say(f"{source}: was queued or encoding when the last watcher stopped; redoing it{extra}")
                self.run.gateway.requeue(source)
            elif action is Reconcile.lost:
                reason = f"its video {record.output} is gone and no frames are left to make it again"
                self.run.gateway.lose(source, reason)
                self.run.say(f"error: {source}: {reason}")
            elif action is Reconcile.redo_missing:
                self.run.say(f"{record.output} is missing; redoing it")
                self.run.gateway.redo_missing(source)
            elif action is Reconcile.forget:
                self.run.gateway.forget(source)
                self.run.say(f"{source} is gone; its failure is forgotten ({record.reason})")
