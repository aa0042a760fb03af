"""install_streaming against a stand-in for LeRobot 0.6.1 that records the calls: its LeRobotDataset with the
static _build_streaming_encoder, its StreamingVideoEncoder's five calls, its encoder configs. The videos are
the real ffmpeg's, read back independently (PyAV); the statistics are checked against numpy."""

from __future__ import annotations

import fcntl
import logging
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import av
import numpy as np
import pytest

from encodectl.errors import EncodeError, UsageError
from encodectl.ffmpeg.binary import find_ffmpeg
from encodectl.ffmpeg.gpu_probe import probe_hardware
from encodectl.stream import lerobot as streaming
from encodectl.stream import lerobot_settings
from encodectl.stream.lerobot import EncodectlStreamingEncoder, install_streaming, uninstall_streaming
from encodectl.stream.recovery import recover

WIDTH, HEIGHT = 64, 48


@dataclass
class RGBEncoderConfig:
    """LeRobot 0.6.1's RGBEncoderConfig fields; libx264 here, which every ffmpeg build encodes at 64x48."""

    vcodec: str = "h264"
    pix_fmt: str = "yuv420p"
    g: int | None = 2
    crf: int | float | None = 30
    preset: int | str | None = None
    fast_decode: int = 0
    video_backend: str = "pyav"
    extra_options: dict[str, Any] = field(default_factory=dict)


class StreamingVideoEncoder:
    """LeRobot 0.6.1's contract (its calls' signatures), and what the stand-in builds before install."""

    def start_episode(self, video_keys, temp_dir, depth_video_keys=None): ...
    def feed_frame(self, video_key, image): ...
    def finish_episode(self): ...
    def cancel_episode(self): ...
    def close(self): ...


class LeRobotDataset:
    """What install_streaming patches, and how LeRobot's create() calls it."""

    built: ClassVar[list[tuple[Any, ...]]] = []

    @staticmethod
    def _build_streaming_encoder(fps, rgb_encoder, depth_encoder, encoder_queue_maxsize, encoder_threads):
        return StreamingVideoEncoder()

    @classmethod
    def create(cls, fps=30, rgb_encoder=None, depth_encoder=None, streaming_encoding=False, encoder_queue_maxsize=30,
               encoder_threads=None):  # fmt: skip
        dataset = cls()
        dataset.encoder = None
        if streaming_encoding:
            cls.built.append((fps, rgb_encoder, depth_encoder, encoder_queue_maxsize, encoder_threads))
            dataset.encoder = cls._build_streaming_encoder(
                fps, rgb_encoder, depth_encoder, encoder_queue_maxsize, encoder_threads
            )
        return dataset


VERSION = "0.6.1"


@pytest.fixture
def installed():
    install_streaming(LeRobotDataset, encoder_class=StreamingVideoEncoder, version=VERSION)
    yield LeRobotDataset
    uninstall_streaming(LeRobotDataset)


def frames(count: int, seed: int = 0) -> list[np.ndarray]:
    """HWC uint8 frames with a moving gradient and noise: a video that is not all one colour."""
    rng = np.random.default_rng(seed)
    x = np.arange(WIDTH, dtype=np.uint16)[np.newaxis, :, np.newaxis]
    y = np.arange(HEIGHT, dtype=np.uint16)[:, np.newaxis, np.newaxis]
    made = []
    for i in range(count):
        base = (x * 3 + y * 2 + i * 9 + np.array([0, 60, 120], dtype=np.uint16)) % 256
        noise = rng.integers(0, 8, size=(HEIGHT, WIDTH, 3), dtype=np.uint16)
        made.append(((base + noise) % 256).astype(np.uint8))
    return made


