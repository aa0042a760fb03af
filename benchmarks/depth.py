"""Depth frames: bytes and encode speed of encodectl's default route (FFV1 gray16le in Matroska, verified
bit-exact) against the 16-bit PNG frames it starts from; 300 frames of 640x480 depth by default.

    python benchmarks/depth.py [--frames 300] [--size 640x480] [--runs 3] [--candidates]

The frames are encodectl.frames.synthetic.depth_maps (a table scene with an arm moving, noise growing with the
square of the distance, zero holes), written as PNG by ffmpeg. Each run times `encodectl encode` (a fresh
process: validation, the encode that also hashes every source frame, and the check that every decoded frame
hashes like its source frame) and bare ffmpeg's FFV1 encode (the command encodectl runs without the hashes),
alternated; the figures are medians. --candidates also measures, with bare
ffmpeg, the other lossless codecs that were considered, and LeRobot's own (lossy) depth route.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bare_ffmpeg import arguments, episode_frames, pairs_line, runs_line, timed

from encodectl.ffmpeg.binary import find_ffmpeg
from encodectl.ffmpeg.command import build_encode_command
from encodectl.ffmpeg.encoder_choice import plan_encoder
from encodectl.frames.layout import EpisodeSource
from encodectl.frames.synthetic import depth_maps
from encodectl.job.planning import plan_job
from encodectl.models import EncodeOptions

MIB = 1024 * 1024


def planned(episode: Path, target: Path, **options: str) -> list[str]:
    """The encode `encodectl encode` runs for `episode` with `options`, writing straight to `target`, without the
    second output encodectl adds to it (the hash of every source frame, for the bit-exact check): bare ffmpeg."""
    settings = EncodeOptions.model_validate(options)
    binary = find_ffmpeg()
    source = EpisodeSource(directory=episode, output=target, episode=episode.name)
    job = plan_job(source, settings, plan_encoder(settings, binary).primary)
    return build_encode_command(job, binary, target, progress=False)


def candidates(episode: Path, out: Path) -> dict[str, list[str] | tuple[str, list[str]]]:
    """name -> (container suffix, ffmpeg output options), or a whole command: the routes considered."""
    ffv1 = ["-c:v", "ffv1", "-level", "3", "-slicecrc", "1", "-pix_fmt", "gray16le"]
    return {
        "FFV1 (chosen: -g 1 -slices 4 -context 0)": (".mkv", [*ffv1, "-g", "1", "-slices", "4", "-context", "0"]),
        "FFV1 -g 1 -slices 4 -context 1": (".mkv", [*ffv1, "-g", "1", "-slices", "4", "-context", "1"]),
        "FFV1 -g 1 -slices 24 -context 0": (".mkv", [*ffv1, "-g", "1", "-slices", "24", "-context", "0"]),
        "FFV1 -slices 4 (ffmpeg's gop)": (".mkv", [*ffv1, "-slices", "4", "-context", "0"]),
        "FFVHuff": (".mkv", ["-c:v", "ffvhuff", "-pix_fmt", "gray16le"]),
        "JPEG-LS": (".mkv", ["-c:v", "jpegls", "-pix_fmt", "gray16le"]),
        "PNG frames copied into Matroska": (".mkv", ["-c:v", "copy"]),
        "LeRobot 0.6 (12-bit codes, x265 lossless)": planned(episode, out / "candidate.mp4", depth="lerobot"),
    }


def frame_hashes(binary: str, argv_input: list[str]) -> list[str]:
    listing = subprocess.run(
        [binary, "-hide_banner", "-loglevel", "error", *argv_input, "-pix_fmt", "gray16le", "-f", "framemd5", "-"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return [line.rsplit(",", 1)[1].strip() for line in listing.splitlines() if line and not line.startswith("#")]


def measure_candidates(binary: str, episode: Path, out: Path, frames: int, png_bytes: int, runs: int) -> None:
    pattern = ["-f", "image2", "-framerate", "30", "-i", str(episode / "frame_%06d.png")]
    source = frame_hashes(binary, pattern)
    print(f"\n{'route':44} {'size':>10} {'x PNG':>6} {'encode fps':>11} {'decode fps':>11}  values")
    for name, route in candidates(episode, out).items():
        if isinstance(route, list):
            command, target = route, Path(route[-1])
        else:
            target = out / f"candidate{route[0]}"
            command = [binary, "-hide_banner", "-loglevel", "error", "-y", *pattern, *route[1], str(target)]
        suffix = target.suffix
        encode = statistics.median(timed(command) for _ in range(runs))
        decode = statistics.median(
            timed([binary, "-hide_banner", "-loglevel", "error", "-i", str(target), "-f", "null", "-"])
            for _ in range(runs)
        )
        exact = "LeRobot's codes" if suffix == ".mp4" else (
            "exact" if frame_hashes(binary, ["-i", str(target)]) == source else "NOT EXACT"
        )  # fmt: skip
        size = target.stat().st_size
        print(f"{name:44} {size / MIB:7.1f} MiB {size / png_bytes:6.2f} {frames / encode:11.0f} "
              f"{frames / decode:11.0f}  {exact}")  # fmt: skip


def main() -> None:
    parser = arguments(__doc__)
    parser.set_defaults(size="640x480")
    parser.add_argument("--candidates", action="store_true", help="also measure the other routes considered")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    binary = find_ffmpeg()
    episode = episode_frames(args.data, args.frames, (width, height), depth=True)
    out = Path(tempfile.mkdtemp(prefix="encodectl-depth-"))
    sample = np.stack(list(depth_maps(min(args.frames, 30), (width, height))))
    png_bytes = sum(path.stat().st_size for path in episode.glob("*.png"))
    print(f"ffmpeg {binary.version} ({binary.source}); {args.frames} depth frames {width}x{height} "
          f"({(sample == 0).mean():.1%} zero holes, up to {sample.max()} mm); {args.runs} runs each")  # fmt: skip

    tool = [sys.executable, "-m", "encodectl.cli", "encode", str(episode), "-o", str(out / "tool.mkv"), "--json"]
    bare = planned(episode, out / "bare.mkv")
    bare_times, tool_times, results = [], [], []
    for _ in range(args.runs):
        bare_times.append(timed(bare))
        started = time.perf_counter()
        completed = subprocess.run([*tool, "--overwrite"], check=True, capture_output=True, text=True)
        tool_times.append(time.perf_counter() - started)
        results.append(json.loads(completed.stdout)["results"][0])
    video = out / "tool.mkv"
    assert all(r["depth"]["lossless"] and r["depth"]["hashed_frames"] == args.frames for r in results), results
    bare_median, tool_median = statistics.median(bare_times), statistics.median(tool_times)
    size = video.stat().st_size
    print(f"PNG frames       : {png_bytes / MIB:.1f} MiB ({png_bytes / args.frames / 1024:.0f} KiB a frame)")
    print(f"FFV1 in .mkv     : {size / MIB:.1f} MiB ({size / png_bytes:.2f} x the PNG frames), every frame hashed "
          "equal to its source")  # fmt: skip
    print(runs_line("bare ffmpeg      ", bare_times) + f"  = {args.frames / bare_median:.0f} fps")
    print(runs_line("encodectl encode ", tool_times) + f"  = {args.frames / tool_median:.0f} fps, "
          "with validation and the bit-exact check")  # fmt: skip
    print(f"ratio of medians : {tool_median / bare_median:.3f}  (target <= 1.3)")
    print(pairs_line(tool_times, bare_times, 1.3))
    if args.candidates:
        measure_candidates(str(binary.path), episode, out, args.frames, png_bytes, args.runs)


if __name__ == "__main__":
    main()
