"""Shared fixtures: the real ffmpeg, tiny generated frames, an independent decoder, the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest
from typer.testing import CliRunner

from encodectl.cli import app, main
from encodectl.ffmpeg.binary import find_ffmpeg
from encodectl.ffmpeg.encoder_choice import plan_encoder
from encodectl.frames.layout import EpisodeSource
from encodectl.frames.synthetic import write_frames
from encodectl.models import EncodeOptions, FFmpegBinary, JobResult

SIZE = (64, 48)
LEROBOT_FIXTURES = Path(__file__).parent / "fixtures" / "lerobot"

# For CI's second pass (see pyproject's markers): what encodectl decides before any ffmpeg runs.
BEFORE_FFMPEG = pytest.mark.same_on_every_ffmpeg(
    "encodectl's own checks of the options, the frames' headers and names, or its exit handling decide it "
    "before (or without) any ffmpeg output"
)


def pytest_report_header(config: pytest.Config) -> str:
    binary = find_ffmpeg()
    return f"ffmpeg: {binary.version} at {binary.path} ({binary.source})"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test left out of the second CI pass must say why its outcome cannot depend on the ffmpeg build."""
    for item in items:
        for mark in item.iter_markers("same_on_every_ffmpeg"):
            if not (mark.args and str(mark.args[0]).strip()):
                raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.same_on_every_ffmpeg needs a reason")


