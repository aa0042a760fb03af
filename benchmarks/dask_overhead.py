"""--executor dask against the local pool, same episodes, same run.

    python benchmarks/dask_overhead.py [--episodes 16] [--frames 30] [--size 320x240]

Both use 2 workers. The Dask side runs on a LocalCluster started beforehand (its
start-up is reported separately); the overhead per job is the wall-time
difference divided by the number of jobs (target: under 50 ms).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import distributed

from encodectl.ffmpeg.binary import find_ffmpeg
from encodectl.frames.layout import discover
from encodectl.frames.synthetic import write_dataset
from encodectl.models import EncodeOptions
from encodectl.run.dask_executor import encode_on_dask
from encodectl.run.engine import encode_sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--size", default="320x240")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    binary = find_ffmpeg()
    with tempfile.TemporaryDirectory(prefix="encodectl-dask-bench-") as scratch:
        root = Path(scratch)
        write_dataset(binary, root / "ds", cameras=2, episodes=args.episodes // 2, frames=args.frames,
                      size=(width, height))  # fmt: skip
        options = EncodeOptions(device="cpu", workers=2, overwrite=True, output=root / "out")
        sources = discover([root / "ds"], root / "out")
        started = time.perf_counter()
        local = encode_sources(sources, options, binary)
        pool_seconds = time.perf_counter() - started
        assert all(r.ok for r in local)

        started = time.perf_counter()
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
            startup = time.perf_counter() - started
            encode_on_dask(sources, options, binary, address=c.scheduler_address)  # warm: imports, probe cache
            started = time.perf_counter()
            remote = encode_on_dask(sources, options, binary, address=c.scheduler_address)
            dask_seconds = time.perf_counter() - started
        assert all(r.ok for r in remote)
    jobs = len(sources)
    print(f"{jobs} episodes x {args.frames} frames {width}x{height}, 2 workers:")
    print(f"  local pool          : {pool_seconds:6.2f} s")
    print(f"  Dask LocalCluster   : {dask_seconds:6.2f} s  (cluster start-up {startup:.2f} s, not included)")
    print(f"  wall-time ratio     : {dask_seconds / pool_seconds:.3f}")
    print(f"  overhead per job    : {(dask_seconds - pool_seconds) / jobs * 1000:.0f} ms (target < 50 ms)")


if __name__ == "__main__":
    main()