def decoded(path: Path) -> tuple[list[np.ndarray], list[float]]:
    """Every frame of `path` as RGB and its timestamp, read by PyAV (not by encodectl)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        pictures = list(container.decode(stream))
        return [p.to_ndarray(format="rgb24") for p in pictures], [float(p.pts * stream.time_base) for p in pictures]


def record(encoder: Any, keys: list[str], count: int, root: Path, shape=lambda f: f) -> dict[str, Any]:
    encoder.start_episode(keys, root)
    for frame in frames(count):
        for key in keys:
            encoder.feed_frame(key, shape(frame))
    return encoder.finish_episode()


# -- install / uninstall / refusals ----------------------------------------------------------


def test_install_replaces_the_builder_and_uninstall_puts_it_back():
    import encodectl

    assert encodectl.install_streaming is install_streaming and encodectl.uninstall_streaming is uninstall_streaming
    original = LeRobotDataset.__dict__["_build_streaming_encoder"]
    install_streaming(LeRobotDataset, encoder_class=StreamingVideoEncoder, version=VERSION)
    install_streaming(LeRobotDataset, encoder_class=StreamingVideoEncoder, version=VERSION)  # idempotent
    try:
        assert isinstance(LeRobotDataset.__dict__["_build_streaming_encoder"], staticmethod)
        dataset = LeRobotDataset.create(fps=30, rgb_encoder=RGBEncoderConfig(), streaming_encoding=True)
        assert isinstance(dataset.encoder, EncodectlStreamingEncoder)
        assert LeRobotDataset.create(streaming_encoding=False).encoder is None  # only streaming datasets
        dataset.encoder.close()
    finally:
        uninstall_streaming(LeRobotDataset)
    assert LeRobotDataset.__dict__["_build_streaming_encoder"] is original
    again = LeRobotDataset.create(rgb_encoder=RGBEncoderConfig(), streaming_encoding=True)
    assert type(again.encoder) is StreamingVideoEncoder


@pytest.mark.same_on_every_ffmpeg("the contract is read from the classes' signatures; no ffmpeg runs")
def test_another_release_is_refused_in_one_line_naming_it():
    with pytest.raises(UsageError) as refused:
        install_streaming(LeRobotDataset, encoder_class=StreamingVideoEncoder, version="0.7.0")
    assert "LeRobot 0.7.0" in refused.value.message and "\n" not in refused.value.message
    assert not streaming.installed(LeRobotDataset)


@pytest.mark.same_on_every_ffmpeg("the contract is read from the classes' signatures; no ffmpeg runs")
def test_a_builder_of_another_signature_is_refused():
    class Other:
        @staticmethod
        def _build_streaming_encoder(fps, rgb_encoder, depth_encoder, encoder_queue_maxsize, encoder_threads, extra):
            return None

    with pytest.raises(UsageError, match=r"LeRobot 0\.6\.1 .*_build_streaming_encoder\(fps, .*extra\) differs"):
        install_streaming(Other, encoder_class=StreamingVideoEncoder, version=VERSION)

    class NotStatic:
        def _build_streaming_encoder(self, fps, rgb_encoder, depth_encoder, encoder_queue_maxsize, encoder_threads):
            return None

    with pytest.raises(UsageError, match="not the static method"):
        install_streaming(NotStatic, encoder_class=StreamingVideoEncoder, version=VERSION)
    assert not streaming.installed(Other) and not streaming.installed(NotStatic)


@pytest.mark.same_on_every_ffmpeg("the contract is read from the classes' signatures; no ffmpeg runs")
def test_an_encoder_contract_of_other_calls_is_refused():
    class Renamed(StreamingVideoEncoder):
        def feed_frame(self, video_key, image, timestamp): ...

    with pytest.raises(UsageError, match=r"StreamingVideoEncoder\.feed_frame is \(self, video_key, image, timestamp\)"):
        install_streaming(LeRobotDataset, encoder_class=Renamed, version=VERSION)
    assert not streaming.installed(LeRobotDataset)


def test_without_lerobot_install_says_so_in_one_line():
    code = "from encodectl.stream.lerobot import install_streaming\ninstall_streaming()\n"
    blocked = "import sys; sys.modules['lerobot'] = None\n"  # LeRobot absent, whatever this venv holds
    run = subprocess.run([sys.executable, "-c", blocked + code], capture_output=True, text=True)
    assert run.returncode != 0
    assert "UsageError: LeRobot is not installed in this Python" in run.stderr
    assert "pip install 'lerobot[dataset]==0.6.1'" in run.stderr


# -- the encoder: frames in, verified videos and statistics out ------------------------------


def test_frames_in_verified_videos_and_lerobots_statistics_out(installed, tmp_path):
    encoder = installed.create(fps=30, rgb_encoder=RGBEncoderConfig(), streaming_encoding=True).encoder
    given = frames(5)
    results = record(encoder, ["observation.images.top", "observation.images.wrist"], 5, tmp_path)
    assert set(results) == {"observation.images.top", "observation.images.wrist"}
    for key, (path, stats) in results.items():
        assert path.exists() and path.parent.parent == tmp_path and key in path.name
        assert [p.name for p in path.parent.iterdir()] == [path.name]  # LeRobot removes this folder
        pictures, times = decoded(path)
        assert len(pictures) == 5
        assert times == pytest.approx([i / 30 for i in range(5)], abs=1e-6)
        assert pictures[0].shape == (HEIGHT, WIDTH, 3)
        # Lossy, but the picture: each decoded frame is far closer to its own source frame than to the next.
        errors = [np.abs(p.astype(int) - g.astype(int)).mean() for p, g in zip(pictures, given, strict=True)]
        assert max(errors) < 12
        pixels = np.stack(given).reshape(-1, 3).astype(np.float64)
        assert stats["count"].tolist() == [5 * WIDTH * HEIGHT]  # LeRobot 0.6 streaming: every pixel a sample
        assert stats["min"].tolist() == pixels.min(axis=0).tolist()
        assert stats["max"].tolist() == pixels.max(axis=0).tolist()
        assert stats["mean"] == pytest.approx(pixels.mean(axis=0), rel=1e-5)
        assert stats["std"] == pytest.approx(pixels.std(axis=0), rel=1e-4)
        assert stats["q50"] == pytest.approx(np.quantile(pixels, 0.5, axis=0), abs=1.0)
        assert set(stats) == {"min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"}
        assert not list(path.parent.glob(".*stream*"))  # the stream file became the video
    encoder.close()


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("chw uint8", lambda f: f.transpose(2, 0, 1)),
        ("hwc float", lambda f: f.astype(np.float32) / 255),
        ("chw float", lambda f: (f.astype(np.float64) / 255).transpose(2, 0, 1)),
    ],
)
def test_chw_and_float_frames_make_the_same_video(installed, tmp_path, name, shape):
    encoder = installed.create(fps=30, rgb_encoder=RGBEncoderConfig(), streaming_encoding=True).encoder
    reference = record(encoder, ["cam"], 4, tmp_path / "hwc")["cam"]
    other = record(encoder, ["cam"], 4, tmp_path / "other", shape)["cam"]
    encoder.close()
    expected = [(shape(f) * 255).astype(np.uint8) if "float" in name else f for f in frames(4)]  # as LeRobot does
    if "float" in name:
        expected = [e.transpose(1, 2, 0) if e.shape[0] == 3 else e for e in expected]
        pixels = np.stack(expected).reshape(-1, 3).astype(np.float64)
        assert other[1]["mean"] == pytest.approx(pixels.mean(axis=0), rel=1e-5)
    else:
        for stat in ("min", "max", "mean", "count"):
            assert other[1][stat].tolist() == reference[1][stat].tolist()
    ours, theirs = decoded(other[0])[0], decoded(reference[0])[0]
    assert len(ours) == len(theirs) == 4
    assert max(np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(ours, theirs, strict=True)) < 2


def test_one_frame_gives_no_statistics_as_lerobot_does(installed, tmp_path):
    encoder = installed.create(fps=30, rgb_encoder=RGBEncoderConfig(), streaming_encoding=True).encoder
    path, stats = record(encoder, ["cam"], 1, tmp_path)["cam"]
    encoder.close()
    assert stats is None
    assert len(decoded(path)[0]) == 1


def test_lerobot_default_settings_are_svt_av1_crf_30_g_2(installed, tmp_path):
    encoder = installed.create(fps=30, streaming_encoding=True).encoder  # rgb_encoder None: LeRobot's defaults
    assert encoder._rgb_plan.primary.encoder == "libsvtav1"
    assert encoder._rgb_plan.primary.arguments == {"crf": "30", "preset": "12", "svtav1-params": "fast-decode=0"}
    encoder.start_episode(["cam"], tmp_path)
    square = [np.ascontiguousarray(np.tile(f, (2, 1, 1))[:64]) for f in frames(3)]  # 64x64: SVT-AV1's minimum
    for frame in square:
        encoder.feed_frame("cam", frame)
    path, _ = encoder.finish_episode()["cam"]
    encoder.close()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name in ("libdav1d", "av1", "libaom-av1")
        keyframes = [packet.is_keyframe for packet in container.demux(stream) if packet.size]
    assert len(keyframes) == 3 and keyframes[0] and keyframes[2]  # g 2: a keyframe every 2 frames


def test_extra_options_and_threads_reach_ffmpeg_as_lerobot_passes_them():
    config = streaming.LeRobotEncoderConfig.of(
        RGBEncoderConfig(crf=23, preset="veryfast", fast_decode=1, extra_options={"tune": "film", "crf": "1"}), False
    )
    options = config.codec_options(threads=2)
    # extra options never override a structured field (LeRobot's rule), tune from fast_decode comes first
    assert options == {"crf": "23", "preset": "veryfast", "tune": "fastdecode", "threads": "2"}
    plan = streaming.plan_for(config, 2, find_ffmpeg())
    assert plan.primary.encoder == "libx264" and plan.primary.gop == 2


def test_cancel_removes_the_episode_and_the_next_one_records(installed, tmp_path):
    encoder = installed.create(fps=30, rgb_encoder=RGBEncoderConfig(), streaming_encoding=True).encoder
    encoder.start_episode(["cam"], tmp_path)
    for frame in frames(3):
        encoder.feed_frame("cam", frame)
    encoder.cancel_episode()
    assert list(tmp_path.iterdir()) == []  # no video, no stream file, no folder
    with pytest.raises(EncodeError, match="no active episode"):
        encoder.feed_frame("cam", frames(1)[0])
    path, stats = record(encoder, ["cam"], 3, tmp_path)["cam"]
    assert len(decoded(path)[0]) == 3 and stats["count"].tolist() == [3 * WIDTH * HEIGHT]
    encoder.close()


def test_close_cancels_an_open_episode_and_refuses_another(installed, tmp_path):
    encoder = installed.create(fps=30, rgb_encoder=RGBEncoderConfig(), streaming_encoding=True).encoder
    encoder.start_episode(["cam"], tmp_path)
    encoder.feed_frame("cam", frames(1)[0])
    encoder.close()
    encoder.close()  # twice is fine, as LeRobot's
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(EncodeError, match="after close"):
        encoder.start_episode(["cam"], tmp_path)


def test_a_camera_without_frames_is_an_error_not_a_missing_file(installed, tmp_path):
    encoder = installed.create(fps=30, rgb_encoder=RGBEncoderConfig(), streaming_encoding=True).encoder
    encoder.start_episode(["cam", "silent"], tmp_path)
    encoder.feed_frame("cam", frames(1)[0])
    with pytest.raises(EncodeError, match="silent: no frame was fed"):
        encoder.finish_episode()
    encoder.close()


def test_frames_beyond_the_memory_budget_spill_instead_of_dropping(installed, tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "BUFFER_FRAMES", 2)
    encoder = installed.create(fps=30, rgb_encoder=RGBEncoderConfig(), streaming_encoding=True).encoder
    path, stats = record(encoder, ["cam"], 40, tmp_path)["cam"]
    encoder.close()
    assert len(decoded(path)[0]) == 40 and stats["count"].tolist() == [40 * WIDTH * HEIGHT]


def test_a_hardware_vcodec_that_does_not_work_falls_back_to_the_cpu_said_once(installed, caplog):
    binary = find_ffmpeg()
    probe = probe_hardware(binary).find("h264_nvenc")
    if probe is not None and probe.works:
        pytest.skip("NVENC works on this machine")
    config = streaming.LeRobotEncoderConfig.of(RGBEncoderConfig(vcodec="h264_nvenc"), False)
    with caplog.at_level(logging.WARNING, logger="encodectl.lerobot"):
        first = streaming.plan_for(config, None, binary)
        second = streaming.plan_for(config, None, binary)
    assert first.primary.encoder == second.primary.encoder == "libx264"
    assert first.primary.arguments["crf"] == "30"
    said = [r.message for r in caplog.records if "h264_nvenc does not work here" in r.message]
    assert len(said) <= 1  # once per process: an earlier test may have said it already
    assert "h264_nvenc does not work here" in " ".join(lerobot_settings._said)


def test_a_hardware_vcodec_that_works_is_used_with_the_cpu_behind_it(fake_gpu):
    binary = find_ffmpeg(fake_gpu.path)
    config = streaming.LeRobotEncoderConfig.of(RGBEncoderConfig(vcodec="h264_nvenc", crf=28, preset="p4"), False)
    plan = streaming.plan_for(config, None, binary)
    assert plan.primary.encoder == "h264_nvenc" and plan.primary.hardware
    assert plan.primary.arguments == {"rc": "0", "qp": "28", "preset": "p4"}  # LeRobot's NVENC options
    assert plan.fallback is not None and plan.fallback.encoder == "libx264"


CRASHING_RECORDER = """
import os, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_lerobot_streaming import RGBEncoderConfig, frames
from encodectl.stream.lerobot import EncodectlStreamingEncoder
encoder = EncodectlStreamingEncoder(30, RGBEncoderConfig())
encoder.start_episode(["cam"], Path({root!r}))
for frame in frames(6):
    encoder.feed_frame("cam", frame)
