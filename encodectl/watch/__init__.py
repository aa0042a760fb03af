"""`encodectl watch`: encodes each episode as soon as it is complete, beside a recorder (watcher),
and finishes a LeRobot dataset whenever nobody writes it (lerobot). It may import every layer below
(ffmpeg, frames, job, lerobot, run, stream), never bench or report.
"""
