"""LeRobot's own recorder, encoding through StreamEncoder: `install_streaming()` makes every
`LeRobotDataset` this process creates with `streaming_encoding=True` stream its cameras through
encodectl instead of LeRobot's encoder threads.

LeRobot 0.6 builds its streaming encoder in one place, the static method
`LeRobotDataset._build_streaming_encoder(fps, rgb_encoder, depth_encoder, encoder_queue_maxsize,
encoder_threads)`, and drives it through five calls (`StreamingVideoEncoder` in
`lerobot/datasets/video_utils.py`): `start_episode(video_keys, temp_dir, depth_video_keys=None)`,
`feed_frame(video_key, image)`, `finish_episode() -> {video_key: (mp4_path, stats_or_None)}`,
`cancel_episode()` and `close()`. That one method is replaced, and only after its signature, the
five calls' and the LeRobot release are checked to be the ones this was written against: another
contract is refused in one line rather than patched blind.

What changes for the recorder: one StreamEncoder per camera, so no frame is ever dropped (LeRobot's
queue of 30 drops one after waiting 0.1 s): frames beyond the memory budget spill to disk, and
feed_frame never waits on an encoder. The camera statistics LeRobot takes from finish_episode are
gathered on a thread of their own, as LeRobot 0.6 gathers them (lerobot/stats.py, RunningStats).
Each video is verified (frame count, exact timestamps, size, pixel format) before it is handed
back, and an episode cut off by a crash leaves a fragmented MP4 that `encodectl recover ROOT`
finishes. LeRobot's rgb_encoder / depth_encoder settings are honoured (codec, crf, g, preset,
pix_fmt, fast_decode, extra options; depth quantized to LeRobot's 12-bit codes); a hardware
vcodec is used only when encodectl's probe says it really works, else the CPU encoder of the same
codec, said once.

This module never imports LeRobot at import time: `install_streaming()` does, and says in one line
when it is missing.

It lives in stream/ and not in lerobot/ because the layering (tests/test_layers.py) lets stream
import lerobot (the statistics) but not the other way round.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import inspect
import logging
import queue
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..errors import EncodectlError, EncodeError, InputError, UsageError
from ..ffmpeg.binary import find_ffmpeg
from ..ffmpeg.encoder_choice import EncoderPlan
from ..ffmpeg.encoders import ENCODERS
from ..ffmpeg.gpu_probe import probe_hardware
from ..lerobot.stats import RunningStats, Stats, downscaled_hwc
from ..models import DepthMode, DepthQuantization, EncoderSettings, FFmpegBinary, JobStatus
from .encoder import StreamEncoder

log = logging.getLogger("encodectl.lerobot")

SUPPORTED_RELEASE = (0, 6)  # LeRobot 0.6.x: the contract below was read in 0.6.1
BUILDER = "_build_streaming_encoder"
BUILDER_PARAMETERS = ("fps", "rgb_encoder", "depth_encoder", "encoder_queue_maxsize", "encoder_threads")
# The calls of LeRobot's StreamingVideoEncoder that its DatasetWriter makes, with their parameters.
CONTRACT: dict[str, tuple[str, ...]] = {
    "start_episode": ("self", "video_keys", "temp_dir", "depth_video_keys"),
    "feed_frame": ("self", "video_key", "image"),
    "finish_episode": ("self",),
    "cancel_episode": ("self",),
    "close": ("self",),
}
INSTALL_HINT = "pip install 'lerobot[dataset]==0.6.1' (Python >= 3.12)"

# vcodec (as LeRobot's VideoEncoderConfig names it, for PyAV) -> the ffmpeg encoder and the codec it makes.
CPU_VCODECS = {
    "libsvtav1": ("libsvtav1", "av1"),
    "libaom-av1": ("libaom-av1", "av1"),
    "h264": ("libx264", "h264"),
    "hevc": ("libx265", "hevc"),
}
HARDWARE_VCODECS = {
    "h264_nvenc": "h264",
    "hevc_nvenc": "hevc",
    "h264_vaapi": "h264",
    "h264_qsv": "h264",
    "h264_videotoolbox": "h264",
    "hevc_videotoolbox": "hevc",
}
BUFFER_FRAMES: int | None = None  # frames a camera keeps in memory before spilling; None: StreamEncoder's budget
# Depth codes all-intra whatever the config's g, as `encode` writes them (encoders.py, LEROBOT_DEPTH_ARGUMENTS:
# x265's lossless 12-bit monochrome HEVC does not decode to its codes in predicted frames; keyframes it does).
DEPTH_GOP = 1
DEPTH_KEEP_EXACT = "log-level=error"

_installed: dict[type, Any] = {}  # patched class -> its own builder (the staticmethod object)
_said: set[str] = set()
_said_lock = threading.Lock()


def say_once(message: str) -> None:
    """A warning the recorder sees once per process, however many datasets and cameras repeat it."""
    with _said_lock:
        if message in _said:
            return
        _said.add(message)
    log.warning(message)


class LeRobotEncoderConfig(BaseModel):
    """What encodectl reads off LeRobot 0.6's RGBEncoderConfig / DepthEncoderConfig (by attribute, so no
    LeRobot import is needed); the defaults are LeRobot 0.6.1's rgb_encoder_defaults()."""

    model_config = ConfigDict(extra="forbid")

    vcodec: str = "libsvtav1"
    pix_fmt: str = "yuv420p"
    g: int | None = 2
    crf: int | float | None = 30
    preset: int | str | None = 12
    fast_decode: int = 0
    extra_options: dict[str, Any] = {}
    depth: DepthQuantization | None = None  # a DepthEncoderConfig's quantizer

    @classmethod
    def of(cls, config: object | None, depth: bool) -> LeRobotEncoderConfig:
        """From LeRobot's config object; None: LeRobot's defaults for colour or depth cameras."""
        if config is None:
            return depth_defaults() if depth else cls()
        values = {name: getattr(config, name) for name in cls.model_fields if name != "depth" and hasattr(config, name)}
        if depth:
            quantizer = {name: getattr(config, name) for name in ("depth_min", "depth_max", "shift", "use_log")
                         if hasattr(config, name)}  # fmt: skip
            values["depth"] = DepthQuantization(**quantizer)
        return cls(**values)

    def codec_options(self, threads: int | None) -> dict[str, str]:
        """The codec options LeRobot 0.6.1's get_codec_options passes to PyAV (ffmpeg's own option names),
        less the GOP, which is the settings' own; extra options last, never over a structured one."""
        options: dict[str, Any] = {}

        def given(key: str, value: Any) -> None:
            if value is not None:
                options[key] = value

        vcodec = self.vcodec
        if vcodec == "libsvtav1":
            given("crf", self.crf)
            given("preset", self.preset)
            parts = [f"fast-decode={max(0, min(2, self.fast_decode))}"]
            if threads is not None:
                parts.append(f"lp={threads}")
            given("svtav1-params", ":".join(parts))
        elif vcodec in ("h264", "hevc", "libaom-av1"):
            given("crf", self.crf)
            given("preset", self.preset)
            if vcodec != "libaom-av1" and self.fast_decode:
                given("tune", "fastdecode")
            given("threads", threads)
            if vcodec == "libaom-av1" and threads is not None:
                given("row-mt", 1)
        elif vcodec.endswith("_videotoolbox"):
            if self.crf is not None:
                given("q:v", max(1, min(100, 100 - self.crf * 2)))
        elif vcodec.endswith("_nvenc"):
            given("rc", 0)
            given("qp", self.crf)
            given("preset", self.preset)
        elif vcodec == "h264_vaapi":
            given("qp", self.crf)
        elif vcodec == "h264_qsv":
            given("global_quality", self.crf)
            given("preset", self.preset)
        for key, value in self.extra_options.items():
            if key not in options and key != "g":
                given(key, value)
        return {key: str(value) for key, value in options.items()}


