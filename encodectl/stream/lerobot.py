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

Where: LeRobot's encoder configs and the plan each camera takes, lerobot_settings.py; one camera's
encoder and statistics, lerobot_camera.py; the contract, its check and install_streaming, here.

It lives in stream/ and not in lerobot/ because the layering (tests/test_layers.py) lets stream
import lerobot (the statistics) but not the other way round.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import inspect
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EncodectlError, EncodeError, UsageError
from ..ffmpeg.binary import find_ffmpeg
from ..ffmpeg.encoder_choice import EncoderPlan
from ..lerobot.stats import Stats
from ..models import FFmpegBinary
from .lerobot_camera import LeRobotCamera
from .lerobot_settings import LeRobotEncoderConfig, log, plan_for

__all__ = [
    "EncodectlStreamingEncoder",
    "LeRobotEncoderConfig",
    "check_contract",
    "install_streaming",
    "installed",
    "plan_for",
    "uninstall_streaming",
]

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
BUFFER_FRAMES: int | None = None  # frames a camera keeps in memory before spilling; None: StreamEncoder's budget

_installed: dict[type, Any] = {}  # patched class -> its own builder (the staticmethod object)


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
        self._cameras: dict[str, LeRobotCamera] = {}
        self._spares: dict[str, LeRobotCamera] = {}  # the next episode's cameras, their encoders already started
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
            self._cameras[key] = LeRobotCamera(
                key, output, self.fps, plan, self.binary, depth, buffer_mib=self._buffer_mib,
                buffer_frames=BUFFER_FRAMES,
            )  # fmt: skip

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

    def _start_spares(self, finished: dict[str, LeRobotCamera]) -> None:
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
                    self._spares[key] = LeRobotCamera(
                        key, folder / camera.output.name, self.fps, camera.plan, self.binary, camera.depth,
                        size=camera.size, buffer_mib=self._buffer_mib, buffer_frames=BUFFER_FRAMES,
                    )  # fmt: skip
                except BaseException:
                    shutil.rmtree(folder, ignore_errors=True)
                    raise
        except (EncodectlError, OSError) as error:  # not needed: the next episode starts its encoders itself
            log.info("encoders for the next episode not started ahead: %s", error)
            self._drop_spares(self._spares)
            self._spares = {}

    def _drop_spares(self, spares: dict[str, LeRobotCamera]) -> None:
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
