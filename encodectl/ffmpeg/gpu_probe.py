"""Which hardware encoders this ffmpeg has, and which of them really work here.

An ffmpeg build lists h264_nvenc whether or not a GPU and driver exist, so
listing proves nothing: each listed hardware encoder gets a short test encode.
Results are cached per ffmpeg binary (path, size, mtime) and GPU driver
fingerprint, so ``encode --device auto`` pays the probe once, not every run.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from ..errors import EncodeError
from ..models import Codec, EncodeOptions, FFmpegBinary
from .cache import cache_dir
from .command import build_probe_command
from .command_line import encoders_command
from .encoders import ENCODERS, EncoderSpec, encoder_settings
from .log import meaningful_error
from .process import capture

PROBE_TIMEOUT_S = 20.0
CACHE_FORMAT = 2  # raise when what is cached, or how a reason is worded, changes


class EncoderProbe(BaseModel):
    """One encoder's answer: compiled in? really works?"""

    encoder: str
    vendor: str
    codec: Codec
    listed: bool
    works: bool
    seconds: float | None = None
    reason: str = ""


class ProbeReport(BaseModel):
    ffmpeg: FFmpegBinary
    driver: str
    probed_at: datetime
    encoders: list[EncoderProbe]
    cached: bool = False

    def working(self, codec: Codec) -> list[str]:
        """Working hardware encoders for `codec`, best first (the table's auto order)."""
        return [p.encoder for p in self.encoders if p.codec is codec and p.works]

    def find(self, encoder: str) -> EncoderProbe | None:
        return next((p for p in self.encoders if p.encoder == encoder), None)


def driver_fingerprint() -> str:
    """Changes when a GPU driver or device appears, disappears or is upgraded."""
    parts = [platform.system(), platform.release()]
    for path in ("/proc/driver/nvidia/version", "/sys/module/amdgpu/version", "/sys/module/i915/version"):
        try:
            parts.append(Path(path).read_text(errors="replace").splitlines()[0])
        except (OSError, IndexError):
            parts.append("-")
    devices = [*Path("/dev").glob("dri/*"), *Path("/dev").glob("nvidia*")]
    parts.append(",".join(sorted(str(device) for device in devices)))
    return " | ".join(parts)


def _cache_file(binary: FFmpegBinary, driver: str) -> Path:
    stat = binary.path.stat()
    key = f"{CACHE_FORMAT}|{binary.path}|{stat.st_size}|{stat.st_mtime_ns}|{driver}"
    return cache_dir() / f"probe-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def listed_encoders(binary: FFmpegBinary) -> frozenset[str]:
    """Encoder names compiled into this ffmpeg (`ffmpeg -encoders`)."""
    stat = binary.path.stat()
    return _listed_encoders(str(binary.path), stat.st_size, stat.st_mtime_ns)


@functools.cache
def _listed_encoders(path: str, size: int, mtime_ns: int) -> frozenset[str]:
    try:
        completed = capture(encoders_command(path), timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise EncodeError(f"{path} -encoders did not answer in {PROBE_TIMEOUT_S:.0f} s") from error
    names = set()
    for line in completed.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 2 and len(fields[0]) == 6 and fields[0][0] == "V":
            names.add(fields[1])
    return frozenset(names)


def test_encoder(binary: FFmpegBinary, spec: EncoderSpec) -> EncoderProbe:
    """A few frames through the encoder to the null muxer: the only proof that it works."""
    probe = EncoderProbe(encoder=spec.name, vendor=spec.vendor, codec=spec.codec, listed=True, works=False)
    settings = encoder_settings(spec, EncodeOptions(codec=spec.codec))
    device = render_device(settings.global_args)
    if device is not None and not Path(device).exists():
        # Without a device ffmpeg's VAAPI error is a misleading filter-format message.
        probe.reason = f"no render device {device}"
        return probe
    argv = build_probe_command(binary, settings)
    started = time.perf_counter()
    try:
        completed = capture(argv, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        probe.reason = f"test encode did not finish in {PROBE_TIMEOUT_S:.0f} s"
        return probe
    finally:
        probe.seconds = round(time.perf_counter() - started, 3)
    probe.works = completed.returncode == 0
    if not probe.works:
        probe.reason = meaningful_error(completed.stderr.splitlines()).removeprefix(f"{spec.name}: ")
    return probe


def probe_hardware(binary: FFmpegBinary, refresh: bool = False) -> ProbeReport:
    """The cached probe for this binary and driver, or a fresh one (written to the cache)."""
    driver = driver_fingerprint()
    cache_file = _cache_file(binary, driver)
    if not refresh and cache_file.exists():
        try:
            report = ProbeReport.model_validate_json(cache_file.read_text())
        except (ValidationError, OSError):
            pass  # unreadable or from an older encodectl: probe again
        else:
            report.cached = True
            report.ffmpeg = binary  # the same file; how it was found, and why, is this run's
            return report
    listed = listed_encoders(binary)
    hardware = [spec for spec in ENCODERS.values() if spec.hardware]
    to_test = [spec for spec in hardware if spec.name in listed]
    with ThreadPoolExecutor(max_workers=4) as pool:
        tested = {probe.encoder: probe for probe in pool.map(lambda s: test_encoder(binary, s), to_test)}
    probes = [
        tested.get(spec.name)
        or EncoderProbe(
            encoder=spec.name,
            vendor=spec.vendor,
            codec=spec.codec,
            listed=False,
            works=False,
            reason="not compiled into this ffmpeg",
        )
        for spec in hardware
    ]
    report = ProbeReport(ffmpeg=binary, driver=driver, probed_at=datetime.now(UTC), encoders=probes)
    _write_cache(cache_file, report)
    return report


def _write_cache(cache_file: Path, report: ProbeReport) -> None:
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        temp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(report.model_dump_json(indent=2))
        temp.replace(cache_file)
    except OSError:
        pass  # a read-only cache only costs a probe next time


def render_device(global_args: list[str]) -> str | None:
    """The /dev/dri device a command opens, if any."""
    return next((arg for arg in global_args if arg.startswith("/dev/dri/")), None)