def depth_defaults() -> LeRobotEncoderConfig:
    """LeRobot 0.6.1's depth_encoder_defaults(): HEVC lossless of 12-bit codes."""
    return LeRobotEncoderConfig(
        vcodec="hevc", pix_fmt="gray12le", preset=None, extra_options={"x265-params": "lossless=1"},
        depth=DepthQuantization(),
    )  # fmt: skip


def plan_for(config: LeRobotEncoderConfig, threads: int | None, binary: FFmpegBinary) -> EncoderPlan:
    """The encoder a camera streams with: LeRobot's vcodec and options; a hardware vcodec only when it
    passes encodectl's test encode (else the CPU encoder of its codec, said once)."""
    vcodec, gop = config.vcodec, config.g or 2
    options = config.codec_options(threads)
    if config.depth is not None:
        if vcodec != "hevc":
            raise UsageError(f"depth cameras stream as LeRobot 0.6 writes them, HEVC of 12-bit codes; not {vcodec}")
        params = options.get("x265-params")
        options["x265-params"] = f"{params}:{DEPTH_KEEP_EXACT}" if params else DEPTH_KEEP_EXACT
        settings = EncoderSettings(
            encoder="libx265", codec="hevc", pix_fmt=config.pix_fmt, input_pix_fmt=config.pix_fmt, gop=DEPTH_GOP,
            arguments=options, depth=DepthMode.lerobot, quantization=config.depth,
        )  # fmt: skip
        return EncoderPlan(primary=settings, reason="LeRobot's depth encoder: HEVC of its 12-bit codes")
    if vcodec == "auto":  # LeRobot resolves it when the config is made; a config made without it lands here
        vcodec = "libsvtav1"
    if vcodec in CPU_VCODECS:
        encoder, codec = CPU_VCODECS[vcodec]
        settings = _cpu_settings(encoder, codec, config.pix_fmt, gop, options)
        return EncoderPlan(primary=settings, reason=f"LeRobot's vcodec {config.vcodec}")
    if vcodec not in HARDWARE_VCODECS:
        raise UsageError(f"LeRobot vcodec {vcodec!r} is not one encodectl streams with")
    codec = HARDWARE_VCODECS[vcodec]
    cpu_encoder = CPU_VCODECS[codec][0]
    cpu_options = LeRobotEncoderConfig(vcodec=codec, pix_fmt=config.pix_fmt, g=config.g, crf=config.crf)
    cpu = _cpu_settings(cpu_encoder, codec, config.pix_fmt, gop, cpu_options.codec_options(threads))
    probe = probe_hardware(binary).find(vcodec)
    if probe is None or not probe.works:
        why = probe.reason if probe is not None else "not in encodectl's encoder table"
        say_once(f"{vcodec} does not work here ({why}); encoding {codec} on the CPU with {cpu_encoder}")
        return EncoderPlan(primary=cpu, reason=f"{vcodec} failed its test encode")
    spec = ENCODERS[vcodec]
    global_args = [spec.device_option, "/dev/dri/renderD128"] if spec.vendor == "vaapi" and spec.device_option else []
    hardware = EncoderSettings(
        encoder=vcodec, codec=codec, hardware=True, pix_fmt=config.pix_fmt, input_pix_fmt=spec.input_pix_fmt,
        upload_filter=spec.upload_filter, global_args=global_args, gop=gop, arguments=options,
    )  # fmt: skip
    return EncoderPlan(primary=hardware, fallback=cpu, reason=f"{vcodec} passed its test encode")


