"""The asynchronous mode: a pool of worker threads, each driving one ffmpeg child at a time.

``submit`` only records a job description and returns a Future at once, so a
recorder never waits for an encode; validation, encoding and verification happen
in the workers. The queue holds paths, never frames, so memory stays flat however
long it grows. Jobs are independent: one failure never stops the pool.
"""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import CancelledError, Future
from pathlib import Path
from typing import Any, Literal

from ..errors import Interrupted, QueueFullError, UsageError
from ..ffmpeg.binary import find_ffmpeg
from ..ffmpeg.encoder_choice import EncoderPlan, plan_encoder
from ..ffmpeg.process import CancelToken
from ..frames.layout import EpisodeSource, episode_output
from ..job.progress import RunTracker
from ..job.runner import encode_one
from ..job.sessions import SessionLimiter
from ..models import EncodeOptions, FFmpegBinary, JobResult, options_from

Workers = int | Literal["auto"]


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_workers(workers: Workers, plan: EncoderPlan, gpu_sessions: int, cores: int | None = None) -> int:
    """`auto`: one CPU encode per core (each then gets one core's worth of threads); for a
    hardware encoder, as many as it has sessions, plus one to keep decoding frames ahead."""
    if workers != "auto":
        return workers
    cores = cores or cpu_count()
    if plan.primary.hardware:
        return max(2, min(gpu_sessions + 1, cores + 1))
    return max(1, cores)


class _Work:
    __slots__ = ("future", "job_id", "source")

    def __init__(self, source: EpisodeSource, future: Future[JobResult], job_id: int) -> None:
        self.source = source
        self.future = future
        self.job_id = job_id


