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
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from ..errors import EncodectlError, Interrupted
from ..ffmpeg.encoder_choice import EncoderPlan
from ..frames.sequence import frame_files
from ..job.ledger import FrameSignature
from ..job.planning import plan_job, with_output_container
from ..job.progress import RunTracker
from ..job.verify import verify_output
from ..models import EncodeOptions, FFmpegBinary, JobResult, JobStatus
from ..outputs.sweep import remove_stale_temp_files
from ..run.pool import EncoderPool
from ..stream.recovery import discard_abandoned_streams
from . import rules
from .ledger_gateway import LedgerGateway
from .observe import Observation, Observer
from .options import WatchOptions
from .rules import Reconcile, Step, StreamStep, Verdict
from .signature import delete_encoded_frames
from .streams import LiveStreams


class Executor:
    def __init__(
        self,
        watch: WatchOptions,
        observer: Observer,
        gateway: LedgerGateway,
        options: EncodeOptions,
        ffmpeg_binary: FFmpegBinary,
        plan: EncoderPlan,
        tracker: RunTracker,
        wake: threading.Event,
        say: Callable[[str], None],
    ) -> None:
        self.watch = watch
        self.observer = observer
        self.gateway = gateway
        self.options = options
        self.ffmpeg = ffmpeg_binary
        self.plan = plan
        self.wake = wake
        self.say = say
        self.streams = LiveStreams(options, ffmpeg_binary, plan, tracker, gateway, say)
        self.running: dict[Path, tuple[Future[JobResult], FrameSignature]] = {}

    # -- a pass ------------------------------------------------------------------------------

    def scan(self) -> tuple[list[Observation], int]:
        """Observe, decide and act on every episode folder; return those ready to encode and how many
        are still being recorded."""
        now = time.monotonic()
        ready: list[Observation] = []
        waiting = 0
        observations = self.observer.observe(
            self.gateway.get, now, busy=self.running, live=self.streams.live, stream_off=self.streams.off
        )
        for observation in observations:
            step = self._act(observation, now)
            if step is Step.wait:
                waiting += 1
            elif step is Step.submit:
                ready.append(observation)
        self.gateway.note_waiting(waiting)
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
        step = rules.next_step(observation, self.watch, now)
        if step is Step.finish_stream:
            result = self.streams.finish(observation)
            if result is not None:
                self._record_result(observation.directory, result, observation.signature)
                return None
            step = Step.submit  # the stream was given up: its files decide
        if step is Step.submit and rules.is_redo(observation) and observation.record is not None:
            self.say(
                f"frames changed in {observation.directory} after it was encoded ({observation.record.signature.frames}"
                f" frames then, {observation.signature.frames} now); redoing its video"
            )
        return step

    def _stream(self, observation: Observation) -> None:
        step = rules.stream_step(observation, self.watch, time.time())
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
        if self.gateway.refuse(observation.directory, signature, reason):
            self.say(f"{observation.directory}: {reason}")

    # -- handing episodes to the pool, and taking results back -------------------------------

    def submit(self, observation: Observation, pool: EncoderPool) -> None:
        source = with_output_container(observation.source, self.options)  # depth kept exactly: EPISODE.mkv
        self.observer.remember_source(source)
        signature = observation.signature
        if rules.try_adopt(self.gateway.get(source.directory), source.output.exists()) and self._adopt(
            observation.model_copy(update={"source": source})
        ):
            return
        self.gateway.start_encode(source, signature)
        future = pool.submit_source(source)
        future.add_done_callback(lambda _: self.wake.set())
        self.running[source.directory] = (future, signature)

    def _adopt(self, observation: Observation) -> bool:
        """A video made before the ledger knew of it (by `encode`, or a lost ledger): kept if it passes the
        checks a new encode of these frames with these options would (frames, rate, size, pixels, codec)."""
        source = observation.source
        try:
            job = plan_job(source, self.options, self.plan.primary)
        except EncodectlError:
            return False  # the frames themselves are refused: the encode that follows says why
        try:
            verify_output(self.ffmpeg, job, source.output)  # depth: its frames hashed against the files
        except EncodectlError as error:
            self.say(f"{source.output} is there but is not this episode's video ({error.message}); redoing it")
            return False
        self.gateway.adopt(source, observation.signature)
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
            self.gateway.requeue(directory)  # redone from scratch next time
            return
        error = future.exception()
        if error is not None:
            self.gateway.fail(directory, str(error))
            return
        self._record_result(directory, future.result(), signature)

    def _record_result(self, directory: Path, result: JobResult, signature: FrameSignature) -> None:
        deleted = None
        if result.status is JobStatus.done and self.watch.delete_frames:
            # Only after the video is verified, only if no frame arrived since it was made.
            deleted = delete_encoded_frames(directory, signature, result.frames_digest)
            if not deleted:
                self.say(f"not deleting frames in {directory}: frames arrived or changed while it was encoded")
        self.gateway.finish(directory, result, signature, frames_deleted=deleted)

    # -- after a restart -----------------------------------------------------------------------

    def reconcile(self) -> None:
        """Redo interrupted encodes from scratch, redo videos that went missing."""
        for record in self.gateway.all():
            source = record.source
            action = rules.reconcile(record, record.output.exists(), functools.partial(_holds_frames, source))
            if action is Reconcile.redo_interrupted:
                removed = remove_stale_temp_files(record.output) + discard_abandoned_streams(record.output)
                extra = f" ({len(removed)} temporary file(s) removed)" if removed else ""
                self.say(f"{source}: was queued or encoding when the last watcher stopped; redoing it{extra}")
                self.gateway.requeue(source)
            elif action is Reconcile.lost:
                reason = f"its video {record.output} is gone and no frames are left to make it again"
                self.gateway.lose(source, reason)
                self.say(f"error: {source}: {reason}")
            elif action is Reconcile.redo_missing:
                self.say(f"{record.output} is missing; redoing it")
                self.gateway.redo_missing(source)
            elif action is Reconcile.forget:
                self.gateway.forget(source)
                self.say(f"{source} is gone; its failure is forgotten ({record.reason})")


def _holds_frames(directory: Path) -> bool:
    return bool(frame_files(directory))