def _cpu_settings(encoder: str, codec: str, pix_fmt: str, gop: int, options: dict[str, str]) -> EncoderSettings:
    if encoder == "libx265":  # x265's info lines must not pass for its error (encoders.py)
        params = options.get("x265-params")
        options = {**options, "x265-params": f"{params}:log-level=error" if params else "log-level=error"}
    return EncoderSettings(encoder=encoder, codec=codec, pix_fmt=pix_fmt, gop=gop, arguments=options)


class _Camera:
    """One camera's episode: its StreamEncoder and its statistics thread.

    The encoder is started before the episode when the frame size is known from the episode before
    (`size`), else off the recorder's thread on the first frame (frames meanwhile wait in a list). Not on
    the recorder's thread, and best before the episode: starting ffmpeg from a process as big as LeRobot's
    (torch: about 750 MB) still holds the interpreter's lock a moment (a vfork and an exec, ffmpeg/child.py;
    it was about 40 ms a camera when a preexec_fn made it a fork), and every thread waits meanwhile."""

    def __init__(
        self, key: str, output: Path, fps: int, plan: EncoderPlan, binary: FFmpegBinary, depth: bool,
        size: tuple[int, int] | None = None, buffer_mib: float = 256.0,
    ) -> None:  # fmt: skip
        self.key, self.output, self.fps, self.plan, self.binary, self.depth = key, output, fps, plan, binary, depth
        self.buffer_mib = buffer_mib
        self._lock = threading.Lock()
        self._encoder: StreamEncoder | None = None
        self._pending: list[np.ndarray[Any, Any]] = []
        self._opener: threading.Thread | None = None
        self._error: EncodectlError | None = None
        self.size: tuple[int, int] | None = None  # (width, height) of the frames fed
        self._started_for: tuple[int, int] | None = None  # the size the encoder was started for ahead
        if size is not None:
            self._encoder = self._new_encoder(*size)
            self._started_for = size
        self._stats = RunningStats()
        self._stats_queue: queue.SimpleQueue[np.ndarray[Any, Any] | None] = queue.SimpleQueue()
        self._stats_thread = threading.Thread(target=self._gather, name=f"encodectl-stats-{key}", daemon=True)
        self._stats_thread.start()
        self._discard_stats = False

    # -- the recorder's thread -------------------------------------------------------------

    def feed(self, image: np.ndarray[Any, Any]) -> None:
        if self._error is not None:
            raise self._error
        frame, for_stats = self._converted(image)
        self._stats_queue.put(downscaled_hwc(for_stats))
        if self.size is None:
            self.size = (frame.shape[1], frame.shape[0])
            if self._started_for is not None and self._started_for != self.size:
                self._drop_early_encoder()  # the episode before had another size: start one for this
        with self._lock:
            encoder = self._encoder
            if encoder is None:
                self._pending.append(np.array(frame, copy=True))  # the caller may reuse its buffer
                if self._opener is None:
                    height, width = frame.shape[:2]
                    self._opener = threading.Thread(
                        target=self._open, args=(width, height), name=f"encodectl-open-{self.key}", daemon=True
                    )
                    self._opener.start()
                return
        encoder.add_frame(frame)

    def _converted(self, image: Any) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """(frame for the encoder, HWC frame for the statistics) from what LeRobot feeds: HxWxC or
        CxHxW, uint8 or float in 0-1 for colour; a depth map in millimetres (integers) or metres (floats)."""
        frame = np.asarray(image)
        if frame.ndim == 3 and frame.shape[0] in (1, 3) and frame.shape[-1] not in (1, 3):
            frame = frame.transpose(1, 2, 0)  # CHW -> HWC, as LeRobot's encoder thread does
        if not self.depth:
            if frame.dtype != np.uint8:
                frame = (frame * 255).astype(np.uint8)  # as LeRobot does: its statistics are of these values
            return frame, frame
        stats_frame = frame if frame.ndim == 3 else frame[..., np.newaxis]
        depth = frame.reshape(frame.shape[0], frame.shape[1]) if frame.ndim == 3 and frame.shape[-1] == 1 else frame
        if depth.ndim != 2:
            raise InputError(f"{self.key}: a depth frame is HxW or HxWx1, not {'x'.join(map(str, frame.shape))}")
        if np.issubdtype(depth.dtype, np.floating):  # metres; the quantizer takes millimetres
            depth = np.clip(np.round(depth * 1000.0), 0, 65535).astype(np.uint16)
        elif depth.dtype != np.uint16:
            depth = np.clip(depth, 0, 65535).astype(np.uint16)
        return depth, stats_frame

    # -- threads of its own ----------------------------------------------------------------

    def _new_encoder(self, width: int, height: int) -> StreamEncoder:
        return StreamEncoder(
            self.output, width, height, self.fps, plan=self.plan, ffmpeg_binary=self.binary, camera=self.key,
            depth="lerobot" if self.depth else False, on_warning=say_once, buffer_frames=BUFFER_FRAMES,
            buffer_mib=self.buffer_mib,
        )  # fmt: skip

    def _drop_early_encoder(self) -> None:
        encoder, self._encoder, self._started_for = self._encoder, None, None
        if encoder is not None:
            encoder.abort()

    @property
    def started_early(self) -> bool:
        """The encoder was running before the episode's first frame."""
        return self._started_for is not None

    def _open(self, width: int, height: int) -> None:
        try:
            encoder = self._new_encoder(width, height)
            while True:
                with self._lock:
                    batch, self._pending = self._pending, []
                    if not batch:
                        self._encoder = encoder
                        return
                for frame in batch:
                    encoder.add_frame(frame)
        except EncodectlError as error:
            self._error = error
        except OSError as error:
            self._error = EncodeError(f"{self.key}: cannot start ffmpeg: {error.strerror or error}")

    def _gather(self) -> None:
        while True:
            frame = self._stats_queue.get()
            if frame is None:
                return
            if not self._discard_stats:
                self._stats.add(frame)

    # -- the episode's end -----------------------------------------------------------------

    def finish(self) -> tuple[Path, Stats | None]:
        """The verified video and the camera's statistics; EncodeError when there is no video."""
        self._stats_queue.put(None)
        if self.size is None:
            self._drop_early_encoder()
            raise EncodeError(f"{self.key}: no frame was fed this episode")
        if self._opener is not None:
            self._opener.join()
        if self._error is not None:
            raise self._error
        assert self._encoder is not None
        result = self._encoder.close()
        for note in result.notes:
            log.info("%s: %s", self.key, note)
        if result.status is not JobStatus.done:
            kept = "".join(f"; {note}" for note in result.notes if "recover" in note)
            raise EncodeError(f"{self.key}: {result.reason}{kept}")
        self._stats_thread.join()
        return self.output, self._stats.result()

    def wait_written(self, timeout: float) -> None:
        """Until ffmpeg has taken every frame fed so far (a crash from then on loses none of them)."""
        if self._opener is not None:
            self._opener.join(timeout)
        deadline = time.monotonic() + timeout
        while self._encoder is not None and self._encoder.stats.frames_written < self._encoder.stats.frames_added:
            if time.monotonic() > deadline:
                raise EncodeError(f"{self.key}: frames still unwritten after {timeout:g} s")
            time.sleep(0.01)

    def cancel(self) -> None:
        self._discard_stats = True
        self._stats_queue.put(None)
        if self._opener is not None:
            self._opener.join()
        if self._encoder is not None:
            self._encoder.abort()
        self._stats_thread.join()


