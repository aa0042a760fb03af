"""``encode --executor dask``: the same jobs on a Dask cluster, with the same guarantees.

The client validates every episode (cheap: frame headers) and sends only good
ones; each job then runs on a Dask worker, which finds its own ffmpeg, probes its
own GPU once (cached on that machine) and encodes against shared storage with the
usual temporary name, read-back verification and atomic rename. A job whose
worker dies is rescheduled by Dask on another worker (retries are bounded); what
the dead worker left is swept by the next attempt. Dask's own futures, retries
and dashboard do the scheduling: encodectl grows no scheduler of its own.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from ..errors import UsageError
from ..ffmpeg.encoder_choice import plan_encoder
from ..frames.layout import EpisodeSource
from ..job.planning import prepare_job, source_result
from ..job.progress import RunTracker
from ..models import Device, EncodeOptions, FailureKind, FFmpegBinary, JobResult, JobStatus
from .pool import cpu_count

DASK_EXTRA = "pip install 'encodectl[dask]'"


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError(f"--executor dask needs dask's distributed scheduler: {DASK_EXTRA}") from None
    return distributed


def encode_on_dask(
    sources: list[EpisodeSource],
    options: EncodeOptions,
    ffmpeg_binary: FFmpegBinary,
    *,
    address: str | None = None,
    tracker: RunTracker | None = None,
    gpu_resource: str | None = None,
    retries: int = 2,
    say: Any = None,
) -> list[JobResult]:
    """Encode on a Dask cluster (a LocalCluster sized from this machine when no address is given)."""
    distributed = _distributed()
    tracker = tracker or RunTracker()
    say = say or (lambda _: None)
    results, to_send = _validated(sources, options, ffmpeg_binary, tracker)
    if not to_send:
        return [results[i] for i in range(len(sources))]
    cluster = None
    if address is None:
        cluster = distributed.LocalCluster(
            n_workers=max(1, cpu_count()), threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(address, timeout="20s")
    try:
        say(f"Dask: {len(client.scheduler_info()['workers'])} worker(s); dashboard at {client.dashboard_link}")
        resources = None
        if gpu_resource and options.device is not Device.cpu:
            _require_resource(client, gpu_resource)
            resources = {gpu_resource: 1}
        payload = options_for_workers(options)
        futures = {}
        for index, source, job_id in to_send:
            key = "encodectl-" + hashlib.sha1(str(source.output).encode()).hexdigest()[:16]
            future = client.submit(
                run_on_worker, source.model_dump(mode="json"), payload, key=key, retries=retries,
                resources=resources, pure=False,
            )  # fmt: skip
            futures[future] = (index, source, job_id)
        for future in distributed.as_completed(list(futures)):
            index, source, job_id = futures[future]
            results[index] = _result_of(future, source, ffmpeg_binary)
            tracker.finish(job_id, results[index])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return [results[i] for i in range(len(sources))]


def _validated(
    sources: list[EpisodeSource], options: EncodeOptions, ffmpeg_binary: FFmpegBinary, tracker: RunTracker
) -> tuple[dict[int, JobResult], list[tuple[int, EpisodeSource, int]]]:
    """Validation on the client: the results of the bad episodes (which never reach the cluster), and the
    good ones to send, each with its index and tracker id."""
    results: dict[int, JobResult] = {}
    # Validation needs a job's shape, not the worker's encoder (each worker chooses its own).
    cpu_only = options.model_copy(update={"device": Device.cpu, "encoder": None})
    validation_settings = plan_encoder(cpu_only, ffmpeg_binary).primary
    to_send: list[tuple[int, EpisodeSource, int]] = []
    for index, source in enumerate(sources):
        job_id = tracker.add(source.episode, source.camera)
        prepared = prepare_job(source, options, validation_settings)
        if isinstance(prepared, JobResult):
            results[index] = prepared.with_ffmpeg(ffmpeg_binary)
            tracker.finish(job_id, prepared)
        else:
            to_send.append((index, source, job_id))
    return results, to_send


def _result_of(future: Any, source: EpisodeSource, ffmpeg_binary: FFmpegBinary) -> JobResult:
    try:
        return JobResult.model_validate(future.result())
    except Exception as error:  # noqa: BLE001 - a lost job is a failed result, never a crash
        result = source_result(source, JobStatus.failed, failure=FailureKind.encoding,
                               reason=f"Dask could not run it: {type(error).__name__}: {error}")  # fmt: skip
        result.with_ffmpeg(ffmpeg_binary)  # the client's: no worker's answer says which it had
        return result


def _require_resource(client: Any, name: str) -> None:
    """A job that needs a resource no worker has would wait forever: say so instead."""
    workers = client.scheduler_info()["workers"].values()
    if not any(worker.get("resources", {}).get(name, 0) > 0 for worker in workers):
        raise UsageError(
            f"no Dask worker offers the resource {name}; start GPU workers with `dask worker ... "
            f"--resources {name}=N`, or encode with --device cpu"
        )


def options_for_workers(options: EncodeOptions) -> dict[str, Any]:
    """Only what the user gave: checks that depend on which options were given (--profile,
    --encoder without --codec) must see on a worker what they saw here."""
    return options.model_dump(mode="json", exclude_unset=True)


def run_on_worker(source: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """One job, on a Dask worker: its own ffmpeg, its own encoder choice, the usual verified encode."""
    from ..ffmpeg.binary import find_ffmpeg
    from ..ffmpeg.process import CancelToken
    from ..job.runner import encode_one
    from ..job.sessions import SessionLimiter

    settings = EncodeOptions.model_validate(options)
    episode = EpisodeSource.model_validate(source)
    binary = find_ffmpeg(settings.ffmpeg)
    plan = plan_encoder(settings, binary)
    result = encode_one(
        episode, settings, plan, binary, limiter=SessionLimiter(settings.gpu_sessions), token=CancelToken()
    )
    try:
        from distributed import get_worker

        result.worker = f"{get_worker().address} (pid {os.getpid()})"
    except (ImportError, ValueError):
        pass
    return result.model_dump(mode="json")


def parse_executor(text: str) -> tuple[str, str | None]:
    """'local', 'dask', or 'dask:tcp://scheduler:8786'."""
    kind, _, address = text.partition(":")
    if kind not in ("local", "dask") or (kind == "local" and address):
        raise UsageError(f"--executor {text!r}: use local, dask, or dask:ADDRESS (e.g. dask:tcp://scheduler:8786)")
    return kind, address or None