class EncoderPool:
    """Encode episodes in the background.

    >>> with EncoderPool(workers=2, queue_size=100, device="auto") as pool:
    ...     future = pool.submit(frames_dir, output_path)   # returns at once
    ... # leaving the block waits for every job; future.result() is a JobResult
    """

    def __init__(
        self,
        workers: Workers = 2,
        queue_size: int = 100,
        device: str | None = None,
        *,
        tracker: RunTracker | None = None,
        ffmpeg_binary: FFmpegBinary | None = None,
        plan: EncoderPlan | None = None,
        encode_options: EncodeOptions | None = None,
        **options: Any,
    ) -> None:
        """`options` are EncodeOptions fields (quality, preset, fps, on_gap, overwrite, priority, …);
        `encode_options` passes a whole EncodeOptions instead (workers and queue_size then come from it)."""
        if encode_options is None:
            values = {"workers": workers, "queue_size": queue_size, **options}
            if device is not None:
                values["device"] = device
            encode_options = options_from(values)
        self.options = encode_options
        self.ffmpeg = ffmpeg_binary or find_ffmpeg(self.options.ffmpeg)
        self.plan = plan or plan_encoder(self.options, self.ffmpeg)
        self.workers = resolve_workers(self.options.workers, self.plan, self.options.gpu_sessions)
        self.tracker = tracker or RunTracker()
        self._cores = cpu_count()
        self._queue: queue.Queue[_Work | None] = queue.Queue(maxsize=self.options.queue_size)
        self._token = CancelToken()
        self._limiter = SessionLimiter(self.options.gpu_sessions)
        self._running = 0
        self._running_lock = threading.Lock()
        self._closed = False
        self._failure: BaseException | None = None  # what stopped the run (a callback's error), if anything
        self._submit_lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._work, name=f"encodectl-worker-{n}", daemon=True) for n in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()

    # -- the recorder's side -------------------------------------------------------------

    def submit(
        self,
        frames_dir: str | os.PathLike[str],
        output_path: str | os.PathLike[str] | None = None,
        *,
        camera: str | None = None,
        episode: str | None = None,
        block: bool = True,
        timeout: float | None = None,
    ) -> Future[JobResult]:
        """Queue one episode folder; returns a Future at once (unless the queue is full).

        A full queue blocks (up to `timeout` seconds) or, with block=False, raises
        QueueFullError at once. Thread-safe.
        """
        directory = Path(frames_dir).absolute()
        output = Path(output_path).absolute() if output_path is not None else episode_output(directory)
        source = EpisodeSource(directory=directory, output=output, episode=episode or directory.name, camera=camera)
        return self.submit_source(source, block=block, timeout=timeout)

    def submit_source(
        self, source: EpisodeSource, block: bool = True, timeout: float | None = None
    ) -> Future[JobResult]:
        self.raise_if_stopped()
        if self._closed:
            raise UsageError("this EncoderPool is closed")
        future: Future[JobResult] = Future()
        job_id = self.tracker.add(source.episode, source.camera)
        try:
            self._queue.put(_Work(source, future, job_id), block=block, timeout=timeout)
        except queue.Full:
            self.tracker.forget(job_id)
            waited = f" after waiting {timeout:g} s" if block and timeout is not None else ""
            raise QueueFullError(
                f"encode queue is full ({self._queue.maxsize} jobs waiting){waited}; "
                "raise queue_size or workers, or submit with block=True"
            ) from None
        return future

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    def raise_if_stopped(self) -> None:
        """Raise the error that stopped the run, if one did: a finished job's callback (the tracker's
        on_finished printing to a closed pipe, say) raised it, and the pool then cancelled the rest."""
        if self._failure is not None:
            raise self._failure

    def results(self, futures: list[Future[JobResult]]) -> list[JobResult]:
        """Every job's result, in order; or the error that stopped the run, once the jobs have all ended."""
        try:
            results = [future.result() for future in futures]
        except (CancelledError, Interrupted):
            self.raise_if_stopped()
            raise
        self.raise_if_stopped()
        return results

    def close(self, wait: bool = True, cancel_queued: bool = False) -> None:
        """Stop taking jobs. wait=True finishes the running jobs, and the queued ones too unless
        cancel_queued; wait=False cancels the queue, kills running ffmpeg children and removes
        their temporary files."""
        with self._submit_lock:
            if self._closed and wait:
                return
            self._closed = True
        if cancel_queued or not wait:
            self._cancel_queued()
        if not wait:
            self._token.cancel()
        for _ in self._threads:
            self._queue.put(None)  # one stop sign per worker, behind the queued jobs
        for thread in self._threads:
            thread.join()
        self._cancel_queued()  # a submit that raced close() landed behind the stop signs: never leave it hanging

    def __enter__(self) -> EncoderPool:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        # An exception (Ctrl-C above all) in the recorder cancels; a normal exit waits.
        self.close(wait=exc_type is None)

    # -- the workers' side ---------------------------------------------------------------

    def _cancel_queued(self) -> None:
        stop_signs = 0
        while True:
            try:
                work = self._queue.get_nowait()
            except queue.Empty:
                break
            if work is None:
                stop_signs += 1
            else:
                work.future.cancel()
                self.tracker.forget(work.job_id)
        for _ in range(stop_signs):  # a worker still on its way to the queue must find its stop sign
            self._queue.put(None)

    def _threads_for_next_job(self) -> int:
        """Share the cores among the jobs running now and those about to start."""
        with self._running_lock:
            self._running += 1
            sharing = min(self.workers, self._running + self._queue.qsize())
        return max(1, self._cores // max(1, sharing))

    def _work(self) -> None:
        while True:
            work = self._queue.get()
            if work is None:
                return
            if self._failure is not None:
                work.future.cancel()  # the run was stopped: nothing more is started
            if not work.future.set_running_or_notify_cancel():
                self.tracker.forget(work.job_id)
                continue
            threads = self._threads_for_next_job()
            try:
                result = self._run(work, threads)
            except BaseException as error:  # noqa: BLE001 - a worker must outlive any one job
                self.tracker.forget(work.job_id)
                work.future.set_exception(error)
            else:
                try:
                    self.tracker.finish(work.job_id, result)
                except BaseException as error:  # noqa: BLE001 - a callback's: the run stops, the job's result stands
                    self._stop(error)
                work.future.set_result(result)
            finally:
                with self._running_lock:
                    self._running -= 1

    def _stop(self, error: BaseException) -> None:
        """A callback failed (a closed stdout, above all): kill what runs (their temporary files go with
        them) and cancel what is queued as the workers take it, so that nobody waits for ever on a job
        whose news cannot be told."""
        with self._submit_lock:
            if self._failure is None:
                self._failure = error
        self._token.cancel()

    def _run(self, work: _Work, threads: int) -> JobResult:
        return encode_one(
            work.source,
            self.options,
            self.plan,
            self.ffmpeg,
            limiter=self._limiter,
            token=self._token,
            listener=self.tracker.listener(work.job_id),
            threads=threads,
        )