class EncodectlStreamingEncoder:
    """LeRobot 0.6's StreamingVideoEncoder contract, encoding with encodectl (see the module's docstring)."""

    def __init__(
        self,
        fps: int,
        rgb_encoder: object | None = None,
        depth_encoder: object | None = None,
        queue_maxsize: int = 30,
        encoder_threads: int | None = None,
        *,
        ffmpeg_binary: FFmpegBinary | None = None,
        buffer_mib: float = 256.0,
    ) -> None:
        """`queue_maxsize` is accepted and not needed: frames beyond StreamEncoder's memory budget (`buffer_mib`
        a camera) spill to disk instead of waiting or being dropped. The encoders are planned here, when the
        dataset is made, so that the first frame of an episode only starts ffmpeg (off the recorder's thread)."""
        self.fps = fps
        self.binary = ffmpeg_binary or find_ffmpeg()
        self._rgb = LeRobotEncoderConfig.of(rgb_encoder, depth=False)
        self._depth = LeRobotEncoderConfig.of(depth_encoder, depth=True)
        self._threads = encoder_threads
        self._buffer_mib = buffer_mib
        self._rgb_plan = plan_for(self._rgb, encoder_threads, self.binary)
        self._depth_plan: EncoderPlan | None = None  # planned on the first depth camera
        self._cameras: dict[str, _Camera] = {}
        self._spares: dict[str, _Camera] = {}  # the next episode's cameras, their encoders already started
        self._spare_root: Path | None = None
        self._episode_dirs: list[Path] = []  # the current episode's
        self._old_dirs: list[Path] = []  # finished episodes', until LeRobot has taken their videos
        self._closed = False

    def start_episode(self, video_keys: list[str], temp_dir: Path, depth_video_keys: list[str] | None = None) -> None:
        if self._closed:
            raise EncodeError("start_episode after close()")
        if self._cameras:
            self.cancel_episode()
        self._tidy()
        depth_keys = set(depth_video_keys or [])
        Path(temp_dir).mkdir(parents=True, exist_ok=True)
        spares, self._spares = self._spares, {}
        fits = self._spare_root == Path(temp_dir) and set(spares) == set(video_keys)
        if fits and all(spares[key].depth == (key in depth_keys) for key in video_keys):
            self._cameras = spares
            self._episode_dirs.extend(camera.output.parent for camera in spares.values())
            return
        self._drop_spares(spares)
        self._spare_root = Path(temp_dir)
        for key in video_keys:
            # A folder a camera: LeRobot removes the folder of each video it takes in (as its own encoder's).
            folder = Path(tempfile.mkdtemp(dir=temp_dir, prefix="encodectl-stream-"))
            self._episode_dirs.append(folder)
            depth = key in depth_keys
            if depth and self._depth_plan is None:
                self._depth_plan = plan_for(self._depth, self._threads, self.binary)
            plan = self._depth_plan if depth and self._depth_plan is not None else self._rgb_plan
            output = folder / f"{key.replace('/', '_')}_streaming.mp4"
            self._cameras[key] = _Camera(key, output, self.fps, plan, self.binary, depth, buffer_mib=self._buffer_mib)

    def feed_frame(self, video_key: str, image: np.ndarray[Any, Any]) -> None:
        camera = self._cameras.get(video_key)
        if camera is None:
            raise EncodeError(f"no active episode for {video_key}: call start_episode() first")
        camera.feed(image)

    def finish_episode(self) -> dict[str, tuple[Path, Stats | None]]:
        """Every camera's video, verified, with its statistics; the cameras finish side by side."""
        if not self._cameras:
            raise EncodeError("no active episode to finish")
        cameras, self._cameras = self._cameras, {}
        self._retire_episode_dir()
        with ThreadPoolExecutor(max_workers=len(cameras), thread_name_prefix="encodectl-finish") as pool:
            futures = {key: pool.submit(camera.finish) for key, camera in cameras.items()}
        results, errors = {}, []
        for key, future in futures.items():
            error = future.exception()
            if error is None:
                results[key] = future.result()
            else:
                errors.append(error)
        if errors:
            first = errors[0]
            raise first if isinstance(first, EncodectlError) else EncodeError(f"{first}")
        self._start_spares(cameras)
        return results

    def _start_spares(self, finished: dict[str, _Camera]) -> None:
        """The next episode's encoders, started now (LeRobot is saving the episode; the recorder waits for
        that anyway) for the sizes this one had, so that its first frames do not wait on a fork."""
        if self._spare_root is None:
            return
        try:
            for key, camera in finished.items():
                if camera.size is None:
                    continue
                folder = Path(tempfile.mkdtemp(dir=self._spare_root, prefix="encodectl-stream-"))
                try:
                    self._spares[key] = _Camera(
                        key, folder / camera.output.name, self.fps, camera.plan, self.binary, camera.depth,
                        size=camera.size, buffer_mib=self._buffer_mib,
                    )  # fmt: skip
                except BaseException:
                    shutil.rmtree(folder, ignore_errors=True)
                    raise
        except (EncodectlError, OSError) as error:  # not needed: the next episode starts its encoders itself
            log.info("encoders for the next episode not started ahead: %s", error)
            self._drop_spares(self._spares)
            self._spares = {}

    def _drop_spares(self, spares: dict[str, _Camera]) -> None:
        for camera in spares.values():
            camera.cancel()
            shutil.rmtree(camera.output.parent, ignore_errors=True)

    def cancel_episode(self) -> None:
        cameras, self._cameras = self._cameras, {}
        for camera in cameras.values():
            camera.cancel()
        for folder in self._episode_dirs:
            shutil.rmtree(folder, ignore_errors=True)
        self._episode_dirs = []

    def close(self) -> None:
        if self._closed:
            return
        self.cancel_episode()
        spares, self._spares = self._spares, {}
        self._drop_spares(spares)
        self._tidy()
        self._closed = True

    def wait_written(self, timeout: float = 60.0) -> None:
        """Until every camera's ffmpeg has taken every frame fed so far (for tests and benchmarks)."""
        for camera in self._cameras.values():
            camera.wait_written(timeout)

    def _retire_episode_dir(self) -> None:
        self._old_dirs.extend(self._episode_dirs)
        self._episode_dirs = []

    def _tidy(self) -> None:
        """The folders of finished episodes, once LeRobot has moved their videos out (left if not empty)."""
        for directory in self._old_dirs:
            with contextlib.suppress(OSError):
                directory.rmdir()
        self._old_dirs = []


