"""LeRobot datasets (format v3.0 and v2.1), as LeRobot itself reads them: the metadata read and
written as LeRobot does (meta), which LeRobot release made a dataset and the camera info it writes
(versions), what a dataset lacks and the jobs that make it (plan), placing verified episodes in its
videos (finish), the episode rows a recorder never wrote, rebuilt (heal, with LeRobot's per-episode
statistics in stats) and the dataset's lock, in-use check and journaled commit (commit). It may import
the base modules, ffmpeg, frames and job; a new codebase_version starts in meta.py, a new LeRobot
release's camera info in versions.py.
"""
