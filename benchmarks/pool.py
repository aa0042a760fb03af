"""The async pool, measured: submit latency, worker/thread splits, low priority's cost, the live table's CPU.

    python benchmarks/pool.py [--episodes 8] [--frames 90] [--size 1280x720] [--quick]

Targets (issue 4): submit p99 < 5 ms with busy workers; `--workers auto` wall time
<= the best hand-picked split (one job with all threads, or one job per core with
one thread each); the live table < 2% of one core.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from encodectl import EncoderPool
from encodectl.ffmpeg.binary import find_ffmpeg
from encodectl.ffmpeg.process import Progress
from encodectl.frames.layout import discover
from encodectl.frames.synthetic import write_dataset, write_frames
from encodectl.job.progress import RunTracker
from encodectl.models import EncodeOptions
from encodectl.report.live import live_view
from encodectl.run.engine import encode_sources
from encodectl.run.pool import cpu_count


def submit_latency(work: Path, count: int) -> None:
    binary = find_ffmpeg()
    busy = work / "busy"
    write_frames(binary, busy, 300, (640, 480))
    tiny = work / "tiny"
    write_frames(binary, tiny, 2)
    pool = EncoderPool(workers=1, queue_size=count + 10, device="cpu", preset="slow", overwrite=True)
    pool.submit(busy, work / "busy.mp4")
    time.sleep(0.5)  # the only worker is now encoding
    times = []
    for index in range(count):
        started = time.perf_counter()
        pool.submit(tiny, work / "out" / f"{index}.mp4")
        times.append(time.perf_counter() - started)
    pool.close(wait=False)
    times.sort()
    p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99)]
    print(f"submit latency over {count} submits, worker busy: p50 {p50 * 1000:.3f} ms, p99 {p99 * 1000:.3f} ms"
          f", max {times[-1] * 1000:.3f} ms (target p99 < 5 ms)")  # fmt: skip


def run_split(dataset: Path, out: Path, workers: int | str, threads: int | None) -> float:
    binary = find_ffmpeg()
    options = EncodeOptions(device="cpu", workers=workers, threads=threads, overwrite=True, output=out)
    sources = discover([dataset], out)
    started = time.perf_counter()
    results = encode_sources(sources, options, binary)
    elapsed = time.perf_counter() - started
    assert all(r.status.value == "done" for r in results), [r.reason for r in results if r.reason]
    return elapsed


def splits(work: Path, episodes: int, frames: int, size: tuple[int, int]) -> None:
    dataset = work / "ds"
    write_dataset(find_ffmpeg(), dataset, cameras=2, episodes=episodes // 2, frames=frames, size=size)
    cores = cpu_count()
    configs: list[tuple[str, int | str, int | None]] = [
        (f"1 worker x {cores} threads", 1, cores),
        (f"{cores} workers x 1 thread", cores, 1),
        ("--workers auto", "auto", None),
    ]
    times = {label: run_split(dataset, work / "out", workers, threads) for label, workers, threads in configs}
    print(f"{episodes} episodes x {frames} frames {size[0]}x{size[1]} on {cores} cores (libx264 fast):")
    for label, seconds in times.items():
        print(f"  {label:<24} {seconds:6.2f} s")
    best = min(v for k, v in times.items() if k != "--workers auto")
    print(f"  auto / best hand-picked = {times['--workers auto'] / best:.3f} (target <= 1.0)")


def _recorder_stand_in(stop: Any, result: Any) -> None:
    """One core of pure-Python work, like a recorder's loop; reports loops per second until stopped."""
    started, loops = time.monotonic(), 0
    while not stop.is_set():
        sum(range(1000))
        loops += 1
    result.put(loops / (time.monotonic() - started))


def _recorder_rate_while(action: Any) -> tuple[float, float]:
    """Run `action()` beside the stand-in; return (action seconds, stand-in loops per second)."""
    stop, result = multiprocessing.Event(), multiprocessing.Queue()
    recorder = multiprocessing.Process(target=_recorder_stand_in, args=(stop, result))
    recorder.start()
    time.sleep(0.2)
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    stop.set()
    rate = result.get()
    recorder.join()
    return seconds, rate


def priority_cost(work: Path, frames: int, size: tuple[int, int]) -> None:
    binary = find_ffmpeg()
    dataset = work / "prio"
    write_dataset(binary, dataset, cameras=2, episodes=2, frames=frames, size=size)
    _, alone = _recorder_rate_while(lambda: time.sleep(3))
    print(f"priority: recorder stand-in (one busy core) alone: {alone:,.0f} loops/s; 4 episodes x {frames} frames")
    for priority in ("normal", "low"):
        options = EncodeOptions(device="cpu", workers=2, priority=priority, overwrite=True, output=work / "prio-out")
        sources = discover([dataset], work / "prio-out")
        seconds, rate = _recorder_rate_while(
            lambda options=options, sources=sources: encode_sources(sources, options, binary)
        )
        print(
            f"  --priority {priority:<6}: encode {seconds:6.2f} s; the recorder kept {rate / alone:6.1%} of its speed"
        )


def live_table_cpu(seconds: float) -> None:
    tracker = RunTracker()
    ids = [tracker.add(f"episode_{n:06d}", "observation.images.top") for n in range(200)]
    for job_id in ids[:2]:
        listener = tracker.listener(job_id)
        listener.started("libx264", 2700)
        listener.progress(Progress(frame=1234, fps=48.0, speed=1.6))
    console = Console(file=io.StringIO(), force_terminal=True, width=140)
    before = resource.getrusage(resource.RUSAGE_SELF)
    end = time.monotonic() + seconds
    renders = 0
    while time.monotonic() < end:
        console.print(live_view(tracker.snapshot(limit=20)))
        console.file = io.StringIO()
        renders += 1
        time.sleep(0.25)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"live table: {renders} renders at 4 Hz, 200 jobs: {cpu / seconds:.2%} of one core (target < 2%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--submits", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--parts", default="submit,table,splits,priority", help="which measurements to run")
    args = parser.parse_args()
    size = (320, 240) if args.quick else tuple(int(v) for v in args.size.split("x"))
    frames = 20 if args.quick else args.frames
    print(f"encodectl pool benchmark, {cpu_count()} cores, ffmpeg {find_ffmpeg().version}, pid {os.getpid()}")
    with tempfile.TemporaryDirectory(prefix="encodectl-pool-bench-") as scratch:
        work = Path(scratch)
        parts = args.parts.split(",")
        if "submit" in parts:
            submit_latency(work, 100 if args.quick else args.submits)
        if "table" in parts:
            live_table_cpu(2.0 if args.quick else 10.0)
        if "splits" in parts:
            splits(work, args.episodes, frames, size)  # type: ignore[arg-type]
        if "priority" in parts:
            priority_cost(work, frames * 2, size)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