# -- install / uninstall ------------------------------------------------------------------------


def check_contract(dataset_class: type, encoder_class: type, version: str) -> None:
    """UsageError, one line naming the release, unless LeRobot's contract is the one this was made for."""
    release = _release(version)
    refuse = f"LeRobot {version} is not supported by encodectl's streaming (made for LeRobot 0.6's contract)"
    if release is None or release[:2] != SUPPORTED_RELEASE:
        raise UsageError(f"{refuse}: use LeRobot 0.6.x, or record without encodectl")
    builder = inspect.getattr_static(dataset_class, BUILDER, None)
    if not isinstance(builder, staticmethod):
        raise UsageError(f"{refuse}: {dataset_class.__name__}.{BUILDER} is not the static method it patches")
    parameters = tuple(inspect.signature(builder.__func__).parameters)
    if parameters != BUILDER_PARAMETERS:
        expected = _listed(BUILDER_PARAMETERS)
        raise UsageError(f"{refuse}: {BUILDER}{_listed(parameters)} differs from {BUILDER}{expected}")
    for call, wanted in CONTRACT.items():
        method = getattr(encoder_class, call, None)
        got = tuple(inspect.signature(method).parameters) if callable(method) else None
        if got != wanted:
            shown = "missing" if got is None else _listed(got)
            raise UsageError(f"{refuse}: StreamingVideoEncoder.{call} is {shown}, not {_listed(wanted)}")


