"""encodectl/benchmarking/benchmark.py: `encodectl bench`: each mode's recording session, run and measured.

The command as users run it, its table and plot, GPU modes on the CPU: tests/test_bench.py,
tests/report/test_bench.py. Here the recorder's clock is the test's (tests/benchmarking/clock.py): the
sessions record at once, and encode for real."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from encodectl.benchmarking import recorder
from encodectl.benchmarking.benchmark import decode_loop, run_bench
from encodectl.benchmarking.measures import BenchMode, BenchOptions
from encodectl.errors import EncodeError, UsageError
from encodectl.frames.synthetic import FrameLoop
from encodectl.models import EncodeOptions, FFmpegBinary
from tests.benchmarking.clock import FakeClock
from tests.conftest import decode
from tests.corrupt import garble_png_image_data


def test_a_session_per_mode_measured_and_a_gpu_mode_said_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ffmpeg_binary: FFmpegBinary
) -> None:
    monkeypatch.setattr(recorder, "time", FakeClock())
    options = BenchOptions(modes=[BenchMode.sync_cpu, BenchMode.stream_cpu, BenchMode.sync_gpu], episodes=2,
                           seconds=0.3, cameras=1, size=(64, 48), fps=10, keep=tmp_path / "kept")  # fmt: skip
    said: list[str] = []
    report = run_bench(options, ffmpeg_binary, EncodeOptions(preset="ultrafast"), said.append)
    sync, stream, gpu = report.results
    for result in (sync, stream):
        assert (result.available, result.encoder, result.failed, result.fallback) == (True, "libx264", 0, False)
        assert (len(result.episodes), result.frames_encoded, result.frames_due) == (2, 6, 6)  # 2 episodes x 3
        assert result.quality is not None and result.quality.psnr_db > 25
    assert stream.add_frame_calls == 6 and stream.add_frame_p99_ms is not None
    assert [m.encode_s >= 0.3 for m in stream.episodes] == [True, True]  # the episode's length, then close()
    assert (gpu.available, gpu.episodes) == (False, [])
    assert gpu.reason  # why, in the words of the encoder choice
    assert said[0].startswith("sync-cpu: recording 2 episode(s) of 0.3 s x 1 camera(s) at 64x48, 10 fps; ")
    assert "sync-gpu: unavailable here" in said
    video = tmp_path / "kept" / "sync-cpu" / "videos" / "observation.images.top" / "episode_000001.mp4"
    assert decode(video).timestamps == [Fraction(0), Fraction(1, 10), Fraction(2, 10)]
    assert (report.options, report.ffmpeg) == (options, f"{ffmpeg_binary.version} ({ffmpeg_binary.source})")


@pytest.mark.same_on_every_ffmpeg("the option is refused before anything runs")
def test_frames_that_are_not_a_folder_are_refused(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    with pytest.raises(UsageError) as caught:
        run_bench(BenchOptions(frames=tmp_path / "none"), ffmpeg_binary, EncodeOptions())
    assert str(caught.value) == f"--frames {tmp_path / 'none'} is not a folder"


def test_decode_loop_gives_each_frame_as_rgb(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    arrays = decode_loop(ffmpeg_binary, FrameLoop.from_files(make_frames(tmp_path / "f", 3)))
    assert [array.shape for array in arrays] == [(48, 64, 3)] * 3
    assert any((arrays[0] != arrays[1]).flatten())  # the frames differ: each decoded, not one repeated
    damaged = make_frames(tmp_path / "g", 1)[0]
    garble_png_image_data(damaged)  # header and end intact: only decoding tells
    broken = FrameLoop([damaged.read_bytes()])
    with pytest.raises(EncodeError, match=r"^cannot decode the frame loop: "):
        decode_loop(ffmpeg_binary, broken)
