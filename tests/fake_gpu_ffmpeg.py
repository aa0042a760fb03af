"""TEST DOUBLE for an ffmpeg binary with a working NVENC encoder (no GPU exists on CI).

It answers like the real ffmpeg it wraps ($REAL_FFMPEG), lists h264_nvenc, and
runs every h264_nvenc encode as a libx264 encode of the same frames (so the
probe, choice, command line, verification and fallback paths run end to end).
$FAKE_NVENC_MODE says how the "GPU" behaves:
  works           every NVENC encode succeeds (default)
  fail-at-run     the probe's test encode succeeds, real encodes fail like a missing driver
  sessions:N      at most N NVENC encodes at once; more fail like a consumer card's session limit
Every NVENC command line is appended to $FAKE_NVENC_LOG (one JSON list per line).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REAL = os.environ["REAL_FFMPEG"]
MODE = os.environ.get("FAKE_NVENC_MODE", "works")
NVENC_ONLY_OPTIONS = {"-rc", "-cq", "-gpu"}


def main(argv: list[str]) -> int:
    if "-encoders" in argv:
        listing = subprocess.run([REAL, *argv], capture_output=True, text=True).stdout
        if " h264_nvenc " not in listing:
            listing += " V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)\n"
        sys.stdout.write(listing)
        return 0
    encoder = argv[argv.index("-c:v") + 1] if "-c:v" in argv else ""
    if not encoder.endswith("_nvenc"):
        os.execv(REAL, [REAL, *argv])
    log = os.environ.get("FAKE_NVENC_LOG")
    if log:
        with Path(log).open("a") as handle:
            handle.write(json.dumps(argv) + "\n")
    is_probe = "lavfi" in argv
    if MODE == "fail-at-run" and not is_probe:
        sys.stderr.write(f"[{encoder} @ 0x5581] Cannot load libcuda.so.1\n")
        sys.stderr.write(f"[vost#0:0/{encoder} @ 0x5582] Error while opening encoder\n")
        return 1
    translated = translate(argv)
    if MODE.startswith("sessions:") and not is_probe:
        return run_with_session_cap(translated, int(MODE.split(":")[1]), encoder)
    os.execv(REAL, [REAL, *translated])
    return 0


def translate(argv: list[str]) -> list[str]:
    """The same command with libx264 in place of NVENC and NVENC-only options removed."""
    out: list[str] = []
    skip = False
    for index, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg in NVENC_ONLY_OPTIONS or (arg == "-b:v" and argv[index + 1] == "0"):
            skip = True
            continue
        if arg == "-preset" and argv[index + 1].startswith("p"):
            out += ["-preset", "ultrafast"]
            skip = True
            continue
        out.append("libx264" if arg.endswith("_nvenc") else arg)
    return out


def run_with_session_cap(argv: list[str], cap: int, encoder: str) -> int:
    state = Path(os.environ["FAKE_NVENC_STATE"])
    state.mkdir(exist_ok=True)
    with (state / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pids = [p.name.split("-")[1] for p in state.glob("session-*")]
        running = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
        if len(running) >= cap:
            sys.stderr.write(
                f"[{encoder} @ 0x5581] OpenEncodeSessionEx failed: incompatible client key (21): (no details)\n"
            )
            return 1
        mine = state / f"session-{os.getpid()}"
        mine.touch()
    try:
        time.sleep(0.3)  # hold the session long enough for others to collide with it
        return subprocess.run([REAL, *argv]).returncode
    finally:
        mine.unlink()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