encoder.wait_written()  # every frame handed to ffmpeg: what a crash from here on must not lose
os._exit(1)  # a crash: no close, no atexit
"""


def test_an_episode_cut_off_by_a_crash_is_recovered(tmp_path):
    script = CRASHING_RECORDER.format(tests=str(Path(__file__).parent), root=str(tmp_path))
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    (stream_file,) = tmp_path.rglob(".*.stream.mp4")
    with stream_file.open("rb") as handle:  # the orphaned ffmpeg holds the lock until it has written out
        fcntl.flock(handle, fcntl.LOCK_EX)
        fcntl.flock(handle, fcntl.LOCK_UN)
    (recovered,) = recover(tmp_path, find_ffmpeg())
    assert recovered.status == "recovered" and recovered.frames == 6
    assert recovered.output is not None and recovered.output.name == "cam_streaming.mp4"
    assert len(decoded(recovered.output)[0]) == 6


# -- the launcher -------------------------------------------------------------------------------


@pytest.mark.same_on_every_ffmpeg("the launcher's arguments are decided before any ffmpeg runs")
def test_the_launcher_turns_streaming_on_unless_told():
    from encodectl.stream.lerobot_record import with_streaming

    assert with_streaming(["--dataset.repo_id=me/x"]) == (
        ["--dataset.repo_id=me/x", "--dataset.streaming_encoding=true"],
        None,
    )
    assert with_streaming(["--dataset.streaming_encoding=true"]) == (["--dataset.streaming_encoding=true"], None)
    args, note = with_streaming(["--dataset.streaming_encoding=false"])
    assert args == ["--dataset.streaming_encoding=false"] and note is not None and "not used" in note


@pytest.mark.same_on_every_ffmpeg("LeRobot's absence is found before any ffmpeg runs")
def test_lerobot_record_without_lerobot_is_one_line_and_exit_2():
    code = (
        "import sys; sys.modules['lerobot'] = None\n"
        "from encodectl.cli import main\n"
        "sys.argv = ['encodectl', 'lerobot-record', '--robot.type=so101_follower', '--dataset.repo_id=me/x']\n"
        "main()\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"encodectl: error: LeRobot is not installed in this Python ({sys.executable}); "
        "pip install 'lerobot[dataset]==0.6.1' (Python >= 3.12)"
    ]


def test_the_next_episodes_encoders_start_before_its_first_frame(installed, tmp_path):
    encoder = installed.create(fps=30, rgb_encoder=RGBEncoderConfig(), streaming_encoding=True).encoder
    record(encoder, ["cam"], 3, tmp_path)
    encoder.start_episode(["cam"], tmp_path)
    camera = encoder._cameras["cam"]
    assert camera.started_early and camera._encoder is not None and camera._encoder.state == "open"
    for frame in frames(4):
        encoder.feed_frame("cam", frame)
    path, stats = encoder.finish_episode()["cam"]
    assert len(decoded(path)[0]) == 4 and stats["count"].tolist() == [4 * WIDTH * HEIGHT]
    # An episode of another size: the encoder started ahead is dropped, one for this size started.
    encoder.start_episode(["cam"], tmp_path)
    for frame in frames(3):
        encoder.feed_frame("cam", np.ascontiguousarray(frame[:32, :48]))
    path, _ = encoder.finish_episode()["cam"]
    assert [p.shape for p in decoded(path)[0]] == [(32, 48, 3)] * 3
    encoder.close()
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != path.name and "streaming" not in p.name]
    assert leftovers == []
    assert all(p.suffix == ".mp4" for p in tmp_path.rglob("*") if p.is_file())  # no stream file, no spill left


def test_other_cameras_next_episode_drop_the_encoders_started_ahead(installed, tmp_path):
    encoder = installed.create(fps=30, rgb_encoder=RGBEncoderConfig(), streaming_encoding=True).encoder
    first = record(encoder, ["cam"], 2, tmp_path)["cam"][0]
    first.unlink()  # as LeRobot takes it in
    first.parent.rmdir()
    results = record(encoder, ["other"], 2, tmp_path)
    assert len(decoded(results["other"][0])[0]) == 2
    encoder.close()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["other_streaming.mp4"]


@pytest.mark.same_on_every_ffmpeg("the plan is decided before any ffmpeg runs")
def test_depth_is_planned_as_lerobots_quantized_hevc_all_intra():
    @dataclass
    class DepthEncoderConfig(RGBEncoderConfig):
        vcodec: str = "hevc"
        pix_fmt: str = "gray12le"
        extra_options: dict[str, Any] = field(default_factory=lambda: {"x265-params": "lossless=1"})
        depth_min: float = 0.2
        depth_max: float = 4.0
        shift: float = 3.5
        use_log: bool = False

    config = streaming.LeRobotEncoderConfig.of(DepthEncoderConfig(), True)
    settings = streaming.plan_for(config, None, find_ffmpeg()).primary
    assert (settings.encoder, settings.pix_fmt, settings.gop) == ("libx265", "gray12le", 1)
    assert settings.arguments["x265-params"] == "lossless=1:log-level=error"
    assert settings.quantization is not None and settings.quantization.depth_min == 0.2
    assert settings.quantization.use_log is False