@pytest.fixture(scope="session", autouse=True)
def isolated_probe_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Probe results go to a cache of the test session's own, never the user's."""
    cache = tmp_path_factory.mktemp("encodectl-cache")
    os.environ["ENCODECTL_CACHE_DIR"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def ffmpeg_binary() -> FFmpegBinary:
    return find_ffmpeg()


@dataclass
class FakeGpu:
    """The TEST DOUBLE of tests/fake_gpu_ffmpeg.py: an ffmpeg whose NVENC 'works' (it runs libx264)."""

    path: Path
    log: Path

    def nvenc_commands(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def fake_gpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ffmpeg_binary: FFmpegBinary) -> FakeGpu:
    folder = tmp_path / "fake-gpu-bin"
    folder.mkdir()
    wrapper = folder / "ffmpeg"
    script = Path(__file__).with_name("fake_gpu_ffmpeg.py")
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n')
    wrapper.chmod(0o755)
    log = tmp_path / "nvenc-commands.jsonl"
    monkeypatch.setenv("REAL_FFMPEG", str(ffmpeg_binary.path))
    monkeypatch.setenv("FAKE_NVENC_LOG", str(log))
    monkeypatch.setenv("FAKE_NVENC_STATE", str(tmp_path / "nvenc-sessions"))
    monkeypatch.setenv("FAKE_NVENC_MODE", "works")
    return FakeGpu(wrapper, log)


class FrameCache:
    """Frames made by the real ffmpeg once per test session, then copied: ffmpeg's start-up per call
    was a sixth of the suite's time. Frame i depends only on the look (size, format, seed, noise), not on
    how many frames were asked for or how they are named, so one run per look serves every request."""

    def __init__(self, ffmpeg_binary: FFmpegBinary, root: Path) -> None:
        self.ffmpeg = ffmpeg_binary
        self.root = root

    def frames(self, count: int, size: tuple[int, int], extension: str, **look: Any) -> list[Path]:
        key = hashlib.sha1(repr((size, extension.lower(), sorted(look.items()))).encode()).hexdigest()[:12]
        folder = self.root / key
        made = sorted(folder.glob(f"*{extension}")) if folder.is_dir() else []
        if len(made) < count:
            shutil.rmtree(folder, ignore_errors=True)
            made = write_frames(self.ffmpeg, folder, max(count, 16), size, extension=extension, **look)
        return made[:count]


@pytest.fixture(scope="session")
def frame_cache(ffmpeg_binary: FFmpegBinary, tmp_path_factory: pytest.TempPathFactory) -> FrameCache:
    return FrameCache(ffmpeg_binary, tmp_path_factory.mktemp("frame-cache"))


@pytest.fixture
def make_frames(frame_cache: FrameCache) -> Callable[..., list[Path]]:
    """write_frames(ffmpeg, directory, count, size, ...) as the tests call it, the same files each time."""

    def make(
        directory: Path,
        count: int = 8,
        size: tuple[int, int] = SIZE,
        *,
        start_number: int = 0,
        prefix: str = "frame_",
        padding: int = 6,
        extension: str = ".png",
        **look: Any,
    ) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for number, made in enumerate(frame_cache.frames(count, size, extension, **look), start_number):
            digits = f"{number:0{padding}d}" if padding else str(number)
            paths.append(directory / f"{prefix}{digits}{extension}")
            shutil.copyfile(made, paths[-1])  # a copy: tests damage frames in place
        return paths

    return make


@dataclass
class DecodedVideo:
    """What PyAV (libav linked into its own wheel, not our ffmpeg or parser) sees in a file."""

    frames: int
    width: int
    height: int
    pix_fmt: str
    codec: str
    timestamps: list[Fraction]
    keyframes: list[int]


def decode(path: Path) -> DecodedVideo:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        timestamps: list[Fraction] = []
        keyframes: list[int] = []
        for index, frame in enumerate(container.decode(stream)):
            assert frame.pts is not None
            timestamps.append(frame.pts * stream.time_base)
            if frame.key_frame:
                keyframes.append(index)
        return DecodedVideo(
            frames=len(timestamps),
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            pix_fmt=stream.codec_context.pix_fmt,
            codec=stream.codec_context.name,
            timestamps=timestamps,
            keyframes=keyframes,
        )


@pytest.fixture
def decoded() -> Callable[[Path], DecodedVideo]:
    return decode


@dataclass
class CliOutcome:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def cli() -> Callable[..., CliOutcome]:
    """Run `encodectl ARGS` in-process (typer's runner), with stdout and stderr apart."""

    def run(*args: str | Path) -> CliOutcome:
        runner = CliRunner()
        result = runner.invoke(app, [str(a) for a in args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliOutcome(result.exit_code, result.stdout, result.stderr)

    return run


def run_encodectl(*args: str | Path, env: dict[str, str] | None = None, timeout: float | None = None) -> CliOutcome:
    """Run `encodectl ARGS` through the console entry point (`main`: usage errors as one line, exit codes),
    in this process: a process of its own costs about half a second of interpreter start-up, and the
    suite's hundreds of runs made that a third of its time. An `env` or a `timeout` (a run that might
    hang) asks for a real process, as `run_encodectl_process` does for signals and what an interpreter
    prints. An exception that escapes `main` fails the test, as a traceback would."""
    if env is not None or timeout is not None:
        return run_encodectl_process(*args, env=env, timeout=timeout or 120)
    runner = CliRunner()
    with runner.isolation() as (stdout, stderr, _):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as ended:
            code = ended.code if isinstance(ended.code, int) else (0 if ended.code is None else 1)
        sys.stdout.flush()
        sys.stderr.flush()
        return CliOutcome(code, stdout.getvalue().decode(), stderr.getvalue().decode())


def run_encodectl_process(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 120) -> CliOutcome:
    """Run encodectl as a real process (for signals, tracebacks and what the interpreter itself prints)."""
    completed = subprocess.run(
        [sys.executable, "-m", "encodectl.cli", *[str(a) for a in args]],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return CliOutcome(completed.returncode, completed.stdout, completed.stderr)


def episode_rows(root: Path) -> dict[int, dict[str, Any]]:
    """A LeRobot v3.0 dataset's episode rows, by episode index, from every episodes file."""
    import pyarrow.parquet as pq

    rows = {}
    for path in sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet")):
        for row in pq.read_table(path).to_pylist():
            rows[row["episode_index"]] = row
    return rows


def files_in(directory: Path) -> list[str]:
    """Every file below `directory`, hidden ones included, as relative paths."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file() or p.is_symlink())


def assert_one_line_error(outcome: CliOutcome, *fragments: str, code: int = 2) -> None:
    """The exit code, and one line on stderr that names the problem: no traceback, no panel."""
    assert outcome.exit_code == code, (outcome.stdout, outcome.stderr)
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, outcome.stderr
    assert lines[0].startswith("encodectl: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in outcome.stderr


def process_state(pid: int) -> str | None:
    """The state letter in /proc/PID/stat ("R", "S", "Z" for a zombie...); None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def children_of(pid: int) -> list[int]:
    """Process ids whose parent is `pid` (Linux)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


class At:
    """A job listener that does `act` at one moment of the job: "started" (ffmpeg is about to run, the
    frames were checked) or "verifying" (ffmpeg is done, the video not yet read back)."""

    def __init__(self, moment: str, act: Callable[[], object]) -> None:
        self.moment, self.act = moment, act

    def started(self, encoder: str, frames_total: int) -> None:
        if self.moment == "started":
            self.act()

    def verifying(self) -> None:
        if self.moment == "verifying":
            self.act()

    def progress(self, progress: object) -> None: ...

    def falling_back(self, encoder: str) -> None: ...


def encode_one_episode(tmp_path: Path, ffmpeg_binary: FFmpegBinary, listener: At, **options: object) -> JobResult:
    from encodectl.ffmpeg.process import CancelToken
    from encodectl.job.runner import encode_one
    from encodectl.job.sessions import SessionLimiter

    source = EpisodeSource(directory=tmp_path / "ep", output=tmp_path / "ep.mp4", episode="ep")
    settings = EncodeOptions(device="cpu", **options)
    plan = plan_encoder(settings, ffmpeg_binary)
    return encode_one(source, settings, plan, ffmpeg_binary, limiter=SessionLimiter(2), token=CancelToken(),
                      listener=listener)  # fmt: skip


def copy_lerobot_fixture(name: str, tmp_path: Path) -> Path:
    """A copy of one of the datasets LeRobot itself made (tests/fixtures/lerobot), to finish or to damage."""
    return Path(shutil.copytree(LEROBOT_FIXTURES / name, tmp_path / name))


def idle_possible_here() -> bool:
    """Whether a process in a session of its own gets idle children on this machine (ffmpeg.child.Placement):
    autogroups on, and the tests in the root CPU cgroup."""
    from encodectl.ffmpeg.child import in_root_cpu_cgroup

    enabled = Path("/proc/sys/kernel/sched_autogroup_enabled")
    if sys.platform != "linux" or not enabled.exists() or enabled.read_text().strip() != "1":
        return False
    return in_root_cpu_cgroup(Path("/proc/self/cgroup").read_text(), Path("/sys/fs/cgroup"))


needs_idle = pytest.mark.skipif(not idle_possible_here(), reason="no autogroup scheduling here, or a CPU cgroup")


@pytest.fixture(autouse=True)
def _children_never_idle_beside_the_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's ffmpeg placed as on CI's runner (a session of its own), whatever the other test worker of
    this session happens to do when the child starts: an idle child would wait for that worker however long
    it computes (ffmpeg.child.Placement). The tests of the idle placement run it in a session of their own."""
    monkeypatch.setattr("encodectl.ffmpeg.child.idle_is_safe", lambda: False)