def _listed(names: tuple[str, ...]) -> str:
    return f"({', '.join(names)})"


def _release(version: str) -> tuple[int, ...] | None:
    parts = []
    for part in version.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit()) if part[:1].isdigit() else ""
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts) if len(parts) >= 2 else None


def lerobot_classes() -> tuple[type, type, str]:
    """LeRobot's LeRobotDataset and StreamingVideoEncoder, and its release; UsageError when it is missing."""
    try:
        from lerobot.datasets.lerobot_dataset import LeRobotDataset  # type: ignore[import-not-found]
        from lerobot.datasets.video_utils import StreamingVideoEncoder  # type: ignore[import-not-found]
    except ImportError:
        raise UsageError(f"LeRobot is not installed in this Python ({sys.executable}); {INSTALL_HINT}") from None
    try:
        version = importlib.metadata.version("lerobot")
    except importlib.metadata.PackageNotFoundError:
        version = "of unknown release"
    return LeRobotDataset, StreamingVideoEncoder, version


def install_streaming(
    dataset_class: type | None = None,
    *,
    encoder_class: type | None = None,
    version: str | None = None,
    ffmpeg_binary: FFmpegBinary | None = None,
    buffer_mib: float = 256.0,
) -> None:
    """From now on, every LeRobotDataset this process creates with streaming_encoding=True streams through
    encodectl. Without arguments, LeRobot's own classes (imported now); a stand-in for tests names its
    dataset class, the encoder class whose calls it checks against, and the release. `buffer_mib`: the
    frames a camera keeps in memory before they spill to disk (more absorbs a slow disk). Idempotent."""
    if dataset_class is None:
        dataset_class, found_encoder, found_version = lerobot_classes()
        encoder_class, version = encoder_class or found_encoder, version or found_version
    if encoder_class is None or version is None:
        raise UsageError("install_streaming(dataset_class) needs encoder_class and version too")
    if dataset_class in _installed:
        return
    check_contract(dataset_class, encoder_class, version)
    binary = ffmpeg_binary or find_ffmpeg()

    def build(
        fps: int, rgb_encoder: object | None, depth_encoder: object | None, encoder_queue_maxsize: int,
        encoder_threads: int | None,
    ) -> EncodectlStreamingEncoder:  # fmt: skip
        return EncodectlStreamingEncoder(
            fps, rgb_encoder, depth_encoder, encoder_queue_maxsize, encoder_threads, ffmpeg_binary=binary,
            buffer_mib=buffer_mib,
        )  # fmt: skip

    _installed[dataset_class] = inspect.getattr_static(dataset_class, BUILDER)
    setattr(dataset_class, BUILDER, staticmethod(build))
    log.info("LeRobot %s: streaming encoding goes through encodectl (ffmpeg %s)", version, binary.version)


def uninstall_streaming(dataset_class: type | None = None) -> None:
    """LeRobot's own streaming encoder again, for `dataset_class` (default: every class installed on)."""
    for patched in [dataset_class] if dataset_class is not None else list(_installed):
        original = _installed.pop(patched, None)
        if original is not None:
            setattr(patched, BUILDER, original)


def installed(dataset_class: type) -> bool:
    return dataset_class in _installed
