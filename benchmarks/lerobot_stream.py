"""LeRobot 0.6.1 recording with streaming_encoding=True: its own streaming encoder against encodectl's
(install_streaming), side by side, in the scenario of issue 28.

    python benchmarks/lerobot_stream.py [--seconds 20] [--size 1280x720] [--cameras 2] [--fps 30]
                                        [--modes lerobot,encodectl] [--json] [--keep DIR]

Run it with the Python of a virtualenv that has lerobot[dataset]==0.6.1 and encodectl (e.g. the one
`make test-lerobot` makes: .venv-lerobot/bin/python). Each mode runs in a process of its own: one
episode, `add_frame` paced in real time (tick i due at i/fps), LeRobot's default encoder settings
(libsvtav1, crf 30, g 2, preset 12). Frames are a moving pattern with sensor noise, made before the
recording starts (a cycle of 30 per camera) so that making them costs the recorder nothing.

Reported per mode: recorder ticks late (add_frame of tick i returning after tick i+1 was due), frames
kept per camera (packets in the episode's video), add_frame p50/p99/max, the time from save_episode to
a dataset LeRobot loads (save_episode + finalize + opening it and reading its first and last frame),
and whether every frame then loads. With --keep DIR each mode's dataset stays in DIR/<mode>; then encodectl's
is merged both ways with a dataset LeRobot recorded itself (mode lerobot-batch, LeRobot's default route of
PNG files encoded in save_episode, if it ran; else LeRobot's streaming one) by LeRobot's aggregate_datasets,
every frame of each merged dataset loaded, and `encodectl check` reads encodectl's.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

CYCLE = 30
# benchmarks/lerobot.py, beside this script, would be found as the package `lerobot`.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]


def frames_for(camera: int, size: tuple[int, int]) -> list[np.ndarray]:
    width, height = size
    rng = np.random.default_rng(camera)
    x = np.arange(width, dtype=np.int32)[np.newaxis, :, np.newaxis]
    y = np.arange(height, dtype=np.int32)[:, np.newaxis, np.newaxis]
    made = []
    for i in range(CYCLE):
        base = (x // 4 + y // 3 + i * 5 + camera * 60 + np.array([0, 80, 160])) % 256
        made.append(np.clip(base + rng.normal(0, 6, size=(height, width, 3)), 0, 255).astype(np.uint8))
    return made


def record(
    mode: str, seconds: float, size: tuple[int, int], cameras: int, fps: int, root: Path, episodes: int
) -> dict[str, Any]:
    import av
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    said: list[str] = []
    if mode == "encodectl":
        from encodectl.stream.lerobot import install_streaming

        install_streaming()
        handler = logging.Handler(logging.WARNING)
        handler.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]
        logging.getLogger("encodectl.lerobot").addHandler(handler)
    width, height = size
    keys = [f"observation.images.cam{c}" for c in range(cameras)]
    features: dict[str, Any] = {
        key: {"dtype": "video", "shape": (height, width, 3), "names": ["height", "width", "channels"]} for key in keys
    }
    features["action"] = {"dtype": "float32", "shape": (2,), "names": ["x", "y"]}
    pictures = [frames_for(c, size) for c in range(cameras)]
    # "lerobot-batch": LeRobot's default route (PNG files, encoded in save_episode), a dataset to merge with.
    dataset = LeRobotDataset.create(
        "bench/stream", fps, features, root=root, streaming_encoding=mode != "lerobot-batch"
    )
    builder = type(dataset.writer._streaming_encoder).__name__
    ticks = int(seconds * fps)
    per_episode = []
    for _ in range(episodes):
        per_episode.append(record_episode(dataset, keys, pictures, ticks, fps))
        saving = time.perf_counter()
        dataset.save_episode()
        per_episode[-1]["save_episode_s"] = time.perf_counter() - saving
    dataset.finalize()
    finalized = time.perf_counter() - saving  # from the last save_episode's start, as to_loadable
    loadable, load_error = True, None
    try:
        loaded = LeRobotDataset("bench/stream", root=root)
        loaded[0], loaded[len(loaded) - 1]
    except Exception as error:  # noqa: BLE001 - LeRobot's own failure is the figure
        loadable, load_error = False, f"{type(error).__name__}: {error}"
    to_loadable = time.perf_counter() - saving
    kept = {}
    for key in keys:
        kept[key] = 0
        for video in (root / "videos" / key).rglob("*.mp4"):
            with av.open(str(video)) as container:
                kept[key] += sum(1 for packet in container.demux(container.streams.video[0]) if packet.size)
    every_frame, every_error = loadable, None
    if loadable:
        try:
            for index in range(len(loaded)):
                loaded[index]
        except Exception as error:  # noqa: BLE001
            every_frame, every_error = False, f"frame {index}: {type(error).__name__}: {error}"
    return {
        "mode": mode, "encoder": builder, "ticks": ticks * episodes, "episodes": per_episode, "kept": kept,
        "finalize_s": finalized, "to_loadable_s": to_loadable, "loadable": loadable, "load_error": load_error,
        "every_frame_loads": every_frame, "every_frame_error": every_error, "warnings": said,
    }  # fmt: skip


def record_episode(dataset: Any, keys: list[str], pictures: list[list[np.ndarray]], ticks: int, fps: int) -> dict:
    """One episode's add_frame calls, tick i due at i/fps from its start. A late tick is listed as
    [tick, ms from its due time to add_frame's call, ms add_frame took]: which of the two made it late."""
    durations, wakes, late, woke_late, late_ticks = [], [], 0, 0, []
    start = time.perf_counter()
    for tick in range(ticks):
        due = start + tick / fps
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        frame: dict[str, Any] = {key: pictures[c][tick % CYCLE] for c, key in enumerate(keys)}
        frame["action"] = np.array([tick, 0], dtype=np.float32)
        frame["task"] = "benchmark"
        began = time.perf_counter()
        dataset.add_frame(frame)
        ended = time.perf_counter()
        durations.append(ended - began)
        wakes.append(max(0.0, began - due))
        if ended > due + 1 / fps:
            late += 1
            late_ticks.append([tick, round(1000 * (began - due), 1), round(1000 * (ended - began), 1)])
            woke_late += began > due + 1 / fps  # already late before add_frame: the scheduler, or the tick before
    recorded = time.perf_counter() - start
    durations.sort()
    wakes.sort()
    return {
        "ticks": ticks, "late": late, "woke_late": woke_late, "late_ticks": late_ticks[:20], "recorded_s": recorded,
        "add_frame_ms": {
            "p50": 1000 * durations[len(durations) // 2], "p99": 1000 * durations[int(len(durations) * 0.99)],
            "max": 1000 * durations[-1],
        },
        # How late the recorder's thread got to call add_frame: the scheduler's part, with the tick before's.
        "woke_ms": {
            "p99": 1000 * wakes[int(len(wakes) * 0.99)], "max": 1000 * wakes[-1],
            "over_5": sum(wake > 0.005 for wake in wakes), "over_10": sum(wake > 0.010 for wake in wakes),
        },
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--cameras", type=int, default=2)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--episodes", type=int, default=1)
    parser.add_argument("--modes", default="lerobot,encodectl")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--switch-interval", type=float, help="sys.setswitchinterval in the recording process (s)")
    parser.add_argument("--keep", type=Path, help="keep each mode's dataset in DIR/<mode>; merge and check them")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a mode, in this process (the parent's child)
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.lower().split("x"))
    if args.one:
        if args.switch_interval:
            sys.setswitchinterval(args.switch_interval)
        if args.keep:
            root = args.keep / args.one
            shutil.rmtree(root, ignore_errors=True)
            result = record(args.one, args.seconds, (width, height), args.cameras, args.fps, root, args.episodes)
        else:
            root = Path(tempfile.mkdtemp(prefix="lerobot-stream-bench-")) / "dataset"
            try:
                result = record(args.one, args.seconds, (width, height), args.cameras, args.fps, root, args.episodes)
            finally:
                shutil.rmtree(root.parent, ignore_errors=True)
        print("RESULT " + json.dumps(result))
        return 0
    results = []
    for mode in args.modes.split(","):
        command = [sys.executable, __file__, "--one", mode, "--seconds", str(args.seconds), "--size", args.size,
                   "--cameras", str(args.cameras), "--fps", str(args.fps),
                   "--episodes", str(args.episodes),
                   *(["--switch-interval", str(args.switch_interval)] if args.switch_interval else []),
                   *(["--keep", str(args.keep)] if args.keep else [])]  # fmt: skip
        run = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
        if run.returncode != 0 or not lines:
            print(f"{mode}: failed (exit {run.returncode}): {run.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            continue
        results.append(json.loads(lines[-1].removeprefix("RESULT ")))
    modes = {r["mode"] for r in results}
    partner = "lerobot-batch" if "lerobot-batch" in modes else "lerobot"
    merged = merge_and_check(args.keep, partner) if args.keep and {partner, "encodectl"} <= modes else []
    if args.json:
        print(json.dumps(results, indent=2))
        print("\n".join(merged), file=sys.stderr)
        return 0
    print(f"{args.cameras} cameras x {args.size}, {args.fps} fps, {args.episodes} episode(s) of {args.seconds:g} s "
          "in real time, LeRobot's default encoder settings")  # fmt: skip
    print("mode | episode | ticks late | add_frame p50/p99/max ms | recording took | save_episode")
    for r in results:
        for number, e in enumerate(r["episodes"]):
            timing = e["add_frame_ms"]
            print(f"{r['mode']} | {number} | {e['late']}/{e['ticks']} | {timing['p50']:.1f} / {timing['p99']:.1f} / "
                  f"{timing['max']:.1f} | {e['recorded_s']:.1f} s | {e['save_episode_s']:.1f} s")  # fmt: skip
    print("mode | frames kept | last save_episode -> loadable | every frame loads")
    for r in results:
        kept = ", ".join(f"{n}/{r['ticks']}" for n in r["kept"].values())
        loads = "yes" if r["every_frame_loads"] else f"no ({r['every_frame_error'] or r['load_error']})"
        print(f"{r['mode']} | {kept} | {r['to_loadable_s']:.1f} s | {loads}")
    for r in results:
        for message in r["warnings"]:
            print(f"{r['mode']} said: {message}")
    for line in merged:
        print(line)
    return 0


def merge_and_check(keep: Path, partner: str) -> list[str]:
    """encodectl's dataset merged with LeRobot's (`partner`: the mode that recorded it), both ways, by
    LeRobot's aggregate_datasets, every frame of each merged dataset loaded; then `encodectl check` on
    encodectl's. One line each."""
    from lerobot.datasets.aggregate import aggregate_datasets
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    said = []
    for order, roots in ((f"{partner}'s first", [keep / partner, keep / "encodectl"]),
                         ("encodectl's first", [keep / "encodectl", keep / partner])):  # fmt: skip
        merged = keep / f"merged-{roots[0].name}-first"  # LeRobot's ffconcat lists take no quotes or commas
        shutil.rmtree(merged, ignore_errors=True)
        try:
            aggregate_datasets(["bench/stream", "bench/stream"], "bench/merged", roots=roots, aggr_root=merged)
            dataset = LeRobotDataset("bench/merged", root=merged)
            for index in range(len(dataset)):
                dataset[index]
        except Exception as error:  # noqa: BLE001 - LeRobot's own failure is the figure
            said.append(f"merged ({order}): failed: {type(error).__name__}: {error}")
            continue
        said.append(f"merged ({order}): {dataset.num_episodes} episodes, all {len(dataset)} frames load")
    check = subprocess.run([sys.executable, "-m", "encodectl.cli", "check", str(keep / "encodectl")],
                           capture_output=True, text=True)  # fmt: skip
    last = (check.stdout.strip().splitlines() or check.stderr.strip().splitlines() or [""])[-1]
    said.append(f"encodectl check (exit {check.returncode}): {last}")
    return said


if __name__ == "__main__":
    sys.exit(main())
