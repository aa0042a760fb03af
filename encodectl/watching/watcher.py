"""``encodectl watch``: encode each episode as soon as the recorder has finished it.

The recorder knows nothing of encodectl. An episode folder is complete when, in
this order: its marker file exists (``--marker``); the same camera has started a
later episode and this one has been still for a moment; or nothing in it has
changed for ``--settle`` seconds. Complete episodes go through the same pool as
``encode --async``. A SQLite ledger in the output root remembers every episode,
so a watcher that is stopped, killed or restarted neither loses nor repeats a
video, and frames that arrive after an episode was encoded get it redone.

This module is the loop: the lock, the ledger, the pool, filesystem events, and the
shutdown. Each pass observes (observe.py), decides (rules.py) and acts (actor.py,
streams.py); every ledger change goes through ledger_gateway.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..errors import EncodectlError, UsageError
from ..ffmpeg.encoder_choice import EncoderPlan
from ..ffmpeg.process import signals_deferred
from ..frames.sequence import IMAGE_EXTENSIONS, has_frames, what_the_link_is
from ..job.ledger import Ledger, WatchLock, state_dir
from ..job.progress import RunTracker
from ..models import EncodeOptions, FFmpegBinary
from ..run.pool import EncoderPool
from . import rules
from .act import Actor
from .context import WatchRun
from .ledger_gateway import LedgerGateway
from .observe import Observer
from .options import WatchOptions, WatchSummary
from .signature import frame_signature
from .walker import FolderWalker

__all__ = ["FolderWalker", "WatchOptions", "WatchSummary", "Watcher", "frame_signature"]

BACKLOG_REPORT_EVERY_S = 10.0
BACKLOG_GRACE_S = 5.0  # a queue this old means encoding is not keeping up


class Watcher:
    def __init__(
        self,
        watch: WatchOptions,
        options: EncodeOptions,
        ffmpeg_binary: FFmpegBinary,
        plan: EncoderPlan,
        tracker: RunTracker,
        say: Callable[[str], None],
    ) -> None:
        self.watch = watch
        self.root = watch.root.absolute()
        self.out_root = (watch.output or watch.root).absolute()
        # Every submit re-encodes: whether a video is still good is the ledger's call, not the file's existence.
        self.options = options.model_copy(update={"overwrite": True})
        self.ffmpeg = ffmpeg_binary
        self.plan = plan
        self.tracker = tracker
        self.say = say
        self.summary = WatchSummary()
        self._wake = threading.Event()
        self._events_stop = threading.Event()
        self._last_backlog_report = 0.0
        self._behind = False
        self._queue_since: float | None = None

    # -- the loop ------------------------------------------------------------------------

    def run(self) -> WatchSummary:
        if not self.root.is_dir():
            link = what_the_link_is(self.root)
            if link is not None:
                raise UsageError(f"{self.root} is {link}")
            raise UsageError(f"{self.root} is not a folder (create it, or start watch once the recorder has)")
        if has_frames(self.root):
            raise UsageError(
                f"{self.root} holds frames itself; watch the folder above it "
                "(a dataset root, or a folder of episode folders)"
            )
        lock = WatchLock(self.out_root)
        lock.acquire()
        try:  # the lock is released whatever happens next, an unreadable ledger included
            ledger = Ledger(state_dir(self.out_root) / "state.sqlite")
            try:
                self._run(LedgerGateway(ledger, self.summary))
            finally:
                self._events_stop.set()
                ledger.close()
        finally:
            lock.release()
        return self.summary

    def _run(self, gateway: LedgerGateway) -> None:
        pool = EncoderPool(tracker=self.tracker, ffmpeg_binary=self.ffmpeg, plan=self.plan, encode_options=self.options)
        run = WatchRun(self.watch, self.options, self.ffmpeg, self.plan, self.tracker, gateway, self.say)
        actor = Actor(run, Observer(self.root, self.watch, self.say), self._wake)
        if not self.watch.once:
            self.say(f"watching {self.root} (videos and ledger under {self.out_root}); Ctrl-C to stop")
        drain = self.watch.drain
        try:
            actor.reconcile()
            if not self.watch.poll and not self.watch.once:
                threading.Thread(target=self._events, name="encodectl-events", daemon=True).start()
            self._loop(actor, pool)
        except KeyboardInterrupt:
            gateway.note_interrupted()
            running = actor.encodes_running()
            what = "letting them finish (Ctrl-C again to cancel them)" if drain else "cancelling them"
            self.say(f"stopping: no new episodes taken; {running} encode(s) running, {what}")
        except BaseException:
            drain = False  # an error of the watcher's own: stop everything, leave the ledger consistent
            raise
        finally:
            self._shutdown(actor, pool, drain=drain)
        self._report_unfinished(gateway)

    def _report_unfinished(self, gateway: LedgerGateway) -> None:
        """Episodes the ledger still holds as failed: said at the end, so a script's exit code can tell."""
        failed = gateway.failed_records()
        for record in failed[:10]:
            self.say(f"failed: {record.source}: {record.reason}")
        if len(failed) > 10:
            self.say(f"… and {len(failed) - 10} more failed episode(s) in {gateway.path}")

    def _loop(self, actor: Actor, pool: EncoderPool) -> None:
        while True:
            self._wake.clear()
            pool.raise_if_stopped()  # a finished job's news could not be told (stdout closed): stop too
            if not self.root.is_dir():
                raise EncodectlError(f"the watched folder {self.root} has gone")
            actor.collect()
            ready, waiting = actor.scan()
            for observation in ready:
                actor.submit(observation, pool)
            self._report_backlog(actor, pool)
            if self.watch.once and actor.idle and not ready:
                if waiting:
                    self.say(f"{waiting} episode(s) changed within the last {self.watch.settle:g} s (--settle), so may "
                             "still be recorded; left for later")  # fmt: skip
                return
            now = time.monotonic()
            self._wake.wait(rules.next_wait(actor.settle_deadlines(), self.watch, now))

    def _events(self) -> None:
        """Wake the loop when frames or markers change (inotify and friends); rescans catch what events miss."""
        try:
            import watchfiles
        except ImportError:
            return
        marker = self.watch.marker

        def relevant(change: object, path: str) -> bool:
            name = path.rsplit("/", 1)[-1].lower()
            return name.endswith(IMAGE_EXTENSIONS) or (marker is not None and name == marker.lower())

        try:
            for _ in watchfiles.watch(
                self.root, watch_filter=relevant, stop_event=self._events_stop, debounce=100, step=50,
                rust_timeout=1000, yield_on_timeout=False, raise_interrupt=False,
            ):  # fmt: skip
                self._wake.set()
        except (OSError, RuntimeError) as error:
            self.say(f"filesystem events unavailable ({error}); rescanning every {self.watch.rescan:g} s")

    def _shutdown(self, actor: Actor, pool: EncoderPool, drain: bool) -> None:
        with signals_deferred():  # a second Ctrl-C must not leave a stream's ffmpeg (its own process group) running
            actor.abort_streams()  # their frames are on disk: redone next time
        try:
            pool.close(wait=drain, cancel_queued=True)
        except KeyboardInterrupt:
            self.say("second interrupt: cancelling running encodes")
            pool.close(wait=False)
        actor.collect_all()

    def _report_backlog(self, actor: Actor, pool: EncoderPool) -> None:
        """Say so when encoding falls behind the recording, instead of growing a queue in silence.

        Behind means episodes have waited in the queue for a while, not just for a moment
        between one encode ending and the next starting."""
        now = time.monotonic()
        if pool.queue_depth == 0:
            if self._behind and not self.watch.once:
                self.say("caught up with the recording")
            self._behind, self._queue_since = False, None
            return
        self._queue_since = self._queue_since or now
        if now - self._queue_since < BACKLOG_GRACE_S or now - self._last_backlog_report < BACKLOG_REPORT_EVERY_S:
            return
        episodes_waiting, frames_waiting = actor.queued()
        rate = self.tracker.snapshot(limit=0).live_fps  # the running encodes' rate now, from ffmpeg
        goal = "to finish" if self.watch.once else "to catch up"
        eta = f"about {frames_waiting / rate:.0f} s {goal} at {rate:.0f} fps" if rate > 0 else "no rate yet"
        # --once encodes what a recording left (often none runs): a queue then is work to do, not lag.
        what = "queued" if self.watch.once else "behind the recording:"
        self.say(f"{what} {episodes_waiting} episode(s), {frames_waiting} frames waiting; {eta}")
        self._behind, self._last_backlog_report = True, now
