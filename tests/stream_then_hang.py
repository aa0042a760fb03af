"""Test helper: stream frames into a StreamEncoder, say how many and which ffmpeg has them, then wait to be
killed (SIGKILL). Further arguments: die-with-parent streams as watch --stream does; behind stops the
encoder first (SIGSTOP), so that frames pile up on disk (the test resumes it after the kill); depth streams
a depth camera's frames."""

from __future__ import annotations

import os
import signal
import sys
import time

import numpy as np

from encodectl import StreamEncoder

output, frames = sys.argv[1], int(sys.argv[2])
die_with_parent = "die-with-parent" in sys.argv[3:]
behind = "behind" in sys.argv[3:]  # an encoder stopped (SIGSTOP) and a two-frame memory: frames spill to disk
depth = "depth" in sys.argv[3:]  # a depth camera's uint16 frames, kept exactly (FFV1 in Matroska)
encoder = StreamEncoder(output, 64, 48, fps=30, device="cpu", gop=10, die_with_parent=die_with_parent,
                        buffer_frames=2 if behind else None, depth=depth)  # fmt: skip
if behind:
    os.kill(encoder._process.pid, signal.SIGSTOP)
for index in range(frames):
    if depth:
        encoder.add_frame(np.full((48, 64), 1000 + index, dtype=np.uint16))
    else:
        encoder.add_frame(np.full((48, 64, 3), index % 256, dtype=np.uint8))
    time.sleep(1 / 30)
deadline = time.monotonic() + 60  # ffmpeg runs at low priority: on a busy machine it takes a while to read
while encoder.stats.frames_written < frames and time.monotonic() < deadline and not behind:
    time.sleep(0.05)
while behind and encoder.stats.spilled < frames - 12 and time.monotonic() < deadline:
    time.sleep(0.05)
if not (behind or depth or die_with_parent):
    # A power cut (the test kills ffmpeg too) keeps only the fragments on disk: wait for what the encoder
    # writes (a fragment a keyframe interval, all but the last two), not for a second on the clock.
    while encoder.fragmented.read_bytes().count(b"moof") < frames // 10 - 1 and time.monotonic() < deadline:
        time.sleep(0.05)
holder = 0
if die_with_parent:
    # A process of its own session that keeps a copy of every descriptor, the write end of ffmpeg's input
    # among them: when the recorder dies, ffmpeg sees no end of input, so only its death with its parent
    # (PR_SET_PDEATHSIG) can end it. Without it, which came first, the end of input or the signal, was a race.
    # It says when it has left the recorder's process group: a kill of the group before that would take it
    # too, and ffmpeg would see the end of its input after all.
    ready, said_ready = os.pipe()
    holder = os.fork()
    if holder == 0:
        os.setsid()
        os.write(said_ready, b"1")
        time.sleep(60)
        os._exit(0)
    os.read(ready, 1)
print(encoder.stats.frames_written, encoder._process.pid, holder, flush=True)
time.sleep(60)
