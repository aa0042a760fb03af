"""--executor dask on a real LocalCluster (2 worker processes): verified videos, a killed worker, GPU tags."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

import pytest

from encodectl.errors import UsageError
from encodectl.frames.layout import discover
from encodectl.frames.synthetic import write_dataset, write_depth_frames
from encodectl.models import EncodeOptions, JobStatus
from encodectl.run.dask_executor import encode_on_dask, options_for_workers

from .conftest import files_in, run_encodectl

pytestmark = pytest.mark.same_on_every_ffmpeg(
    "Dask's scheduling and retries: each job on a worker is the runner's encode, which runs on every build elsewhere"
)

distributed = pytest.importorskip("distributed")


@pytest.fixture
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as local:
        yield local


def test_dask_executor_encodes_and_verifies(tmp_path, ffmpeg_binary, decoded):
    write_dataset(ffmpeg_binary, tmp_path, cameras=2, episodes=2, frames=6)
    bad = tmp_path / "images" / "observation.images.top" / "episode_000001" / "frame_000003.png"
    bad.unlink()  # a gap: refused on the client, never sent
    write_depth_frames(ffmpeg_binary, tmp_path / "images" / "observation.images.depth" / "episode_000000", 6)
    outcome = run_encodectl("encode", tmp_path, "--executor", "dask", "--json", timeout=180)
    assert outcome.exit_code == 1, outcome.stderr
    results = json.loads(outcome.stdout)["results"]
    statuses = {(r["camera"], r["episode"]): r["status"] for r in results}
    assert list(statuses.values()).count("done") == 4
    assert statuses[("observation.images.top", "episode_000001")] == "failed"
    for result in results:
        if result["status"] == "done":
            depth = result["camera"] == "observation.images.depth"  # kept exactly, on the worker too
            assert result["worker"].startswith("tcp://") and result["encoder"] == ("ffv1" if depth else "libx264")
            assert result["output"].endswith(".mkv" if depth else ".mp4")
            assert not depth or result["depth"]["hashed_frames"] == 6
            assert decoded(result["output"]).frames == 6
        else:
            assert result["worker"] is None and "missing from the numbering" in result["reason"]


def test_a_killed_worker_s_job_is_redone_elsewhere(tmp_path, ffmpeg_binary, cluster, decoded):
    write_dataset(ffmpeg_binary, tmp_path, cameras=1, episodes=2, frames=90, size=(320, 240))
    sources = discover([tmp_path])
    options = EncodeOptions(device="cpu", preset="slow")
    killed: dict[str, str] = {}
    with distributed.Client(cluster) as client:
        addresses = {pid: address for address, pid in client.run(os.getpid).items()}

        def kill_the_worker_of_a_running_job() -> None:
            # A job's temporary video is named after the process that runs it (".NAME.mp4.<pid>-<id>.partial"):
            # the worker to kill is the one that is encoding that episode now.
            deadline = time.monotonic() + 60
            while not (partials := list(tmp_path.rglob(".*.partial"))):
                assert time.monotonic() < deadline, "no job started"
                time.sleep(0.02)
            name = partials[0].name
            pid = int(name.rsplit(".mp4.", 1)[1].split("-", 1)[0])
            killed.update(video=name[1:].split(".mp4.", 1)[0] + ".mp4", worker=addresses[pid])
            os.kill(pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_the_worker_of_a_running_job)
        killer.start()
        results = encode_on_dask(sources, options, ffmpeg_binary, address=cluster.scheduler_address)
        killer.join()
    assert [r.status for r in results] == [JobStatus.done] * 2
    for result in results:
        assert decoded(result.output).frames == 90
    interrupted = next(r for r in results if r.output.name == killed["video"])
    assert interrupted.worker is not None and interrupted.worker != killed["worker"]  # redone on the other worker
    assert not any(name.endswith(".partial") for name in files_in(tmp_path))


def test_gpu_job_without_a_gpu_worker_fails_at_once(tmp_path, ffmpeg_binary, cluster):
    write_dataset(ffmpeg_binary, tmp_path, cameras=1, episodes=1, frames=4)
    started = time.monotonic()
    with pytest.raises(UsageError, match="no Dask worker offers the resource NVENC"):
        encode_on_dask(discover([tmp_path]), EncodeOptions(device="gpu"), ffmpeg_binary,
                       address=cluster.scheduler_address, gpu_resource="NVENC")  # fmt: skip
    assert time.monotonic() - started < 60  # it did not wait for a GPU worker that will never come


def test_missing_dask_is_a_clear_error(tmp_path, ffmpeg_binary, monkeypatch):
    write_dataset(ffmpeg_binary, tmp_path, cameras=1, episodes=1, frames=2)
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(UsageError, match=r"--executor dask needs dask's distributed scheduler: pip install"):
        encode_on_dask(discover([tmp_path]), EncodeOptions(), ffmpeg_binary)


@pytest.mark.parametrize(
    "given", [{"profile": "lerobot"}, {"encoder": "libx265"}, {"quality": 30, "fps": "30000/1001"}]
)
def test_a_worker_sees_the_options_as_the_user_gave_them(given):
    options = EncodeOptions.model_validate(given)
    on_worker = EncodeOptions.model_validate(options_for_workers(options))  # raised for the first two before
    assert on_worker == options and on_worker.model_fields_set == options.model_fields_set
