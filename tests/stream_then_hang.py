"""Test helper: stream frames into a StreamEncoder, say how many and which ffmpeg has them, then wait to be
killed (SIGKILL). A third argument, die-with-parent, streams as watch --stream does."""

from __future__ import annotations

import sys
import time

import numpy as np

from encodectl import StreamEncoder

output, frames = sys.argv[1], int(sys.argv[2])
die_with_parent = sys.argv[3:] == ["die-with-parent"]
encoder = StreamEncoder(output, 64, 48, fps=30, device="cpu", gop=10, die_with_parent=die_with_parent)
for index in range(frames):
    encoder.add_frame(np.full((48, 64, 3), index % 256, dtype=np.uint8))
    time.sleep(1 / 30)
time.sleep(1.0)  # let ffmpeg write what it has; the crash comes before close()
print(encoder.stats.frames_written, encoder._process.pid, flush=True)
time.sleep(60)
