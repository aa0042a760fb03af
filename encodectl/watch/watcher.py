"""``encodectl watch``: encode each episode as soon as the recorder has finished it.

The recorder knows nothing of encodectl. An episode folder is complete when, in
this order: its marker file exists (``--marker``); the same camera has started a
later episode and this one has been still for a moment; or nothing in it has
changed for ``--settle`` seconds. Complete episodes go through the same pool as
``encode --async``. A SQLite ledger in the output root remembers every episode,
so a watcher that is stopped, killed or restarted neither loses nor repeats a
video, and frames that arrive after an episode was encoded get it redone.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:  # numpy loads only for watch --stream
    from ..stream.encoder import StreamEncoder

from ..errors import EncodectlError, InputError, Interrupted, UsageError
from ..ffmpeg.encoder_choice import EncoderPlan
from ..ffmpeg.process import signals_deferred
from ..frames.headers import image_header_of_bytes
from ..frames.layout import EpisodeSource, natural_key, source_below
from ..frames.sequence import IMAGE_EXTENSIONS, frame_files, frames_by_number, has_frames, is_frame_name
from ..job.ledger import STATE_DIR, EpisodeRecord, FrameSignature, Ledger, LedgerState, WatchLock
from ..job.progress import RunTracker
from ..job.runner import plan_job, remove_stale_temp_files, with_output_container
from ..job.verify import verify_output
from ..models import EncodeOptions, FFmpegBinary, JobResult, JobStatus
from ..run.pool import EncoderPool
from ..stream.recovery import discard_abandoned_streams

BACKLOG_REPORT_EVERY_S = 10.0
BACKLOG_GRACE_S = 5.0  # a queue this old means encoding is not keeping up


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
    interrupted: bool = False


class _Seen:
    """One episode folder as last observed."""

    def __init__(self, source: EpisodeSource, signature: FrameSignature, changed_at: float) -> None:
        self.source = source
        self.signature = signature
        self.changed_at = changed_at
        self.dir_mtime_ns = 0


def frame_signature(directory: Path) -> FrameSignature:
    """Count, bytes and newest modification time of the frames; OSError if the folder cannot be read."""
    return _signature_of(_frame_stats(directory))


def _frame_stats(directory: Path) -> dict[Path, os.stat_result]:
    stats = {}
    for path in frame_files(directory):
        try:
            stats[path] = path.stat()
        except FileNotFoundError:
            continue  # renamed or removed since it was listed
    return stats


def _signature_of(stats: dict[Path, os.stat_result]) -> FrameSignature:
    return FrameSignature(
        frames=len(stats),
        total_bytes=sum(stat.st_size for stat in stats.values()),
        newest_mtime_ns=max((stat.st_mtime_ns for stat in stats.values()), default=0),
    )


def _same_file(path: Path, before: os.stat_result) -> bool:
    try:
        now = path.stat()
    except OSError:
        return False
    return (now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns) == (
        before.st_dev, before.st_ino, before.st_size, before.st_mtime_ns
    )  # fmt: skip


class _Live:
    """An episode being encoded while it is recorded (watch --stream)."""

    def __init__(self, encoder: StreamEncoder, next_number: int, job_id: int) -> None:
        self.encoder = encoder
        self.start = next_number  # the first frame number it took; nothing below may appear later
        self.next_number = next_number
        self.job_id = job_id


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
        self._seen: dict[Path, _Seen] = {}
        self._running: dict[Path, tuple[Future[JobResult], FrameSignature]] = {}
        self._wake = threading.Event()
        self._events_stop = threading.Event()
        self._last_backlog_report = 0.0
        self._behind = False
        self._queue_since: float | None = None
        self._last_deep_scan = time.monotonic()
        self._warned: set[Path] = set()
        self._walker = FolderWalker(self.root)
        self._live: dict[Path, _Live] = {}
        self._stream_off: set[Path] = set()  # folders that fell back to the batch path this run

    # -- the loop ------------------------------------------------------------------------

    def run(self) -> WatchSummary:
        if not self.root.is_dir():
            raise UsageError(f"{self.root} is not a folder (create it, or start watch once the recorder has)")
        if has_frames(self.root):
            raise UsageError(
                f"{self.root} holds frames itself; watch the folder above it "
                "(a dataset root, or a folder of episode folders)"
            )
        lock = WatchLock(self.out_root)
        lock.acquire()
        try:  # the lock is released whatever happens next, an unreadable ledger included
            ledger = Ledger(self.out_root / STATE_DIR / "state.sqlite")
            try:
                self._run(ledger)
            finally:
                self._events_stop.set()
                ledger.close()
        finally:
            lock.release()
        return self.summary

    def _run(self, ledger: Ledger) -> None:
        pool = EncoderPool(tracker=self.tracker, ffmpeg_binary=self.ffmpeg, plan=self.plan, encode_options=self.options)
        if not self.watch.once:
            self.say(f"watching {self.root} (videos and ledger under {self.out_root}); Ctrl-C to stop")
        drain = self.watch.drain
        try:
            self._reconcile(ledger)
            if not self.watch.poll and not self.watch.once:
                threading.Thread(target=self._events, name="encodectl-events", daemon=True).start()
            self._loop(ledger, pool)
        except KeyboardInterrupt:
            self.summary.interrupted = True
            running = sum(future.running() for future, _ in self._running.values())
            what = "letting them finish (Ctrl-C again to cancel them)" if drain else "cancelling them"
            self.say(f"stopping: no new episodes taken; {running} encode(s) running, {what}")
        except BaseException:
            drain = False  # an error of the watcher's own: stop everything, leave the ledger consistent
            raise
        finally:
            self._shutdown(ledger, pool, drain=drain)
        self._report_unfinished(ledger)

    def _report_unfinished(self, ledger: Ledger) -> None:
        """Episodes the ledger still holds as failed: said at the end, so a script's exit code can tell."""
        failed = [record for record in ledger.all() if record.state is LedgerState.failed]
        self.summary.failed_in_ledger = len(failed)
        for record in failed[:10]:
            self.say(f"failed: {record.source}: {record.reason}")
        if len(failed) > 10:
            self.say(f"… and {len(failed) - 10} more failed episode(s) in {ledger.path}")

    def _loop(self, ledger: Ledger, pool: EncoderPool) -> None:
        while True:
            self._wake.clear()
            pool.raise_if_stopped()  # a finished job's news could not be told (stdout closed): stop too
            if not self.root.is_dir():
                raise EncodectlError(f"the watched folder {self.root} has gone")
            self._collect(ledger)
            ready, waiting = self._scan(ledger)
            for seen in ready:
                self._submit(seen, ledger, pool)
            self._report_backlog(pool)
            if self.watch.once and not self._running and not ready:
                self.summary.waiting = waiting
                if waiting:
                    self.say(f"{waiting} episode(s) still being recorded (changed within --settle); left for later")
                return
            self._wake.wait(self._next_wait())

    def _next_wait(self) -> float:
        """Sleep until the next rescan, or sooner when an episode's settle time runs out."""
        if self.watch.once:
            return 0.2
        now = time.monotonic()
        deadlines = [
            seen.changed_at + self.watch.settle - now for path, seen in self._seen.items() if path not in self._running
        ]
        soon = [d for d in deadlines if d > 0]
        return max(0.05, min([self.watch.rescan, *soon]))

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

    # -- what is on disk -----------------------------------------------------------------

    def _scan(self, ledger: Ledger) -> tuple[list[_Seen], int]:
        """Observe every episode folder; return those ready to encode and how many are still changing."""
        now = time.monotonic()
        deep = now - self._last_deep_scan >= self.watch.deep_rescan
        if deep:
            self._last_deep_scan = now
        ready: list[_Seen] = []
        waiting = 0
        folders = self._walker.episode_folders()
        later_sibling = _later_siblings(folders)
        for directory in folders:
            if directory in self._running:
                continue
            seen = self._seen.get(directory)
            record = ledger.get(directory)
            mtime = self._walker.mtime_of(directory)
            finished = record is not None and record.state in (LedgerState.done, LedgerState.failed)
            untouched = seen is not None and seen.dir_mtime_ns == mtime and not deep
            if (
                finished
                and untouched
                and seen is not None
                and record is not None
                and seen.signature == record.signature
            ):
                continue  # finished, and nothing seen since: no need to stat its frames
            try:
                signature = frame_signature(directory)
            except OSError as error:
                self._warn_once(directory, f"cannot read {directory}: {error.strerror or error}; skipping it")
                continue
            if seen is None:
                # Stillness counts from now: copied-in frames keep old modification times. Only a
                # one-off catch-up (--once) judges what is already there by those times.
                changed_at = now
                if self.watch.once:
                    changed_at -= max(0.0, time.time() - signature.newest_mtime_ns / 1e9)
                seen = self._seen[directory] = _Seen(
                    source_below(self.root, directory, self.watch.output), signature, changed_at
                )
            elif signature != seen.signature:
                seen.signature, seen.changed_at = signature, now
            seen.dir_mtime_ns = mtime
            if finished and record is not None and record.signature == signature:
                continue
            if record is not None and record.frames_deleted:
                self._refuse_after_deletion(ledger, record, signature)
                continue
            streaming = self.watch.stream and not self.watch.once and directory not in self._stream_off
            if streaming and record is None and directory not in self._live and _recorded_before(seen, self.watch):
                self._stream_off.add(directory)  # not being recorded now: the batch path (which adopts) takes it
                streaming = False
            if streaming and (record is None or record.state is LedgerState.pending or directory in self._live):
                self._stream_frames(seen, ledger)
            if not self._complete(seen, now, later_sibling.get(directory, False)):
                waiting += 1
                continue
            if directory in self._live and self._finish_live(seen, ledger):
                continue
            if record is not None and record.state is LedgerState.done and record.signature != signature:
                self.say(
                    f"frames changed in {seen.source.directory} after it was encoded ({record.signature.frames} "
                    f"frames then, {signature.frames} now); redoing its video"
                )
            ready.append(seen)
        self.summary.waiting = waiting
        return ready, waiting

    # -- watch --stream: encode while the episode is recorded ----------------------------

    def _stream_frames(self, seen: _Seen, ledger: Ledger) -> None:
        """Feed the episode's next frames, in numeric order and only once each is complete."""
        directory = seen.source.directory
        numbered = frames_by_number(directory)
        live = self._live.get(directory)
        if live is None:
            if not numbered:
                return
            first = min(numbered)
            try:
                header = image_header_of_bytes(numbered[first].read_bytes())
            except (InputError, OSError):
                return  # the first frame is still being written
            if header.format == "tiff" or header.is_depth:
                # A stream takes PNG/JPEG pictures; depth frames are kept exactly from their files.
                self._stream_off.add(directory)
                self.say(f"{directory}: {header.describe()} frames are encoded from their files when it is complete")
                return
            from ..stream.encoder import StreamEncoder

            same_as_encode = self.options.model_dump(include={"quality", "preset", "codec", "gop", "priority"})
            try:
                encoder = StreamEncoder(
                    seen.source.output, header.width, header.height, self.options.fps, images=True,
                    camera=seen.source.camera, episode=seen.source.episode, ffmpeg_binary=self.ffmpeg,
                    plan=self.plan, on_warning=self.say, die_with_parent=True, **same_as_encode,
                )  # fmt: skip
            except (EncodectlError, OSError) as error:
                self._stream_off.add(directory)
                why = error.message if isinstance(error, EncodectlError) else error.strerror or str(error)
                self.say(f"{directory}: cannot start a stream ({why}); encoding it from its files when it is complete")
                return
            live = self._live[directory] = _Live(
                encoder, first, self.tracker.add(seen.source.episode, seen.source.camera)
            )
            ledger.put(EpisodeRecord(source=directory, output=seen.source.output, camera=seen.source.camera,
                                     episode=seen.source.episode, signature=seen.signature,
                                     state=LedgerState.encoding))  # fmt: skip
        if numbered and min(numbered) < live.start:
            self._fall_back(directory, f"frame {min(numbered)} arrived after frame {live.start} had been encoded")
            return
        while live.next_number in numbered:
            try:
                data = numbered[live.next_number].read_bytes()
                header = image_header_of_bytes(data)
            except (InputError, OSError):
                return  # not complete yet: next time
            if (header.width, header.height) != (live.encoder.width, live.encoder.height):
                self._fall_back(directory, f"frame {live.next_number} is {header.width}x{header.height}")
                return
            try:
                live.encoder.add_image(data)
            except EncodectlError as error:  # its encoder died: this episode only, from its files
                self._fall_back(directory, f"streaming failed ({error.message})")
                return
            live.next_number += 1

    def _finish_live(self, seen: _Seen, ledger: Ledger) -> bool:
        """The episode is complete: close its stream if every frame went in; else let the batch path take it."""
        directory = seen.source.directory
        live = self._live[directory]
        self._stream_frames(seen, ledger)
        if directory not in self._live:  # _stream_frames fell back
            return False
        numbered = frames_by_number(directory)
        if set(numbered) != set(range(live.start, live.next_number)):
            # Every frame on disk, and only those, must be in the stream; else the files decide.
            self._fall_back(directory, f"frame {live.next_number} is missing, late or incomplete")
            return False
        del self._live[directory]
        last_frame_written = seen.signature.newest_mtime_ns / 1e9  # this pass's signature: no second stat per frame
        result = live.encoder.close()
        # From the last frame file, not from close(): the time the episode took to be known complete counts.
        result.latency_s = max(0.0, time.time() - last_frame_written)
        self.tracker.finish(live.job_id, result)
        if result.status is not JobStatus.done:
            self._stream_off.add(directory)
            self.say(f"{directory}: streaming failed ({result.reason}); encoding it from its files instead")
            return False
        record = ledger.get(directory)
        if record is not None:
            self._record_result(ledger, record, result, seen.signature)
        return True

    def _fall_back(self, directory: Path, why: str) -> None:
        live = self._live.pop(directory)
        live.encoder.abort()
        self.tracker.forget(live.job_id)
        self._stream_off.add(directory)
        self.say(f"{directory}: {why}; encoding it from its files when it is complete")

    def _refuse_after_deletion(self, ledger: Ledger, record: EpisodeRecord, signature: FrameSignature) -> None:
        """New frames in an episode whose encoded frames were deleted: redoing would lose the first part."""
        if record.state is LedgerState.failed and record.signature == signature:
            return
        record.state, record.signature = LedgerState.failed, signature
        record.reason = (
            f"{signature.frames} frame(s) arrived after this episode was encoded and its frames deleted; "
            f"its video is kept as it was, the new frames are left alone"
        )
        ledger.put(record)
        self.summary.failed += 1
        self.say(f"{record.source}: {record.reason}")

    def _warn_once(self, directory: Path, message: str) -> None:
        if directory not in self._warned:
            self._warned.add(directory)
            self.say(message)

    def _complete(self, seen: _Seen, now: float, has_later_sibling: bool) -> bool:
        still = now - seen.changed_at
        if self.watch.marker and (seen.source.directory / self.watch.marker).exists():
            return True  # the recorder says so, and writes its marker after the last frame
        if has_later_sibling and still >= min(self.watch.sibling_settle, self.watch.settle):
            return True
        return still >= self.watch.settle

    # -- handing episodes to the pool, and taking results back ---------------------------

    def _submit(self, seen: _Seen, ledger: Ledger, pool: EncoderPool) -> None:
        seen.source = with_output_container(seen.source, self.options)  # depth kept exactly: EPISODE.mkv
        source, signature = seen.source, seen.signature
        record = ledger.get(source.directory)
        if record is None and source.output.exists() and self._adopt(seen, ledger):
            return
        ledger.put(EpisodeRecord(source=source.directory, output=source.output, camera=source.camera,
                                 episode=source.episode, signature=signature, state=LedgerState.encoding))  # fmt: skip
        future = pool.submit_source(source)
        future.add_done_callback(lambda _: self._wake.set())
        self._running[source.directory] = (future, signature)
        if record is not None and record.state is LedgerState.done:
            self.summary.redone += 1

    def _adopt(self, seen: _Seen, ledger: Ledger) -> bool:
        """A video made before the ledger knew of it (by `encode`, or a lost ledger): kept if it passes the
        checks a new encode of these frames with these options would (frames, rate, size, pixels, codec)."""
        try:
            job = plan_job(seen.source, self.options, self.plan.primary)
        except EncodectlError:
            return False  # the frames themselves are refused: the encode that follows says why
        try:
            verify_output(self.ffmpeg, job, seen.source.output)  # depth: its frames hashed against the files
        except EncodectlError as error:
            self.say(f"{seen.source.output} is there but is not this episode's video ({error.message}); redoing it")
            return False
        ledger.put(EpisodeRecord(source=seen.source.directory, output=seen.source.output, camera=seen.source.camera,
                                 episode=seen.source.episode, signature=seen.signature, state=LedgerState.done,
                                 reason="found already encoded and verified"))  # fmt: skip
        self.summary.adopted += 1
        return True

    def _collect(self, ledger: Ledger) -> None:
        for directory, (future, signature) in list(self._running.items()):
            if not future.done():
                continue
            del self._running[directory]
            self._record(ledger, directory, future, signature)

    def _record(self, ledger: Ledger, directory: Path, future: Future[JobResult], signature: FrameSignature) -> None:
        record = ledger.get(directory)
        if record is None:  # cannot happen: written at submit
            return
        if future.cancelled() or isinstance(future.exception(), Interrupted):
            record.state = LedgerState.pending  # redone from scratch next time
            ledger.put(record)
            return
        error = future.exception()
        if error is not None:
            record.state, record.reason = LedgerState.failed, str(error)
            ledger.put(record)
            self.summary.failed += 1
            return
        self._record_result(ledger, record, future.result(), signature)

    def _record_result(
        self, ledger: Ledger, record: EpisodeRecord, result: JobResult, signature: FrameSignature
    ) -> None:
        record.signature, record.output = signature, result.output  # the container follows the frames' kind
        if result.status is JobStatus.done:
            record.state, record.reason, record.encode_seconds = LedgerState.done, None, result.seconds
            self.summary.done += 1
            if self.watch.delete_frames:
                record.frames_deleted = self._delete_frames(record.source, signature)
        else:
            record.state, record.reason = LedgerState.failed, result.reason
            self.summary.failed += 1
        ledger.put(record)

    def _delete_frames(self, directory: Path, signature: FrameSignature) -> bool:
        """Only after the video is verified, only if no frame arrived since it was made, and only the frames
        it was made from: the folder is listed once, and each file is deleted only while it is still the file
        that was listed (device, inode, size, modification time), so a frame that arrives meanwhile stays."""
        frames = _frame_stats(directory)
        if _signature_of(frames) != signature:
            self.say(f"not deleting frames in {directory}: new frames arrived while it was encoded")
            return False
        for path, listed in frames.items():
            if _same_file(path, listed):
                path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # other files (a marker, notes) stay, and so does the folder
            directory.rmdir()
        return True

    def _reconcile(self, ledger: Ledger) -> None:
        """After a restart: redo interrupted encodes from scratch, redo videos that went missing."""
        for record in ledger.all():
            if record.state is LedgerState.encoding:
                removed = remove_stale_temp_files(record.output) + discard_abandoned_streams(record.output)
                extra = f" ({len(removed)} temporary file(s) removed)" if removed else ""
                self.say(f"{record.source}: was queued or encoding when the last watcher stopped; redoing it{extra}")
                record.state = LedgerState.pending
                ledger.put(record)
            elif record.state is LedgerState.done and not record.output.exists():
                if record.frames_deleted or not frame_files(record.source):
                    record.state = LedgerState.failed
                    record.reason = f"its video {record.output} is gone and no frames are left to make it again"
                    self.say(f"error: {record.source}: {record.reason}")
                else:
                    self.say(f"{record.output} is missing; redoing it")
                    record.state = LedgerState.pending
                ledger.put(record)

    def _shutdown(self, ledger: Ledger, pool: EncoderPool, drain: bool) -> None:
        with signals_deferred():  # a second Ctrl-C must not leave a stream's ffmpeg (a session of its own) running
            for directory, live in list(self._live.items()):  # their frames are on disk: redone next time
                live.encoder.abort()
                self.tracker.forget(live.job_id)
                record = ledger.get(directory)
                if record is not None:
                    record.state = LedgerState.pending
                    ledger.put(record)
            self._live.clear()
        try:
            pool.close(wait=drain, cancel_queued=True)
        except KeyboardInterrupt:
            self.say("second interrupt: cancelling running encodes")
            pool.close(wait=False)
        for directory, (future, signature) in list(self._running.items()):
            del self._running[directory]
            self._record(ledger, directory, future, signature)

    def _report_backlog(self, pool: EncoderPool) -> None:
        """Say so when encoding falls behind the recording, instead of growing a queue in silence.

        Behind means episodes have waited in the queue for a while, not just for a moment
        between one encode ending and the next starting."""
        now = time.monotonic()
        if pool.queue_depth == 0:
            if self._behind:
                self.say("caught up with the recording")
            self._behind, self._queue_since = False, None
            return
        self._queue_since = self._queue_since or now
        if now - self._queue_since < BACKLOG_GRACE_S or now - self._last_backlog_report < BACKLOG_REPORT_EVERY_S:
            return
        waiting = [(future, signature) for future, signature in self._running.values() if not future.running()]
        frames_waiting = sum(signature.frames for _, signature in waiting)
        rate = self.tracker.snapshot(limit=0).throughput_fps
        eta = f"about {frames_waiting / rate:.0f} s to catch up at {rate:.0f} fps" if rate > 0 else "no rate yet"
        self.say(f"behind the recording: {len(waiting)} episode(s), {frames_waiting} frames waiting; {eta}")
        self._behind, self._last_backlog_report = True, now


class FolderWalker:
    """Finds episode folders again and again, re-listing only the folders whose contents changed.

    A folder's modification time changes when entries are added, removed or renamed in it,
    so an unchanged folder's sub-folders and whether it holds frames are taken from the cache.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[Path, tuple[int, list[Path], bool]] = {}

    def episode_folders(self) -> list[Path]:
        found: list[Path] = []
        self._visit(self.root, found)
        return sorted(found, key=lambda p: [natural_key(part) for part in p.relative_to(self.root).parts])

    def mtime_of(self, folder: Path) -> int:
        """The modification time `folder` had in the last walk (no second stat per folder and pass)."""
        cached = self._cache.get(folder)
        return cached[0] if cached is not None else _dir_mtime(folder)

    def _visit(self, folder: Path, found: list[Path]) -> None:
        mtime = _dir_mtime(folder)
        cached = self._cache.get(folder)
        if cached is None or cached[0] != mtime:
            try:
                with os.scandir(folder) as entries:
                    names = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
            except OSError:
                self._cache.pop(folder, None)
                return
            subfolders = [folder / name for name, is_dir in names if is_dir and not name.startswith(".")]
            holds_frames = any(not is_dir and is_frame_name(name) for name, is_dir in names)
            cached = self._cache[folder] = (mtime, subfolders, holds_frames)
        _, subfolders, holds_frames = cached
        if holds_frames and folder != self.root:
            found.append(folder)
        for sub in subfolders:  # symbolic links are not followed, so the folders form a tree: no cycles
            self._visit(sub, found)


def _recorded_before(seen: _Seen, watch: WatchOptions) -> bool:
    """An episode that was already there, still or encoded, when this watcher first saw it."""
    idle = time.time() - seen.signature.newest_mtime_ns / 1e9
    return seen.source.output.exists() or idle > watch.settle


def _dir_mtime(directory: Path) -> int:
    try:
        return directory.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def _later_siblings(folders: list[Path]) -> dict[Path, bool]:
    """For each episode folder: has the same camera (same parent) started a later episode?"""
    by_parent: dict[Path, list[Path]] = {}
    for folder in folders:
        by_parent.setdefault(folder.parent, []).append(folder)
    result: dict[Path, bool] = {}
    for siblings in by_parent.values():
        ordered = sorted(siblings, key=lambda p: natural_key(p.name))
        for index, folder in enumerate(ordered):
            result[folder] = index < len(ordered) - 1
    return result
